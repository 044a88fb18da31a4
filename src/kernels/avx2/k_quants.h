// Block policies (see tile.h) of the K formats against Q8_K. Decode unpacks a super-block's
// scales once per row; contrib runs over the 256 values with vpmaddubsw (weights as
// unsigned bytes) and vpmaddwd (scales), all sums exact in int32, then one float scale.
// Offsets (Q3_K's -4, Q6_K's -32) and mins are applied through the activation's bsums.
// kVnni fuses vpmaddwd + vpaddd into AVX512-VNNI's vpdpwssd (same integers).
#pragma once

#include <cstring>

#include "kernels/avx2/tile.h"
#include "quant/blocks.h"

namespace moe::avx2 {
namespace {


inline __m256i load256(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }
inline __m128i load128(const void* p) { return _mm_loadu_si128(static_cast<const __m128i*>(p)); }

// int16 scales for a pair of 16-value groups j, j+1 from 16 int8 scales: lanes 0..7 get
// scale j (the first 16 values' pair sums), lanes 8..15 scale j + 1.
inline __m256i pair_scales(__m128i sc, int j) {
  const __m128i shuf = _mm_set_epi64x(0x0101010101010101LL * (j + 1), 0x0101010101010101LL * j);
  return _mm256_cvtepi8_epi16(_mm_shuffle_epi8(sc, shuf));
}

// sumi + int32 partial sums of scale * (q . a) over 32 values: vpmaddubsw, then
// vpmaddwd + vpaddd, or AVX512-VNNI's vpdpwssd doing both.
template <bool kVnni>
inline __m256i scaled_dot(__m256i sumi, __m256i q, __m256i a, __m256i scales16) {
  const __m256i p = _mm256_maddubs_epi16(q, a);
  if constexpr (kVnni) {
    return _mm256_dpwssd_epi32(sumi, p, scales16);
  } else {
    return _mm256_add_epi32(sumi, _mm256_madd_epi16(p, scales16));
  }
}
template <bool kVnni>
inline __m256i scaled_dot(__m256i sumi, __m256i q, const int8_t* a, __m256i scales16) {
  return scaled_dot<kVnni>(sumi, q, load256(a), scales16);
}

struct NoTail {
  static constexpr bool kTail = false;
  template <class W, class A>
  static float tail(int64_t, const W*, const A*) { return 0.0f; }
};

// ---- Q2_K: q in 0..3, x = d * sc * q - dmin * m per group of 16.
template <bool kVnni>
struct Q2KP : NoTail {
  using W = BlockQ2_K;
  using A = BlockQ8_K;
  static constexpr int kBlockValues = kQK_K;
  struct Dec {
    const uint8_t* qs;
    __m128i sc, mn;
    float d, dmin;
  };
  static Dec decode(const W& b) {
    const __m128i s = load128(b.scales);
    const __m128i m4 = _mm_set1_epi8(0x0F);
    return {b.qs, _mm_and_si128(s, m4), _mm_and_si128(_mm_srli_epi16(s, 4), m4), f16(b.d), f16(b.dmin)};
  }
  static __m256 contrib(const Dec& w, const A& a) {
    const __m256i msum = _mm256_madd_epi16(_mm256_cvtepu8_epi16(w.mn), load256(a.bsums));
    const __m256i m3 = _mm256_set1_epi8(3);
    __m256i sums[2] = {_mm256_setzero_si256(), _mm256_setzero_si256()};
    for (int n = 0; n < 2; ++n) {
      const __m256i q = load256(w.qs + 32 * n);
      for (int k = 0; k < 4; ++k) {
        const __m256i qk = _mm256_and_si256(_mm256_srli_epi16(q, 2 * k), m3);
        sums[k & 1] = scaled_dot<kVnni>(sums[k & 1], qk, a.qs + 128 * n + 32 * k, pair_scales(w.sc, 8 * n + 2 * k));
      }
    }
    const __m256i sumi = _mm256_add_epi32(sums[0], sums[1]);
    const __m256 mterm = _mm256_mul_ps(_mm256_set1_ps(a.d * w.dmin), _mm256_cvtepi32_ps(msum));
    return _mm256_fmsub_ps(_mm256_set1_ps(a.d * w.d), _mm256_cvtepi32_ps(sumi), mterm);
  }
};

// ---- Q3_K: q2 + 4 * hbit in 0..7, minus 4 applied as -4 * sum_j sc_j * bsums_j.
template <bool kVnni>
struct Q3KP : NoTail {
  using W = BlockQ3_K;
  using A = BlockQ8_K;
  static constexpr int kBlockValues = kQK_K;
  struct Dec {
    const uint8_t* qs;
    const uint8_t* hmask;
    __m128i sc;  // 16 signed scales
    float d;
  };
  static Dec decode(const W& b) {
    uint32_t aux[3];
    std::memcpy(aux, b.scales, 12);
    constexpr uint32_t k2 = 0x03030303, k4 = 0x0f0f0f0f;
    const __m128i s = _mm_set_epi32(
        static_cast<int>(((aux[1] >> 4) & k4) | (((aux[2] >> 6) & k2) << 4)),
        static_cast<int>(((aux[0] >> 4) & k4) | (((aux[2] >> 4) & k2) << 4)),
        static_cast<int>((aux[1] & k4) | (((aux[2] >> 2) & k2) << 4)),
        static_cast<int>((aux[0] & k4) | ((aux[2] & k2) << 4)));
    return {b.qs, b.hmask, _mm_sub_epi8(s, _mm_set1_epi8(32)), f16(b.d)};
  }
  static __m256 contrib(const Dec& w, const A& a) {
    const __m256i off = _mm256_madd_epi16(_mm256_cvtepi8_epi16(w.sc), load256(a.bsums));
    const __m256i hbits = load256(w.hmask);
    const __m256i m3 = _mm256_set1_epi8(3), m1 = _mm256_set1_epi8(1);
    __m256i sums[2] = {_mm256_setzero_si256(), _mm256_setzero_si256()};
    for (int n = 0; n < 2; ++n) {
      const __m256i q = load256(w.qs + 32 * n);
      for (int k = 0; k < 4; ++k) {
        const __m256i q2 = _mm256_and_si256(_mm256_srli_epi16(q, 2 * k), m3);
        const __m256i h = _mm256_slli_epi16(_mm256_and_si256(_mm256_srli_epi16(hbits, 4 * n + k), m1), 2);
        sums[k & 1] = scaled_dot<kVnni>(sums[k & 1], _mm256_or_si256(q2, h), a.qs + 128 * n + 32 * k,
                                                 pair_scales(w.sc, 8 * n + 2 * k));
      }
    }
    const __m256i sumi = _mm256_sub_epi32(_mm256_add_epi32(sums[0], sums[1]), _mm256_slli_epi32(off, 2));
    return _mm256_mul_ps(_mm256_set1_ps(a.d * w.d), _mm256_cvtepi32_ps(sumi));
  }
};

// ---- Q4_K / Q5_K: 8 groups of 32 with 6-bit scale and min.
struct K4Scales {
  __m256i scales;  // int16 scales 0..7, repeated in both 128-bit lanes
  __m256i mins;    // int16 mins, each twice: m0 m0 m1 m1 .. m7 m7 (one per bsum of 16)
};

// Unpacks the 12 scale bytes into 8 scale bytes then 8 min bytes (see k4_scale_min):
//   sc0..3 = s0..3 & 63      sc4..7 = (s8..11 & 15) | (s0..3 >> 6) << 4
//   m0..3  = s4..7 & 63      m4..7  = (s8..11 >> 4) | (s4..7 >> 6) << 4
// `s` points into a block whose quants follow the scales, so 16 bytes are readable.
inline K4Scales unpack_k4(const uint8_t* s) {
  const __m128i v = load128(s);
  const __m128i a = _mm_shuffle_epi8(v, _mm_setr_epi8(0, 1, 2, 3, 8, 9, 10, 11, 4, 5, 6, 7, 8, 9, 10, 11));
  const __m128i b = _mm_shuffle_epi8(v, _mm_setr_epi8(-1, -1, -1, -1, 0, 1, 2, 3, -1, -1, -1, -1, 4, 5, 6, 7));
  const __m128i lo = _mm_and_si128(a, _mm_setr_epi8(63, 63, 63, 63, 15, 15, 15, 15, 63, 63, 63, 63, 0, 0, 0, 0));
  const __m128i hi_nib = _mm_and_si128(_mm_srli_epi16(a, 4), _mm_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 15, 15, 15, 15));
  const __m128i top = _mm_and_si128(_mm_srli_epi16(b, 2), _mm_set1_epi8(0x30));
  const __m128i sm = _mm_or_si128(_mm_or_si128(lo, hi_nib), top);
  const __m128i mins = _mm_shuffle_epi8(sm, _mm_setr_epi8(8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 14, 14, 15, 15));
  return {_mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(sm)), _mm256_cvtepu8_epi16(mins)};
}

