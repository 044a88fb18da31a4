// AVX512-BF16 attention over a bf16 latent cache: the scores (absorbed queries against the
// cached rows) and the softmax-weighted sums of the rows, both with vdpbf16ps: 32 products
// per instruction, each exact in f32 (8-bit x 8-bit mantissas), summed in f32. That is
// twice the f32 FMA path's products per instruction, and the rows are read in place (no
// f16 -> f32 copy of the whole latent per layer).
//
// Every output element has one fixed chain of vdpbf16ps steps whatever the number of heads,
// rows or the tiling, and tails go through the same instruction on zero-filled lanes, so a
// token's numbers never depend on the batch. The rounding of the pair sums inside
// vdpbf16ps is the CPU's (Intel documents two fused steps per pair; the tests bound the
// error against a double sum of the same bf16 values rather than assume one order).

// GCC 12's 512-bit extract intrinsics read an "undefined" vector (see avx512/float.cpp).
#pragma GCC diagnostic ignored "-Wuninitialized"

#include <immintrin.h>

#include <cstring>

#include "kernels/avx512/hsum.h"
#include "kernels/avx512_bf16/avx512_bf16_kernels.h"

namespace moe::avx512_bf16 {
namespace {

constexpr int kRows = 4;           // score tile: cached rows ...
constexpr int kHeads = 4;          // ... x heads (16 accumulators)
constexpr int kWeightedHeads = 4;  // weighted tile: heads x 2 chunks of 32 values (lo, hi)
constexpr int kWeightedChunks = 2;

using avx512::hsum16;

inline __m512bh as_bh(__m512i v) {
  return reinterpret_cast<__m512bh>(v);
}

// The first `n` (< 32) bf16 values at p, zeros above.
inline __m512i load_bf16(const uint16_t* p, int64_t n) {
  if (n >= 32) return _mm512_loadu_si512(p);
  return _mm512_maskz_loadu_epi16(static_cast<__mmask32>((1u << n) - 1u), p);
}

template <int R, int H>
inline void score_tile(int64_t n, const uint16_t* rows, int64_t row_stride, const uint16_t* q,
                       int64_t q_stride, float* y, int64_t y_stride) {
  __m512 acc[R][H];
  for (int r = 0; r < R; ++r)
    for (int h = 0; h < H; ++h) acc[r][h] = _mm512_setzero_ps();
  // Whole steps of 32 values in a straight-line loop (the accumulators stay in registers),
  // then the tail through the same instruction on zero-filled lanes.
  int64_t i = 0;
  for (; i + 32 <= n; i += 32) {
    __m512i qv[H];
    for (int h = 0; h < H; ++h) qv[h] = _mm512_loadu_si512(q + h * q_stride + i);
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      const __m512i kv = _mm512_loadu_si512(rows + r * row_stride + i);
      for (int h = 0; h < H; ++h) acc[r][h] = _mm512_dpbf16_ps(acc[r][h], as_bh(kv), as_bh(qv[h]));
    }
  }
  if (i < n) {
    __m512i qv[H];
    for (int h = 0; h < H; ++h) qv[h] = load_bf16(q + h * q_stride + i, n - i);
    for (int r = 0; r < R; ++r) {
      const __m512i kv = load_bf16(rows + r * row_stride + i, n - i);
      for (int h = 0; h < H; ++h) acc[r][h] = _mm512_dpbf16_ps(acc[r][h], as_bh(kv), as_bh(qv[h]));
    }
  }
  if constexpr (R == 4 && H == 4) {  // all 16 sums at once, bitwise hsum16's: head h's 4 rows are quarter h
    const __m512 sums = avx512::hsum16x16(&acc[0][0]);
    _mm_storeu_ps(y, _mm512_castps512_ps128(sums));
    _mm_storeu_ps(y + y_stride, _mm512_extractf32x4_ps(sums, 1));
    _mm_storeu_ps(y + 2 * y_stride, _mm512_extractf32x4_ps(sums, 2));
    _mm_storeu_ps(y + 3 * y_stride, _mm512_extractf32x4_ps(sums, 3));
  } else {
    for (int r = 0; r < R; ++r)
      for (int h = 0; h < H; ++h) y[h * y_stride + r] = hsum16(acc[r][h]);
  }
}

template <int R>
inline void score_heads(int64_t n, const uint16_t* rows, int64_t row_stride, const uint16_t* q,
                        int64_t q_stride, int64_t heads, float* y, int64_t y_stride) {
  int64_t h = 0;
  for (; h + kHeads <= heads; h += kHeads) {
    score_tile<R, kHeads>(n, rows, row_stride, q + h * q_stride, q_stride, y + h * y_stride,
                          y_stride);
  }
  for (; h < heads; ++h)
    score_tile<R, 1>(n, rows, row_stride, q + h * q_stride, q_stride, y + h * y_stride, y_stride);
}

// Accumulators of 32 output values in the order unpack{lo,hi}_epi16 of two rows leaves them:
// lo holds 128-bit chunks 0, 2, 4, 6 of the 32, hi chunks 1, 3, 5, 7.
inline void to_pair_order(__m512 x0, __m512 x1, __m512* lo, __m512* hi) {
  *lo = _mm512_shuffle_f32x4(x0, x1, 0x88);
  *hi = _mm512_shuffle_f32x4(x0, x1, 0xDD);
}
inline void from_pair_order(__m512 lo, __m512 hi, __m512* x0, __m512* x1) {
  const __m512 a = _mm512_shuffle_f32x4(lo, hi, 0x44), b = _mm512_shuffle_f32x4(lo, hi, 0xEE);
  *x0 = _mm512_shuffle_f32x4(a, a, 0xD8);
  *x1 = _mm512_shuffle_f32x4(b, b, 0xD8);
}

// The pair (s[p], s[p + 1]) of one head in every 32-bit lane, s[p + 1] = 0 past the rows.
// The two bf16 values are adjacent in memory: one broadcast load, no scalar work.
inline __m512i weight_pair(const uint16_t* s, int64_t p, int64_t n_rows) {
  if (p + 1 < n_rows) {
    int32_t v;
    std::memcpy(&v, s + p, sizeof v);
    return _mm512_set1_epi32(v);
  }
  return _mm512_set1_epi32(static_cast<int>(s[p]));
}

// Rows p, p + 1 (interleaved in xlo / xhi) times each head's weight pair, into its sums.
template <int H, int C>
__attribute__((always_inline)) inline void accumulate_pair(const uint16_t* s, int64_t s_stride,
                                                           int64_t p, int64_t n_rows,
                                                           const __m512i (&xlo)[C],
                                                           const __m512i (&xhi)[C],
                                                           __m512 (&lo)[H][C], __m512 (&hi)[H][C]) {
  for (int h = 0; h < H; ++h) {
    const __m512bh sp = as_bh(weight_pair(s + h * s_stride, p, n_rows));
    for (int c = 0; c < C; ++c) {
      lo[h][c] = _mm512_dpbf16_ps(lo[h][c], as_bh(xlo[c]), sp);
      hi[h][c] = _mm512_dpbf16_ps(hi[h][c], as_bh(xhi[c]), sp);
    }
  }
}

// Columns [0, 32 * C) (fewer: `width`) of heads [0, H), over all rows.
template <int H, int C>
inline void weighted_block(const uint16_t* s, int64_t s_stride, int64_t n_rows,
                           const uint16_t* rows, int64_t row_stride, float* out, int64_t out_stride,
                           int64_t width, bool resume) {
  __m512 lo[H][C], hi[H][C];
  for (int h = 0; h < H; ++h) {
    for (int c = 0; c < C; ++c) {
      const int64_t j = 32 * c, left = width - j;
      if (!resume || left <= 0) {
        lo[h][c] = hi[h][c] = _mm512_setzero_ps();
        continue;
      }
      const __mmask16 m0 = left >= 16 ? 0xFFFF : static_cast<__mmask16>((1u << left) - 1u);
      const __mmask16 m1 = left >= 32   ? 0xFFFF
                           : left <= 16 ? 0
                                        : static_cast<__mmask16>((1u << (left - 16)) - 1u);
      const float* o = out + h * out_stride + j;
      to_pair_order(_mm512_maskz_loadu_ps(m0, o), _mm512_maskz_loadu_ps(m1, o + 16), &lo[h][c],
                    &hi[h][c]);
    }
  }
  // Whole pairs of rows over full columns: straight-line code (the accumulators stay in
  // registers); the same steps as the general loop below, which takes the rest.
  int64_t p = 0;
  if (width >= 32 * C) {
    for (; p + 2 <= n_rows; p += 2) {
      __m512i xlo[C], xhi[C];
      for (int c = 0; c < C; ++c) {
        const __m512i a = _mm512_loadu_si512(rows + p * row_stride + 32 * c);
        const __m512i b = _mm512_loadu_si512(rows + (p + 1) * row_stride + 32 * c);
        xlo[c] = _mm512_unpacklo_epi16(a, b);
        xhi[c] = _mm512_unpackhi_epi16(a, b);
      }
      accumulate_pair<H, C>(s, s_stride, p, n_rows, xlo, xhi, lo, hi);
    }
  }
  for (; p < n_rows; p += 2) {
    __m512i xlo[C], xhi[C];
    for (int c = 0; c < C; ++c) {
      const int64_t left = width - 32 * c;
      if (left <= 0) {
        xlo[c] = xhi[c] = _mm512_setzero_si512();
        continue;
      }
      const __m512i a = load_bf16(rows + p * row_stride + 32 * c, left);
      const __m512i b = p + 1 < n_rows ? load_bf16(rows + (p + 1) * row_stride + 32 * c, left)
                                       : _mm512_setzero_si512();
      xlo[c] = _mm512_unpacklo_epi16(a, b);
      xhi[c] = _mm512_unpackhi_epi16(a, b);
    }
    accumulate_pair<H, C>(s, s_stride, p, n_rows, xlo, xhi, lo, hi);
  }
  for (int h = 0; h < H; ++h) {
    for (int c = 0; c < C; ++c) {
      const int64_t j = 32 * c, left = width - j;
      if (left <= 0) continue;
      __m512 x0, x1;
      from_pair_order(lo[h][c], hi[h][c], &x0, &x1);
      const __mmask16 m0 = left >= 16 ? 0xFFFF : static_cast<__mmask16>((1u << left) - 1u);
      const __mmask16 m1 = left >= 32   ? 0xFFFF
                           : left <= 16 ? 0
                                        : static_cast<__mmask16>((1u << (left - 16)) - 1u);
      float* o = out + h * out_stride + j;
      _mm512_mask_storeu_ps(o, m0, x0);
      _mm512_mask_storeu_ps(o + 16, m1, x1);
    }
  }
}

template <int H>
void weighted_heads(const uint16_t* s, int64_t s_stride, int64_t n_rows, const uint16_t* rows,
                    int64_t row_stride, float* out, int64_t out_stride, int64_t width,
                    bool resume) {
  constexpr int64_t kSpan = 32 * kWeightedChunks;
  for (int64_t j = 0; j < width; j += kSpan) {
    const int64_t w = width - j < kSpan ? width - j : kSpan;
    weighted_block<H, kWeightedChunks>(s, s_stride, n_rows, rows + j, row_stride, out + j,
                                       out_stride, w, resume);
  }
}

}  // namespace

