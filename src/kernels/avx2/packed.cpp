// AVX2 Q8_0_R16 / Q4_0_R16 / Q4_K_R16 / Q5_K_R16 / Q6_K_R16 / Q2_K_R16 / Q3_K_R16 / IQ1_M_R16
// products: bitwise the ref:: definitions, on the same packed layouts as the AVX-512 kernels
// (kernels/packed.h, packed_k.cpp), so one repacking serves both tables. A 64-byte chunk of 16 rows
// is two 32-byte halves (rows 0-7, 8-15).
//
// AVX2 has no vpdpbusd: vpmaddubsw multiplies unsigned by signed bytes into int16 pair sums
// (saturating), and vpmaddwd widens pairs to int32. Every int16 sum below stays in range, so
// the integer sums are exact and equal the reference's:
//   Q8_0: the stored q + 128 is turned back into q; |q| <= 128 goes in as the unsigned
//         operand and the activation takes q's sign (|a| <= 127 in Q8_0_S): pairs <= 32512.
//         One token instead splits its activations into nibbles and multiplies q + 128 as
//         stored (q8_one_token, bounds there).
//   Q4_0: nibbles <= 15 x |a| <= 128: pairs <= 3840, a block's 8 chunks <= 30720, then one
//         vpmaddwd per block.
//   Q4_K: nibbles <= 15 x |a| <= 128: pairs <= 3840, 8 chunks of a sub-block <= 30720, then
//         one vpmaddwd per sub-block applies the 6-bit scale.
//   Q5_K: values <= 31: pairs <= 7936, so a vpmaddwd every 4 chunks (<= 31744).
//   Q6_K: values <= 63 x |a| <= 128: pairs <= 16128, two chunks <= 32256.
//   Q2_K, Q3_K: values <= 3 (7) x |a| <= 128: a sub-block's 4 chunks <= 16 x 7 x 128 = 14336.
//   IQ1_M: q + 9 <= 18: a sub-block's 4 chunks add 8 products in each int16, <= 18432.
// One token (decode), or a call of up to 4 tokens, reads both halves in one pass. More tokens
// go over one half at a time (more tokens' accumulators fit the 16 registers); the second pass
// finds the group in L2. The float work per element is the reference's, in its order.
#include "kernels/packed.h"

#include <immintrin.h>

#include "kernels/avx2/packed_tiles.h"
#include "kernels/avx2/q3_K_scales.h"
#include "kernels/avx2/tile.h"
#include "quant/blocks.h"

namespace moe::avx2 {
namespace {

constexpr size_t kQ8Column = kPackRows * sizeof(BlockQ8_0);  // 544
constexpr size_t kQ40Column = kPackRows * sizeof(BlockQ4_0);  // 288
constexpr size_t kQ4Column = kPackRows * sizeof(BlockQ4_K);  // 2304
constexpr size_t kQ5Column = kPackRows * sizeof(BlockQ5_K);  // 2816
constexpr size_t kQ6Column = kPackRows * sizeof(BlockQ6_K);  // 3360
constexpr size_t kQ2Column = kPackRows * sizeof(BlockQ2_K);  // 1344
constexpr size_t kQ3Column = kPackRows * sizeof(BlockQ3_K);  // 1760
// ---- Q8_0_R16 (column: f16 d[16], then q[8][16][4] stored as q + 128)

// Tokens [0, T) x H halves from half h0 (H = 2: all 16 rows). With more than 4 (token, half)
// sums the float sums live in y between blocks, as in q4_tile: the registers go to the
// integer sums, and each weight chunk's decoding (xor, abs) serves up to 8 tokens.
template <int T, int H>
inline void q8_tile(int64_t nb, const uint8_t* group, int h0, const BlockQ8_0S* const* act,
                    float* y, int64_t y_stride) {
  constexpr bool kSumsInY = T * H > 4;
  const __m256i flip = _mm256_set1_epi8(static_cast<char>(0x80));
  const __m256i ones = _mm256_set1_epi16(1);
  __m256 acc[kSumsInY ? 1 : T][H];
  for (int t = 0; t < T; ++t) {
    for (int h = 0; h < H; ++h) {
      if constexpr (kSumsInY) {
        _mm256_storeu_ps(y + t * y_stride + 8 * (h0 + h), _mm256_setzero_ps());
      } else {
        acc[t][h] = _mm256_setzero_ps();
      }
    }
  }
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* col = group + b * kQ8Column;
    prefetch_ahead(col, (kQ8Column + 63) / 64);
    const uint8_t* q = col + kPackRows * sizeof(uint16_t) + 32 * h0;
    __m256i s[T][H];
    for (int t = 0; t < T; ++t) {
      for (int h = 0; h < H; ++h) s[t][h] = _mm256_setzero_si256();
    }
#pragma GCC unroll 8
    for (int c = 0; c < 8; ++c) {
      for (int h = 0; h < H; ++h) {
        const __m256i ws = _mm256_xor_si256(load256(q + 64 * c + 32 * h), flip);  // q
        const __m256i wa = _mm256_abs_epi8(ws);
        for (int t = 0; t < T; ++t) {
          const __m256i p =
              _mm256_maddubs_epi16(wa, _mm256_sign_epi8(bcast4(act[t][b].qs + 4 * c), ws));
          s[t][h] = _mm256_add_epi32(s[t][h], _mm256_madd_epi16(p, ones));
          in_order(s[t][h]);
        }
      }
    }
    for (int h = 0; h < H; ++h) {
      const __m256 dw = _mm256_cvtph_ps(load128(col + 16 * (h0 + h)));
      for (int t = 0; t < T; ++t) {
        const __m256 scale = _mm256_mul_ps(dw, _mm256_set1_ps(act[t][b].d));
        if constexpr (kSumsInY) {
          float* yh = y + t * y_stride + 8 * (h0 + h);
          _mm256_storeu_ps(
              yh, _mm256_fmadd_ps(scale, _mm256_cvtepi32_ps(s[t][h]), _mm256_loadu_ps(yh)));
        } else {
          acc[t][h] = _mm256_fmadd_ps(scale, _mm256_cvtepi32_ps(s[t][h]), acc[t][h]);
        }
      }
    }
  }
  if constexpr (!kSumsInY) {
    for (int t = 0; t < T; ++t) {
      for (int h = 0; h < H; ++h) _mm256_storeu_ps(y + t * y_stride + 8 * (h0 + h), acc[t][h]);
    }
  }
}

// One token (decode) with the activations split as a = 16 * hi + lo, lo = a & 15 in [0, 15],
// hi = a >> 4 in [-8, 7]: sum((q + 128) * a) = 16 * sum((q + 128) * hi) + sum((q + 128) * lo),
// so the stored q + 128 is vpmaddubsw's unsigned operand as it is. A 32-byte half costs two
// vpmaddubsw and two vpaddw instead of the xor, abs, vpsignb, vpmaddubsw, vpmaddwd and vpaddd
// of q8_tile, and the split is made once per call for all the rows. int16 sums stay in range:
// lo pairs <= 2 * 255 * 15 = 7650, widened every 4 chunks (<= 30600); hi pairs >= -2 * 255 * 8,
// 8 chunks >= -32640.
constexpr int64_t kSplitBlocks = 512;  // activation blocks split per pass (32 KiB of stack)

// Block b's lo bytes at split + 64 b, its hi bytes 32 further.
inline void split_activations(const BlockQ8_0S* act, int64_t nb, int8_t* split) {
  const __m256i m0f = _mm256_set1_epi8(0x0F), m8 = _mm256_set1_epi8(8);
  for (int64_t b = 0; b < nb; ++b) {
    const __m256i a = load256(act[b].qs);
    // AVX2 has no vpsrab: the high nibble, then its sign extended from 4 bits
    const __m256i nibble = _mm256_and_si256(_mm256_srli_epi16(a, 4), m0f);
    const __m256i hi = _mm256_sub_epi8(_mm256_xor_si256(nibble, m8), m8);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(split + 64 * b), _mm256_and_si256(a, m0f));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(split + 64 * b + 32), hi);
  }
}