// int16 scale of group g in every lane.
inline __m256i k4_scale(const K4Scales& s, int g) {
  return _mm256_shuffle_epi8(s.scales, _mm256_set1_epi16(static_cast<short>(((2 * g + 1) << 8) | (2 * g))));
}

// d_a * (d * sumi - dmin * sum_j m_(j/2) * bsums_j).
inline __m256 k4_finish(__m256i sumi, const K4Scales& s, float d, float dmin, const BlockQ8_K& a) {
  const __m256 mf = _mm256_cvtepi32_ps(_mm256_madd_epi16(s.mins, load256(a.bsums)));
  const __m256 mterm = _mm256_mul_ps(_mm256_set1_ps(a.d * dmin), mf);
  return _mm256_fmsub_ps(_mm256_set1_ps(a.d * d), _mm256_cvtepi32_ps(sumi), mterm);
}

template <bool kVnni>
struct Q4KP : NoTail {
  using W = BlockQ4_K;
  using A = BlockQ8_K;
  static constexpr int kBlockValues = kQK_K;
  struct Dec {
    const uint8_t* qs;
    K4Scales s;
    float d, dmin;
  };
  static Dec decode(const W& b) { return {b.qs, unpack_k4(b.scales), f16(b.d), f16(b.dmin)}; }
  static __m256 contrib(const Dec& w, const A& a) {
    const __m256i m4 = _mm256_set1_epi8(0x0F);
    __m256i sumi = _mm256_setzero_si256(), sum1 = _mm256_setzero_si256();  // two chains
    for (int c = 0; c < 4; ++c) {
      const __m256i q = load256(w.qs + 32 * c);
      const __m256i lo = _mm256_and_si256(q, m4);
      const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
      sumi = scaled_dot<kVnni>(sumi, lo, a.qs + 64 * c, k4_scale(w.s, 2 * c));
      sum1 = scaled_dot<kVnni>(sum1, hi, a.qs + 64 * c + 32, k4_scale(w.s, 2 * c + 1));
    }
    return k4_finish(_mm256_add_epi32(sumi, sum1), w.s, w.d, w.dmin, a);
  }
};

