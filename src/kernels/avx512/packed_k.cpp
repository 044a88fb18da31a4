// AVX-512 VNNI Q4_K_R16 / Q5_K_R16 / Q6_K_R16 / Q2_K_R16 / Q3_K_R16 / IQ1_S_R16 / IQ2_XXS_R16 /
// IQ1_M_R16 / IQ4_XS_R16 / IQ3_XXS_R16 / IQ3_S_R16 / IQ2_XS_R16 / IQ2_S_R16 x Q8_K products
// (bitwise the ref:: gemms; layouts in kernels/packed_k.cpp). Per super-block column, each 64-byte
// load holds one 4-value chunk of the 16 rows, and one vpdpbusd against 4 activation bytes
// broadcast advances the 16 rows' sub-block sums; the sub-block scales multiply those sums as int32
// (exact), mins / the Q6_K offset come from the activation's bsums, and the float work is two
// (Q4_K) or one (Q6_K) fma per super-block for all 16 rows.
//
// Up to 8 tokens share each weight load. Every token's integer sums are exact whatever the
// order, and its float operations are the reference's, so the batch never matters.
#include <immintrin.h>

#include <bit>

#include "kernels/avx2/q3_K_scales.h"
#include "kernels/avx512/dpbusd_bcast.h"
#include "kernels/packed.h"
#include "quant/blocks.h"