// All 16 rows of a group against blocks [0, nb) of one token; `resume`: add to y's sums.
inline void q8_one_token(int64_t nb, const uint8_t* group, const BlockQ8_0S* act,
                         const int8_t* split, float* y, bool resume) {
  const __m256i ones = _mm256_set1_epi16(1), sixteen = _mm256_set1_epi16(16);
  __m256 acc[2];
  for (int h = 0; h < 2; ++h) acc[h] = resume ? _mm256_loadu_ps(y + 8 * h) : _mm256_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* col = group + b * kQ8Column;
    prefetch_ahead(col, (kQ8Column + 63) / 64);
    const uint8_t* q = col + kPackRows * sizeof(uint16_t);
    const int8_t* s = split + 64 * b;
    __m256i isum[2], lo[2], hi[2];
    for (int h = 0; h < 2; ++h) {
      isum[h] = _mm256_set1_epi32(act[b].neg_sum128);
      lo[h] = hi[h] = _mm256_setzero_si256();
    }
#pragma GCC unroll 8
    for (int c = 0; c < 8; ++c) {
      const __m256i al = bcast4(s + 4 * c), ah = bcast4(s + 32 + 4 * c);
      for (int h = 0; h < 2; ++h) {
        const __m256i u = load256(q + 64 * c + 32 * h);
        lo[h] = _mm256_add_epi16(lo[h], _mm256_maddubs_epi16(u, al));
        hi[h] = _mm256_add_epi16(hi[h], _mm256_maddubs_epi16(u, ah));
        in_order(lo[h]);
        in_order(hi[h]);
      }
      if (c % 4 == 3) {
        for (int h = 0; h < 2; ++h) {
          isum[h] = _mm256_add_epi32(isum[h], _mm256_madd_epi16(lo[h], ones));
          lo[h] = _mm256_setzero_si256();
        }
      }
    }
    for (int h = 0; h < 2; ++h) {
      isum[h] = _mm256_add_epi32(isum[h], _mm256_madd_epi16(hi[h], sixteen));
      const __m256 dw = _mm256_cvtph_ps(load128(col + 16 * h));
      const __m256 scale = _mm256_mul_ps(dw, _mm256_set1_ps(act[b].d));
      acc[h] = _mm256_fmadd_ps(scale, _mm256_cvtepi32_ps(isum[h]), acc[h]);
    }
  }
  for (int h = 0; h < 2; ++h) _mm256_storeu_ps(y + 8 * h, acc[h]);
}

// ---- Q4_0_R16 (column: f16 d[16], then q[4][16][4], line c: chunk c low, c + 4 high)

