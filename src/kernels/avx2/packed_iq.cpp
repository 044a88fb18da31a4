// AVX2 products of the IQ layouts packed at load x Q8_K: IQ1_S_R16, IQ2_XXS_R16 (and IQ2_XS_R16,
// IQ2_S_R16: its codes with a scale per 16 values), and IQ4_XS_R16's
// layout (IQ4_XS_R16; IQ3_XXS_R16 and IQ3_S_R16, whose codebook entries were looked up at load,
// with other levels), bitwise the ref:: gemms (layouts in packed_k.cpp):
//   IQ1_S_R16: a 32-byte half line is Q2_K_R16's, 4 chunks of 2-bit values u for 8 rows, a
//     vpmaddubsw each against the activations (pairs <= 2 x 2 x 128; a group's two lines add
//     up in int16, <= 4096). Per group of 32 and row, one vpmaddwd against (8 sc, 8 sc) and
//     one against (m, m) x (-sum(a), 0), m = sc * (8 - shift), give the group's
//     sc * (8 sum(u a) - (8 - shift) sum(a)) exactly.
//   IQ2_XXS_R16: each chunk's 3-bit codes come out as Q3_K_R16's values and one vpshufb
//     makes them q + 43 (0 to 86): a vpmaddubsw pair is at most 2 x 86 x 128 = 22016, so
//     each chunk is widened at once, by a vpmaddwd against (sc, sc) that also applies the
//     group's scale; -43 sc sum(a) is added per column (vpmaddwd of (sc, sc) x (sum(a), 0),
//     times 43).
//   IQ4_XS_R16: a vpshufb turns each line's nibbles into the signed levels; |level| is
//     the unsigned operand and the activation takes the level's sign (vpsignb; |a| <= 127 in
//     Q8_K), so a vpmaddubsw pair is at most 2 x 127 x 127 = 32258 and is widened at once by
//     a vpmaddwd against the sub-block's (ls - 32, ls - 32): no offset to take back.
// The float steps are the reference's.
#include <immintrin.h>

#include "kernels/avx2/packed_tiles.h"
#include "kernels/avx2/tile.h"
#include "kernels/packed.h"
#include "quant/blocks.h"