namespace moe::avx512 {
namespace {

constexpr size_t kQ4Column = kPackRows * sizeof(BlockQ4_K);  // 2304
constexpr size_t kQ5Column = kPackRows * sizeof(BlockQ5_K);  // 2816
constexpr size_t kQ6Column = kPackRows * sizeof(BlockQ6_K);  // 3360
constexpr size_t kQ2Column = kPackRows * sizeof(BlockQ2_K);  // 1344
constexpr size_t kQ3Column = kPackRows * sizeof(BlockQ3_K);  // 1760
constexpr size_t kIq1sColumn = kPackRows * 70;               // 1120
constexpr size_t kIq4xsColumn = kPackRows * sizeof(BlockIQ4_XS);  // 2176
// Prefetch distance ahead of the column being read (a group is one sequential stream): 2048
// decoded one token from DRAM 5-8 % faster than 4096 (PERFORMANCE.md, "Prefetch distances"),
// and on huge pages 10-15 % faster than 4096, within 3 % of 1024 and 1536.
constexpr size_t kPrefetchBytes = 2048;
constexpr int kQ4Tile = 8;  // tokens per pass over a group
constexpr int kQ5Tile = 8;
constexpr int kQ6Tile = 8;
constexpr int kQ2Tile = 8;
constexpr int kQ3Tile = 8;
constexpr int kIq1sTile = 8;
constexpr int kIq2xxsTile = 8;
constexpr int kIq4xsTile = 8;

inline __m512i load512(const uint8_t* p) { return _mm512_loadu_si512(p); }
inline __m128i load128(const void* p) { return _mm_loadu_si128(static_cast<const __m128i*>(p)); }
inline __m256i load256(const void* p) { return _mm256_loadu_si256(static_cast<const __m256i*>(p)); }
// Bits of `a` where `mask` is set, of `b` elsewhere.
inline __m512i select_bits(__m512i mask, __m512i a, __m512i b) {
  return _mm512_ternarylogic_epi32(a, b, mask, 0xE4);
}

// The 4 chunks of a 64-byte line of 2-bit values (Q2_K_R16's layout): chunk k = (line >> 2k) & 3.
inline void two_bit_chunks(__m512i line, __m512i (&v)[4]) {
  const __m512i m3 = _mm512_set1_epi8(3);
  v[0] = _mm512_and_si512(line, m3);
  v[1] = _mm512_and_si512(_mm512_srli_epi16(line, 2), m3);
  v[2] = _mm512_and_si512(_mm512_srli_epi16(line, 4), m3);
  v[3] = _mm512_and_si512(_mm512_srli_epi16(line, 6), m3);
}

// The 3-bit values of a line and its 32 high-bit bytes h (Q3_K_R16's layout) as two chunks a
// byte: h becomes a 64-byte vector (rows 8-15's bits moved up by 2), and chunks 0 and 2 are the
// nibbles of x02 = (line & 0x33) | (h & 0x44), chunks 1 and 3 those of x13, the same with
// line >> 2 and h >> 1 (packed_k.cpp). Bits 3 and 7 are clear.
inline void three_bit_pairs(__m512i line, __m256i h, __m512i* x02, __m512i* x13) {
  const __m512i m33 = _mm512_set1_epi8(0x33), m77 = _mm512_set1_epi8(0x77);
  const __m512i hz = _mm512_inserti64x4(_mm512_castsi256_si512(h), _mm256_slli_epi16(h, 2), 1);
  *x02 = _mm512_and_si512(select_bits(m33, line, hz), m77);
  *x13 = _mm512_and_si512(select_bits(m33, _mm512_srli_epi16(line, 2), _mm512_srli_epi16(hz, 1)), m77);
}

inline void prefetch_column(const uint8_t* col, size_t bytes) {
#pragma GCC unroll 64  // a constant count: no loop overhead per line
  for (size_t off = 0; off < bytes; off += 64) {
    _mm_prefetch(reinterpret_cast<const char*>(col + kPrefetchBytes + off), _MM_HINT_T1);
  }
}

// The affine K formats' (Q4_K, Q2_K) float step for one token with the sums in y (isum as
// float, exact): y = fma(d * d_a, isum, y), then fma(-(dmin * d_a), msum, y).
inline void add_affine_sums(float* yt, __m512 dw, __m512 dmin, float d_a, __m512 isum, __m512i msum) {
  const __m512 da = _mm512_set1_ps(d_a);
  const __m512 acc = _mm512_fmadd_ps(_mm512_mul_ps(dw, da), isum, _mm512_loadu_ps(yt));
  _mm512_storeu_ps(yt, _mm512_fnmadd_ps(_mm512_mul_ps(dmin, da), _mm512_cvtepi32_ps(msum), acc));
}

// A K tile's block column b: each token's activation block, and its int32 sums at zero.
template <int T>
inline void start_column(const BlockQ8_K* const* act, int64_t b, const BlockQ8_K* (&a)[T], __m512i (&isum)[T]) {
  for (int t = 0; t < T; ++t) {
    a[t] = act[t] + b;
    isum[t] = _mm512_setzero_si512();
  }
}

// ---- Q4_K_R16

// Sum over sub-blocks j of m_j * (bsums[2j] + bsums[2j+1]) for 16 rows, `pairs` holding
// the bracket for one token (int16 values, so vpdpwssd against the zero-extended mins).
inline __m512i q4_mins(const uint8_t* sm, const int32_t* pairs) {
  const __m512i m15 = _mm512_set1_epi32(15);
  __m512i msum = _mm512_setzero_si512();
#pragma GCC unroll 4
  for (int i = 0; i < 4; ++i) {
    const __m512i lo4 = _mm512_cvtepu8_epi32(load128(sm + 16 * (8 + i)));
    // bits 4, 5 of m_j are bits 6, 7 of byte j
    const __m512i top_a = _mm512_srli_epi32(_mm512_cvtepu8_epi32(load128(sm + 16 * i)), 2);
    const __m512i top_b = _mm512_srli_epi32(_mm512_cvtepu8_epi32(load128(sm + 16 * (i + 4))), 2);
    const __m512i ma = select_bits(m15, lo4, top_a);
    const __m512i mb = select_bits(m15, _mm512_srli_epi32(lo4, 4), top_b);
    msum = _mm512_dpwssd_epi32(msum, ma, _mm512_set1_epi32(pairs[i]));
    msum = _mm512_dpwssd_epi32(msum, mb, _mm512_set1_epi32(pairs[i + 4]));
  }
  return msum;
}

// One token (decode): two dpbusd chains per sub-block, int32 scale multiply.
template <int T>
inline void q4_tile_small(int64_t nb, const uint8_t* group, const BlockQ8_K* const* act, float* y,
                    int64_t y_stride) {
  constexpr int kChains = T == 1 ? 2 : 1;  // independent dpbusd chains per sub-block
  const __m512i m0f = _mm512_set1_epi8(0x0F), mf0 = _mm512_set1_epi8(static_cast<char>(0xF0));
  const __m512i m63 = _mm512_set1_epi32(63);
  __m512 acc[T];
  for (int t = 0; t < T; ++t) acc[t] = _mm512_setzero_ps();
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* col = group + b * kQ4Column;
    const uint8_t* sm = col + 64;
    const uint8_t* q = col + 256;
    const BlockQ8_K* a[T];
    __m512i msum[T], isum[T], isum16[T];  // isum16: high-nibble sub-blocks, 16x their sum
    for (int t = 0; t < T; ++t) {
      a[t] = act[t] + b;
      alignas(32) int32_t pairs[8];
      _mm256_store_si256(reinterpret_cast<__m256i*>(pairs),
                         _mm256_madd_epi16(load256(a[t]->bsums), _mm256_set1_epi16(1)));
      msum[t] = q4_mins(sm, pairs);
      isum[t] = isum16[t] = _mm512_setzero_si512();
    }
#pragma GCC unroll 4
    for (int c = 0; c < 4; ++c) {
      // the column ahead, a quarter per sub-block pair (not one burst per column)
      for (int k = 0; k < 9; ++k) {
        _mm_prefetch(reinterpret_cast<const char*>(col + kPrefetchBytes + kQ4Column / 4 * c + 64 * k), _MM_HINT_T1);
      }
      __m512i lo[T][kChains], hi[T][kChains];
      for (int t = 0; t < T; ++t) {
        for (int k = 0; k < kChains; ++k) lo[t][k] = hi[t][k] = _mm512_setzero_si512();
      }
#pragma GCC unroll 8
      for (int i = 0; i < 8; ++i) {
        const __m512i w = load512(q + 64 * (8 * c + i));
        const __m512i wl = _mm512_and_si512(w, m0f);
        const __m512i wh = _mm512_and_si512(w, mf0);  // 16 x the high nibble: no shift
#pragma GCC unroll 4
        for (int t = 0; t < T; ++t) {
          const int8_t* qa = a[t]->qs + 64 * c + 4 * i;
          lo[t][i % kChains] = dpbusd_bcast(lo[t][i % kChains], wl, qa);
          hi[t][i % kChains] = dpbusd_bcast(hi[t][i % kChains], wh, qa + 32);
        }
      }
      const __m512i sc_lo = _mm512_and_si512(_mm512_cvtepu8_epi32(load128(sm + 16 * (2 * c))), m63);
      const __m512i sc_hi = _mm512_and_si512(_mm512_cvtepu8_epi32(load128(sm + 16 * (2 * c + 1))), m63);
      for (int t = 0; t < T; ++t) {
        __m512i sl = lo[t][0], sh = hi[t][0];
        if constexpr (kChains == 2) {
          sl = _mm512_add_epi32(sl, lo[t][1]);
          sh = _mm512_add_epi32(sh, hi[t][1]);
        }
        isum[t] = _mm512_add_epi32(isum[t], _mm512_mullo_epi32(sl, sc_lo));
        isum16[t] = _mm512_add_epi32(isum16[t], _mm512_mullo_epi32(sh, sc_hi));
      }
    }
    const __m512 dw = _mm512_cvtph_ps(load256(col));
    const __m512 dmin = _mm512_cvtph_ps(load256(col + 32));
    for (int t = 0; t < T; ++t) {
      const __m512i is = _mm512_add_epi32(isum[t], _mm512_srai_epi32(isum16[t], 4));  // exact
      const __m512 da = _mm512_set1_ps(a[t]->d);
      acc[t] = _mm512_fmadd_ps(_mm512_mul_ps(dw, da), _mm512_cvtepi32_ps(is), acc[t]);
      acc[t] = _mm512_fnmadd_ps(_mm512_mul_ps(dmin, da), _mm512_cvtepi32_ps(msum[t]), acc[t]);
    }
  }
  for (int t = 0; t < T; ++t) _mm512_storeu_ps(y + t * y_stride, acc[t]);
}

// The mins of a Q4_K_R16 / Q5_K_R16 column as int16 pairs: dword r of mp[k] (k = 0..3) is
// (m_2k, m_2k+1) of row r, for vpdpwssd against a token's bsum pairs (q4_min_sum).
inline void q4_min_pairs(const uint8_t* sm, __m512i mp[4]) {
  const __m512i m0f = _mm512_set1_epi8(0x0F), mc0 = _mm512_set1_epi8(static_cast<char>(0xC0));
  // word 2r of the result <- word r (m_2k of row r), word 2r + 1 <- word 16 + r (m_2k+1)
  alignas(64) static constexpr uint16_t kPairIdx[32] = {0, 16, 1, 17, 2,  18, 3,  19, 4,  20, 5,
                                                        21, 6, 22, 7, 23, 8,  24, 9,  25, 10, 26,
                                                        11, 27, 12, 28, 13, 29, 14, 30, 15, 31};
  const __m512i pidx = _mm512_load_si512(kPairIdx);
  // bytes 16k + r of mA / mB are m_k / m_(k+4) of row r
  const __m512i tA = _mm512_srli_epi16(_mm512_and_si512(load512(sm), mc0), 2);
  const __m512i tB = _mm512_srli_epi16(_mm512_and_si512(load512(sm + 64), mc0), 2);
  const __m512i x = load512(sm + 128);
  const __m512i mA = select_bits(m0f, x, tA);
  const __m512i mB = select_bits(m0f, _mm512_srli_epi16(x, 4), tB);
  auto pairs = [&](__m256i m) { return _mm512_permutexvar_epi16(pidx, _mm512_cvtepu8_epi16(m)); };
  mp[0] = pairs(_mm512_castsi512_si256(mA));
  mp[1] = pairs(_mm512_extracti64x4_epi64(mA, 1));
  mp[2] = pairs(_mm512_castsi512_si256(mB));
  mp[3] = pairs(_mm512_extracti64x4_epi64(mB, 1));
}

// sum_j m_j * (bsums[2j] + bsums[2j+1]) for 16 rows (exact int32).
inline __m512i q4_min_sum(const __m512i mp[4], const BlockQ8_K& a) {
  // int16 words: (p0, p1), (p2, p3) in dwords 0, 1; (p4, p5), (p6, p7) in dwords 4, 5
  const __m256i pr = _mm256_madd_epi16(load256(a.bsums), _mm256_set1_epi16(1));
  const __m512i pk = _mm512_castsi256_si512(_mm256_packs_epi32(pr, pr));  // |p| <= 4096
  __m512i msum = _mm512_dpwssd_epi32(_mm512_setzero_si512(), mp[0], _mm512_permutexvar_epi32(_mm512_set1_epi32(0), pk));
  msum = _mm512_dpwssd_epi32(msum, mp[1], _mm512_permutexvar_epi32(_mm512_set1_epi32(1), pk));
  msum = _mm512_dpwssd_epi32(msum, mp[2], _mm512_permutexvar_epi32(_mm512_set1_epi32(4), pk));
  return _mm512_dpwssd_epi32(msum, mp[3], _mm512_permutexvar_epi32(_mm512_set1_epi32(5), pk));
}

// Several tokens: the sub-block sums are scaled in float, which is exact here: |s| <=
// 32 * 15 * 128 (16x that for the high nibbles, scaled by sc / 16), so each sc * s is an
// integer below 63 * 61440 and any partial sum of 4 of them stays below 2^24. Each token
// keeps two such partial sums (chunks 0-1, chunks 2-3); their float sum is float(isum)
// (one rounding of the same exact integer). The mins are decoded once per column as int16
// pairs (m_2k, m_2k+1) per row, against the token's (bsum pair 2k, 2k+1) in vpdpwssd.
template <int T>
inline void q4_tile_multi(int64_t nb, const uint8_t* group, const BlockQ8_K* const* act, float* y,
                          int64_t y_stride) {
  const __m512i m0f = _mm512_set1_epi8(0x0F), mf0 = _mm512_set1_epi8(static_cast<char>(0xF0));
  const __m512i m63 = _mm512_set1_epi32(63);
  const __m512 sixteenth = _mm512_set1_ps(1.0f / 16);
  for (int t = 0; t < T; ++t) _mm512_storeu_ps(y + t * y_stride, _mm512_setzero_ps());
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* col = group + b * kQ4Column;
    prefetch_column(col, kQ4Column);
    const uint8_t* sm = col + 64;
    const uint8_t* q = col + 256;
    const BlockQ8_K* a[T];
    for (int t = 0; t < T; ++t) a[t] = act[t] + b;
    __m512 fs[T][2];
#pragma GCC unroll 4
    for (int c = 0; c < 4; ++c) {
      __m512i lo[T], hi[T];
      for (int t = 0; t < T; ++t) lo[t] = hi[t] = _mm512_setzero_si512();
#pragma GCC unroll 8
      for (int i = 0; i < 8; ++i) {
        const __m512i w = load512(q + 64 * (8 * c + i));
        const __m512i wl = _mm512_and_si512(w, m0f);
        const __m512i wh = _mm512_and_si512(w, mf0);  // 16 x the high nibble: no shift
#pragma GCC unroll 8
        for (int t = 0; t < T; ++t) {
          const int8_t* qa = a[t]->qs + 64 * c + 4 * i;
          lo[t] = dpbusd_bcast(lo[t], wl, qa);
          hi[t] = dpbusd_bcast(hi[t], wh, qa + 32);
        }
      }
      const __m512 sc_lo =
          _mm512_cvtepi32_ps(_mm512_and_si512(_mm512_cvtepu8_epi32(load128(sm + 16 * (2 * c))), m63));
      const __m512 sc_hi = _mm512_mul_ps(
          _mm512_cvtepi32_ps(_mm512_and_si512(_mm512_cvtepu8_epi32(load128(sm + 16 * (2 * c + 1))), m63)),
          sixteenth);  // exact
      for (int t = 0; t < T; ++t) {
        __m512 f = _mm512_mul_ps(_mm512_cvtepi32_ps(lo[t]), sc_lo);  // exact integers
        if (c & 1) f = _mm512_add_ps(fs[t][c / 2], f);
        fs[t][c / 2] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(hi[t]), sc_hi, f);
      }
    }
    __m512i mp[4];
    q4_min_pairs(sm, mp);
    const __m512 dw = _mm512_cvtph_ps(load256(col));
    const __m512 dmin = _mm512_cvtph_ps(load256(col + 32));
    for (int t = 0; t < T; ++t) {
      const __m512 is = _mm512_add_ps(fs[t][0], fs[t][1]);  // = float(isum)
      add_affine_sums(y + t * y_stride, dw, dmin, a[t]->d, is, q4_min_sum(mp, *a[t]));
    }
  }
}