void scores(int64_t n, const uint16_t* rows, int64_t row_stride, int64_t n_rows, const uint16_t* q,
            int64_t q_stride, int64_t heads, float* y, int64_t y_stride) {
  int64_t r = 0;
  for (; r + kRows <= n_rows; r += kRows) {
    score_heads<kRows>(n, rows + r * row_stride, row_stride, q, q_stride, heads, y + r, y_stride);
  }
  for (; r < n_rows; ++r)
    score_heads<1>(n, rows + r * row_stride, row_stride, q, q_stride, heads, y + r, y_stride);
}

void weighted_rows(const uint16_t* s, int64_t s_stride, int64_t heads, int64_t n_rows,
                   const uint16_t* rows, int64_t row_stride, float* out, int64_t out_stride,
                   int64_t width, bool resume) {
  int64_t h = 0;
  for (; h + kWeightedHeads <= heads; h += kWeightedHeads) {
    weighted_heads<kWeightedHeads>(s + h * s_stride, s_stride, n_rows, rows, row_stride,
                                   out + h * out_stride, out_stride, width, resume);
  }
  for (; h < heads; ++h) {
    weighted_heads<1>(s + h * s_stride, s_stride, n_rows, rows, row_stride, out + h * out_stride,
                      out_stride, width, resume);
  }
}

}  // namespace moe::avx512_bf16
