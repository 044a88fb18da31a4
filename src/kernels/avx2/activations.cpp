// AVX2 element-wise activations: SiLU-gated products and the attention softmax, on an
// 8-lane exp. Within a few ulp of the scalar versions (kernels/ops.h), not bitwise: e^x is a
// polynomial here, not libm's expf.
#include <immintrin.h>

#include <cmath>
#include <cstdint>

#include "kernels/avx2/avx2_kernels.h"
#include "kernels/exp_poly.h"

namespace moe::avx2 {
namespace {

// e^x as kernels/exp_poly.h describes. x is clamped to [-87.34, 88] so that 2^n is a normal
// float built in the exponent bits; below -87.34 the result is 0 (e^x is a denormal there),
// NaN stays NaN.
inline __m256 exp8(__m256 x) {
  const __m256 lo = _mm256_set1_ps(-87.33654f);
  const __m256 underflow = _mm256_cmp_ps(x, lo, _CMP_LT_OQ);
  x = _mm256_max_ps(lo, _mm256_min_ps(_mm256_set1_ps(88.0f), x));  // a NaN x passes through
  const __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(exp_poly::kLog2e)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(exp_poly::kLn2Hi), x);
  r = _mm256_fnmadd_ps(n, _mm256_set1_ps(exp_poly::kLn2Lo), r);
  __m256 p = _mm256_set1_ps(exp_poly::kPoly[0]);
#pragma GCC unroll 5
  for (int i = 1; i < 6; ++i) p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(exp_poly::kPoly[i]));
  p = _mm256_fmadd_ps(_mm256_mul_ps(p, r), r, _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
  const __m256i bits = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
  return _mm256_andnot_ps(underflow, _mm256_mul_ps(p, _mm256_castsi256_ps(bits)));
}

inline __m256 silu_mul8(__m256 g, __m256 u) {
  const __m256 e = exp8(_mm256_sub_ps(_mm256_setzero_ps(), g));
  return _mm256_mul_ps(_mm256_div_ps(g, _mm256_add_ps(_mm256_set1_ps(1.0f), e)), u);
}

// The last n % 8 values go through the same lanes, padded with `pad`.
struct Tail {
  float v[8];
  int64_t k;
  Tail(const float* p, int64_t k_, float pad) : k(k_) {
    for (int64_t i = 0; i < 8; ++i) v[i] = i < k ? p[i] : pad;
  }
  __m256 load() const { return _mm256_loadu_ps(v); }
  void store(__m256 x, float* p) {
    _mm256_storeu_ps(v, x);
    for (int64_t i = 0; i < k; ++i) p[i] = v[i];
  }
};

inline void add_to(__m256d& sum, __m256 x) {
  sum = _mm256_add_pd(sum, _mm256_cvtps_pd(_mm256_castps256_ps128(x)));
  sum = _mm256_add_pd(sum, _mm256_cvtps_pd(_mm256_extractf128_ps(x, 1)));
}

}  // namespace

void silu_mul(float* gate, const float* up, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(gate + i, silu_mul8(_mm256_loadu_ps(gate + i), _mm256_loadu_ps(up + i)));
  if (i < n) {
    Tail g(gate + i, n - i, 0.0f);
    const Tail u(up + i, n - i, 0.0f);
    g.store(silu_mul8(g.load(), u.load()), gate + i);
  }
}

void softmax(float* x, int64_t n, float scale) {
  if (n <= 0) return;
  const __m256 s = _mm256_set1_ps(scale);
  const int64_t full = n / 8 * 8;
  __m256 mx = _mm256_set1_ps(-INFINITY);
  for (int64_t i = 0; i < full; i += 8) {
    const __m256 v = _mm256_mul_ps(_mm256_loadu_ps(x + i), s);
    _mm256_storeu_ps(x + i, v);
    mx = _mm256_max_ps(mx, v);
  }
  float m = -INFINITY;
  for (int64_t i = full; i < n; ++i) {
    x[i] *= scale;
    m = x[i] > m ? x[i] : m;
  }
  alignas(32) float lanes[8];
  _mm256_store_ps(lanes, mx);
  for (float v : lanes) m = v > m ? v : m;
  const __m256 vm = _mm256_set1_ps(m);
  __m256d sum = _mm256_setzero_pd();
  for (int64_t i = 0; i < full; i += 8) {
    const __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(x + i), vm));
    _mm256_storeu_ps(x + i, e);
    add_to(sum, e);
  }
  if (full < n) {
    Tail t(x + full, n - full, -INFINITY);  // e^-inf = 0 adds nothing
    const __m256 e = exp8(_mm256_sub_ps(t.load(), vm));
    t.store(e, x + full);
    add_to(sum, e);
  }
  alignas(32) double parts[4];
  _mm256_store_pd(parts, sum);
  const __m256 inv = _mm256_set1_ps(static_cast<float>(1.0 / ((parts[0] + parts[1]) + (parts[2] + parts[3]))));
  for (int64_t i = 0; i < full; i += 8) _mm256_storeu_ps(x + i, _mm256_mul_ps(_mm256_loadu_ps(x + i), inv));
  for (int64_t i = full; i < n; ++i) x[i] *= _mm256_cvtss_f32(inv);
}

}  // namespace moe::avx2