template <int T>
inline void q4_tile(int64_t nb, const uint8_t* group, const BlockQ8_K* const* act, float* y,
                    int64_t y_stride) {
  if constexpr (T == 1) {
    q4_tile_small<1>(nb, group, act, y, y_stride);
  } else {
    q4_tile_multi<T>(nb, group, act, y, y_stride);
  }
}

// ---- Q5_K_R16

// Bit `from` of each byte of v moved to bit 4 (epi16 shifts by at most 4: a byte's bit 4
// comes from the same byte; the callers' loops are unrolled, so the counts are constants).
inline __m512i bit_to_4(__m512i v, int from) {
  return from < 4 ? _mm512_slli_epi16(v, 4 - from) : from > 4 ? _mm512_srli_epi16(v, from - 4) : v;
}

// Q4_K_R16's walk with the fifth bits or-ed in from the h line that matches each q line byte
// for byte. A 5-bit sub-block sum (up to 32 x 31 x 128) is too large for Q4_K's exact float
// scaling or the 16x high nibble, so the scales multiply in int32 (exact: isum < 2^26).
// Float sums in y, tokens unrolled, sub-block pairs not unrolled (as q6_tile).
template <int T>
inline void q5_tile(int64_t nb, const uint8_t* group, const BlockQ8_K* const* act, float* y,
                    int64_t y_stride) {
  const __m512i m0f = _mm512_set1_epi8(0x0F), m10 = _mm512_set1_epi8(0x10);
  const __m512i m63 = _mm512_set1_epi32(63);
  for (int t = 0; t < T; ++t) _mm512_storeu_ps(y + t * y_stride, _mm512_setzero_ps());
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* col = group + b * kQ5Column;
    prefetch_column(col, kQ5Column);
    const uint8_t* sm = col + 64;
    const BlockQ8_K* a[T];
    __m512i isum[T];
    start_column<T>(act, b, a, isum);
#pragma GCC unroll 1
    for (int c = 0; c < 4; ++c) {
      const uint8_t* q = col + 256 + 512 * c;  // lines 8c..8c+7
      const uint8_t* hb = col + 2304 + 128 * c;
      __m512i lo[T], hi[T];
      for (int t = 0; t < T; ++t) lo[t] = hi[t] = _mm512_setzero_si512();
#pragma GCC unroll 8
      for (int i = 0; i < 8; ++i) {
        const __m512i w = load512(q + 64 * i), hv = load512(hb + 64 * (i / 4));
        const int m = i % 4;  // the line's bit pair in hv
        const __m512i wl = select_bits(m10, bit_to_4(hv, 2 * m), _mm512_and_si512(w, m0f));
        const __m512i wh = select_bits(m10, bit_to_4(hv, 2 * m + 1), _mm512_and_si512(_mm512_srli_epi16(w, 4), m0f));
#pragma GCC unroll 8
        for (int t = 0; t < T; ++t) {
          const int8_t* qa = a[t]->qs + 64 * c + 4 * i;
          lo[t] = dpbusd_bcast(lo[t], wl, qa);
          hi[t] = dpbusd_bcast(hi[t], wh, qa + 32);
        }
      }
      const __m512i sc_lo = _mm512_and_si512(_mm512_cvtepu8_epi32(load128(sm + 16 * (2 * c))), m63);
      const __m512i sc_hi = _mm512_and_si512(_mm512_cvtepu8_epi32(load128(sm + 16 * (2 * c + 1))), m63);
#pragma GCC unroll 8
      for (int t = 0; t < T; ++t) {
        isum[t] = _mm512_add_epi32(isum[t], _mm512_add_epi32(_mm512_mullo_epi32(lo[t], sc_lo),
                                                             _mm512_mullo_epi32(hi[t], sc_hi)));
      }
    }
    __m512i mp[4];
    q4_min_pairs(sm, mp);
    const __m512 dw = _mm512_cvtph_ps(load256(col));
    const __m512 dmin = _mm512_cvtph_ps(load256(col + 32));
    for (int t = 0; t < T; ++t) {
      add_affine_sums(y + t * y_stride, dw, dmin, a[t]->d, _mm512_cvtepi32_ps(isum[t]), q4_min_sum(mp, *a[t]));
    }
  }
}