// Tokens [0, T) x H halves from half h0, as q8_tile (float sums in y past 4 (token, half)
// pairs). Each 32-byte line half gives both nibbles' values once for all the tokens; the
// int16 sums take the whole block before one vpmaddwd widens them.
template <int T, int H>
inline void q40_tile(int64_t nb, const uint8_t* group, int h0, const BlockQ8_0S* const* act,
                     float* y, int64_t y_stride) {
  constexpr bool kSumsInY = T * H > 4;
  const __m256i m0f = _mm256_set1_epi8(0x0F), ones = _mm256_set1_epi16(1);
  __m256 acc[kSumsInY ? 1 : T][H];
  for (int t = 0; t < T; ++t) {
    for (int h = 0; h < H; ++h) {
      if constexpr (kSumsInY) {
        _mm256_storeu_ps(y + t * y_stride + 8 * (h0 + h), _mm256_setzero_ps());
      } else {
        acc[t][h] = _mm256_setzero_ps();
      }
    }
  }
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* col = group + b * kQ40Column;
    prefetch_ahead(col, (kQ40Column + 63) / 64);
    const uint8_t* q = col + kPackRows * sizeof(uint16_t) + 32 * h0;
    __m256i s[T][H];
    for (int t = 0; t < T; ++t) {
      for (int h = 0; h < H; ++h) s[t][h] = _mm256_setzero_si256();
    }
#pragma GCC unroll 4
    for (int c = 0; c < 4; ++c) {
      for (int h = 0; h < H; ++h) {
        const __m256i w = load256(q + 64 * c + 32 * h);
        const __m256i lo = _mm256_and_si256(w, m0f),
                      hi = _mm256_and_si256(_mm256_srli_epi16(w, 4), m0f);
        for (int t = 0; t < T; ++t) {
          const __m256i p =
              _mm256_add_epi16(_mm256_maddubs_epi16(lo, bcast4(act[t][b].qs + 4 * c)),
                               _mm256_maddubs_epi16(hi, bcast4(act[t][b].qs + 16 + 4 * c)));
          s[t][h] = _mm256_add_epi16(s[t][h], p);
          in_order(s[t][h]);
        }
      }
    }
    for (int h = 0; h < H; ++h) {
      const __m256 dw = _mm256_cvtph_ps(load128(col + 16 * (h0 + h)));
      for (int t = 0; t < T; ++t) {
        // neg_sum128 = -128 * sum(a): the shift is exact
        const __m256i isum = _mm256_add_epi32(_mm256_madd_epi16(s[t][h], ones),
                                              _mm256_set1_epi32(act[t][b].neg_sum128 >> 4));
        const __m256 scale = _mm256_mul_ps(dw, _mm256_set1_ps(act[t][b].d));
        if constexpr (kSumsInY) {
          float* yh = y + t * y_stride + 8 * (h0 + h);
          _mm256_storeu_ps(yh,
                           _mm256_fmadd_ps(scale, _mm256_cvtepi32_ps(isum), _mm256_loadu_ps(yh)));
        } else {
          acc[t][h] = _mm256_fmadd_ps(scale, _mm256_cvtepi32_ps(isum), acc[t][h]);
        }
      }
    }
  }
  if constexpr (!kSumsInY) {
    for (int t = 0; t < T; ++t) {
      for (int h = 0; h < H; ++h) _mm256_storeu_ps(y + t * y_stride + 8 * (h0 + h), acc[t][h]);
    }
  }
}

// The affine K formats' (Q4_K, Q2_K) float step for one token and half, with the sums in y:
// y = fma(d * d_a, isum, y), then fma(-(dmin * d_a), msum, y) (ref/packed_k.cpp).
inline void add_affine_sums(float* yh, __m256 dw, __m256 dmin, float d_a, __m256i isum, __m256i msum) {
  const __m256 da = _mm256_set1_ps(d_a);
  const __m256 acc = _mm256_fmadd_ps(_mm256_mul_ps(dw, da), _mm256_cvtepi32_ps(isum), _mm256_loadu_ps(yh));
  _mm256_storeu_ps(yh, _mm256_fnmadd_ps(_mm256_mul_ps(dmin, da), _mm256_cvtepi32_ps(msum), acc));
}

// ---- Q4_K_R16 (column: f16 d[16], f16 dmin[16], sm[12][16], q[32][16][4])

// Row pairs (m_2k, m_2k+1), k = 0..3, as int16 pairs per 32-bit lane: pairs[h][k] for half
// h's 8 rows (decoded for all 16 rows at once, in bytes).
inline void q4_min_pairs(const uint8_t* sm, __m256i pairs[2][4]) {
  const __m128i m0f = _mm_set1_epi8(0x0F), mc0 = _mm_set1_epi8(static_cast<char>(0xC0));
  __m128i m[8];
  for (int j = 0; j < 8; ++j) {
    __m128i lo4 = load128(sm + 16 * (8 + j % 4));
    if (j >= 4) lo4 = _mm_srli_epi16(lo4, 4);
    const __m128i top = _mm_srli_epi16(_mm_and_si128(load128(sm + 16 * j), mc0), 2);
    m[j] = _mm_or_si128(_mm_and_si128(lo4, m0f), top);
  }
  for (int k = 0; k < 4; ++k) {
    pairs[0][k] = _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(m[2 * k], m[2 * k + 1]));
    pairs[1][k] = _mm256_cvtepu8_epi16(_mm_unpackhi_epi8(m[2 * k], m[2 * k + 1]));
  }
}

// The token's (p_2k, p_2k+1) in every lane, p_j = bsums[2j] + bsums[2j+1] (|p| <= 4096).
inline void q4_bsum_pairs(const BlockQ8_K& a, __m256i pp[4]) {
  const __m256i p = _mm256_madd_epi16(load256(a.bsums), _mm256_set1_epi16(1));  // p0-3 | p4-7
  const __m256i w = _mm256_packs_epi32(p, p);  // dwords (p0,p1) (p2,p3) .. | (p4,p5) (p6,p7) ..
  pp[0] = _mm256_permutevar8x32_epi32(w, _mm256_set1_epi32(0));
  pp[1] = _mm256_permutevar8x32_epi32(w, _mm256_set1_epi32(1));
  pp[2] = _mm256_permutevar8x32_epi32(w, _mm256_set1_epi32(4));
  pp[3] = _mm256_permutevar8x32_epi32(w, _mm256_set1_epi32(5));
}

