// Block policies (see tile.h) of the IQ formats against Q8_K. For the codebook formats (IQ1_S,
// IQ1_M, IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS, IQ3_S) decode expands a super-block into 256 unsigned
// bytes q + kOffset, where q is the integer value the reference uses (ref/k_quants.cpp: IQ2
// +-8/25/43, IQ1 8 grid +- 1, IQ3 +-magnitude), one int16 scale per 16 values and the float d'.
// contrib is then Q3_K's arithmetic: vpmaddubsw, vpmaddwd with the scales (or
// AVX512-VNNI's vpdpwssd), and the offset taken back through the activation's bsums:
//   sum_j sc_j (q + off) . a_j - sum_j (off sc_j) bsums_j
// all exact in int32 (|q| + off <= 124 (IQ3_XXS: 62 + 62): a pair of products, at most
// 2 x 124 x 127 = 31,496, stays below 2^15).
#pragma once

#include <cstring>
#include <vector>

#include "kernels/avx2/k_quants.h"
#include "quant/iq_grids.h"

namespace moe::avx2 {
namespace {

struct IqDec {
  __m256i q[8];       // 32 values each, q + offset, unsigned
  __m256i scales[8];  // int16: lanes 0..7 the chunk's first 16 values' scale, 8..15 the next
  __m256i off_scales; // int16 offset * scale per 16 values, against the bsums
  float d;
};

// The int16 lanes of one 32-value chunk: scale lo for lanes 0..7, hi for lanes 8..15.
inline __m256i chunk_scales(int lo, int hi) {
  return _mm256_set_m128i(_mm_set1_epi16(static_cast<int16_t>(hi)), _mm_set1_epi16(static_cast<int16_t>(lo)));
}

// The formats' scale fields s (every one stands for the odd scale 2s + 1), one per 32 values
// in int32 lanes -> offset * (2s + 1) per 16 values as int16 lanes (s0, s0, s1, s1, ...).
// Built in registers: assembling it in memory from scalar stores cost a store-forwarding stall
// per block.
inline __m256i offset_scales_32(__m256i s32, int offset) {
  const __m256i odd = _mm256_add_epi32(_mm256_add_epi32(s32, s32), _mm256_set1_epi32(1));
  const __m256i v = _mm256_mullo_epi32(odd, _mm256_set1_epi32(offset));
  return _mm256_or_si256(v, _mm256_slli_epi32(v, 16));
}
// The same from one field per 16 values in int16 lanes.
inline __m256i offset_scales_16(__m256i s16, int offset) {
  const __m256i odd = _mm256_add_epi16(_mm256_add_epi16(s16, s16), _mm256_set1_epi16(1));
  return _mm256_mullo_epi16(odd, _mm256_set1_epi16(static_cast<int16_t>(offset)));
}

// (m ^ neg) - neg + offset: the magnitudes m negated where neg is all ones, then offset.
inline __m256i signed_plus(__m256i m, __m256i neg, int offset) {
  return _mm256_add_epi8(_mm256_sub_epi8(_mm256_xor_si256(m, neg), neg), _mm256_set1_epi8(static_cast<char>(offset)));
}

// Byte-wise 8 g + add for bytes g in {-1, 0, 1}: the 16-bit shift's spill into the next byte
// is masked off.
inline __m256i times8_plus(__m256i g, __m256i add) {
  return _mm256_add_epi8(_mm256_and_si256(_mm256_slli_epi16(g, 3), _mm256_set1_epi8(static_cast<char>(0xF8))), add);
}

inline __m256i four_entries(uint64_t e0, uint64_t e1, uint64_t e2, uint64_t e3) {
  return _mm256_set_epi64x(static_cast<int64_t>(e3), static_cast<int64_t>(e2), static_cast<int64_t>(e1),
                           static_cast<int64_t>(e0));
}

template <bool kVnni, class Expand>
struct IqP : NoTail {
  using W = typename Expand::W;
  using A = BlockQ8_K;
  static constexpr int kBlockValues = kQK_K;
  using Dec = IqDec;
  static Dec decode(const W& b) {
    Dec o;
    Expand::expand(b, &o);
    return o;
  }
  static __m256 contrib(const Dec& w, const A& a) {
    const __m256i offs = _mm256_madd_epi16(w.off_scales, load256(a.bsums));
    __m256i sums[2] = {_mm256_setzero_si256(), _mm256_setzero_si256()};
    for (int k = 0; k < 8; ++k) sums[k & 1] = scaled_dot<kVnni>(sums[k & 1], w.q[k], a.qs + 32 * k, w.scales[k]);
    const __m256i sumi = _mm256_sub_epi32(_mm256_add_epi32(sums[0], sums[1]), offs);
    return _mm256_mul_ps(_mm256_set1_ps(a.d * w.d), _mm256_cvtepi32_ps(sumi));
  }
};

// IQ2_XXS: magnitudes from the grid, signs as byte masks, one scale 2s + 1 per 32.
struct ExpandIq2xxs {
  using W = BlockIQ2_XXS;
  static constexpr int kOffset = 43;
  static void expand(const W& b, IqDec* o) {
    for (int g = 0; g < 8; ++g) {
      uint32_t aux[2];
      std::memcpy(aux, b.qs + 4 * g, 8);
      const __m256i mag = four_entries(kIq2xxsGrid.v[aux[0] & 0xFF], kIq2xxsGrid.v[(aux[0] >> 8) & 0xFF],
                                       kIq2xxsGrid.v[(aux[0] >> 16) & 0xFF], kIq2xxsGrid.v[aux[0] >> 24]);
      const __m256i neg = four_entries(kIq2SignMasks.v[aux[1] & 127], kIq2SignMasks.v[(aux[1] >> 7) & 127],
                                       kIq2SignMasks.v[(aux[1] >> 14) & 127], kIq2SignMasks.v[(aux[1] >> 21) & 127]);
      o->q[g] = signed_plus(mag, neg, kOffset);
      o->scales[g] = _mm256_set1_epi16(static_cast<int16_t>(2 * (aux[1] >> 28) + 1));
    }
    // the scales are the top nibbles of the odd 32-bit words: one per 64-bit lane
    const __m256i idx = _mm256_setr_epi32(0, 2, 4, 6, 0, 2, 4, 6);
    const __m256i lo = _mm256_permutevar8x32_epi32(_mm256_srli_epi64(load256(b.qs), 60), idx);
    const __m256i hi = _mm256_permutevar8x32_epi32(_mm256_srli_epi64(load256(b.qs + 16), 60), idx);
    const __m256i s = _mm256_permute2x128_si256(lo, hi, 0x20);
    o->off_scales = offset_scales_32(s, kOffset);
    o->d = f16(b.d) * 0.125f;
  }
};

// IQ1_S: 8 grid + shift (+-1 per 32 values), one scale 2s + 1 per 32.
struct ExpandIq1s {
  using W = BlockIQ1_S;
  static constexpr int kOffset = 9;
  static void expand(const W& b, IqDec* o) {
    for (int g = 0; g < 8; ++g) {
      const uint32_t qh = b.qh[g];  // index bits 8-10 of sub-group l at bits 3l
      uint32_t q;
      std::memcpy(&q, b.qs + 4 * g, 4);
      const __m256i grid = four_entries(kIq1sGrid.v[(q & 0xFF) | ((qh << 8) & 0x700)],
                                        kIq1sGrid.v[((q >> 8) & 0xFF) | ((qh << 5) & 0x700)],
                                        kIq1sGrid.v[((q >> 16) & 0xFF) | ((qh << 2) & 0x700)],
                                        kIq1sGrid.v[(q >> 24) | ((qh >> 1) & 0x700)]);
      const int shift = qh & 0x8000 ? -1 : 1;
      o->q[g] = times8_plus(grid, _mm256_set1_epi8(static_cast<char>(kOffset + shift)));
      o->scales[g] = _mm256_set1_epi16(static_cast<int16_t>(2 * ((qh >> 12) & 7) + 1));
    }
    const __m256i qh32 = _mm256_cvtepu16_epi32(load128(b.qh));
    const __m256i s = _mm256_and_si256(_mm256_srli_epi32(qh32, 12), _mm256_set1_epi32(7));
    o->off_scales = offset_scales_32(s, kOffset);
    o->d = f16(b.d) * 0.125f;
  }
};

// IQ1_M: 8 grid + shift (+-1 per 8 values), one scale 2s + 1 per 16; d in the scales' top
// nibbles.
struct ExpandIq1m {
  using W = BlockIQ1_M;
  static constexpr int kOffset = 9;
  static void expand(const W& b, IqDec* o) {
    uint16_t w[4];
    std::memcpy(w, b.scales, 8);
    // bytes 0..15 look at qh byte 2g, 16..31 at byte 2g + 1; the shift sign of sub-group l is
    // bit 3 or 7 of its byte
    const __m256i pick = _mm256_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                          1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1);
    const __m256i flag = _mm256_setr_epi8(8, 8, 8, 8, 8, 8, 8, 8, -128, -128, -128, -128, -128, -128, -128, -128,
                                          8, 8, 8, 8, 8, 8, 8, 8, -128, -128, -128, -128, -128, -128, -128, -128);
    for (int g = 0; g < 8; ++g) {
      uint16_t h;  // sub-groups 4g..4g+3: index bits 8-10 at bits 0, 4, 8, 12; shift signs at 3, 7, 11, 15
      std::memcpy(&h, b.qh + 2 * g, 2);
      uint32_t q;
      std::memcpy(&q, b.qs + 4 * g, 4);
      const uint32_t hw = h;
      const __m256i grid = four_entries(kIq1sGrid.v[(q & 0xFF) | ((hw << 8) & 0x700)],
                                        kIq1sGrid.v[((q >> 8) & 0xFF) | ((hw << 4) & 0x700)],
                                        kIq1sGrid.v[((q >> 16) & 0xFF) | (hw & 0x700)],
                                        kIq1sGrid.v[(q >> 24) | ((hw >> 4) & 0x700)]);
      const __m256i neg = _mm256_cmpeq_epi8(
          _mm256_and_si256(_mm256_shuffle_epi8(_mm256_set1_epi16(static_cast<int16_t>(h)), pick), flag), flag);
      // kOffset + 1, or kOffset - 1 where the shift is negative
      const __m256i add = _mm256_sub_epi8(_mm256_set1_epi8(kOffset + 1), _mm256_and_si256(neg, _mm256_set1_epi8(2)));
      o->q[g] = times8_plus(grid, add);
      // scales 2g and 2g + 1: word g / 2, fields 2 (g % 2) and 2 (g % 2) + 1
      const int sw = w[g / 2] >> (6 * (g % 2));
      o->scales[g] = chunk_scales(2 * (sw & 7) + 1, 2 * ((sw >> 3) & 7) + 1);
    }
    // scale j (one per 16 values) is bits 3 (j % 4) of word j / 4: each int16 lane takes its
    // word, a multiply moves the field to bits 9-11
    const __m256i words = _mm256_shuffle_epi8(
        _mm256_set1_epi64x(static_cast<int64_t>(w[0] | static_cast<uint64_t>(w[1]) << 16 | static_cast<uint64_t>(w[2]) << 32 |
                                                static_cast<uint64_t>(w[3]) << 48)),
        _mm256_setr_epi8(0, 1, 0, 1, 0, 1, 0, 1, 2, 3, 2, 3, 2, 3, 2, 3, 4, 5, 4, 5, 4, 5, 4, 5, 6, 7, 6, 7, 6, 7, 6, 7));
    const __m256i at9 = _mm256_mullo_epi16(words, _mm256_setr_epi16(512, 64, 8, 1, 512, 64, 8, 1, 512, 64, 8, 1, 512, 64, 8, 1));
    o->off_scales = offset_scales_16(_mm256_and_si256(_mm256_srli_epi16(at9, 9), _mm256_set1_epi16(7)), kOffset);
    const uint16_t dh = static_cast<uint16_t>((w[0] >> 12) | ((w[1] >> 8) & 0x00F0) | ((w[2] >> 4) & 0x0F00) |
                                              (w[3] & 0xF000));
    o->d = f16(dh) * 0.125f;
  }
};

// The IQ2_XS / IQ2_S scales: nibble j of the 8 bytes is the scale field of values 16j .. 16j+15
// (int16 lanes), and the chunk (32 values) g's lane pair of 2s + 1.
inline __m256i iq2_scale_fields_16(const uint8_t* scales) {
  const __m128i v = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(scales));
  const __m128i m = _mm_set1_epi8(0x0F);
  return _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(_mm_and_si128(v, m), _mm_and_si128(_mm_srli_epi16(v, 4), m)));
}
inline __m256i iq2_chunk_scales(const uint8_t* scales, int g) {
  return chunk_scales(2 * (scales[g] & 0xF) + 1, 2 * (scales[g] >> 4) + 1);
}