// ---- Q6_K_R16

// The offset formats' (Q6_K's -32, Q3_K's -4, IQ1_M_R16's -9) block column b: each token's
// activation block, its per-sub-block offsets -kOffset * bsums[j] (where each sub-block sum
// starts) and its int32 sums at zero.
template <int T, int kOffset>
inline void start_offset_column(const BlockQ8_K* const* act, int64_t b, const BlockQ8_K* (&a)[T],
                                int32_t (&off)[T][16], __m512i (&isum)[T]) {
  start_column<T>(act, b, a, isum);
  for (int t = 0; t < T; ++t) {
    const __m512i bs = _mm512_cvtepi16_epi32(load256(a[t]->bsums));
    __m512i scaled;
    if constexpr (std::has_single_bit(static_cast<unsigned>(kOffset))) {
      scaled = _mm512_slli_epi32(bs, std::countr_zero(static_cast<unsigned>(kOffset)));
    } else {
      scaled = _mm512_mullo_epi32(bs, _mm512_set1_epi32(kOffset));
    }
    _mm512_store_si512(off[t], _mm512_sub_epi32(_mm512_setzero_si512(), scaled));
  }
}

template <int T>
inline void q6_tile(int64_t nb, const uint8_t* group, const BlockQ8_K* const* act, float* y,
                    int64_t y_stride) {
  const __m512i m63 = _mm512_set1_epi8(63), m03 = _mm512_set1_epi8(3), m0f = _mm512_set1_epi8(15);
  // The float sums live in y between super-blocks: the registers go to the integer sums.
  for (int t = 0; t < T; ++t) _mm512_storeu_ps(y + t * y_stride, _mm512_setzero_ps());
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* col = group + b * kQ6Column;
    prefetch_column(col, kQ6Column);
    const uint8_t* sc = col + 32;
    const uint8_t* q = col + 288;
    const BlockQ8_K* a[T];
    alignas(64) int32_t off[T][16];  // -32 * bsums[j]: each sub-block sum starts there
    __m512i isum[T];
    start_offset_column<T, 32>(act, b, a, off, isum);
#pragma GCC unroll 1  // unrolled, GCC moved the products of all 16 sub-blocks ahead and spilled them
    for (int j = 0; j < 16; ++j) {
      const __m512i pa = load512(q + 192 * j), pb = load512(q + 192 * j + 64);
      const __m512i pc = load512(q + 192 * j + 128);
      // chunk 3: its bits 0-1, 2-3, 4-5 are the top bits of planes a, b, c
      const __m512i t01 = select_bits(m03, _mm512_srli_epi16(pa, 6), _mm512_srli_epi16(pb, 4));
      const __m512i v3 = _mm512_and_si512(select_bits(m0f, t01, _mm512_srli_epi16(pc, 2)), m63);
      const __m512i v[4] = {_mm512_and_si512(pa, m63), _mm512_and_si512(pb, m63), _mm512_and_si512(pc, m63), v3};
      const __m512i scale = _mm512_cvtepi8_epi32(load128(sc + 16 * j));
      // every loop over tokens unrolled: otherwise GCC keeps isum[] on the stack and walks
      // the tokens in a loop whose scalar work takes the ports vpdpbusd needs
#pragma GCC unroll 8
      for (int t = 0; t < T; ++t) {
        const int8_t* qa = a[t]->qs + 16 * j;
        __m512i s = _mm512_set1_epi32(off[t][j]);
#pragma GCC unroll 4
        for (int k = 0; k < 4; ++k) s = dpbusd_bcast(s, v[k], qa + 4 * k);
        isum[t] = _mm512_add_epi32(isum[t], _mm512_mullo_epi32(s, scale));
      }
    }
    const __m512 dw = _mm512_cvtph_ps(load256(col));
    for (int t = 0; t < T; ++t) {
      float* yt = y + t * y_stride;
      _mm512_storeu_ps(yt, _mm512_fmadd_ps(_mm512_mul_ps(dw, _mm512_set1_ps(a[t]->d)), _mm512_cvtepi32_ps(isum[t]),
                                           _mm512_loadu_ps(yt)));
    }
  }
}

// ---- Q2_K_R16