// Q5_K_R16: the fifth bit of nibble n (0 low, 1 high) of line i's byte, from h line hb's
// bit 2 (i % 4) + n, moved to bit 4 (epi16 shifts of at most 4 keep each byte's bits; the
// callers' loops are unrolled, so the counts are constants).
inline __m256i fifth_bit(const uint8_t* hb, int i, int n) {
  const __m256i hv = load256(hb + 64 * (i / 4));
  const int from = 2 * (i % 4) + n;
  const __m256i v = from < 4 ? _mm256_slli_epi16(hv, 4 - from) : from > 4 ? _mm256_srli_epi16(hv, from - 4) : hv;
  return _mm256_and_si256(v, _mm256_set1_epi8(0x10));
}

// Line i's values of nibble n for half h: the nibble, and for Q5_K its fifth bit from hb.
template <bool kQ5>
inline __m256i k_values(const uint8_t* q, const uint8_t* hb, int i, int n, int h) {
  __m256i w = load256(q + 64 * i + 32 * h);
  if (n == 1) w = _mm256_srli_epi16(w, 4);
  w = _mm256_and_si256(w, _mm256_set1_epi8(0x0F));
  if constexpr (kQ5) w = _mm256_or_si256(w, fifth_bit(hb + 32 * h, i, n));
  return w;
}

// isum += scale * s for T tokens and H halves (the scale decoded from sc here, not held in a
// register through the chunks), then s = 0.
template <int T, int H>
inline void add_scaled(__m256i s[][H], const uint8_t* sc, int h0, __m256i isum[][H]) {
  for (int h = 0; h < H; ++h) {
    const __m256i scale = _mm256_cvtepu8_epi16(_mm_and_si128(dup_bytes(sc + 8 * (h0 + h)), _mm_set1_epi8(63)));
    for (int t = 0; t < T; ++t) {
      isum[t][h] = _mm256_add_epi32(isum[t][h], _mm256_madd_epi16(s[t][h], scale));
      s[t][h] = _mm256_setzero_si256();
    }
  }
}

// isum += sc_j * (sub-block j's sums), j = 2c (nibble kN = 0 of the 8 chunks at q) or 2c + 1
// (kN = 1), for T tokens (activations from offset a_off) and H halves. One sub-block at a
// time keeps only T x H int16 sums live, so 8 tokens fit the registers. Q5_K (kQ5, the
// fifth bits at hb) applies the scale every 4 chunks.
template <int T, int H, int kN, bool kQ5>
inline void q4_sub_block(const uint8_t* q, const uint8_t* hb, const uint8_t* sc, int h0, const BlockQ8_K* const* a,
                         int a_off, __m256i isum[][H]) {
  __m256i s[T][H];  // int16 pair sums (<= 8 x 3840; Q5_K: 4 x 7936)
  for (int t = 0; t < T; ++t) {
    for (int h = 0; h < H; ++h) s[t][h] = _mm256_setzero_si256();
  }
#pragma GCC unroll 8
  for (int i = 0; i < 8; ++i) {
    for (int h = 0; h < H; ++h) {
      const __m256i w = k_values<kQ5>(q, hb, i, kN, h);
      for (int t = 0; t < T; ++t) {
        s[t][h] = _mm256_add_epi16(s[t][h], _mm256_maddubs_epi16(w, bcast4(a[t]->qs + a_off + 4 * i)));
        in_order(s[t][h]);
      }
    }
    if (kQ5 && i == 3) add_scaled<T, H>(s, sc, h0, isum);
  }
  add_scaled<T, H>(s, sc, h0, isum);
}

// Chunk i of one token's sub-blocks 2c (lo) and 2c + 1 (hi): each load feeds both nibbles.
template <int H, bool kQ5>
inline void pair_chunk(const uint8_t* q, const uint8_t* hb, const BlockQ8_K* a, int a_off, int i, __m256i lo[][H],
                       __m256i hi[][H]) {
  const __m256i al = bcast4(a->qs + a_off + 4 * i), ah = bcast4(a->qs + a_off + 32 + 4 * i);
  for (int h = 0; h < H; ++h) {
    lo[0][h] = _mm256_add_epi16(lo[0][h], _mm256_maddubs_epi16(k_values<kQ5>(q, hb, i, 0, h), al));
    hi[0][h] = _mm256_add_epi16(hi[0][h], _mm256_maddubs_epi16(k_values<kQ5>(q, hb, i, 1, h), ah));
  }
}

// One token: sub-blocks 2c and 2c + 1 in one pass over the chunks, as q4_sub_block
// otherwise. Q5_K's loop is unrolled fully, so its shift counts are constants.
template <int H, bool kQ5>
inline void q4_sub_block_pair(const uint8_t* q, const uint8_t* hb, const uint8_t* sc, int h0, const BlockQ8_K* a,
                              int a_off, __m256i isum[][H]) {
  __m256i lo[1][H], hi[1][H];
  for (int h = 0; h < H; ++h) lo[0][h] = hi[0][h] = _mm256_setzero_si256();
  if constexpr (kQ5) {
#pragma GCC unroll 8
    for (int i = 0; i < 8; ++i) {
      pair_chunk<H, kQ5>(q, hb, a, a_off, i, lo, hi);
      if (i % 4 == 3) {
        add_scaled<1, H>(lo, sc, h0, isum);
        add_scaled<1, H>(hi, sc + 16, h0, isum);
      }
    }
  } else {
#pragma GCC unroll 2
    for (int i = 0; i < 8; ++i) pair_chunk<H, kQ5>(q, hb, a, a_off, i, lo, hi);
    add_scaled<1, H>(lo, sc, h0, isum);
    add_scaled<1, H>(hi, sc + 16, h0, isum);
  }
}

