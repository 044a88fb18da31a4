// The 16 signed 6-bit scales of 16 rows of a Q3_K_R16 column (layout in kernels/packed_k.cpp),
// decoded with AVX2 for the AVX2 and AVX-512 products: out[16j + r] = scale j of row r
// (-32..31). 32 bytes (sub-blocks 2p, 2p + 1) at a time, each from the sm rows that hold
// their low nibbles and top 2 bits.
#pragma once

#include <immintrin.h>

#include <cstdint>

namespace moe::avx2 {

inline void q3_K_scales_r16(const uint8_t* sm, int8_t* out) {
  const __m256i m0f = _mm256_set1_epi8(0x0F), m30 = _mm256_set1_epi8(0x30);
  const __m256i bias = _mm256_set1_epi8(32);
  auto load = [](const uint8_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); };
#pragma GCC unroll 8
  for (int p = 0; p < 8; ++p) {
    // sub-blocks 2p, 2p + 1: low nibbles in bytes 2 (p % 4), +1 (nibble p / 4), top bits in
    // bytes 8 + 2 (p % 2), +1 at bits 2 (p / 2): moved to bits 4-5 (byte-local: epi16 shifts
    // leak only into bits the masks drop)
    __m256i lo = load(sm + 32 * (p % 4));
    if (p >= 4) lo = _mm256_srli_epi16(lo, 4);
    __m256i hi = load(sm + 128 + 32 * (p % 2));
    const int shift = 4 - 2 * (p / 2);
    if (shift > 0) hi = _mm256_slli_epi16(hi, shift);
    if (shift < 0) hi = _mm256_srli_epi16(hi, -shift);
    const __m256i v = _mm256_or_si256(_mm256_and_si256(lo, m0f), _mm256_and_si256(hi, m30));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + 32 * p), _mm256_sub_epi8(v, bias));
  }
}

}  // namespace moe::avx2