// Each sub-block j is one line of 16 rows x 4 bytes; (line >> 2k) & 3 holds values
// 16j + 4k.. (4 per row), so 4 vpdpbusd give the sub-block sums s_j. |s_j| <= 16 * 3 * 128
// fits int16, so vpdpwssd against the scales as int32 (high word 0) adds sc_j * s_j exactly;
// the mins pair up (m_2k, m_2k+1) against the activation's bsums pairs, as in Q4_K. The
// float sums live in y between super-blocks; the loops over tokens are unrolled and the
// sub-blocks are not (see q6_tile).
template <int T>
inline void q2_tile(int64_t nb, const uint8_t* group, const BlockQ8_K* const* act, float* y,
                    int64_t y_stride) {
  const __m512i m15 = _mm512_set1_epi32(15);
  for (int t = 0; t < T; ++t) _mm512_storeu_ps(y + t * y_stride, _mm512_setzero_ps());
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* col = group + b * kQ2Column;
    prefetch_column(col, kQ2Column);
    const uint8_t* sm = col + 64;
    const uint8_t* q = col + 320;
    const BlockQ8_K* a[T];
    __m512i isum[T];
    start_column<T>(act, b, a, isum);
#pragma GCC unroll 1
    for (int j = 0; j < 16; ++j) {
      __m512i v[4];
      two_bit_chunks(load512(q + 64 * j), v);
      const __m512i scale = _mm512_and_si512(_mm512_cvtepu8_epi32(load128(sm + 16 * j)), m15);
#pragma GCC unroll 8
      for (int t = 0; t < T; ++t) {
        const int8_t* qa = a[t]->qs + 16 * j;
        __m512i s = _mm512_setzero_si512();
#pragma GCC unroll 4
        for (int k = 0; k < 4; ++k) s = dpbusd_bcast(s, v[k], qa + 4 * k);
        isum[t] = _mm512_dpwssd_epi32(isum[t], s, scale);
      }
    }
    // mins: dword r of mp[k] = (m_2k, m_2k+1) of row r as int16
    __m512i mp[8];
    for (int k = 0; k < 8; ++k) {
      const __m512i lo = _mm512_srli_epi32(_mm512_cvtepu8_epi32(load128(sm + 16 * (2 * k))), 4);
      const __m512i hi = _mm512_srli_epi32(_mm512_cvtepu8_epi32(load128(sm + 16 * (2 * k + 1))), 4);
      mp[k] = _mm512_or_si512(lo, _mm512_slli_epi32(hi, 16));
    }
    const __m512 dw = _mm512_cvtph_ps(load256(col));
    const __m512 dmin = _mm512_cvtph_ps(load256(col + 32));
#pragma GCC unroll 8
    for (int t = 0; t < T; ++t) {
      int32_t pairs[8];  // (bsums[2k], bsums[2k+1]) as one dword
      __builtin_memcpy(pairs, a[t]->bsums, sizeof(pairs));
      __m512i msum = _mm512_setzero_si512();
      for (int k = 0; k < 8; ++k) msum = _mm512_dpwssd_epi32(msum, mp[k], _mm512_set1_epi32(pairs[k]));
      add_affine_sums(y + t * y_stride, dw, dmin, a[t]->d, _mm512_cvtepi32_ps(isum[t]), msum);
    }
  }
}

// ---- Q3_K_R16

// As Q2_K_R16 with a third bit (three_bit_pairs). s_j - 4 * bsums[j] (the sum starts at the
// offset) is within 16 * 4 * 128, so vpdpwssd against the signed scale in the low word (high
// word 0) adds sc_j times it exactly.
// kIq1m: an IQ1_M_R16 column (packed_k.cpp): one vpshufb turns the codes into q + 9 (0 to 18:
// a high nibble shifted down keeps bit 7 clear), the offset is 9 and d is d/8;
// s_j - 9 * bsums[j] stays within 16 * 9 * 128.
template <int T, bool kIq1m = false>
inline void q3_tile(int64_t nb, const uint8_t* group, const BlockQ8_K* const* act, float* y,
                    int64_t y_stride) {
  const __m512i m0f = _mm512_set1_epi8(0x0F);
  const __m512i low16 = _mm512_set1_epi32(0xFFFF);
  // bytes 0, 2, 8, 10, 16, 18 (q + 9 by code) at the start of every 128-bit lane
  const __m512i plus9 = _mm512_set4_epi32(0, 0, 0x1210, 0x0A080200);
  for (int t = 0; t < T; ++t) _mm512_storeu_ps(y + t * y_stride, _mm512_setzero_ps());
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* col = group + b * kQ3Column;
    prefetch_column(col, kQ3Column);
    const uint8_t* q = col + 224;
    const uint8_t* hb = col + 1248;
    alignas(64) int8_t sc[256];
    avx2::q3_K_scales_r16(col + 32, sc);
    const BlockQ8_K* a[T];
    alignas(64) int32_t off[T][16];  // -4 (-9) * bsums[j]
    __m512i isum[T];
    start_offset_column<T, kIq1m ? 9 : 4>(act, b, a, off, isum);
#pragma GCC unroll 1
    for (int j = 0; j < 16; ++j) {
      __m512i x02, x13;
      three_bit_pairs(load512(q + 64 * j), load256(hb + 32 * j), &x02, &x13);
      __m512i v[4];
      if constexpr (kIq1m) {
        v[0] = _mm512_shuffle_epi8(plus9, x02);
        v[1] = _mm512_shuffle_epi8(plus9, x13);
        v[2] = _mm512_shuffle_epi8(plus9, _mm512_srli_epi16(x02, 4));
        v[3] = _mm512_shuffle_epi8(plus9, _mm512_srli_epi16(x13, 4));
      } else {
        v[0] = _mm512_and_si512(x02, m0f);
        v[1] = _mm512_and_si512(x13, m0f);
        v[2] = _mm512_and_si512(_mm512_srli_epi16(x02, 4), m0f);
        v[3] = _mm512_and_si512(_mm512_srli_epi16(x13, 4), m0f);
      }
      const __m512i scale = _mm512_and_si512(_mm512_cvtepi8_epi32(load128(sc + 16 * j)), low16);
#pragma GCC unroll 8
      for (int t = 0; t < T; ++t) {
        const int8_t* qa = a[t]->qs + 16 * j;
        __m512i s = _mm512_set1_epi32(off[t][j]);
#pragma GCC unroll 4
        for (int k = 0; k < 4; ++k) s = dpbusd_bcast(s, v[k], qa + 4 * k);
        isum[t] = _mm512_dpwssd_epi32(isum[t], s, scale);
      }
    }
    __m512 dw = _mm512_cvtph_ps(load256(col));
    if constexpr (kIq1m) dw = _mm512_mul_ps(dw, _mm512_set1_ps(0.125f));
    for (int t = 0; t < T; ++t) {
      float* yt = y + t * y_stride;
      _mm512_storeu_ps(yt, _mm512_fmadd_ps(_mm512_mul_ps(dw, _mm512_set1_ps(a[t]->d)), _mm512_cvtepi32_ps(isum[t]),
                                           _mm512_loadu_ps(yt)));
    }
  }
}