// Two 4-value IQ3 entries side by side.
inline uint64_t entry_pair(uint32_t lo, uint32_t hi) { return lo | static_cast<uint64_t>(hi) << 32; }

// IQ2_XS: 9-bit indices and 7 sign bits per 8 values, scales per 16.
struct ExpandIq2xs {
  using W = BlockIQ2_XS;
  static constexpr int kOffset = 43;
  static void expand(const W& b, IqDec* o) {
    for (int g = 0; g < 8; ++g) {
      const uint16_t* q = b.qs + 4 * g;
      const __m256i mag = four_entries(kIq2xsGrid.v[q[0] & 511], kIq2xsGrid.v[q[1] & 511], kIq2xsGrid.v[q[2] & 511],
                                       kIq2xsGrid.v[q[3] & 511]);
      const __m256i neg = four_entries(kIq2SignMasks.v[q[0] >> 9], kIq2SignMasks.v[q[1] >> 9],
                                       kIq2SignMasks.v[q[2] >> 9], kIq2SignMasks.v[q[3] >> 9]);
      o->q[g] = signed_plus(mag, neg, kOffset);
      o->scales[g] = iq2_chunk_scales(b.scales, g);
    }
    o->off_scales = offset_scales_16(iq2_scale_fields_16(b.scales), kOffset);
    o->d = f16(b.d) * 0.125f;
  }
};