// Q4_K_R16, or Q5_K_R16 (kQ5: the same column with the fifth bits after it).
template <int T, int H, bool kQ5 = false>
inline void q4_tile(int64_t nb, const uint8_t* group, int h0, const BlockQ8_K* const* act, float* y,
                    int64_t y_stride) {
  // The float sums live in y between super-blocks (registers go to the int16 sums).
  zero_sums_in_y<T, H>(y, y_stride, h0);
  for (int64_t b = 0; b < nb; ++b) {
    constexpr size_t kColumn = kQ5 ? kQ5Column : kQ4Column;
    const uint8_t* col = group + b * kColumn;
    const uint8_t* sm = col + 64;
    const uint8_t* q = col + 256 + 32 * h0;
    const uint8_t* hb = col + 2304 + 32 * h0;  // Q5_K's fifth bits
    const BlockQ8_K* a[T];
    __m256i isum[T][H];
    start_column<T, H>(act, b, a, isum);
#pragma GCC unroll 1
    for (int c = 0; c < 4; ++c) {
      prefetch_ahead(col + kColumn / 4 * c, kColumn / 256);  // the column ahead, a quarter at a time
      const uint8_t* qc = q + 512 * c;
      const uint8_t* hc = hb + 128 * c;
      if constexpr (T == 1) {
        q4_sub_block_pair<H, kQ5>(qc, hc, sm + 16 * (2 * c), h0, a[0], 64 * c, isum);
      } else {
        q4_sub_block<T, H, 0, kQ5>(qc, hc, sm + 16 * (2 * c), h0, a, 64 * c, isum);
        q4_sub_block<T, H, 1, kQ5>(qc, hc, sm + 16 * (2 * c + 1), h0, a, 64 * c + 32, isum);
      }
    }
    __m256i mins[2][4];
    q4_min_pairs(sm, mins);
    for (int t = 0; t < T; ++t) {
      __m256i pp[4];
      q4_bsum_pairs(*a[t], pp);
      for (int h = 0; h < H; ++h) {
        const __m256i* mh = mins[h0 + h];
        __m256i msum = _mm256_madd_epi16(mh[0], pp[0]);
        for (int k = 1; k < 4; ++k) msum = _mm256_add_epi32(msum, _mm256_madd_epi16(mh[k], pp[k]));
        const __m256 dw = _mm256_cvtph_ps(load128(col + 16 * (h0 + h)));
        const __m256 dmin = _mm256_cvtph_ps(load128(col + 32 + 16 * (h0 + h)));
        add_affine_sums(y + t * y_stride + 8 * (h0 + h), dw, dmin, a[t]->d, isum[t][h], msum);
      }
    }
  }
}

template <int T, int H>
inline void q5_tile(int64_t nb, const uint8_t* group, int h0, const BlockQ8_K* const* act, float* y,
                    int64_t y_stride) {
  q4_tile<T, H, true>(nb, group, h0, act, y, y_stride);
}

// ---- Q6_K_R16 (column: f16 d[16], int8 sc[16][16], q[16][3][16][4])

