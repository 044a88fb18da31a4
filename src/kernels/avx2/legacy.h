// Block policies (see tile.h) of the 32-value formats: Q8_0/Q4_0/Q5_0/IQ4_NL against Q8_0,
// Q4_1/Q5_1 against Q8_1. Decode widens a block to 32 int8 (signed for the symmetric
// formats, with |q| for the sign trick; unsigned for the affine ones); contrib is one
// integer dot and one scale. kVnni selects AVX512-VNNI's vpdpbusd for the integer dot
// (the AVX-512 sources instantiate it; the results are the same integers).
#pragma once

#include "kernels/avx2/tile.h"
#include "quant/blocks.h"

namespace moe::avx2 {
namespace {


// Sum of 32 products of unsigned u (< 128, or |x| from the sign trick) and signed s as 8
// int32: vpmaddubsw + vpmaddwd, or one vpdpbusd with AVX512-VNNI (exact: no saturation
// for the values the quantizers produce).
template <bool kVnni>
inline __m256i dot_u8_i8(__m256i u, __m256i s) {
  if constexpr (kVnni) {
    return _mm256_dpbusd_epi32(_mm256_setzero_si256(), u, s);
  } else {
    return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), _mm256_set1_epi16(1));
  }
}

struct SymDec {
  __m256i q;   // 32 signed values, q - offset
  __m256i aq;  // |q|
  float d;
};
inline SymDec sym_dec(__m256i q, float d) { return {q, _mm256_sign_epi8(q, q), d}; }

template <bool kVnni>
inline __m256 sym_contrib(const SymDec& w, const BlockQ8_0& a) {
  const __m256i av = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a.qs));
  const __m256i dot = dot_u8_i8<kVnni>(w.aq, _mm256_sign_epi8(av, w.q));
  return _mm256_mul_ps(_mm256_set1_ps(w.d * f16(a.d)), _mm256_cvtepi32_ps(dot));
}

template <bool kVnni>
struct Q8_0P {
  using W = BlockQ8_0;
  using A = BlockQ8_0;
  static constexpr int kBlockValues = kQK;
  static constexpr bool kTail = false;
  using Dec = SymDec;
  static Dec decode(const W& b) {
    return sym_dec(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.qs)), f16(b.d));
  }
  static __m256 contrib(const Dec& w, const A& a) { return sym_contrib<kVnni>(w, a); }
  static float tail(int64_t, const W*, const A*) { return 0.0f; }
};

template <bool kVnni>
struct Q4_0P {
  using W = BlockQ4_0;
  using A = BlockQ8_0;
  static constexpr int kBlockValues = kQK;
  static constexpr bool kTail = false;
  using Dec = SymDec;
  static Dec decode(const W& b) {
    return sym_dec(_mm256_sub_epi8(nibbles_32(b.qs), _mm256_set1_epi8(8)), f16(b.d));
  }
  static __m256 contrib(const Dec& w, const A& a) { return sym_contrib<kVnni>(w, a); }
  static float tail(int64_t, const W*, const A*) { return 0.0f; }
};

// IQ4_NL: the nibbles index the 16 levels (one vpshufb; |level| <= 127 suits the sign trick).
template <bool kVnni>
struct IQ4_NLP {
  using W = BlockIQ4_NL;
  using A = BlockQ8_0;
  static constexpr int kBlockValues = kQK;
  static constexpr bool kTail = false;
  using Dec = SymDec;
  static Dec decode(const W& b) {
    const __m256i levels = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(kIq4nlValues)));
    return sym_dec(_mm256_shuffle_epi8(levels, nibbles_32(b.qs)), f16(b.d));
  }
  static __m256 contrib(const Dec& w, const A& a) { return sym_contrib<kVnni>(w, a); }
  static float tail(int64_t, const W*, const A*) { return 0.0f; }
};

// q - 16 = nibble | 0xF0 where the 5th bit is clear, the nibble where it is set.
template <bool kVnni>
struct Q5_0P {
  using W = BlockQ5_0;
  using A = BlockQ8_0;
  static constexpr int kBlockValues = kQK;
  static constexpr bool kTail = false;
  using Dec = SymDec;
  static Dec decode(const W& b) {
    const __m256i hi = _mm256_andnot_si256(bytes_from_bits_32(b.qh), _mm256_set1_epi8(static_cast<char>(0xF0)));
    return sym_dec(_mm256_or_si256(nibbles_32(b.qs), hi), f16(b.d));
  }
  static __m256 contrib(const Dec& w, const A& a) { return sym_contrib<kVnni>(w, a); }
  static float tail(int64_t, const W*, const A*) { return 0.0f; }
};

struct AffDec {
  __m256i q;  // 32 unsigned values
  float d, m;
};

// d_w * d_a * sum(q * a) + m_w * s_a, the second term in lane 0.
template <bool kVnni>
inline __m256 aff_contrib(const AffDec& w, const BlockQ8_1& a) {
  const __m256i av = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a.qs));
  const __m256 ms = _mm256_setr_ps(w.m * f16(a.s), 0, 0, 0, 0, 0, 0, 0);
  const __m256 p = _mm256_cvtepi32_ps(dot_u8_i8<kVnni>(w.q, av));
  return _mm256_fmadd_ps(_mm256_set1_ps(w.d * f16(a.d)), p, ms);
}

template <bool kVnni>
struct Q4_1P {
  using W = BlockQ4_1;
  using A = BlockQ8_1;
  static constexpr int kBlockValues = kQK;
  static constexpr bool kTail = false;
  using Dec = AffDec;
  static Dec decode(const W& b) { return {nibbles_32(b.qs), f16(b.d), f16(b.m)}; }
  static __m256 contrib(const Dec& w, const A& a) { return aff_contrib<kVnni>(w, a); }
  static float tail(int64_t, const W*, const A*) { return 0.0f; }
};

template <bool kVnni>
struct Q5_1P {
  using W = BlockQ5_1;
  using A = BlockQ8_1;
  static constexpr int kBlockValues = kQK;
  static constexpr bool kTail = false;
  using Dec = AffDec;
  static Dec decode(const W& b) {
    const __m256i hi = _mm256_and_si256(bytes_from_bits_32(b.qh), _mm256_set1_epi8(0x10));
    return {_mm256_or_si256(nibbles_32(b.qs), hi), f16(b.d), f16(b.m)};
  }
  static __m256 contrib(const Dec& w, const A& a) { return aff_contrib<kVnni>(w, a); }
  static float tail(int64_t, const W*, const A*) { return 0.0f; }
};

}  // namespace
}  // namespace moe::avx2