// IQ2_S: 10-bit indices (2 high bits per index in qh), sign bits, scales per 16.
struct ExpandIq2s {
  using W = BlockIQ2_S;
  static constexpr int kOffset = 43;
  static void expand(const W& b, IqDec* o) {
    for (int g = 0; g < 8; ++g) {
      const uint32_t h = b.qh[g];
      const uint8_t* q = b.qs + 4 * g;
      const __m256i mag = four_entries(kIq2sGrid.v[q[0] | ((h << 8) & 0x300)], kIq2sGrid.v[q[1] | ((h << 6) & 0x300)],
                                       kIq2sGrid.v[q[2] | ((h << 4) & 0x300)], kIq2sGrid.v[q[3] | ((h << 2) & 0x300)]);
      o->q[g] = signed_plus(mag, bytes_from_bits_32(b.signs + 4 * g), kOffset);
      o->scales[g] = iq2_chunk_scales(b.scales, g);
    }
    o->off_scales = offset_scales_16(iq2_scale_fields_16(b.scales), kOffset);
    o->d = f16(b.d) * 0.125f;
  }
};

// IQ3_XXS: 8 entries of 4 per 32 values, 7 sign bits per 8, one scale per 32.
struct ExpandIq3xxs {
  using W = BlockIQ3_XXS;
  static constexpr int kOffset = 62;
  static void expand(const W& b, IqDec* o) {
    for (int g = 0; g < 8; ++g) {
      uint32_t aux;
      std::memcpy(&aux, b.sas + 4 * g, 4);
      const uint8_t* q = b.qs + 8 * g;
      const __m256i mag = four_entries(entry_pair(kIq3xxsGrid.v[q[0]], kIq3xxsGrid.v[q[1]]),
                                       entry_pair(kIq3xxsGrid.v[q[2]], kIq3xxsGrid.v[q[3]]),
                                       entry_pair(kIq3xxsGrid.v[q[4]], kIq3xxsGrid.v[q[5]]),
                                       entry_pair(kIq3xxsGrid.v[q[6]], kIq3xxsGrid.v[q[7]]));
      const __m256i neg = four_entries(kIq2SignMasks.v[aux & 127], kIq2SignMasks.v[(aux >> 7) & 127],
                                       kIq2SignMasks.v[(aux >> 14) & 127], kIq2SignMasks.v[(aux >> 21) & 127]);
      o->q[g] = signed_plus(mag, neg, kOffset);
      o->scales[g] = _mm256_set1_epi16(static_cast<int16_t>(2 * (aux >> 28) + 1));
    }
    const __m256i s = _mm256_srli_epi32(load256(b.sas), 28);
    o->off_scales = offset_scales_32(s, kOffset);
    o->d = f16(b.d) * 0.25f;
  }
};