template <int T>
inline void iq1_m_tile(int64_t nb, const uint8_t* group, const BlockQ8_K* const* act, float* y,
                       int64_t y_stride) {
  q3_tile<T, true>(nb, group, act, y, y_stride);
}

// ---- IQ4_XS_R16

// Sub-block j's ls_j - 32 for the 16 rows of a column (sl: their scales_l dwords, sh: their
// scales_h words zero-extended).
inline __m512i iq4_xs_scale(__m512i sl, __m512i sh, int j) {
  const __m512i low = _mm512_and_si512(_mm512_srli_epi32(sl, 4 * j), _mm512_set1_epi32(15));
  const __m512i high =
      _mm512_and_si512(_mm512_slli_epi32(_mm512_srli_epi32(sh, 2 * j), 4), _mm512_set1_epi32(48));
  return _mm512_sub_epi32(_mm512_or_si512(low, high), _mm512_set1_epi32(32));
}

// Bytes 4k..4k+3 of 16 levels plus 128 as one dword.
template <const int8_t (&kLevels)[16]>
constexpr int levels_plus_128(int k) {
  uint32_t v = 0;
  for (int l = 0; l < 4; ++l) v |= static_cast<uint32_t>(kLevels[4 * k + l] + 128) << (8 * l);
  return static_cast<int>(v);
}

// IQ4_XS_R16's layout with its levels (IQ4_NL's; IQ3_XXS_R16's and IQ3_S_R16's codes: packed.h)
// and d times kDScale. One vpshufb per nibble turns a line into u = level + 128 (1 to 241) for
// vpdpbusd; each sub-block's sum starts at -128 sum(a) (|sum| <= 32 x 241 x 127 on the way)
// and is scaled by ls - 32 in int32 (|isum| <= 8 x 32 x 32 x 127 x 127: exact). The float sums
// live in y.
template <int T, const int8_t (&kLevels)[16], float kDScale>
inline void level_tile(int64_t nb, const uint8_t* group, const BlockQ8_K* const* act, float* y,
                       int64_t y_stride) {
  constexpr int kChains = T == 1 ? 2 : 1;  // independent dpbusd chains per sub-block
  const __m512i m0f = _mm512_set1_epi8(0x0F);
  // level + 128 by nibble, in every 128-bit lane
  const __m512i levels =
      _mm512_set4_epi32(levels_plus_128<kLevels>(3), levels_plus_128<kLevels>(2),
                        levels_plus_128<kLevels>(1), levels_plus_128<kLevels>(0));
  for (int t = 0; t < T; ++t) _mm512_storeu_ps(y + t * y_stride, _mm512_setzero_ps());
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* col = group + b * kIq4xsColumn;
    const uint8_t* q = col + 128;
    const __m512i sl = load512(col + 32);
    const __m512i sh = _mm512_cvtepu16_epi32(load256(col + 96));
    const BlockQ8_K* a[T];
    __m512i isum[T];
    start_column<T>(act, b, a, isum);
    alignas(32) int32_t off[T][8];  // -128 * sum(a over sub-block j)
    for (int t = 0; t < T; ++t) {
      _mm256_store_si256(reinterpret_cast<__m256i*>(off[t]),
                         _mm256_madd_epi16(load256(a[t]->bsums), _mm256_set1_epi16(-128)));
    }
#pragma GCC unroll 4
    for (int c = 0; c < 4; ++c) {
      for (int k = 0; k < 9; ++k) {  // the column ahead, a quarter per sub-block pair
        _mm_prefetch(
            reinterpret_cast<const char*>(col + kPrefetchBytes + kIq4xsColumn / 4 * c + 64 * k),
            _MM_HINT_T1);
      }
      __m512i lo[T][kChains], hi[T][kChains];
      for (int t = 0; t < T; ++t) {
        lo[t][0] = _mm512_set1_epi32(off[t][2 * c]);
        hi[t][0] = _mm512_set1_epi32(off[t][2 * c + 1]);
        if constexpr (kChains == 2) lo[t][1] = hi[t][1] = _mm512_setzero_si512();
      }
#pragma GCC unroll 8
      for (int i = 0; i < 8; ++i) {
        const __m512i w = load512(q + 64 * (8 * c + i));
        const __m512i ul = _mm512_shuffle_epi8(levels, _mm512_and_si512(w, m0f));
        const __m512i uh =
            _mm512_shuffle_epi8(levels, _mm512_and_si512(_mm512_srli_epi16(w, 4), m0f));
#pragma GCC unroll 8
        for (int t = 0; t < T; ++t) {
          const int8_t* qa = a[t]->qs + 64 * c + 4 * i;
          lo[t][i % kChains] = dpbusd_bcast(lo[t][i % kChains], ul, qa);
          hi[t][i % kChains] = dpbusd_bcast(hi[t][i % kChains], uh, qa + 32);
        }
      }
      const __m512i sc_lo = iq4_xs_scale(sl, sh, 2 * c), sc_hi = iq4_xs_scale(sl, sh, 2 * c + 1);
      for (int t = 0; t < T; ++t) {
        __m512i sum_lo = lo[t][0], sum_hi = hi[t][0];
        if constexpr (kChains == 2) {
          sum_lo = _mm512_add_epi32(sum_lo, lo[t][1]);
          sum_hi = _mm512_add_epi32(sum_hi, hi[t][1]);
        }
        isum[t] = _mm512_add_epi32(isum[t], _mm512_add_epi32(_mm512_mullo_epi32(sum_lo, sc_lo),
                                                             _mm512_mullo_epi32(sum_hi, sc_hi)));
      }
    }
    __m512 dw = _mm512_cvtph_ps(load256(col));
    if constexpr (kDScale != 1.0f) dw = _mm512_mul_ps(dw, _mm512_set1_ps(kDScale));
    for (int t = 0; t < T; ++t) {
      float* yt = y + t * y_stride;
      _mm512_storeu_ps(yt, _mm512_fmadd_ps(_mm512_mul_ps(dw, _mm512_set1_ps(a[t]->d)),
                                           _mm512_cvtepi32_ps(isum[t]), _mm512_loadu_ps(yt)));
    }
  }
}

template <int T>
inline void iq4_xs_tile(int64_t nb, const uint8_t* group, const BlockQ8_K* const* act, float* y,
                        int64_t y_stride) {
  level_tile<T, kIq4nlValues, 1.0f>(nb, group, act, y, y_stride);
}
template <int T>
inline void iq3_xxs_tile(int64_t nb, const uint8_t* group, const BlockQ8_K* const* act, float* y,
                         int64_t y_stride) {
  level_tile<T, kIq3xxsLevels, 0.25f>(nb, group, act, y, y_stride);
}
template <int T>
inline void iq3_s_tile(int64_t nb, const uint8_t* group, const BlockQ8_K* const* act, float* y,
                       int64_t y_stride) {
  level_tile<T, kIq3sLevels, 1.0f>(nb, group, act, y, y_stride);
}