template <int T, int H>
inline void q6_tile(int64_t nb, const uint8_t* group, int h0, const BlockQ8_K* const* act, float* y,
                    int64_t y_stride) {
  const __m256i m63 = _mm256_set1_epi8(63), m03 = _mm256_set1_epi8(3);
  const __m256i m0c = _mm256_set1_epi8(12), m30 = _mm256_set1_epi8(48);
  __m256 acc[T][H];
  for (int t = 0; t < T; ++t) {
    for (int h = 0; h < H; ++h) acc[t][h] = _mm256_setzero_ps();
  }
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* col = group + b * kQ6Column;
    const uint8_t* sc = col + 32;
    const uint8_t* q = col + 288 + 32 * h0;
    const BlockQ8_K* a[T];
    __m256i isum[T][H];  // sum_j sc_j * s_j
    for (int t = 0; t < T; ++t) {
      a[t] = act[t] + b;
      for (int h = 0; h < H; ++h) isum[t][h] = _mm256_setzero_si256();
    }
#pragma GCC unroll 2
    for (int j = 0; j < 16; ++j) {
      prefetch_ahead(col + kQ6Column / 16 * j, 4);  // the column ahead, 1/16 at a time
      for (int h = 0; h < H; ++h) {
        const uint8_t* qj = q + 192 * j + 32 * h;
        const __m256i pa = load256(qj), pb = load256(qj + 64), pc = load256(qj + 128);
        // chunk 3: its bits 0-1, 2-3, 4-5 are the top bits of planes a, b, c
        const __m256i v3 =
            _mm256_or_si256(_mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(pa, 6), m03),
                                            _mm256_and_si256(_mm256_srli_epi16(pb, 4), m0c)),
                            _mm256_and_si256(_mm256_srli_epi16(pc, 2), m30));
        const __m256i v0 = _mm256_and_si256(pa, m63), v1 = _mm256_and_si256(pb, m63),
                      v2 = _mm256_and_si256(pc, m63);
        const __m256i scale = _mm256_cvtepi8_epi16(dup_bytes(sc + 16 * j + 8 * (h0 + h)));
        for (int t = 0; t < T; ++t) {
          const int8_t* qa = a[t]->qs + 16 * j;
          const __m256i x01 = _mm256_add_epi16(_mm256_maddubs_epi16(v0, bcast4(qa)),
                                               _mm256_maddubs_epi16(v1, bcast4(qa + 4)));
          const __m256i x23 = _mm256_add_epi16(_mm256_maddubs_epi16(v2, bcast4(qa + 8)),
                                               _mm256_maddubs_epi16(v3, bcast4(qa + 12)));
          const __m256i x =
              _mm256_add_epi32(_mm256_madd_epi16(x01, scale), _mm256_madd_epi16(x23, scale));
          isum[t][h] = _mm256_add_epi32(isum[t][h], x);
          in_order(isum[t][h]);
        }
      }
    }
    for (int h = 0; h < H; ++h) {
      // the -32 offset: isum -= 32 * sum_j sc_j * bsums[j], over pairs of sub-blocks
      __m256i scp[8];
      for (int k = 0; k < 8; ++k) {
        const __m128i x = _mm_unpacklo_epi8(load64(sc + 16 * (2 * k) + 8 * (h0 + h)),
                                            load64(sc + 16 * (2 * k + 1) + 8 * (h0 + h)));
        scp[k] = _mm256_cvtepi8_epi16(x);
      }
      const __m256 dw = _mm256_cvtph_ps(load128(col + 16 * (h0 + h)));
      for (int t = 0; t < T; ++t) {
        __m256i off = _mm256_setzero_si256();
        for (int k = 0; k < 8; ++k) {
          off = _mm256_add_epi32(off, _mm256_madd_epi16(scp[k], bcast_pair(a[t]->bsums + 2 * k)));
        }
        const __m256i is = _mm256_sub_epi32(isum[t][h], _mm256_slli_epi32(off, 5));
        const __m256 scale = _mm256_mul_ps(dw, _mm256_set1_ps(a[t]->d));
        acc[t][h] = _mm256_fmadd_ps(scale, _mm256_cvtepi32_ps(is), acc[t][h]);
      }
    }
  }
  for (int t = 0; t < T; ++t) {
    for (int h = 0; h < H; ++h) _mm256_storeu_ps(y + t * y_stride + 8 * (h0 + h), acc[t][h]);
  }
}

// The sum of a 16-value sub-block (its 4 chunks v[k] against the activation bytes at qa) as
// int16 pairs, times the scale (sc, sc) per row, in int32: the Q2_K / Q3_K step, exact
// (4 chunks of values <= 7 stay within int16).
inline __m256i scaled_sub_block(const __m256i v[4], const int8_t* qa, __m256i scale) {
  __m256i s = _mm256_maddubs_epi16(v[0], bcast4(qa));
  for (int k = 1; k < 4; ++k) s = _mm256_add_epi16(s, _mm256_maddubs_epi16(v[k], bcast4(qa + 4 * k)));
  return _mm256_madd_epi16(s, scale);
}

// ---- Q2_K_R16 (column: f16 d[16], f16 dmin[16], sm[16][16], q[16][16][4]; packed_k.cpp)

// Sub-block j is one line; (half >> 2k) & 3 holds values 16j + 4k.. of 8 rows. Per token the
// 4 vpmaddubsw pair sums add up in int16 (4 x 2 x 3 x 128 <= 3072), and one vpmaddwd against
// the scale as an int16 pair (sc, sc) per row gives sc * s_j exactly. The mins pair up
// (m_2k, m_2k+1) per row against the token's (bsums[2k], bsums[2k+1]), as the reference's
// order of integer sums does not matter. Float sums live in y between super-blocks.
template <int T, int H>
inline void q2_tile(int64_t nb, const uint8_t* group, int h0, const BlockQ8_K* const* act, float* y,
                    int64_t y_stride) {
  const __m128i m15 = _mm_set1_epi8(15);
  zero_sums_in_y<T, H>(y, y_stride, h0);
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* col = group + b * kQ2Column;
    prefetch_ahead(col, (kQ2Column + 63) / 64);
    const uint8_t* sm = col + 64;
    const uint8_t* q = col + 320 + 32 * h0;
    const BlockQ8_K* a[T];
    __m256i isum[T][H];
    start_column<T, H>(act, b, a, isum);
#pragma GCC unroll 1
    for (int j = 0; j < 16; ++j) {
      for (int h = 0; h < H; ++h) {
        __m256i v[4];
        two_bit_chunks(load256(q + 64 * j + 32 * h), v);
        const __m256i scale = _mm256_cvtepu8_epi16(_mm_and_si128(dup_bytes(sm + 16 * j + 8 * (h0 + h)), m15));
        for (int t = 0; t < T; ++t) {
          isum[t][h] = _mm256_add_epi32(isum[t][h], scaled_sub_block(v, a[t]->qs + 16 * j, scale));
          in_order(isum[t][h]);
        }
      }
    }
    for (int h = 0; h < H; ++h) {
      // dword r of mp[k] = (m_2k, m_2k+1) of row r as int16
      __m256i mp[8];
      for (int k = 0; k < 8; ++k) {
        const __m128i lo = _mm_and_si128(_mm_srli_epi16(load64(sm + 16 * (2 * k) + 8 * (h0 + h)), 4), m15);
        const __m128i hi = _mm_and_si128(_mm_srli_epi16(load64(sm + 16 * (2 * k + 1) + 8 * (h0 + h)), 4), m15);
        mp[k] = _mm256_cvtepu8_epi16(_mm_unpacklo_epi8(lo, hi));
      }
      const __m256 dw = _mm256_cvtph_ps(load128(col + 16 * (h0 + h)));
      const __m256 dmin = _mm256_cvtph_ps(load128(col + 32 + 16 * (h0 + h)));
      for (int t = 0; t < T; ++t) {
        __m256i msum = _mm256_madd_epi16(mp[0], bcast_pair(a[t]->bsums));
        for (int k = 1; k < 8; ++k) msum = _mm256_add_epi32(msum, _mm256_madd_epi16(mp[k], bcast_pair(a[t]->bsums + 2 * k)));
        add_affine_sums(y + t * y_stride + 8 * (h0 + h), dw, dmin, a[t]->d, isum[t][h], msum);
      }
    }
  }
}