// IQ3_S: 9-bit indices (the 9th bit in qh), sign bits, scale 1 + 2s per 32.
struct ExpandIq3s {
  using W = BlockIQ3_S;
  static constexpr int kOffset = 15;
  static uint32_t entry(const W& b, int g, int m) {
    return kIq3sGrid.v[b.qs[8 * g + m] | (((static_cast<uint32_t>(b.qh[g]) >> m) & 1) << 8)];
  }
  static void expand(const W& b, IqDec* o) {
    uint32_t sc;
    std::memcpy(&sc, b.scales, 4);
    for (int g = 0; g < 8; ++g) {
      const __m256i mag = four_entries(entry_pair(entry(b, g, 0), entry(b, g, 1)), entry_pair(entry(b, g, 2), entry(b, g, 3)),
                                       entry_pair(entry(b, g, 4), entry(b, g, 5)), entry_pair(entry(b, g, 6), entry(b, g, 7)));
      o->q[g] = signed_plus(mag, bytes_from_bits_32(b.signs + 4 * g), kOffset);
      o->scales[g] = _mm256_set1_epi16(static_cast<int16_t>(1 + 2 * ((sc >> (4 * g)) & 0xF)));
    }
    const __m256i s = _mm256_and_si256(_mm256_srlv_epi32(_mm256_set1_epi32(static_cast<int>(sc)),
                                                         _mm256_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28)),
                                       _mm256_set1_epi32(0xF));
    o->off_scales = offset_scales_32(s, kOffset);
    o->d = f16(b.d);
  }
};