// ---- IQ1_S_R16

// Q2_K_R16's lines of 2-bit values u (packed_k.cpp): a group of 32 is two lines, 8 vpdpbusd
// give its sums s_g (|s_g| <= 32 x 2 x 128 fits int16), and two vpdpwssd add
// 8 sc * s_g and m * (-sum(a over g)), m = sc * (8 - shift), both from the info nibble as
// int32 lanes with a zero high word. One int32 sum per token; float sums in y between
// super-blocks.
template <int T>
inline void iq1_s_tile(int64_t nb, const uint8_t* group, const BlockQ8_K* const* act, float* y,
                       int64_t y_stride) {
  const __m512i m7 = _mm512_set1_epi32(7), m15 = _mm512_set1_epi32(15);
  for (int t = 0; t < T; ++t) _mm512_storeu_ps(y + t * y_stride, _mm512_setzero_ps());
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* col = group + b * kIq1sColumn;
    prefetch_column(col, kIq1sColumn);
    const uint8_t* sm = col + 32;
    const uint8_t* q = col + 96;
    const BlockQ8_K* a[T];
    __m512i isum[T];
    start_column<T>(act, b, a, isum);
#pragma GCC unroll 1
    for (int g = 0; g < 8; ++g) {
      // one token: a dpbusd chain per line (two in flight); more: one per token
      constexpr int kChains = T == 1 ? 2 : 1;
      __m512i s[T][kChains];
      for (int t = 0; t < T; ++t) {
        for (int k = 0; k < kChains; ++k) s[t][k] = _mm512_setzero_si512();
      }
#pragma GCC unroll 2
      for (int i = 0; i < 2; ++i) {
        const int line = 2 * g + i;
        __m512i v[4];
        two_bit_chunks(load512(q + 64 * line), v);
#pragma GCC unroll 8
        for (int t = 0; t < T; ++t) {
#pragma GCC unroll 4
          for (int c = 0; c < 4; ++c) {
            s[t][i % kChains] = dpbusd_bcast(s[t][i % kChains], v[c], a[t]->qs + 16 * line + 4 * c);
          }
        }
      }
      // the info nibble of group g: bits 0-2 s (sc = 2s + 1), bit 3 shift = -1 (m = 9 sc,
      // else 7 sc)
      const __m512i bytes = _mm512_cvtepu8_epi32(load128(sm + 16 * (g / 2)));
      const __m512i info =
          _mm512_and_si512(_mm512_srlv_epi32(bytes, _mm512_set1_epi32(4 * (g % 2))), m15);
      const __m512i sc =
          _mm512_add_epi32(_mm512_slli_epi32(_mm512_and_si512(info, m7), 1), _mm512_set1_epi32(1));
      const __m512i scale8 = _mm512_slli_epi32(sc, 3);
      const __mmask16 negative = _mm512_cmpgt_epi32_mask(info, m7);
      const __m512i m = _mm512_mask_add_epi32(_mm512_sub_epi32(scale8, sc), negative, scale8, sc);
#pragma GCC unroll 8
      for (int t = 0; t < T; ++t) {
        const __m512i st = kChains == 2 ? _mm512_add_epi32(s[t][0], s[t][kChains - 1]) : s[t][0];
        isum[t] = _mm512_dpwssd_epi32(isum[t], st, scale8);
        const int neg_bsum = -(a[t]->bsums[2 * g] + a[t]->bsums[2 * g + 1]);
        isum[t] = _mm512_dpwssd_epi32(isum[t], m, _mm512_set1_epi32(neg_bsum));
      }
    }
    const __m512 dw = _mm512_mul_ps(_mm512_cvtph_ps(load256(col)), _mm512_set1_ps(0.125f));
#pragma GCC unroll 8
    for (int t = 0; t < T; ++t) {
      const __m512 scale = _mm512_mul_ps(dw, _mm512_set1_ps(a[t]->d));
      _mm512_storeu_ps(y + t * y_stride, _mm512_fmadd_ps(scale, _mm512_cvtepi32_ps(isum[t]),
                                                         _mm512_loadu_ps(y + t * y_stride)));
    }
  }
}

// ---- IQ2_XXS_R16

// Q3_K_R16's lines and high bits hold 3-bit codes (packed_k.cpp): each chunk's codes come out
// as two a byte (three_bit_pairs) and one vpshufb turns them into q + 43 (0 to 86). A scale
// unit's vpdpbusd (kUnits 8: IQ2_XXS_R16's groups of 32, two lines; 16: IQ2_XS_R16's lines of
// 16) start from -43 sum(a over the unit), and its int32 sum is multiplied by sc = 2s + 1.
template <int T, int kUnits>
inline void iq2_tile(int64_t nb, const uint8_t* group, const BlockQ8_K* const* act, float* y,
                     int64_t y_stride) {
  constexpr int kLines = 16 / kUnits;  // lines (16 values) per scale unit
  constexpr size_t kColumn = kPackRows * (98 + kUnits / 2);
  const __m512i m15 = _mm512_set1_epi32(15);
  // bytes 0, 18, 35, 51, 68, 86 (q + 43 by code) at the start of every 128-bit lane
  const __m512i plus43 = _mm512_set4_epi32(0, 0, 0x5644, 0x33231200);
  for (int t = 0; t < T; ++t) _mm512_storeu_ps(y + t * y_stride, _mm512_setzero_ps());
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* col = group + b * kColumn;
    prefetch_column(col, kColumn);
    const uint8_t* sm = col + 32;
    const uint8_t* q = sm + 8 * kUnits;
    const uint8_t* hb = q + 1024;
    const BlockQ8_K* a[T];
    __m512i isum[T];
    start_column<T>(act, b, a, isum);
#pragma GCC unroll 1
    for (int g = 0; g < kUnits; ++g) {
      __m512i s[T];
      for (int t = 0; t < T; ++t) {
        int bsum = 0;
        for (int line = kLines * g; line < kLines * g + kLines; ++line) bsum += a[t]->bsums[line];
        s[t] = _mm512_set1_epi32(-43 * bsum);
      }
#pragma GCC unroll 2
      for (int line = kLines * g; line < kLines * g + kLines; ++line) {
        // codes -> q + 43: vpshufb takes a byte's low nibble, and a high nibble shifted down
        // keeps bit 7 clear
        __m512i x02, x13;
        three_bit_pairs(load512(q + 64 * line), load256(hb + 32 * line), &x02, &x13);
        const __m512i v[4] = {_mm512_shuffle_epi8(plus43, x02), _mm512_shuffle_epi8(plus43, x13),
                              _mm512_shuffle_epi8(plus43, _mm512_srli_epi16(x02, 4)),
                              _mm512_shuffle_epi8(plus43, _mm512_srli_epi16(x13, 4))};
#pragma GCC unroll 8
        for (int t = 0; t < T; ++t) {
#pragma GCC unroll 4
          for (int c = 0; c < 4; ++c) s[t] = dpbusd_bcast(s[t], v[c], a[t]->qs + 16 * line + 4 * c);
        }
      }
      const __m512i bytes = _mm512_cvtepu8_epi32(load128(sm + 16 * (g / 2)));
      const __m512i scale =
          _mm512_and_si512(_mm512_srlv_epi32(bytes, _mm512_set1_epi32(4 * (g % 2))), m15);
      const __m512i sc = _mm512_add_epi32(_mm512_add_epi32(scale, scale), _mm512_set1_epi32(1));
#pragma GCC unroll 8
      for (int t = 0; t < T; ++t) isum[t] = _mm512_add_epi32(isum[t], _mm512_mullo_epi32(s[t], sc));
    }
    const __m512 dw = _mm512_mul_ps(_mm512_cvtph_ps(load256(col)), _mm512_set1_ps(0.125f));
#pragma GCC unroll 8
    for (int t = 0; t < T; ++t) {
      const __m512 scale = _mm512_mul_ps(dw, _mm512_set1_ps(a[t]->d));
      _mm512_storeu_ps(y + t * y_stride, _mm512_fmadd_ps(scale, _mm512_cvtepi32_ps(isum[t]),
                                                         _mm512_loadu_ps(y + t * y_stride)));
    }
  }
}