// ---- Q3_K_R16 (column: f16 d[16], sm[12][16], q[16][16][4], h[16][32]; packed_k.cpp)

// As q2_tile with a third bit (three_bit_pairs, packed_tiles.h). The scales are signed (one
// vpmaddwd against (sc, sc) per row, exact), and the -4 offset comes last as
// -4 * sum_j sc_j * bsums[j] over pairs of sub-blocks (as in q6_tile).
// kIq1m: an IQ1_M_R16 column (packed_k.cpp): one vpshufb turns the codes into q + 9 (0 to 18;
// a high nibble shifted down keeps bit 7 clear), the offset is -9 and d is d/8.
template <int T, int H, bool kIq1m = false>
inline void q3_tile(int64_t nb, const uint8_t* group, int h0, const BlockQ8_K* const* act, float* y,
                    int64_t y_stride) {
  const __m256i m0f = _mm256_set1_epi8(0x0F);
  const __m256i plus9 = _mm256_setr_epi8(0, 2, 8, 10, 16, 18, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,  //
                                         0, 2, 8, 10, 16, 18, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
  zero_sums_in_y<T, H>(y, y_stride, h0);
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* col = group + b * kQ3Column;
    prefetch_ahead(col, (kQ3Column + 63) / 64);
    alignas(32) int8_t sc[256];
    q3_K_scales_r16(col + 32, sc);
    const uint8_t* q = col + 224 + 32 * h0;
    const uint8_t* hb = col + 1248;
    const BlockQ8_K* a[T];
    __m256i isum[T][H];
    start_column<T, H>(act, b, a, isum);
#pragma GCC unroll 1
    for (int j = 0; j < 16; ++j) {
      const __m256i hw = load256(hb + 32 * j);
      for (int h = 0; h < H; ++h) {
        const int hh = h0 + h;
        __m256i x02, x13;
        three_bit_pairs(load256(q + 64 * j + 32 * h), hw, hh, &x02, &x13);
        __m256i v[4];
        if constexpr (kIq1m) {
          v[0] = _mm256_shuffle_epi8(plus9, x02);
          v[1] = _mm256_shuffle_epi8(plus9, x13);
          v[2] = _mm256_shuffle_epi8(plus9, _mm256_srli_epi16(x02, 4));
          v[3] = _mm256_shuffle_epi8(plus9, _mm256_srli_epi16(x13, 4));
        } else {
          v[0] = _mm256_and_si256(x02, m0f);
          v[1] = _mm256_and_si256(x13, m0f);
          v[2] = _mm256_and_si256(_mm256_srli_epi16(x02, 4), m0f);
          v[3] = _mm256_and_si256(_mm256_srli_epi16(x13, 4), m0f);
        }
        const __m256i scale = _mm256_cvtepi8_epi16(dup_bytes(sc + 16 * j + 8 * hh));
        for (int t = 0; t < T; ++t) {
          isum[t][h] = _mm256_add_epi32(isum[t][h], scaled_sub_block(v, a[t]->qs + 16 * j, scale));
          in_order(isum[t][h]);
        }
      }
    }
    for (int h = 0; h < H; ++h) {
      const int hh = h0 + h;
      __m256i scp[8];  // dword r: (sc_2k, sc_2k+1) of row r as int16
      for (int k = 0; k < 8; ++k) {
        scp[k] = _mm256_cvtepi8_epi16(_mm_unpacklo_epi8(load64(sc + 16 * (2 * k) + 8 * hh),
                                                        load64(sc + 16 * (2 * k + 1) + 8 * hh)));
      }
      __m256 dw = _mm256_cvtph_ps(load128(col + 16 * hh));
      if constexpr (kIq1m) dw = _mm256_mul_ps(dw, _mm256_set1_ps(0.125f));
      for (int t = 0; t < T; ++t) {
        __m256i off = _mm256_madd_epi16(scp[0], bcast_pair(a[t]->bsums));
        for (int k = 1; k < 8; ++k) off = _mm256_add_epi32(off, _mm256_madd_epi16(scp[k], bcast_pair(a[t]->bsums + 2 * k)));
        const __m256i is =
            _mm256_sub_epi32(isum[t][h], kIq1m ? _mm256_mullo_epi32(off, _mm256_set1_epi32(9))
                                               : _mm256_slli_epi32(off, 2));
        float* yh = y + t * y_stride + 8 * hh;
        const __m256 scale = _mm256_mul_ps(dw, _mm256_set1_ps(a[t]->d));
        _mm256_storeu_ps(yh, _mm256_fmadd_ps(scale, _mm256_cvtepi32_ps(is), _mm256_loadu_ps(yh)));
      }
    }
  }
}

template <int T, int H>
inline void iq1_m_tile(int64_t nb, const uint8_t* group, int h0, const BlockQ8_K* const* act,
                       float* y, int64_t y_stride) {
  q3_tile<T, H, true>(nb, group, h0, act, y, y_stride);
}

}  // namespace

