// AVX2 activation quantizers. They must write bitwise the bytes of the reference
// quantizers (quant/quantize.cpp), so each step mirrors it: the same scalar scale
// arithmetic, round-half-away-from-zero (roundf) for Q8_0/Q8_1 and round-to-nearest-even
// for Q8_K, and the same f16 conversion.
#include <cstring>

#include "kernels/avx2/avx2_kernels.h"
#include "kernels/avx2/tile.h"
#include "kernels/packed.h"
#include "quant/blocks.h"

namespace moe::avx2 {
namespace {
// (to_f16 and the vector helpers come from tile.h)

inline __m256 abs_ps(__m256 v) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), v); }

// roundf on 8 lanes: truncate, then step away from zero where the dropped part is >= 0.5
// (v - trunc(v) is exact for |v| < 2^23).
inline __m256 round_half_away(__m256 v) {
  const __m256 t = _mm256_round_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
  const __m256 frac = abs_ps(_mm256_sub_ps(v, t));
  const __m256 step = _mm256_or_ps(_mm256_set1_ps(1.0f), _mm256_and_ps(v, _mm256_set1_ps(-0.0f)));
  const __m256 use = _mm256_cmp_ps(frac, _mm256_set1_ps(0.5f), _CMP_GE_OQ);
  return _mm256_add_ps(t, _mm256_and_ps(use, step));
}

inline float max_abs(const float* x, int n) {
  __m256 m = _mm256_setzero_ps();
  for (int j = 0; j < n; j += 8) m = _mm256_max_ps(m, abs_ps(_mm256_loadu_ps(x + j)));
  __m128 h = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
  h = _mm_max_ps(h, _mm_movehl_ps(h, h));
  h = _mm_max_ss(h, _mm_movehdup_ps(h));
  return _mm_cvtss_f32(h);
}

// Four vectors of 8 integral floats in -127..127 -> 32 int8 in order.
inline __m256i pack_32(__m256 a, __m256 b, __m256 c, __m256 d) {
  const __m256i ab = _mm256_packs_epi32(_mm256_cvtps_epi32(a), _mm256_cvtps_epi32(b));
  const __m256i cd = _mm256_packs_epi32(_mm256_cvtps_epi32(c), _mm256_cvtps_epi32(d));
  const __m256i all = _mm256_packs_epi16(ab, cd);
  return _mm256_permutevar8x32_epi32(all, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
}

// Quantizes one block of 32 for Q8_0/Q8_1; returns d (f32).
inline float quantize_block_32(const float* x, int8_t* qs) {
  const float amax = max_abs(x, kQK);
  const float d = amax / 127.0f;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  const __m256 vid = _mm256_set1_ps(id);
  __m256 v[4];
  for (int k = 0; k < 4; ++k) v[k] = round_half_away(_mm256_mul_ps(_mm256_loadu_ps(x + 8 * k), vid));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(qs), pack_32(v[0], v[1], v[2], v[3]));
  return d;
}

inline int sum_i8_32(const int8_t* qs) {
  const __m256i q = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(qs));
  const __m256i s16 = _mm256_maddubs_epi16(_mm256_set1_epi8(1), q);
  const __m256i s32 = _mm256_madd_epi16(s16, _mm256_set1_epi16(1));
  __m128i h = _mm_add_epi32(_mm256_castsi256_si128(s32), _mm256_extracti128_si256(s32, 1));
  h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0x4E));
  h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0xB1));
  return _mm_cvtsi128_si32(h);
}

}  // namespace

void quantize_q8_0(const float* x, void* out, int64_t n) {
  auto* y = static_cast<BlockQ8_0*>(out);
  for (int64_t i = 0; i < n / kQK; ++i, x += kQK) y[i].d = to_f16(quantize_block_32(x, y[i].qs));
}

void quantize_q8_1(const float* x, void* out, int64_t n) {
  auto* y = static_cast<BlockQ8_1*>(out);
  for (int64_t i = 0; i < n / kQK; ++i, x += kQK) {
    const float d = quantize_block_32(x, y[i].qs);
    y[i].d = to_f16(d);
    y[i].s = to_f16(static_cast<float>(sum_i8_32(y[i].qs)) * d);
  }
}

void quantize_q8_0_s(const float* x, void* out, int64_t n) {
  auto* y = static_cast<BlockQ8_0S*>(out);
  for (int64_t i = 0; i < n / kQK; ++i, x += kQK) {
    y[i].d = quantize_block_32(x, y[i].qs);
    y[i].neg_sum128 = -128 * sum_i8_32(y[i].qs);
  }
}

void quantize_q8_K(const float* x, void* out, int64_t n) {
  auto* y = static_cast<BlockQ8_K*>(out);
  for (int64_t i = 0; i < n / kQK_K; ++i, x += kQK_K) {
    const float amax = max_abs(x, kQK_K);
    if (amax == 0.0f) {
      std::memset(&y[i], 0, sizeof(BlockQ8_K));
      continue;
    }
    // The first value of largest magnitude, as the reference's strict '>' scan finds it.
    float max = 0.0f;
    const __m256 vamax = _mm256_set1_ps(amax);
    for (int j = 0; j < kQK_K; j += 8) {
      const int mask = _mm256_movemask_ps(_mm256_cmp_ps(abs_ps(_mm256_loadu_ps(x + j)), vamax, _CMP_EQ_OQ));
      if (mask != 0) {
        max = x[j + __builtin_ctz(static_cast<unsigned>(mask))];
        break;
      }
    }
    const float iscale = -127.0f / max;
    const __m256 vs = _mm256_set1_ps(iscale), v127 = _mm256_set1_ps(127.0f);
    for (int j = 0; j < kQK_K; j += 32) {
      __m256 v[4];
      for (int k = 0; k < 4; ++k) {
        const __m256 r = _mm256_round_ps(_mm256_mul_ps(vs, _mm256_loadu_ps(x + j + 8 * k)),
                                         _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        v[k] = _mm256_min_ps(r, v127);
      }
      const __m256i q = pack_32(v[0], v[1], v[2], v[3]);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(y[i].qs + j), q);
      // bsums of the two groups of 16 in these 32 values
      const __m256i s32 = _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_set1_epi8(1), q), _mm256_set1_epi16(1));
      __m128i lo = _mm256_castsi256_si128(s32), hi = _mm256_extracti128_si256(s32, 1);
      lo = _mm_hadd_epi32(lo, hi);  // [g0a, g0b, g1a, g1b]
      lo = _mm_hadd_epi32(lo, lo);  // [g0, g1, ...]
      y[i].bsums[j / 16] = static_cast<int16_t>(_mm_cvtsi128_si32(lo));
      y[i].bsums[j / 16 + 1] = static_cast<int16_t>(_mm_extract_epi32(lo, 1));
    }
    y[i].d = 1.0f / iscale;
  }
}

}  // namespace moe::avx2
