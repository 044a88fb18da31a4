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

// The 16 sums hsum16(v[k]) at once, each by hsum16's tree with the same operands in the
// same order (so bitwise hsum16's): lane 4q + j of the result is hsum16(v[4j + q]). Each
// level adds two shuffles of a pair of vectors, 45 instructions for the 16 sums instead of
// 16 x 7.
inline __m512 hsum16x16(const __m512 v[16]) {
  __m512 a[8], b[4], c[2];
  for (int i = 0; i < 8; ++i) {  // lanes i + (i + 8): [sum8(v[2i]) | sum8(v[2i + 1])]
    a[i] = _mm512_add_ps(_mm512_shuffle_f32x4(v[2 * i], v[2 * i + 1], _MM_SHUFFLE(1, 0, 1, 0)),
                         _mm512_shuffle_f32x4(v[2 * i], v[2 * i + 1], _MM_SHUFFLE(3, 2, 3, 2)));
  }
  for (int i = 0; i < 4; ++i) {  // lanes i + (i + 4): quarter q holds sum4(v[4i + q])
    b[i] = _mm512_add_ps(_mm512_shuffle_f32x4(a[2 * i], a[2 * i + 1], _MM_SHUFFLE(2, 0, 2, 0)),
                         _mm512_shuffle_f32x4(a[2 * i], a[2 * i + 1], _MM_SHUFFLE(3, 1, 3, 1)));
  }
  // lanes i + (i + 2): quarter q holds sum2 of v[8i + q], then of v[8i + 4 + q]
  for (int i = 0; i < 2; ++i) {
    c[i] = _mm512_add_ps(_mm512_shuffle_ps(b[2 * i], b[2 * i + 1], _MM_SHUFFLE(1, 0, 1, 0)),
                         _mm512_shuffle_ps(b[2 * i], b[2 * i + 1], _MM_SHUFFLE(3, 2, 3, 2)));
  }
  // lanes 0 + 1: quarter q holds the sums of v[q], v[4 + q], v[8 + q], v[12 + q]
  return _mm512_add_ps(_mm512_shuffle_ps(c[0], c[1], _MM_SHUFFLE(2, 0, 2, 0)),
                       _mm512_shuffle_ps(c[0], c[1], _MM_SHUFFLE(3, 1, 3, 1)));
}

}  // namespace
}  // namespace moe::avx512