// Row r's 32 values of each block column: one dword from each of the 8 chunk lines.
void q8_0_r16_row_to_f32(const void* group, int64_t nb, int r, float* out) {
  const __m256i flip = _mm256_set1_epi8(static_cast<char>(0x80));
  for (int64_t b = 0; b < nb; ++b, out += kQK) {
    const uint8_t* col = static_cast<const uint8_t*>(group) + b * kQ8Column;
    uint16_t h;
    __builtin_memcpy(&h, col + 2 * r, sizeof(h));
    const __m256 d = _mm256_set1_ps(f16(h));
    const uint8_t* q = col + kPackRows * sizeof(uint16_t) + 4 * r;
    int32_t v[8];
    for (int c = 0; c < 8; ++c) __builtin_memcpy(&v[c], q + 64 * c, sizeof(int32_t));
    const __m256i x =
        _mm256_xor_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(v)), flip);
    const __m128i lo = _mm256_castsi256_si128(x), hi = _mm256_extracti128_si256(x, 1);
    const __m128i part[4] = {lo, _mm_unpackhi_epi64(lo, lo), hi, _mm_unpackhi_epi64(hi, hi)};
    for (int k = 0; k < 4; ++k) {
      _mm256_storeu_ps(out + 8 * k,
                       _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(part[k]))));
    }
  }
}

namespace {

// Tokens per pass over a half group (prefill): as many as the registers hold.
constexpr TileFn<BlockQ8_0S> kQ8Multi[] = {q8_tile<2, 1>, q8_tile<3, 1>, q8_tile<4, 1>,
                                           q8_tile<5, 1>, q8_tile<6, 1>, q8_tile<7, 1>,
                                           q8_tile<8, 1>};
constexpr TileFn<BlockQ8_0S> kQ8Pair[kOnePassTokens - 1] = {q8_tile<2, 2>, q8_tile<3, 2>,
                                                            q8_tile<4, 2>};
constexpr TileFn<BlockQ8_0S> kQ40Multi[] = {q40_tile<2, 1>, q40_tile<3, 1>, q40_tile<4, 1>,
                                            q40_tile<5, 1>, q40_tile<6, 1>, q40_tile<7, 1>,
                                            q40_tile<8, 1>};
constexpr TileFn<BlockQ8_0S> kQ40Pair[kOnePassTokens - 1] = {q40_tile<2, 2>, q40_tile<3, 2>,
                                                             q40_tile<4, 2>};
MOE_AVX2_K_TILES(kQ4Multi, kQ4Pair, q4_tile)
MOE_AVX2_K_TILES(kQ5Multi, kQ5Pair, q5_tile)
MOE_AVX2_K_TILES(kQ6Multi, kQ6Pair, q6_tile)
MOE_AVX2_K_TILES(kQ2Multi, kQ2Pair, q2_tile)
MOE_AVX2_K_TILES(kQ3Multi, kQ3Pair, q3_tile)
MOE_AVX2_K_TILES(kIq1mMulti, kIq1mPair, iq1_m_tile)

}  // namespace

void gemm_q8_0_r16(int64_t n, const void* w, size_t w_row_bytes, int64_t rows, const void* a,
                   size_t a_row_bytes, int64_t tokens, float* y, int64_t y_stride) {
  if (tokens == 1) {
    const auto* act = static_cast<const BlockQ8_0S*>(a);
    const int64_t nb = n / kQK;
    alignas(32) int8_t split[kSplitBlocks * 64];
    for (int64_t b0 = 0; b0 < nb; b0 += kSplitBlocks) {
      const int64_t m = min64(kSplitBlocks, nb - b0);
      split_activations(act + b0, m, split);
      for (int64_t g = 0; g < rows / kPackRows; ++g) {
        const uint8_t* group = static_cast<const uint8_t*>(w) + g * kPackRows * w_row_bytes;
        q8_one_token(m, group + b0 * kQ8Column, act + b0, split, y + g * kPackRows, b0 > 0);
      }
    }
    return;
  }
  gemm_groups<BlockQ8_0S, kQK, 8, q8_tile<1, 2>, kQ8Multi, kQ8Pair>(
      n, w, w_row_bytes, rows, a, a_row_bytes, tokens, y, y_stride);
}

void gemm_q4_0_r16(int64_t n, const void* w, size_t w_row_bytes, int64_t rows, const void* a,
                   size_t a_row_bytes, int64_t tokens, float* y, int64_t y_stride) {
  gemm_groups<BlockQ8_0S, kQK, 8, q40_tile<1, 2>, kQ40Multi, kQ40Pair>(
      n, w, w_row_bytes, rows, a, a_row_bytes, tokens, y, y_stride);
}

// The packed K gemms (packed_tiles.h)
MOE_AVX2_K_GEMM(q4_K_r16, q4_tile, kQ4Multi, kQ4Pair)
MOE_AVX2_K_GEMM(q5_K_r16, q5_tile, kQ5Multi, kQ5Pair)
MOE_AVX2_K_GEMM(q6_K_r16, q6_tile, kQ6Multi, kQ6Pair)
MOE_AVX2_K_GEMM(q2_K_r16, q2_tile, kQ2Multi, kQ2Pair)
MOE_AVX2_K_GEMM(q3_K_r16, q3_tile, kQ3Multi, kQ3Pair)
MOE_AVX2_K_GEMM(iq1_m_r16, iq1_m_tile, kIq1mMulti, kIq1mPair)

}  // namespace moe::avx2
