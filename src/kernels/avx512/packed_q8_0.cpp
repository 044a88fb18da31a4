// AVX-512 VNNI Q8_0_R16 x Q8_0_S product (bitwise ref::gemm_q8_0_r16): per block column,
// 8 loads of 64 bytes hold the 16 rows' 32 quants, each vpdpbusd against 4 activation
// bytes broadcast advances all 16 row sums; the 16 scales convert in one instruction.
#include <immintrin.h>

#include "kernels/avx512/dpbusd_bcast.h"
#include "kernels/packed.h"
#include "quant/blocks.h"

namespace moe::avx512 {
namespace {

constexpr size_t kColumnBytes = kPackRows * sizeof(BlockQ8_0);  // 544
// Prefetch distance ahead of the column being read (a group is one sequential stream).
constexpr size_t kPrefetchBytes = 8192;

// Tokens [0, T) of `act` against one group of 16 rows; y rows contiguous per token.
template <int T>
inline void group_tile(int64_t nb, const uint8_t* group, const BlockQ8_0S* const* act, float* y,
                       int64_t y_stride) {
  __m512 acc[T];
  for (int t = 0; t < T; ++t) acc[t] = _mm512_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* col = group + b * kColumnBytes;
#pragma GCC unroll 16
    for (size_t off = 0; off < kColumnBytes; off += 64) {
      _mm_prefetch(reinterpret_cast<const char*>(col + kPrefetchBytes + off), _MM_HINT_T1);
    }
    const __m512 dw = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(col)));
    const uint8_t* q = col + kPackRows * sizeof(uint16_t);
    __m512i w[8];
    for (int c = 0; c < 8; ++c) w[c] = _mm512_loadu_si512(q + 64 * c);
#pragma GCC unroll 8
    for (int t = 0; t < T; ++t) {
      const BlockQ8_0S& a = act[t][b];
      // two independent chains (integer sums: any order is exact)
      __m512i s0 = dpbusd_bcast(_mm512_setzero_si512(), w[0], a.qs + 0);
      __m512i s1 = dpbusd_bcast(_mm512_setzero_si512(), w[1], a.qs + 4);
      s0 = dpbusd_bcast(s0, w[2], a.qs + 8);
      s1 = dpbusd_bcast(s1, w[3], a.qs + 12);
      s0 = dpbusd_bcast(s0, w[4], a.qs + 16);
      s1 = dpbusd_bcast(s1, w[5], a.qs + 20);
      s0 = dpbusd_bcast(s0, w[6], a.qs + 24);
      s1 = dpbusd_bcast(s1, w[7], a.qs + 28);
      const __m512i isum = _mm512_sub_epi32(_mm512_add_epi32(s0, s1), _mm512_set1_epi32(a.sum128));
      const __m512 scale = _mm512_mul_ps(dw, _mm512_set1_ps(a.d));
      acc[t] = _mm512_fmadd_ps(scale, _mm512_cvtepi32_ps(isum), acc[t]);
    }
  }
  for (int t = 0; t < T; ++t) _mm512_storeu_ps(y + t * y_stride, acc[t]);
}

}  // namespace

void gemm_q8_0_r16(int64_t n, const void* w, size_t w_row_bytes, int64_t rows, const void* a,
                   size_t a_row_bytes, int64_t tokens, float* y, int64_t y_stride) {
  const int64_t nb = n / kQK;
  constexpr int kTile = 8;  // tokens sharing each weight load (prefill)
  for (int64_t g = 0; g < rows / kPackRows; ++g) {
    const uint8_t* group = static_cast<const uint8_t*>(w) + g * kPackRows * w_row_bytes;
    for (int64_t t0 = 0; t0 < tokens; t0 += kTile) {
      const BlockQ8_0S* act[kTile];
      const int tn = static_cast<int>(tokens - t0 < kTile ? tokens - t0 : kTile);
      for (int t = 0; t < tn; ++t) {
        act[t] = reinterpret_cast<const BlockQ8_0S*>(static_cast<const uint8_t*>(a) + (t0 + t) * a_row_bytes);
      }
      float* yt = y + t0 * y_stride + g * kPackRows;
      switch (tn) {
        case 1: group_tile<1>(nb, group, act, yt, y_stride); break;
        case 2: group_tile<2>(nb, group, act, yt, y_stride); break;
        case 3: group_tile<3>(nb, group, act, yt, y_stride); break;
        case 4: group_tile<4>(nb, group, act, yt, y_stride); break;
        case 5: group_tile<5>(nb, group, act, yt, y_stride); break;
        case 6: group_tile<6>(nb, group, act, yt, y_stride); break;
        case 7: group_tile<7>(nb, group, act, yt, y_stride); break;
        default: group_tile<8>(nb, group, act, yt, y_stride); break;
      }
    }
  }
}

}  // namespace moe::avx512
