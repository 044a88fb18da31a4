// AVX-512 f32 x f32 products and the attention's weighted row sums: the MLA scores (every
// head's absorbed query against every latent row) and most small f32 matrices go through
// them, and with 128 heads they are what decode at a long context spends its time on.
//
// F32 order (this table's definition; vec_dot is the 1 x 1 tile, so gemm == vec_dot
// bitwise): one 16-lane accumulator per output, acc = fma(w[16 i..], a[16 i..], acc) for
// each block of 16 values in order, then the fixed-tree horizontal sum, then the last n % 16
// products added one at a time in order.
//
// weighted_rows: out[h][j] = sum over rows p, in order, of s[h][p] * rows[p][j], each step
// one fused multiply-add (the scalar and AVX2 versions round the product first: this table's
// results differ from theirs in the last bits, and are twice as fast), over chunks of rows
// that stay in L2. Every element's chain is the same whatever the number of heads, the width
// or the chunking, so the batch never matters.

// GCC 12's 512-bit extract intrinsics read an "undefined" vector that -Wuninitialized flags
// once inlined (GCC bug 105593; the build already drops -Wmaybe-uninitialized for it).
#pragma GCC diagnostic ignored "-Wuninitialized"

#include <immintrin.h>

#include "kernels/avx2/tile.h"  // for_panel_tiles: the walk over row panels
#include "kernels/avx512/avx512_kernels.h"
#include "kernels/avx512/hsum.h"

namespace moe::avx512 {
namespace {

// Rows of a tile x tokens of a tile: 16 accumulators leave registers for the loads. In
// decode the tokens are a thread's heads, often only 4 on a many-core machine (3 x 8 measured
// no faster here with 64).
constexpr int kRows = 4;
constexpr int kTokens = 4;
// Rows per chunk of the weighted sums (latent rows of 576 floats: about 300 KB).
constexpr int64_t kWeightedRowChunk = 128;
// Columns per window of the weighted sums: 128 rows x 64 floats stay in L1.
constexpr int64_t kWeightedColumns = 64;

template <int R, int T>
inline void f32_tile(int64_t n, const float* w, int64_t w_stride, const float* a, int64_t a_stride, float* y,
                     int64_t y_stride) {
  __m512 acc[R][T];
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < T; ++t) acc[r][t] = _mm512_setzero_ps();
  const int64_t nb = n / 16;
  for (int64_t i = 0; i < nb; ++i) {
    __m512 av[T];
    for (int t = 0; t < T; ++t) av[t] = _mm512_loadu_ps(a + t * a_stride + 16 * i);
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      const __m512 wv = _mm512_loadu_ps(w + r * w_stride + 16 * i);
      for (int t = 0; t < T; ++t) acc[r][t] = _mm512_fmadd_ps(wv, av[t], acc[r][t]);
    }
  }
  if constexpr (R == 4 && T == 4) {
    if (n % 16 == 0) {  // all 16 sums at once: token t's 4 rows are quarter t
      const __m512 sums = hsum16x16(&acc[0][0]);
      _mm_storeu_ps(y, _mm512_castps512_ps128(sums));
      _mm_storeu_ps(y + y_stride, _mm512_extractf32x4_ps(sums, 1));
      _mm_storeu_ps(y + 2 * y_stride, _mm512_extractf32x4_ps(sums, 2));
      _mm_storeu_ps(y + 3 * y_stride, _mm512_extractf32x4_ps(sums, 3));
      return;
    }
  }
  for (int r = 0; r < R; ++r) {
    for (int t = 0; t < T; ++t) {
      float s = hsum16(acc[r][t]);
      for (int64_t k = nb * 16; k < n; ++k) s += w[r * w_stride + k] * a[t * a_stride + k];
      y[t * y_stride + r] = s;
    }
  }
}

template <int R>
inline void f32_tile_tokens(int tn, int64_t n, const float* w, int64_t ws, const float* a, int64_t as, float* y,
                            int64_t ys) {
  switch (tn) {
    case 1: return f32_tile<R, 1>(n, w, ws, a, as, y, ys);
    case 2: return f32_tile<R, 2>(n, w, ws, a, as, y, ys);
    case 3: return f32_tile<R, 3>(n, w, ws, a, as, y, ys);
    default: return f32_tile<R, kTokens>(n, w, ws, a, as, y, ys);
  }
}