// Prompts: each row's blocks are expanded once for all its tokens. The tiles would expand
// them again for every 4 tokens, and an expansion costs several times one token's products.
// Every output is still tile<P, 1, 1>'s sum (blocks in pairs, then hsum): bitwise vec_dot.
template <class P, int T>
inline void expanded_row_tokens(const typename P::Dec* dec, int64_t nb, const uint8_t* a, size_t a_row_bytes,
                                float* y, int64_t y_stride) {
  using A = typename P::A;
  const A* ar[T];
  for (int t = 0; t < T; ++t) ar[t] = reinterpret_cast<const A*>(a + t * a_row_bytes);
  __m256 acc[T];
  for (int t = 0; t < T; ++t) acc[t] = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 2 <= nb; i += 2) {
    for (int t = 0; t < T; ++t)
      acc[t] = _mm256_add_ps(acc[t], _mm256_add_ps(P::contrib(dec[i], ar[t][i]), P::contrib(dec[i + 1], ar[t][i + 1])));
  }
  if (i < nb) {
    for (int t = 0; t < T; ++t) acc[t] = _mm256_add_ps(acc[t], P::contrib(dec[i], ar[t][i]));
  }
  for (int t = 0; t < T; ++t) y[t * y_stride] = hsum(acc[t]);
}