namespace moe::avx2 {
namespace {

constexpr size_t kIq1sColumn = kPackRows * 70;                    // 1120
constexpr size_t kIq4xsColumn = kPackRows * sizeof(BlockIQ4_XS);  // 2176

// Nibble n of byte k of the 8 rows of half h (sm[k][r], the layouts' group nibbles) as the
// int16 pair (x, x) in each row's lane.
template <int kN>
inline __m256i group_nibbles(const uint8_t* sm, int k, int h) {
  __m128i nib = dup_bytes(sm + 16 * k + 8 * h);
  if constexpr (kN == 1) nib = _mm_srli_epi16(nib, 4);
  return _mm256_cvtepu8_epi16(_mm_and_si128(nib, _mm_set1_epi8(15)));
}

// Group 2k + n's (8 sc, 8 sc) and (m, m) for the 8 rows of half h: from the info nibbles
// (bits 0-2 s, sc = 2s + 1; bit 3: shift = -1, m = 9 sc, else m = 7 sc).
template <int kN>
inline void group_scales(const uint8_t* sm, int k, int h, __m256i* scale8, __m256i* m) {
  const __m256i info = group_nibbles<kN>(sm, k, h);
  const __m256i s = _mm256_and_si256(info, _mm256_set1_epi16(7));
  const __m256i sc = _mm256_add_epi16(_mm256_add_epi16(s, s), _mm256_set1_epi16(1));
  *scale8 = _mm256_slli_epi16(sc, 3);
  // 8 sc - sc, or 8 sc + sc where the shift is negative (-sc there: (sc ^ -1) + 1)
  const __m256i negative = _mm256_cmpgt_epi16(info, _mm256_set1_epi16(7));
  *m = _mm256_sub_epi16(*scale8, _mm256_sub_epi16(_mm256_xor_si256(sc, negative), negative));
}

// Tokens [0, T) x H halves from half h0; the float sums live in y between super-blocks.
template <int T, int H>
inline void iq1_s_tile(int64_t nb, const uint8_t* group, int h0, const BlockQ8_K* const* act,
                       float* y, int64_t y_stride) {
  zero_sums_in_y<T, H>(y, y_stride, h0);
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* col = group + b * kIq1sColumn;
    prefetch_ahead(col, (kIq1sColumn + 63) / 64);
    const uint8_t* sm = col + 32;
    const uint8_t* q = col + 96 + 32 * h0;
    const BlockQ8_K* a[T];
    __m256i isum[T][H];
    start_column<T, H>(act, b, a, isum);
#pragma GCC unroll 1
    for (int k = 0; k < 4; ++k) {
#pragma GCC unroll 2
      for (int n = 0; n < 2; ++n) {
        const int g = 2 * k + n;
        __m256i s[T][H];
        for (int t = 0; t < T; ++t) {
          for (int h = 0; h < H; ++h) s[t][h] = _mm256_setzero_si256();
        }
        for (int line = 2 * g; line < 2 * g + 2; ++line) {
          for (int h = 0; h < H; ++h) {
            __m256i v[4];
            two_bit_chunks(load256(q + 64 * line + 32 * h), v);
            for (int t = 0; t < T; ++t) {
              const int8_t* qa = a[t]->qs + 16 * line;
              for (int c = 0; c < 4; ++c)
                s[t][h] = _mm256_add_epi16(s[t][h], _mm256_maddubs_epi16(v[c], bcast4(qa + 4 * c)));
              in_order(s[t][h]);
            }
          }
        }
        for (int h = 0; h < H; ++h) {
          __m256i scale8, m;
          if (n == 0) {
            group_scales<0>(sm, k, h0 + h, &scale8, &m);
          } else {
            group_scales<1>(sm, k, h0 + h, &scale8, &m);
          }
          for (int t = 0; t < T; ++t) {
            // (-sum(a over the group), 0) in every lane
            const int neg_bsum = -(a[t]->bsums[2 * g] + a[t]->bsums[2 * g + 1]);
            const __m256i bsum_pair = _mm256_set1_epi32(neg_bsum & 0xFFFF);
            isum[t][h] = _mm256_add_epi32(isum[t][h], _mm256_madd_epi16(s[t][h], scale8));
            isum[t][h] = _mm256_add_epi32(isum[t][h], _mm256_madd_epi16(m, bsum_pair));
          }
        }
      }
    }
    for (int h = 0; h < H; ++h) {
      const __m256 dw =
          _mm256_mul_ps(_mm256_cvtph_ps(load128(col + 16 * (h0 + h))), _mm256_set1_ps(0.125f));
      for (int t = 0; t < T; ++t) {
        float* yh = y + t * y_stride + 8 * (h0 + h);
        const __m256 scale = _mm256_mul_ps(dw, _mm256_set1_ps(a[t]->d));
        _mm256_storeu_ps(
            yh, _mm256_fmadd_ps(scale, _mm256_cvtepi32_ps(isum[t][h]), _mm256_loadu_ps(yh)));
      }
    }
  }
}

// ---- IQ2_XXS_R16

// Group 2k + n's (sc, sc) for the 8 rows of half h (the scale nibble s, sc = 2s + 1).
template <int kN>
inline __m256i iq2_xxs_scales(const uint8_t* sm, int k, int h) {
  const __m256i s = group_nibbles<kN>(sm, k, h);
  return _mm256_add_epi16(_mm256_add_epi16(s, s), _mm256_set1_epi16(1));
}

// kUnits 8: IQ2_XXS_R16 (a scale per 32 values, two lines); 16: IQ2_XS_R16 (per line of 16).
template <int T, int H, int kUnits>
inline void iq2_tile(int64_t nb, const uint8_t* group, int h0, const BlockQ8_K* const* act,
                     float* y, int64_t y_stride) {
  constexpr int kLines = 16 / kUnits;  // lines (16 values) per scale unit
  constexpr size_t kColumn = kPackRows * (98 + kUnits / 2);
  const __m256i plus43 = _mm256_setr_epi8(0, 18, 35, 51, 68, 86, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  //
                                          0, 18, 35, 51, 68, 86, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
  zero_sums_in_y<T, H>(y, y_stride, h0);
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* col = group + b * kColumn;
    prefetch_ahead(col, (kColumn + 63) / 64);
    const uint8_t* sm = col + 32;
    const uint8_t* q = sm + 8 * kUnits + 32 * h0;
    const uint8_t* hb = sm + 8 * kUnits + 1024;
    const BlockQ8_K* a[T];
    __m256i isum[T][H], offset[T][H];  // offset: sum_g sc_g sum(a over unit g)
    start_column<T, H>(act, b, a, isum);
    for (int t = 0; t < T; ++t) {
      for (int h = 0; h < H; ++h) offset[t][h] = _mm256_setzero_si256();
    }
#pragma GCC unroll 1
    for (int k = 0; k < kUnits / 2; ++k) {
#pragma GCC unroll 2
      for (int n = 0; n < 2; ++n) {
        const int g = 2 * k + n;
        for (int h = 0; h < H; ++h) {
          const int hh = h0 + h;
          const __m256i sc = n == 0 ? iq2_xxs_scales<0>(sm, k, hh) : iq2_xxs_scales<1>(sm, k, hh);
          for (int line = kLines * g; line < kLines * g + kLines; ++line) {
            // codes -> q + 43: vpshufb takes a byte's low nibble, and a high nibble shifted down
            // keeps bit 7 clear
            __m256i x02, x13;
            three_bit_pairs(load256(q + 64 * line + 32 * h), load256(hb + 32 * line), hh, &x02, &x13);
            const __m256i v[4] = {_mm256_shuffle_epi8(plus43, x02), _mm256_shuffle_epi8(plus43, x13),
                                  _mm256_shuffle_epi8(plus43, _mm256_srli_epi16(x02, 4)),
                                  _mm256_shuffle_epi8(plus43, _mm256_srli_epi16(x13, 4))};
            for (int t = 0; t < T; ++t) {
              const int8_t* qa = a[t]->qs + 16 * line;
              for (int c = 0; c < 4; ++c) {
                const __m256i p = _mm256_maddubs_epi16(v[c], bcast4(qa + 4 * c));
                isum[t][h] = _mm256_add_epi32(isum[t][h], _mm256_madd_epi16(p, sc));
              }
              in_order(isum[t][h]);
            }
          }
          for (int t = 0; t < T; ++t) {
            int bsum = 0;
            for (int line = kLines * g; line < kLines * g + kLines; ++line)
              bsum += a[t]->bsums[line];
            offset[t][h] = _mm256_add_epi32(
                offset[t][h], _mm256_madd_epi16(sc, _mm256_set1_epi32(bsum & 0xFFFF)));
          }
        }
      }
    }
    for (int h = 0; h < H; ++h) {
      const __m256 dw =
          _mm256_mul_ps(_mm256_cvtph_ps(load128(col + 16 * (h0 + h))), _mm256_set1_ps(0.125f));
      for (int t = 0; t < T; ++t) {
        const __m256i total =
            _mm256_sub_epi32(isum[t][h], _mm256_mullo_epi32(offset[t][h], _mm256_set1_epi32(43)));
        float* yh = y + t * y_stride + 8 * (h0 + h);
        const __m256 scale = _mm256_mul_ps(dw, _mm256_set1_ps(a[t]->d));
        _mm256_storeu_ps(yh,
                         _mm256_fmadd_ps(scale, _mm256_cvtepi32_ps(total), _mm256_loadu_ps(yh)));
      }
    }
  }
}

template <int T, int H>
inline void iq2_xxs_tile(int64_t nb, const uint8_t* group, int h0, const BlockQ8_K* const* act,
                         float* y, int64_t y_stride) {
  iq2_tile<T, H, 8>(nb, group, h0, act, y, y_stride);
}
template <int T, int H>
inline void iq2_xs_tile(int64_t nb, const uint8_t* group, int h0, const BlockQ8_K* const* act,
                        float* y, int64_t y_stride) {
  iq2_tile<T, H, 16>(nb, group, h0, act, y, y_stride);
}

// ---- IQ4_XS_R16

// Sub-block j's (ls_j - 32, ls_j - 32) as the int16 pair of each row's lane, for the 8 rows
// whose scales_l dwords are sl and scales_h words (zero-extended) sh.
inline __m256i iq4_xs_scale_pair(__m256i sl, __m256i sh, int j) {
  const __m256i low = _mm256_and_si256(_mm256_srli_epi32(sl, 4 * j), _mm256_set1_epi32(15));
  const __m256i high =
      _mm256_and_si256(_mm256_slli_epi32(_mm256_srli_epi32(sh, 2 * j), 4), _mm256_set1_epi32(48));
  const __m256i s = _mm256_sub_epi32(_mm256_or_si256(low, high), _mm256_set1_epi32(32));
  return _mm256_or_si256(_mm256_slli_epi32(s, 16), _mm256_and_si256(s, _mm256_set1_epi32(0xFFFF)));
}

// IQ4_XS_R16's layout with its levels (IQ4_NL's; IQ3_XXS_R16's and IQ3_S_R16's codes: packed.h)
// and d times kDScale.
template <int T, int H, const int8_t (&kLevels)[16], float kDScale>
inline void level_tile(int64_t nb, const uint8_t* group, int h0, const BlockQ8_K* const* act,
                       float* y, int64_t y_stride) {
  const __m256i m0f = _mm256_set1_epi8(0x0F);
  const __m256i levels = _mm256_broadcastsi128_si256(load128(kLevels));
  zero_sums_in_y<T, H>(y, y_stride, h0);
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* col = group + b * kIq4xsColumn;
    const uint8_t* q = col + 128 + 32 * h0;
    const BlockQ8_K* a[T];
    __m256i isum[T][H];
    start_column<T, H>(act, b, a, isum);
#pragma GCC unroll 1
    for (int c = 0; c < 4; ++c) {
      prefetch_ahead(col + kIq4xsColumn / 4 * c, (kIq4xsColumn + 255) / 256);  // a quarter
      for (int h = 0; h < H; ++h) {
        const int hh = h0 + h;
        const __m256i sl = load256(col + 32 + 32 * hh);
        const __m256i sh = _mm256_cvtepu16_epi32(load128(col + 96 + 16 * hh));
        const __m256i sc_lo = iq4_xs_scale_pair(sl, sh, 2 * c),
                      sc_hi = iq4_xs_scale_pair(sl, sh, 2 * c + 1);
#pragma GCC unroll 2
        for (int i = 0; i < 8; ++i) {
          const __m256i w = load256(q + 64 * (8 * c + i) + 32 * h);
          const __m256i vl = _mm256_shuffle_epi8(levels, _mm256_and_si256(w, m0f));
          const __m256i vh =
              _mm256_shuffle_epi8(levels, _mm256_and_si256(_mm256_srli_epi16(w, 4), m0f));
          const __m256i ul = _mm256_abs_epi8(vl), uh = _mm256_abs_epi8(vh);
          for (int t = 0; t < T; ++t) {
            const int8_t* qa = a[t]->qs + 64 * c + 4 * i;
            const __m256i pl = _mm256_maddubs_epi16(ul, _mm256_sign_epi8(bcast4(qa), vl));
            const __m256i ph = _mm256_maddubs_epi16(uh, _mm256_sign_epi8(bcast4(qa + 32), vh));
            isum[t][h] = _mm256_add_epi32(
                isum[t][h],
                _mm256_add_epi32(_mm256_madd_epi16(pl, sc_lo), _mm256_madd_epi16(ph, sc_hi)));
          }
        }
      }
    }
    for (int h = 0; h < H; ++h) {
      __m256 dw = _mm256_cvtph_ps(load128(col + 16 * (h0 + h)));
      if constexpr (kDScale != 1.0f) dw = _mm256_mul_ps(dw, _mm256_set1_ps(kDScale));
      for (int t = 0; t < T; ++t) {
        float* yh = y + t * y_stride + 8 * (h0 + h);
        const __m256 scale = _mm256_mul_ps(dw, _mm256_set1_ps(a[t]->d));
        _mm256_storeu_ps(
            yh, _mm256_fmadd_ps(scale, _mm256_cvtepi32_ps(isum[t][h]), _mm256_loadu_ps(yh)));
      }
    }
  }
}

