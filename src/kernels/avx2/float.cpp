// AVX2 products of F32 / F16 / BF16 weights with f32 activations, and the attention's
// weighted row sums.
//
// F16 / BF16 weights go through tile.h: a "block" is 16 values (two 8-float vectors); the
// last n % 16 values are added in scalar order after the horizontal sum.
//
// F32 x F32 (the MLA scores over an f16 cache's rows converted to f32, and the small f32
// matrices) has its own tile, this table's definition (vec_dot is the 1 x 1 tile, so
// gemm == vec_dot bitwise): one 8-lane accumulator per output, acc = fma(w[8 i..],
// a[8 i..], acc) for each block of 8 values in order, then tile.h's fixed-tree horizontal
// sum, then the last n % 8 products added one at a time in order. One fused step per 8
// products, where the block form took a multiply, a fused step and an add per 16 per
// output plus its loads.
//
// weighted_rows: out[h][j] = sum over rows p, in order, of s[h][p] * rows[p][j], each step
// one fused multiply-add (as the AVX-512 table; the scalar one rounds the product first, so
// the last bits differ from it), over chunks of rows that stay in L2. Every element's chain
// is the same whatever the number of heads, the width or the chunking.
#include "kernels/avx2/avx2_kernels.h"
#include "kernels/avx2/tile.h"

namespace moe::avx2 {
namespace {

struct F32x16 {
  float v[16];
};
struct U16x16 {
  uint16_t v[16];
};

struct FloatDec {
  __m256 lo, hi;
};

inline __m256 float_contrib(const FloatDec& w, const F32x16& a) {
  const __m256 a0 = _mm256_loadu_ps(a.v), a1 = _mm256_loadu_ps(a.v + 8);
  return _mm256_fmadd_ps(w.hi, a1, _mm256_mul_ps(w.lo, a0));
}

template <class Elem, float (*kToF32)(Elem)>
float float_tail(int64_t rem, const Elem* w, const float* a) {
  float s = 0.0f;
  for (int64_t i = 0; i < rem; ++i) s += kToF32(w[i]) * a[i];
  return s;
}

struct F16P {
  using W = U16x16;
  using A = F32x16;
  static constexpr int kBlockValues = 16;
  static constexpr bool kTail = true;
  using Dec = FloatDec;
  static Dec decode(const W& b) {
    const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.v));
    return {_mm256_cvtph_ps(_mm256_castsi256_si128(h)), _mm256_cvtph_ps(_mm256_extracti128_si256(h, 1))};
  }
  static __m256 contrib(const Dec& w, const A& a) { return float_contrib(w, a); }
  static float tail(int64_t rem, const W* w, const A* a) {
    return float_tail<uint16_t, f16>(rem, w->v, a->v);
  }
};

// bf16 is the top half of an f32: widen to 32 bits and shift left by 16.
struct BF16P {
  using W = U16x16;
  using A = F32x16;
  static constexpr int kBlockValues = 16;
  static constexpr bool kTail = true;
  using Dec = FloatDec;
  static Dec decode(const W& b) {
    const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b.v));
    const __m256i lo = _mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm256_castsi256_si128(h)), 16);
    const __m256i hi = _mm256_slli_epi32(_mm256_cvtepu16_epi32(_mm256_extracti128_si256(h, 1)), 16);
    return {_mm256_castsi256_ps(lo), _mm256_castsi256_ps(hi)};
  }
  static __m256 contrib(const Dec& w, const A& a) { return float_contrib(w, a); }
  static float tail(int64_t rem, const W* w, const A* a) {
    return float_tail<uint16_t, bf16>(rem, w->v, a->v);
  }
};

// ---- F32 x F32

// Rows of a tile x tokens of a tile: 12 accumulators, the tokens' 3 vectors and one row's
// vector fill the 16 registers; each step loads 4 + 3 vectors for 12 fused steps.
constexpr int kF32Rows = 4;
constexpr int kF32Tokens = 3;