template <class P>
void gemm_expanded_rows(int64_t n, const void* w, size_t w_row_bytes, int64_t rows, const void* a,
                        size_t a_row_bytes, int64_t tokens, float* y, int64_t y_stride) {
  if (tokens <= 4) return gemm_tiled<P, 1, 4>(n, w, w_row_bytes, rows, a, a_row_bytes, tokens, y, y_stride);
  const int64_t nb = n / P::kBlockValues;
  std::vector<typename P::Dec> dec(static_cast<size_t>(nb));
  const auto* ab = static_cast<const uint8_t*>(a);
  for (int64_t r = 0; r < rows; ++r) {
    const auto* wr = reinterpret_cast<const typename P::W*>(static_cast<const uint8_t*>(w) + r * w_row_bytes);
    for (int64_t i = 0; i < nb; ++i) dec[i] = P::decode(wr[i]);
    const auto tokens_from = [&]<int T>(int64_t t0) {
      expanded_row_tokens<P, T>(dec.data(), nb, ab + t0 * a_row_bytes, a_row_bytes, y + t0 * y_stride + r, y_stride);
    };
    int64_t t0 = 0;
    for (; t0 + 4 <= tokens; t0 += 4) tokens_from.template operator()<4>(t0);
    switch (tokens - t0) {
      case 3: tokens_from.template operator()<3>(t0); break;
      case 2: tokens_from.template operator()<2>(t0); break;
      case 1: tokens_from.template operator()<1>(t0); break;
      default: break;
    }
  }
}

// IQ4_XS: signed IQ4_NL levels (one vpshufb per 32 values), one scale ls - 32 per 32, and the
// sign trick: |q| times the activation with q's sign (pairs below 2^15: 2 x 127 x 127).
template <bool kVnni>
struct Iq4xsP : NoTail {
  using W = BlockIQ4_XS;
  using A = BlockQ8_K;
  static constexpr int kBlockValues = kQK_K;
  struct Dec {
    __m256i q[8];       // signed levels
    __m256i aq[8];      // |q|
    __m256i scales[8];  // int16 ls - 32
    float d;
  };
  static Dec decode(const W& b) {
    const __m256i levels = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(kIq4nlValues)));
    Dec o;
    for (int g = 0; g < 8; ++g) {
      o.q[g] = _mm256_shuffle_epi8(levels, nibbles_32(b.qs + 16 * g));
      o.aq[g] = _mm256_abs_epi8(o.q[g]);
      const int ls = ((b.scales_l[g / 2] >> (4 * (g % 2))) & 0xF) | (((b.scales_h >> (2 * g)) & 3) << 4);
      o.scales[g] = _mm256_set1_epi16(static_cast<int16_t>(ls - 32));
    }
    o.d = f16(b.d);
    return o;
  }
  static __m256 contrib(const Dec& w, const A& a) {
    __m256i sums[2] = {_mm256_setzero_si256(), _mm256_setzero_si256()};
    for (int k = 0; k < 8; ++k) {
      const __m256i sa = _mm256_sign_epi8(load256(a.qs + 32 * k), w.q[k]);
      sums[k & 1] = scaled_dot<kVnni>(sums[k & 1], w.aq[k], sa, w.scales[k]);
    }
    return _mm256_mul_ps(_mm256_set1_ps(a.d * w.d), _mm256_cvtepi32_ps(_mm256_add_epi32(sums[0], sums[1])));
  }
};

template <bool kVnni>
using Iq2xxsP = IqP<kVnni, ExpandIq2xxs>;
template <bool kVnni>
using Iq1sP = IqP<kVnni, ExpandIq1s>;
template <bool kVnni>
using Iq2xsP = IqP<kVnni, ExpandIq2xs>;
template <bool kVnni>
using Iq2sP = IqP<kVnni, ExpandIq2s>;
template <bool kVnni>
using Iq3xxsP = IqP<kVnni, ExpandIq3xxs>;
template <bool kVnni>
using Iq3sP = IqP<kVnni, ExpandIq3s>;
template <bool kVnni>
using Iq1mP = IqP<kVnni, ExpandIq1m>;

}  // namespace
}  // namespace moe::avx2