template <int T, int H>
inline void iq4_xs_tile(int64_t nb, const uint8_t* group, int h0, const BlockQ8_K* const* act,
                        float* y, int64_t y_stride) {
  level_tile<T, H, kIq4nlValues, 1.0f>(nb, group, h0, act, y, y_stride);
}
template <int T, int H>
inline void iq3_xxs_tile(int64_t nb, const uint8_t* group, int h0, const BlockQ8_K* const* act,
                         float* y, int64_t y_stride) {
  level_tile<T, H, kIq3xxsLevels, 0.25f>(nb, group, h0, act, y, y_stride);
}
template <int T, int H>
inline void iq3_s_tile(int64_t nb, const uint8_t* group, int h0, const BlockQ8_K* const* act,
                       float* y, int64_t y_stride) {
  level_tile<T, H, kIq3sLevels, 1.0f>(nb, group, h0, act, y, y_stride);
}

MOE_AVX2_K_TILES(kIq4xsMulti, kIq4xsPair, iq4_xs_tile)
MOE_AVX2_K_TILES(kIq3xxsMulti, kIq3xxsPair, iq3_xxs_tile)
MOE_AVX2_K_TILES(kIq3sMulti, kIq3sPair, iq3_s_tile)
MOE_AVX2_K_TILES(kIq2xxsMulti, kIq2xxsPair, iq2_xxs_tile)
MOE_AVX2_K_TILES(kIq2xsMulti, kIq2xsPair, iq2_xs_tile)
MOE_AVX2_K_TILES(kIq1sMulti, kIq1sPair, iq1_s_tile)

}  // namespace

MOE_AVX2_K_GEMM(iq1_s_r16, iq1_s_tile, kIq1sMulti, kIq1sPair)
MOE_AVX2_K_GEMM(iq2_xxs_r16, iq2_xxs_tile, kIq2xxsMulti, kIq2xxsPair)
MOE_AVX2_K_GEMM(iq2_xs_r16, iq2_xs_tile, kIq2xsMulti, kIq2xsPair)
MOE_AVX2_K_GEMM(iq2_s_r16, iq2_xs_tile, kIq2xsMulti, kIq2xsPair)
MOE_AVX2_K_GEMM(iq4_xs_r16, iq4_xs_tile, kIq4xsMulti, kIq4xsPair)
MOE_AVX2_K_GEMM(iq3_xxs_r16, iq3_xxs_tile, kIq3xxsMulti, kIq3xxsPair)
MOE_AVX2_K_GEMM(iq3_s_r16, iq3_s_tile, kIq3sMulti, kIq3sPair)

}  // namespace moe::avx2