template <int R, int T>
inline void f32_tile(int64_t n, const float* w, int64_t w_stride, const float* a, int64_t a_stride, float* y,
                     int64_t y_stride) {
  __m256 acc[R][T];
  for (int r = 0; r < R; ++r)
    for (int t = 0; t < T; ++t) acc[r][t] = _mm256_setzero_ps();
  const int64_t nb = n / 8;
  for (int64_t i = 0; i < nb; ++i) {
    __m256 av[T];
    for (int t = 0; t < T; ++t) av[t] = _mm256_loadu_ps(a + t * a_stride + 8 * i);
#pragma GCC unroll 4
    for (int r = 0; r < R; ++r) {
      const __m256 wv = _mm256_loadu_ps(w + r * w_stride + 8 * i);
      for (int t = 0; t < T; ++t) acc[r][t] = _mm256_fmadd_ps(wv, av[t], acc[r][t]);
    }
  }
  for (int r = 0; r < R; ++r) {
    for (int t = 0; t < T; ++t) {
      float s = hsum(acc[r][t]);
      for (int64_t k = nb * 8; k < n; ++k) s += w[r * w_stride + k] * a[t * a_stride + k];
      y[t * y_stride + r] = s;
    }
  }
}

template <int R>
inline void f32_tile_tokens(int tn, int64_t n, const float* w, int64_t ws, const float* a, int64_t as, float* y,
                            int64_t ys) {
  static_assert(kF32Tokens == 3);
  switch (tn) {
    case 1: return f32_tile<R, 1>(n, w, ws, a, as, y, ys);
    case 2: return f32_tile<R, 2>(n, w, ws, a, as, y, ys);
    default: return f32_tile<R, kF32Tokens>(n, w, ws, a, as, y, ys);
  }
}

}  // namespace

float vec_dot_f32_f32(int64_t n, const void* w, const void* a) {
  float y;
  f32_tile<1, 1>(n, static_cast<const float*>(w), 0, static_cast<const float*>(a), 0, &y, 1);
  return y;
}
float vec_dot_f16_f32(int64_t n, const void* w, const void* a) { return vec_dot_tiled<F16P>(n, w, a); }
float vec_dot_bf16_f32(int64_t n, const void* w, const void* a) { return vec_dot_tiled<BF16P>(n, w, a); }

void gemm_f32_f32(int64_t n, const void* w, size_t w_row_bytes, int64_t rows, const void* a, size_t a_row_bytes,
                  int64_t tokens, float* y, int64_t y_stride) {
  const auto* wf = static_cast<const float*>(w);
  const auto* af = static_cast<const float*>(a);
  const auto ws = static_cast<int64_t>(w_row_bytes / sizeof(float));
  const auto as = static_cast<int64_t>(a_row_bytes / sizeof(float));
  for_panel_tiles<kF32Rows, kF32Tokens>(rows, w_row_bytes, tokens, [&](int64_t r, bool whole, int64_t t0, int tn) {
    float* yt = y + t0 * y_stride + r;
    if (whole) {
      f32_tile_tokens<kF32Rows>(tn, n, wf + r * ws, ws, af + t0 * as, as, yt, y_stride);
    } else {
      f32_tile_tokens<1>(tn, n, wf + r * ws, ws, af + t0 * as, as, yt, y_stride);
    }
  });
}
void gemm_f16_f32(int64_t n, const void* w, size_t wrb, int64_t rows, const void* a, size_t arb,
                  int64_t tokens, float* y, int64_t ys) {
  gemm_tiled<F16P, 2, 4>(n, w, wrb, rows, a, arb, tokens, y, ys);
}
void gemm_bf16_f32(int64_t n, const void* w, size_t wrb, int64_t rows, const void* a, size_t arb,
                   int64_t tokens, float* y, int64_t ys) {
  gemm_tiled<BF16P, 2, 4>(n, w, wrb, rows, a, arb, tokens, y, ys);
}

void f16_to_f32_row(const uint16_t* in, float* out, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    _mm256_storeu_ps(out + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(in + i))));
  }
  for (; i < n; ++i) out[i] = f16(in[i]);
}

// Multiply, round, add, round: the scalar loop's arithmetic (no fused multiply-add).
void axpy(float a, const float* x, float* y, int64_t n) {
  const __m256 va = _mm256_set1_ps(a);
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    _mm256_storeu_ps(y + i, _mm256_add_ps(_mm256_loadu_ps(y + i), _mm256_mul_ps(va, _mm256_loadu_ps(x + i))));
  }
  for (; i < n; ++i) y[i] += a * x[i];
}