// Columns [0, 16 * kVec) of out_h for heads [0, kHeads), over rows [0, n_rows): the
// accumulators stay in registers over the rows, each row's vectors are loaded once for the
// kHeads heads. `resume`: continue the sums already in out (a later chunk of rows).
template <int kHeads, int kVec>
inline void weighted_block(const float* s, int64_t s_stride, int64_t n_rows, const float* rows, int64_t row_stride,
                           float* out, int64_t out_stride, bool resume) {
  __m512 acc[kHeads][kVec];
  for (int h = 0; h < kHeads; ++h)
    for (int v = 0; v < kVec; ++v) acc[h][v] = resume ? _mm512_loadu_ps(out + h * out_stride + 16 * v) : _mm512_setzero_ps();
  for (int64_t p = 0; p < n_rows; ++p) {
    __m512 x[kVec];
    for (int v = 0; v < kVec; ++v) x[v] = _mm512_loadu_ps(rows + p * row_stride + 16 * v);
    for (int h = 0; h < kHeads; ++h) {
      const __m512 sp = _mm512_set1_ps(s[h * s_stride + p]);
      for (int v = 0; v < kVec; ++v) acc[h][v] = _mm512_fmadd_ps(sp, x[v], acc[h][v]);
    }
  }
  for (int h = 0; h < kHeads; ++h)
    for (int v = 0; v < kVec; ++v) _mm512_storeu_ps(out + h * out_stride + 16 * v, acc[h][v]);
}

template <int kHeads>
void weighted_heads(const float* s, int64_t s_stride, int64_t n_rows, const float* rows, int64_t row_stride,
                    float* out, int64_t out_stride, int64_t width, bool resume) {
  int64_t j = 0;
  for (; j + 64 <= width; j += 64) {
    weighted_block<kHeads, 4>(s, s_stride, n_rows, rows + j, row_stride, out + j, out_stride, resume);
  }
  for (; j + 16 <= width; j += 16) {
    weighted_block<kHeads, 1>(s, s_stride, n_rows, rows + j, row_stride, out + j, out_stride, resume);
  }
  for (; j < width; ++j) {
    for (int h = 0; h < kHeads; ++h) {
      float acc = resume ? out[h * out_stride + j] : 0.0f;
      for (int64_t p = 0; p < n_rows; ++p) acc = __builtin_fmaf(s[h * s_stride + p], rows[p * row_stride + j], acc);
      out[h * out_stride + j] = acc;
    }
  }
}

}  // namespace

float vec_dot_f32_f32(int64_t n, const void* w, const void* a) {
  float y;
  f32_tile<1, 1>(n, static_cast<const float*>(w), 0, static_cast<const float*>(a), 0, &y, 1);
  return y;
}

void gemm_f32_f32(int64_t n, const void* w, size_t w_row_bytes, int64_t rows, const void* a, size_t a_row_bytes,
                  int64_t tokens, float* y, int64_t y_stride) {
  const auto* wf = static_cast<const float*>(w);
  const auto* af = static_cast<const float*>(a);
  const auto ws = static_cast<int64_t>(w_row_bytes / sizeof(float));
  const auto as = static_cast<int64_t>(a_row_bytes / sizeof(float));
  avx2::for_panel_tiles<kRows, kTokens>(rows, w_row_bytes, tokens, [&](int64_t r, bool whole, int64_t t0, int tn) {
    float* yt = y + t0 * y_stride + r;
    if (whole) {
      f32_tile_tokens<kRows>(tn, n, wf + r * ws, ws, af + t0 * as, as, yt, y_stride);
    } else {
      f32_tile_tokens<1>(tn, n, wf + r * ws, ws, af + t0 * as, as, yt, y_stride);
    }
  });
}

void weighted_rows(const float* s, int64_t s_stride, int64_t heads, int64_t n_rows, const float* rows,
                   int64_t row_stride, float* out, int64_t out_stride, int64_t width, bool resume_first) {
  // Rows in chunks that stay in L2 while every head passes over them; each element's sum
  // goes on from chunk to chunk through `out`, the same fused chain as in one pass.
  for (int64_t p0 = 0; p0 < n_rows || p0 == 0; p0 += kWeightedRowChunk) {
    const int64_t np = n_rows - p0 < kWeightedRowChunk ? n_rows - p0 : kWeightedRowChunk;
    const bool resume = resume_first || p0 > 0;
    const float* sp = s + p0;
    const float* rp = rows + p0 * row_stride;
    // one window of columns at a time, so its rows stay in L1 while every head passes
    for (int64_t j0 = 0; j0 < width; j0 += kWeightedColumns) {
      const int64_t w = width - j0 < kWeightedColumns ? width - j0 : kWeightedColumns;
      int64_t h = 0;
      for (; h + 4 <= heads; h += 4) {
        weighted_heads<4>(sp + h * s_stride, s_stride, np, rp + j0, row_stride, out + h * out_stride + j0, out_stride, w, resume);
      }
      for (; h + 2 <= heads; h += 2) {
        weighted_heads<2>(sp + h * s_stride, s_stride, np, rp + j0, row_stride, out + h * out_stride + j0, out_stride, w, resume);
      }
      if (h < heads) {
        weighted_heads<1>(sp + h * s_stride, s_stride, np, rp + j0, row_stride, out + h * out_stride + j0, out_stride, w, resume);
      }
    }
  }
}

}  // namespace moe::avx512
