// AVX-512 element-wise activations: SiLU-gated products and the attention softmax, on a
// 16-lane exp. Within a few ulp of the scalar versions (kernels/ops.h), not bitwise: e^x is
// a polynomial here, not libm's expf.
#include <immintrin.h>

#include <cmath>
#include <cstdint>

#include "kernels/avx512/avx512_kernels.h"
#include "kernels/exp_poly.h"

namespace moe::avx512 {
namespace {

// e^x as kernels/exp_poly.h describes, scaled by 2^n with vscalefps, which overflows to inf
// and underflows through the denormals to 0 as expf does. x is clamped to [-104, 89] first
// (beyond: 0 and inf anyway), so r stays finite; NaN stays NaN.
inline __m512 exp16(__m512 x) {
  x = _mm512_max_ps(_mm512_set1_ps(-104.0f), _mm512_min_ps(_mm512_set1_ps(89.0f), x));
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(exp_poly::kLog2e)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(exp_poly::kLn2Hi), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(exp_poly::kLn2Lo), r);
  __m512 p = _mm512_set1_ps(exp_poly::kPoly[0]);
#pragma GCC unroll 5
  for (int i = 1; i < 6; ++i) p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(exp_poly::kPoly[i]));
  p = _mm512_fmadd_ps(_mm512_mul_ps(p, r), r, _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
  return _mm512_scalef_ps(p, n);
}

inline __m512 silu_mul16(__m512 g, __m512 u) {
  const __m512 e = exp16(_mm512_sub_ps(_mm512_setzero_ps(), g));
  return _mm512_mul_ps(_mm512_div_ps(g, _mm512_add_ps(_mm512_set1_ps(1.0f), e)), u);
}

inline __mmask16 first(int64_t k) { return static_cast<__mmask16>((1u << k) - 1); }

inline void add_to(__m512d& sum, __m512 x) {
  sum = _mm512_add_pd(sum, _mm512_cvtps_pd(_mm512_castps512_ps256(x)));
  sum = _mm512_add_pd(sum, _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(x), 1))));
}

}  // namespace

void silu_mul(float* gate, const float* up, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(gate + i, silu_mul16(_mm512_loadu_ps(gate + i), _mm512_loadu_ps(up + i)));
  if (i < n) {
    const __mmask16 m = first(n - i);
    _mm512_mask_storeu_ps(gate + i, m, silu_mul16(_mm512_maskz_loadu_ps(m, gate + i), _mm512_maskz_loadu_ps(m, up + i)));
  }
}

void softmax(float* x, int64_t n, float scale) {
  if (n <= 0) return;
  const __m512 s = _mm512_set1_ps(scale);
  const __m512 neg_inf = _mm512_set1_ps(-INFINITY);
  const int64_t full = n / 16 * 16;
  const __mmask16 tail = first(n - full);
  __m512 mx = neg_inf;
  for (int64_t i = 0; i < full; i += 16) {
    const __m512 v = _mm512_mul_ps(_mm512_loadu_ps(x + i), s);
    _mm512_storeu_ps(x + i, v);
    mx = _mm512_max_ps(mx, v);
  }
  if (tail != 0) {
    const __m512 v = _mm512_mul_ps(_mm512_mask_loadu_ps(neg_inf, tail, x + full), s);  // -inf * scale > 0: -inf
    _mm512_mask_storeu_ps(x + full, tail, v);
    mx = _mm512_max_ps(mx, v);
  }
  const __m512 vm = _mm512_set1_ps(_mm512_reduce_max_ps(mx));
  __m512d sum = _mm512_setzero_pd();
  for (int64_t i = 0; i < full; i += 16) {
    const __m512 e = exp16(_mm512_sub_ps(_mm512_loadu_ps(x + i), vm));
    _mm512_storeu_ps(x + i, e);
    add_to(sum, e);
  }
  if (tail != 0) {
    const __m512 e = exp16(_mm512_sub_ps(_mm512_mask_loadu_ps(neg_inf, tail, x + full), vm));  // padding: e^-inf = 0
    _mm512_mask_storeu_ps(x + full, tail, e);
    add_to(sum, e);
  }
  const __m512 inv = _mm512_set1_ps(static_cast<float>(1.0 / _mm512_reduce_add_pd(sum)));
  for (int64_t i = 0; i < full; i += 16) _mm512_storeu_ps(x + i, _mm512_mul_ps(_mm512_loadu_ps(x + i), inv));
  if (tail != 0) _mm512_mask_storeu_ps(x + full, tail, _mm512_mul_ps(_mm512_maskz_loadu_ps(tail, x + full), inv));
}

}  // namespace moe::avx512