template <int T>
inline void iq2_xxs_tile(int64_t nb, const uint8_t* group, const BlockQ8_K* const* act, float* y,
                         int64_t y_stride) {
  iq2_tile<T, 8>(nb, group, act, y, y_stride);
}
template <int T>
inline void iq2_xs_tile(int64_t nb, const uint8_t* group, const BlockQ8_K* const* act, float* y,
                        int64_t y_stride) {
  iq2_tile<T, 16>(nb, group, act, y, y_stride);
}

// Tile<tn>::run for 1 <= tn <= kMax.
template <template <int> class Tile, int kMax>
inline void dispatch(int tn, int64_t nb, const uint8_t* group, const BlockQ8_K* const* act, float* y,
                     int64_t y_stride) {
  if constexpr (kMax > 1) {
    if (tn < kMax) return dispatch<Tile, kMax - 1>(tn, nb, group, act, y, y_stride);
  }
  Tile<kMax>::run(nb, group, act, y, y_stride);
}

// Groups of 16 rows, each passed over once per kTile tokens.
template <template <int> class Tile, int kTile>
void gemm_groups(int64_t n, const void* w, size_t w_row_bytes, int64_t rows, const void* a,
                 size_t a_row_bytes, int64_t tokens, float* y, int64_t y_stride) {
  const int64_t nb = n / kQK_K;
  for (int64_t g = 0; g < rows / kPackRows; ++g) {
    const uint8_t* group = static_cast<const uint8_t*>(w) + g * kPackRows * w_row_bytes;
    for (int64_t t0 = 0; t0 < tokens; t0 += kTile) {
      const BlockQ8_K* act[kTile];
      const int tn = static_cast<int>(tokens - t0 < kTile ? tokens - t0 : kTile);
      for (int t = 0; t < tn; ++t) {
        act[t] = reinterpret_cast<const BlockQ8_K*>(static_cast<const uint8_t*>(a) + (t0 + t) * a_row_bytes);
      }
      float* yt = y + t0 * y_stride + g * kPackRows;
      dispatch<Tile, kTile>(tn, nb, group, act, yt, y_stride);
    }
  }
}

// Tile<tn>::run for each tile function (gemm_groups takes a class template).
#define MOE_K_TILE(Name, tile)                                                                   \
  template <int T>                                                                             \
  struct Name {                                                                                \
    static void run(int64_t nb, const uint8_t* g, const BlockQ8_K* const* a, float* y, int64_t ys) { \
      tile<T>(nb, g, a, y, ys);                                                                \
    }                                                                                          \
  };
MOE_K_TILE(Q4Tile, q4_tile)
MOE_K_TILE(Q5Tile, q5_tile)
MOE_K_TILE(Q2Tile, q2_tile)
MOE_K_TILE(Q3Tile, q3_tile)
MOE_K_TILE(Q6Tile, q6_tile)
MOE_K_TILE(Iq1sTile, iq1_s_tile)
MOE_K_TILE(Iq2xxsTile, iq2_xxs_tile)
MOE_K_TILE(Iq2xsTile, iq2_xs_tile)
MOE_K_TILE(Iq1mTile, iq1_m_tile)
MOE_K_TILE(Iq4xsTile, iq4_xs_tile)
MOE_K_TILE(Iq3xxsTile, iq3_xxs_tile)
MOE_K_TILE(Iq3sTile, iq3_s_tile)
#undef MOE_K_TILE

}  // namespace

// The packed K gemms: groups of 16 rows, kTile tokens per pass.
#define MOE_PACKED_K_GEMM(name, Tile, kTile)                                                      \
  void gemm_##name(int64_t n, const void* w, size_t w_row_bytes, int64_t rows, const void* a,   \
                   size_t a_row_bytes, int64_t tokens, float* y, int64_t y_stride) {           \
    gemm_groups<Tile, kTile>(n, w, w_row_bytes, rows, a, a_row_bytes, tokens, y, y_stride);    \
  }
MOE_PACKED_K_GEMM(q4_K_r16, Q4Tile, kQ4Tile)
MOE_PACKED_K_GEMM(q5_K_r16, Q5Tile, kQ5Tile)
MOE_PACKED_K_GEMM(q6_K_r16, Q6Tile, kQ6Tile)
MOE_PACKED_K_GEMM(q2_K_r16, Q2Tile, kQ2Tile)
MOE_PACKED_K_GEMM(q3_K_r16, Q3Tile, kQ3Tile)
MOE_PACKED_K_GEMM(iq1_s_r16, Iq1sTile, kIq1sTile)
MOE_PACKED_K_GEMM(iq2_xxs_r16, Iq2xxsTile, kIq2xxsTile)
MOE_PACKED_K_GEMM(iq2_xs_r16, Iq2xsTile, kIq2xxsTile)
MOE_PACKED_K_GEMM(iq2_s_r16, Iq2xsTile, kIq2xxsTile)
MOE_PACKED_K_GEMM(iq1_m_r16, Iq1mTile, kQ3Tile)
MOE_PACKED_K_GEMM(iq4_xs_r16, Iq4xsTile, kIq4xsTile)
MOE_PACKED_K_GEMM(iq3_xxs_r16, Iq3xxsTile, kIq4xsTile)
MOE_PACKED_K_GEMM(iq3_s_r16, Iq3sTile, kIq4xsTile)
#undef MOE_PACKED_K_GEMM

}  // namespace moe::avx512