template <bool kVnni>
struct Q5KP : NoTail {
  using W = BlockQ5_K;
  using A = BlockQ8_K;
  static constexpr int kBlockValues = kQK_K;
  struct Dec {
    const uint8_t* qs;
    const uint8_t* qh;
    K4Scales s;
    float d, dmin;
  };
  static Dec decode(const W& b) { return {b.qs, b.qh, unpack_k4(b.scales), f16(b.d), f16(b.dmin)}; }
  static __m256 contrib(const Dec& w, const A& a) {
    const __m256i m4 = _mm256_set1_epi8(0x0F), m10 = _mm256_set1_epi8(0x10);
    const __m256i hbits = load256(w.qh);
    __m256i sumi = _mm256_setzero_si256(), sum1 = _mm256_setzero_si256();  // two chains
    for (int c = 0; c < 4; ++c) {
      const __m256i q = load256(w.qs + 32 * c);
      // bit s of qh -> bit 4 of each byte (16-bit shifts: the masked bit never crosses bytes)
      const __m256i h0 = _mm256_and_si256(_mm256_slli_epi16(_mm256_srli_epi16(hbits, 2 * c), 4), m10);
      const __m256i h1 = _mm256_and_si256(_mm256_slli_epi16(_mm256_srli_epi16(hbits, 2 * c + 1), 4), m10);
      const __m256i lo = _mm256_or_si256(_mm256_and_si256(q, m4), h0);
      const __m256i hi = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(q, 4), m4), h1);
      sumi = scaled_dot<kVnni>(sumi, lo, a.qs + 64 * c, k4_scale(w.s, 2 * c));
      sum1 = scaled_dot<kVnni>(sum1, hi, a.qs + 64 * c + 32, k4_scale(w.s, 2 * c + 1));
    }
    return k4_finish(_mm256_add_epi32(sumi, sum1), w.s, w.d, w.dmin, a);
  }
};

// ---- Q6_K: q in 0..63, the -32 applied as -32 * sum_j sc_j * bsums_j.
template <bool kVnni>
struct Q6KP : NoTail {
  using W = BlockQ6_K;
  using A = BlockQ8_K;
  static constexpr int kBlockValues = kQK_K;
  struct Dec {
    const uint8_t* ql;
    const uint8_t* qh;
    __m128i sc;
    float d;
  };
  static Dec decode(const W& b) { return {b.ql, b.qh, load128(b.scales), f16(b.d)}; }
  static __m256 contrib(const Dec& w, const A& a) {
    const __m256i off = _mm256_madd_epi16(_mm256_cvtepi8_epi16(w.sc), load256(a.bsums));
    const __m256i m4 = _mm256_set1_epi8(0x0F), m30 = _mm256_set1_epi8(0x30);
    __m256i sums[2] = {_mm256_setzero_si256(), _mm256_setzero_si256()};
    for (int n = 0; n < 2; ++n) {
      const __m256i l0 = load256(w.ql + 64 * n), l1 = load256(w.ql + 64 * n + 32);
      const __m256i h = load256(w.qh + 32 * n);
      const __m256i q[4] = {
          _mm256_or_si256(_mm256_and_si256(l0, m4), _mm256_and_si256(_mm256_slli_epi16(h, 4), m30)),
          _mm256_or_si256(_mm256_and_si256(l1, m4), _mm256_and_si256(_mm256_slli_epi16(h, 2), m30)),
          _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4), _mm256_and_si256(h, m30)),
          _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4),
                          _mm256_and_si256(_mm256_srli_epi16(h, 2), m30)),
      };
      for (int k = 0; k < 4; ++k) {
        sums[k & 1] = scaled_dot<kVnni>(sums[k & 1], q[k], a.qs + 128 * n + 32 * k, pair_scales(w.sc, 8 * n + 2 * k));
      }
    }
    const __m256i sumi = _mm256_sub_epi32(_mm256_add_epi32(sums[0], sums[1]), _mm256_slli_epi32(off, 5));
    return _mm256_mul_ps(_mm256_set1_ps(a.d * w.d), _mm256_cvtepi32_ps(sumi));
  }
};

}  // namespace
}  // namespace moe::avx2
