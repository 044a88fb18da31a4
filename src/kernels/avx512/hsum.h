// The horizontal sum of an AVX-512 float vector in a fixed pairwise order, shared by the
// AVX-512 sources (internal linkage: every includer is compiled with AVX-512 flags, and a
// copy compiled with them must never be the one an AVX2 source links).
#pragma once

#include <immintrin.h>

namespace moe::avx512 {
namespace {

// Fixed pairwise tree: 16 -> 8 -> 4 -> 2 -> 1 lanes.
inline float hsum16(__m512 v) {
  const __m256 h = _mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
  __m128 q = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
  q = _mm_add_ps(q, _mm_movehl_ps(q, q));
  q = _mm_add_ss(q, _mm_movehdup_ps(q));
  return _mm_cvtss_f32(q);
}

}  // namespace
}  // namespace moe::avx512