namespace {

// Rows per chunk of the weighted sums (latent rows of 576 floats: about 300 KB, in L2).
constexpr int64_t kWeightedRowChunk = 128;
// Columns per window of the weighted sums: 128 rows x 32 floats stay in L1.
constexpr int64_t kWeightedColumns = 32;

// Columns [0, 8 * kVec) of out_h for heads [0, kHeads), over rows [0, n_rows): accumulators
// stay in registers over the rows, each row's vectors are loaded once for the kHeads heads.
// `resume`: continue the sums already in out (a later chunk of rows).
template <int kHeads, int kVec>
inline void weighted_block(const float* s, int64_t s_stride, int64_t n_rows, const float* rows, int64_t row_stride,
                           float* out, int64_t out_stride, bool resume) {
  __m256 acc[kHeads][kVec];
  for (int h = 0; h < kHeads; ++h)
    for (int v = 0; v < kVec; ++v) acc[h][v] = resume ? _mm256_loadu_ps(out + h * out_stride + 8 * v) : _mm256_setzero_ps();
  for (int64_t p = 0; p < n_rows; ++p) {
    __m256 x[kVec];
    for (int v = 0; v < kVec; ++v) x[v] = _mm256_loadu_ps(rows + p * row_stride + 8 * v);
    for (int h = 0; h < kHeads; ++h) {
      const __m256 sp = _mm256_set1_ps(s[h * s_stride + p]);
      for (int v = 0; v < kVec; ++v) acc[h][v] = _mm256_fmadd_ps(sp, x[v], acc[h][v]);
    }
  }
  for (int h = 0; h < kHeads; ++h)
    for (int v = 0; v < kVec; ++v) _mm256_storeu_ps(out + h * out_stride + 8 * v, acc[h][v]);
}

template <int kHeads>
void weighted_heads(const float* s, int64_t s_stride, int64_t n_rows, const float* rows, int64_t row_stride,
                    float* out, int64_t out_stride, int64_t width, bool resume) {
  int64_t j = 0;
  for (; j + 32 <= width; j += 32) {
    weighted_block<kHeads, 4>(s, s_stride, n_rows, rows + j, row_stride, out + j, out_stride, resume);
  }
  for (; j + 8 <= width; j += 8) weighted_block<kHeads, 1>(s, s_stride, n_rows, rows + j, row_stride, out + j, out_stride, resume);
  for (; j < width; ++j) {
    for (int h = 0; h < kHeads; ++h) {
      float acc = resume ? out[h * out_stride + j] : 0.0f;
      for (int64_t p = 0; p < n_rows; ++p) acc = __builtin_fmaf(s[h * s_stride + p], rows[p * row_stride + j], acc);
      out[h * out_stride + j] = acc;
    }
  }
}

}  // namespace

// Rows in chunks that stay in L2 while every head passes over them; each element's sum goes
// on from chunk to chunk through `out`: the same fused chain as one pass.
void weighted_rows(const float* s, int64_t s_stride, int64_t heads, int64_t n_rows, const float* rows,
                   int64_t row_stride, float* out, int64_t out_stride, int64_t width, bool resume_first) {
  for (int64_t p0 = 0; p0 < n_rows || p0 == 0; p0 += kWeightedRowChunk) {
    const int64_t np = min64(n_rows - p0, kWeightedRowChunk);
    const bool resume = resume_first || p0 > 0;
    const float* sp = s + p0;
    const float* rp = rows + p0 * row_stride;
    // one window of columns at a time, so its rows stay in L1 while every head passes
    for (int64_t j0 = 0; j0 < width; j0 += kWeightedColumns) {
      const int64_t w = width - j0 < kWeightedColumns ? width - j0 : kWeightedColumns;
      int64_t h = 0;
      for (; h + 2 <= heads; h += 2) {
        weighted_heads<2>(sp + h * s_stride, s_stride, np, rp + j0, row_stride, out + h * out_stride + j0, out_stride, w, resume);
      }
      if (h < heads) {
        weighted_heads<1>(sp + h * s_stride, s_stride, np, rp + j0, row_stride, out + h * out_stride + j0, out_stride, w, resume);
      }
    }
  }
}

}  // namespace moe::avx2
