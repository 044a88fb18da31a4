#include "quant/quantize.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "base/check.h"
#include "base/half.h"
#include "quant/blocks.h"

namespace moe {
namespace {

// Round to nearest, ties to even (the default FP environment), as ggml's nearest_int.
inline int nearest_int(float v) { return static_cast<int>(std::nearbyint(v)); }

// The value of largest magnitude, first on ties (ggml's "max" in its reference quantizers).
inline float signed_absmax(const float* x, int n, float* amax_out) {
  float amax = 0.0f, max = 0.0f;
  for (int j = 0; j < n; ++j) {
    const float ax = std::fabs(x[j]);
    if (ax > amax) {
      amax = ax;
      max = x[j];
    }
  }
  *amax_out = amax;
  return max;
}

}  // namespace

float quantize_block_q8_ref(const float* x, int8_t* qs) {
  float amax = 0.0f;
  for (int j = 0; j < kQK; ++j) amax = std::max(amax, std::fabs(x[j]));
  const float d = amax / 127.0f;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  for (int j = 0; j < kQK; ++j) qs[j] = static_cast<int8_t>(std::roundf(x[j] * id));
  return d;
}

void quantize_row_q8_0_ref(const float* x, void* out, int64_t n) {
  MOE_CHECK(n % kQK == 0);
  auto* y = static_cast<BlockQ8_0*>(out);
  for (int64_t i = 0; i < n / kQK; ++i, x += kQK) y[i].d = f32_to_f16(quantize_block_q8_ref(x, y[i].qs));
}

void quantize_row_q8_1_ref(const float* x, void* out, int64_t n) {
  MOE_CHECK(n % kQK == 0);
  auto* y = static_cast<BlockQ8_1*>(out);
  for (int64_t i = 0; i < n / kQK; ++i, x += kQK) {
    const float d = quantize_block_q8_ref(x, y[i].qs);
    y[i].d = f32_to_f16(d);
    int sum = 0;
    for (int j = 0; j < kQK; ++j) sum += y[i].qs[j];
    y[i].s = f32_to_f16(static_cast<float>(sum) * d);
  }
}

void quantize_row_q8_K_ref(const float* x, void* out, int64_t n) {
  MOE_CHECK(n % kQK_K == 0);
  auto* y = static_cast<BlockQ8_K*>(out);
  for (int64_t i = 0; i < n / kQK_K; ++i, x += kQK_K) {
    float amax;
    const float max = signed_absmax(x, kQK_K, &amax);
    if (amax == 0.0f) {
      std::memset(&y[i], 0, sizeof(BlockQ8_K));
      continue;
    }
    const float iscale = -127.0f / max;
    for (int j = 0; j < kQK_K; ++j) {
      y[i].qs[j] = static_cast<int8_t>(std::min(127, nearest_int(iscale * x[j])));
    }
    for (int j = 0; j < kQK_K / 16; ++j) {
      int sum = 0;
      for (int l = 0; l < 16; ++l) sum += y[i].qs[16 * j + l];
      y[i].bsums[j] = static_cast<int16_t>(sum);
    }
    y[i].d = 1.0f / iscale;
  }
}

void quantize_row_q4_0_ref(const float* x, void* out, int64_t n) {
  MOE_CHECK(n % kQK == 0);
  auto* y = static_cast<BlockQ4_0*>(out);
  for (int64_t i = 0; i < n / kQK; ++i, x += kQK) {
    float amax;
    const float max = signed_absmax(x, kQK, &amax);
    const float d = max / -8.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[i].d = f32_to_f16(d);
    for (int j = 0; j < kQK / 2; ++j) {
      const int q0 = std::min(15, static_cast<int>(static_cast<int8_t>(x[j] * id + 8.5f)));
      const int q1 = std::min(15, static_cast<int>(static_cast<int8_t>(x[j + 16] * id + 8.5f)));
      y[i].qs[j] = static_cast<uint8_t>(q0 | (q1 << 4));
    }
  }
}

namespace {

// 32 values onto the IQ4_NL levels at scale d: nibbles as Q4_0 (value l low, l + 16 high),
// each value's nearest level (first on ties).
void iq4_nibbles(const float* x, float d, uint8_t qs[kQK / 2]) {
  int q[kQK];
  for (int j = 0; j < kQK; ++j) {
    q[j] = 0;
    for (int k = 1; k < 16; ++k) {
      if (std::fabs(x[j] - d * kIq4nlValues[k]) < std::fabs(x[j] - d * kIq4nlValues[q[j]])) q[j] = k;
    }
  }
  for (int j = 0; j < kQK / 2; ++j) qs[j] = static_cast<uint8_t>(q[j] | q[j + 16] << 4);
}

}  // namespace

// The largest magnitude maps to the first level (-127, the widest); every value then takes
// the nearest level (first on ties). llama.cpp searches for a better scale.
void quantize_row_iq4_nl_ref(const float* x, void* out, int64_t n) {
  MOE_CHECK(n % kQK == 0);
  auto* y = static_cast<BlockIQ4_NL*>(out);
  for (int64_t i = 0; i < n / kQK; ++i, x += kQK) {
    float amax;
    const float max = signed_absmax(x, kQK, &amax);
    y[i].d = f32_to_f16(max / static_cast<float>(kIq4nlValues[0]));
    iq4_nibbles(x, f16_to_f32(y[i].d), y[i].qs);
  }
}

// Each group of 32 gets IQ4_NL's scale s_g (its largest magnitude on level -127); d puts the
// largest |s_g| on ls - 32 = -32, and each s_g rounds to d (ls - 32), ls in 0..63.
void quantize_row_iq4_xs_ref(const float* x, void* out, int64_t n) {
  MOE_CHECK(n % kQK_K == 0);
  auto* y = static_cast<BlockIQ4_XS*>(out);
  for (int64_t i = 0; i < n / kQK_K; ++i, x += kQK_K) {
    float s[8], s_max = 0.0f;
    for (int g = 0; g < 8; ++g) {
      float amax;
      s[g] = signed_absmax(x + 32 * g, kQK, &amax) / static_cast<float>(kIq4nlValues[0]);
      if (std::fabs(s[g]) > std::fabs(s_max)) s_max = s[g];
    }
    std::memset(&y[i], 0, sizeof(y[i]));
    y[i].d = f32_to_f16(s_max / -32.0f);
    const float d = f16_to_f32(y[i].d);
    for (int g = 0; g < 8; ++g) {
      const int ls = d == 0.0f ? 32 : std::clamp(nearest_int(s[g] / d), -32, 31) + 32;
      y[i].scales_l[g / 2] = static_cast<uint8_t>(y[i].scales_l[g / 2] | (ls & 0xF) << (4 * (g % 2)));
      y[i].scales_h = static_cast<uint16_t>(y[i].scales_h | (ls >> 4) << (2 * g));
      iq4_nibbles(x + 32 * g, d * static_cast<float>(ls - 32), y[i].qs + 16 * g);
    }
  }
}

namespace {

// Q5_0 / Q5_1's bits: values j and j + 16 share qs[j] (low, high nibble); the fifth bits are
// bits j and j + 16 of the little-endian qh.
template <class Block>
void pack_q5(const int q[kQK], Block* y) {
  uint32_t qh = 0;
  for (int j = 0; j < kQK / 2; ++j) {
    y->qs[j] = static_cast<uint8_t>((q[j] & 0xF) | ((q[j + 16] & 0xF) << 4));
    qh |= static_cast<uint32_t>((q[j] >> 4) & 1) << j;
    qh |= static_cast<uint32_t>((q[j + 16] >> 4) & 1) << (j + 16);
  }
  std::memcpy(y->qh, &qh, 4);
}

}  // namespace

void quantize_row_q5_0_ref(const float* x, void* out, int64_t n) {
  MOE_CHECK(n % kQK == 0);
  auto* y = static_cast<BlockQ5_0*>(out);
  for (int64_t i = 0; i < n / kQK; ++i, x += kQK) {
    float amax;
    const float max = signed_absmax(x, kQK, &amax);
    const float d = max / -16.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[i].d = f32_to_f16(d);
    int q[kQK];
    for (int j = 0; j < kQK; ++j) q[j] = std::min(31, static_cast<int>(static_cast<int8_t>(x[j] * id + 16.5f)));
    pack_q5(q, &y[i]);
  }
}

// ggml's rule: d = (max - min) / 31, m = min, q = trunc((x - min) / d + 0.5) in 0..31.
void quantize_row_q5_1_ref(const float* x, void* out, int64_t n) {
  MOE_CHECK(n % kQK == 0);
  auto* y = static_cast<BlockQ5_1*>(out);
  for (int64_t i = 0; i < n / kQK; ++i, x += kQK) {
    float mn = x[0], mx = x[0];
    for (int j = 1; j < kQK; ++j) {
      mn = std::min(mn, x[j]);
      mx = std::max(mx, x[j]);
    }
    const float d = (mx - mn) / 31.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[i].d = f32_to_f16(d);
    y[i].m = f32_to_f16(mn);
    int q[kQK];
    for (int j = 0; j < kQK; ++j) q[j] = std::min(31, static_cast<int>((x[j] - mn) * id + 0.5f));
    pack_q5(q, &y[i]);
  }
}

namespace {

// The affine K formats' first step, per sub-block j of `len` values of a super-block:
// scale[j] = (max - min) / steps with min <= 0, mins[j] = -min >= 0; returns the f16 d and
// dmin of the block, max scale / levels and max min / levels (levels: the scale codes' top).
void affine_sub_blocks(const float* x, int n_sub, int len, float steps, float levels, float* scale, float* mins,
                       uint16_t* d, uint16_t* dmin) {
  float max_scale = 0.0f, max_min = 0.0f;
  for (int j = 0; j < n_sub; ++j) {
    float mn = 0.0f, mx = x[len * j];
    for (int l = 0; l < len; ++l) {
      mn = std::min(mn, x[len * j + l]);
      mx = std::max(mx, x[len * j + l]);
    }
    scale[j] = std::max(0.0f, (mx - mn) / steps);
    mins[j] = -mn;
    max_scale = std::max(max_scale, scale[j]);
    max_min = std::max(max_min, mins[j]);
  }
  *d = f32_to_f16(max_scale / levels);
  *dmin = f32_to_f16(max_min / levels);
}

// Q4_K and Q5_K, per sub-block of 32: scale = (max - min) / steps with min <= 0 (the stored
// min is -min >= 0); both 6-bit quantized against the super-block's d = max scale / 63,
// dmin = max min / 63 (encoded as k4_scale_min reads them); q: the unsigned values.
template <class Block>
void affine_k_block(const float* x, float steps, Block* y, uint8_t q[kQK_K]) {
  float scale[8], mins[8];
  affine_sub_blocks(x, 8, 32, steps, 63.0f, scale, mins, &y->d, &y->dmin);
  const float d = f16_to_f32(y->d), dmin = f16_to_f32(y->dmin);
  uint8_t ls[8], lm[8];
  for (int j = 0; j < 8; ++j) {
    ls[j] = static_cast<uint8_t>(d > 0 ? std::clamp(nearest_int(scale[j] / d), 0, 63) : 0);
    lm[j] = static_cast<uint8_t>(dmin > 0 ? std::clamp(nearest_int(mins[j] / dmin), 0, 63) : 0);
  }
  std::memset(y->scales, 0, sizeof(y->scales));
  for (int j = 0; j < 8; ++j) {
    if (j < 4) {
      y->scales[j] = ls[j];
      y->scales[j + 4] = lm[j];
    } else {
      y->scales[j + 4] = static_cast<uint8_t>((ls[j] & 0xF) | ((lm[j] & 0xF) << 4));
      y->scales[j - 4] |= static_cast<uint8_t>((ls[j] >> 4) << 6);
      y->scales[j] |= static_cast<uint8_t>((lm[j] >> 4) << 6);
    }
  }
  const int top = static_cast<int>(steps);
  for (int j = 0; j < 8; ++j) {
    const float dl = d * ls[j], ml = dmin * lm[j];
    for (int l = 0; l < 32; ++l) {
      const float v = x[32 * j + l] + ml;
      q[32 * j + l] = static_cast<uint8_t>(dl > 0 ? std::clamp(nearest_int(v / dl), 0, top) : 0);
    }
  }
}

// Chunk c of 64 values: low nibbles of qs[32c..] are sub-block 2c, high nibbles 2c + 1.
void pack_k_nibbles(const uint8_t q[kQK_K], uint8_t qs[kQK_K / 2]) {
  for (int c = 0; c < 4; ++c) {
    for (int l = 0; l < 32; ++l) {
      qs[32 * c + l] = static_cast<uint8_t>((q[64 * c + l] & 0xF) | ((q[64 * c + 32 + l] & 0xF) << 4));
    }
  }
}

}  // namespace

void quantize_row_q4_K_ref(const float* x, void* out, int64_t n) {
  MOE_CHECK(n % kQK_K == 0);
  auto* y = static_cast<BlockQ4_K*>(out);
  for (int64_t i = 0; i < n / kQK_K; ++i, x += kQK_K) {
    uint8_t q[kQK_K];
    affine_k_block(x, 15.0f, &y[i], q);
    pack_k_nibbles(q, y[i].qs);
  }
}

// As Q4_K with 31 steps; the fifth bit of value 64c + l (+ 32) is bit 2c (2c + 1) of qh[l].
void quantize_row_q5_K_ref(const float* x, void* out, int64_t n) {
  MOE_CHECK(n % kQK_K == 0);
  auto* y = static_cast<BlockQ5_K*>(out);
  for (int64_t i = 0; i < n / kQK_K; ++i, x += kQK_K) {
    uint8_t q[kQK_K];
    affine_k_block(x, 31.0f, &y[i], q);
    pack_k_nibbles(q, y[i].qs);
    std::memset(y[i].qh, 0, sizeof(y[i].qh));
    for (int c = 0; c < 4; ++c) {
      for (int l = 0; l < 32; ++l) {
        y[i].qh[l] |= static_cast<uint8_t>((q[64 * c + l] >> 4) << (2 * c) | (q[64 * c + 32 + l] >> 4) << (2 * c + 1));
      }
    }
  }
}

// As Q4_K with 2-bit values and 16 sub-blocks of 16: scale = (max - min) / 3 with min <= 0,
// both 4-bit quantized against d = max scale / 15, dmin = max min / 15. (llama.cpp searches
// for better scales; this simple rule gives valid blocks of the same size, for synthetic
// models and tests.)
void quantize_row_q2_K_ref(const float* x, void* out, int64_t n) {
  MOE_CHECK(n % kQK_K == 0);
  auto* y = static_cast<BlockQ2_K*>(out);
  for (int64_t i = 0; i < n / kQK_K; ++i, x += kQK_K) {
    float scale[16], mins[16];
    affine_sub_blocks(x, 16, 16, 3.0f, 15.0f, scale, mins, &y[i].d, &y[i].dmin);
    const float d = f16_to_f32(y[i].d), dmin = f16_to_f32(y[i].dmin);
    std::memset(y[i].qs, 0, sizeof(y[i].qs));
    for (int j = 0; j < 16; ++j) {
      const int ls = d > 0 ? std::clamp(nearest_int(scale[j] / d), 0, 15) : 0;
      const int lm = dmin > 0 ? std::clamp(nearest_int(mins[j] / dmin), 0, 15) : 0;
      y[i].scales[j] = static_cast<uint8_t>(ls | lm << 4);
      const float dl = d * static_cast<float>(ls), ml = dmin * static_cast<float>(lm);
      for (int l = 0; l < 16; ++l) {
        const int v = 16 * j + l;  // value v: bits 2k of qs[32 * half + l'], v = 128 half + 32k + l'
        const int q = dl > 0 ? std::clamp(nearest_int((x[v] + ml) / dl), 0, 3) : 0;
        y[i].qs[32 * (v / 128) + v % 32] |= static_cast<uint8_t>(q << (2 * (v % 128 / 32)));
      }
    }
  }
}

// Symmetric, per sub-block of 16: the value of largest magnitude maps to -4 (q in -4..3, so
// the other side clamps at 3), the 16 signed scales 6-bit against d = -(largest scale) / 32
// (the largest maps to -32). Like the Q2_K rule, simpler than llama.cpp's search.
void quantize_row_q3_K_ref(const float* x, void* out, int64_t n) {
  MOE_CHECK(n % kQK_K == 0);
  auto* y = static_cast<BlockQ3_K*>(out);
  for (int64_t i = 0; i < n / kQK_K; ++i, x += kQK_K) {
    float scale[16], max_scale = 0.0f, amax_scale = 0.0f;
    for (int j = 0; j < 16; ++j) {
      float amax;
      scale[j] = signed_absmax(x + 16 * j, 16, &amax) / -4.0f;
      if (amax / 4.0f > amax_scale) {
        amax_scale = amax / 4.0f;
        max_scale = scale[j];
      }
    }
    y[i].d = f32_to_f16(-max_scale / 32.0f);
    const float d = f16_to_f32(y[i].d);
    std::memset(y[i].hmask, 0, sizeof(y[i].hmask));
    std::memset(y[i].qs, 0, sizeof(y[i].qs));
    std::memset(y[i].scales, 0, sizeof(y[i].scales));
    for (int j = 0; j < 16; ++j) {
      const int sc = d != 0.0f ? std::clamp(nearest_int(scale[j] / d), -32, 31) : 0;
      const int biased = sc + 32;  // low 4 bits: nibble j / 8 of byte j % 8; top 2: byte 8 + j % 4
      y[i].scales[j % 8] |= static_cast<uint8_t>((biased & 0xF) << (4 * (j / 8)));
      y[i].scales[8 + j % 4] |= static_cast<uint8_t>((biased >> 4) << (2 * (j / 4)));
      const float dl = d * static_cast<float>(sc);
      for (int l = 0; l < 16; ++l) {
        // value v: low 2 bits at bits 2k of qs[32 * half + l'], high bit at bit 4 half + k of
        // hmask[l'], v = 128 half + 32k + l'; a set high bit means no -4 (q + 4 >= 4)
        const int v = 16 * j + l;
        const int q = (dl != 0.0f ? std::clamp(nearest_int(x[v] / dl), -4, 3) : 0) + 4;
        const int half = v / 128, k = v % 128 / 32, lp = v % 32;
        y[i].qs[32 * half + lp] |= static_cast<uint8_t>((q & 3) << (2 * k));
        y[i].hmask[lp] |= static_cast<uint8_t>((q >> 2) << (4 * half + k));
      }
    }
  }
}

// Per sub-block of 16: symmetric scale amax / 31 (so q - 32 stays in -31..31), the 16
// scales quantized to int8 against d = max |scale| / 127.
void quantize_row_q6_K_ref(const float* x, void* out, int64_t n) {
  MOE_CHECK(n % kQK_K == 0);
  auto* y = static_cast<BlockQ6_K*>(out);
  for (int64_t i = 0; i < n / kQK_K; ++i, x += kQK_K) {
    float scale[16], max_scale = 0.0f;
    for (int j = 0; j < 16; ++j) {
      float amax = 0.0f;
      for (int l = 0; l < 16; ++l) amax = std::max(amax, std::fabs(x[16 * j + l]));
      scale[j] = amax / 31.0f;
      max_scale = std::max(max_scale, scale[j]);
    }
    y[i].d = f32_to_f16(max_scale / 127.0f);
    const float d = f16_to_f32(y[i].d);
    int q[kQK_K];
    for (int j = 0; j < 16; ++j) {
      const int sc = d > 0 ? std::clamp(nearest_int(scale[j] / d), -127, 127) : 0;
      y[i].scales[j] = static_cast<int8_t>(sc);
      const float dl = d * static_cast<float>(sc);
      for (int l = 0; l < 16; ++l) {
        const int v = dl != 0.0f ? std::clamp(nearest_int(x[16 * j + l] / dl), -32, 31) : 0;
        q[16 * j + l] = v + 32;
      }
    }
    for (int h = 0; h < 2; ++h) {
      uint8_t* ql = y[i].ql + 64 * h;
      uint8_t* qh = y[i].qh + 32 * h;
      const int* qq = q + 128 * h;
      for (int l = 0; l < 32; ++l) {
        const int q1 = qq[l], q2 = qq[l + 32], q3 = qq[l + 64], q4 = qq[l + 96];
        ql[l] = static_cast<uint8_t>((q1 & 0xF) | ((q3 & 0xF) << 4));
        ql[l + 32] = static_cast<uint8_t>((q2 & 0xF) | ((q4 & 0xF) << 4));
        qh[l] = static_cast<uint8_t>((q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) |
                                     ((q4 >> 4) << 6));
      }
    }
  }
}

bool can_quantize(GgmlType type) {
  switch (type) {
    case GgmlType::F32: case GgmlType::F16: case GgmlType::BF16:
    case GgmlType::Q8_0: case GgmlType::Q8_1: case GgmlType::Q8_K:
    case GgmlType::Q4_0: case GgmlType::Q5_0: case GgmlType::Q4_K: case GgmlType::Q6_K:
    case GgmlType::Q2_K: case GgmlType::Q3_K: case GgmlType::Q5_K: case GgmlType::Q5_1:
    case GgmlType::IQ4_NL: case GgmlType::IQ4_XS: case GgmlType::IQ2_XXS: case GgmlType::IQ1_S: case GgmlType::IQ1_M:
    case GgmlType::IQ3_XXS: case GgmlType::IQ3_S: case GgmlType::IQ2_XS: case GgmlType::IQ2_S:
      return true;
    default:
      return false;
  }
}

void quantize_row(GgmlType type, const float* x, void* out, int64_t n) {
  MOE_CHECK_MSG(can_quantize(type), "quantize_row: unsupported type");
  switch (type) {
    case GgmlType::F32:
      std::memcpy(out, x, static_cast<size_t>(n) * sizeof(float));
      return;
    case GgmlType::F16:
      for (int64_t i = 0; i < n; ++i) static_cast<uint16_t*>(out)[i] = f32_to_f16(x[i]);
      return;
    case GgmlType::BF16:
      for (int64_t i = 0; i < n; ++i) static_cast<uint16_t*>(out)[i] = f32_to_bf16(x[i]);
      return;
    case GgmlType::Q8_0: return quantize_row_q8_0_ref(x, out, n);
    case GgmlType::Q8_1: return quantize_row_q8_1_ref(x, out, n);
    case GgmlType::Q8_K: return quantize_row_q8_K_ref(x, out, n);
    case GgmlType::Q4_0: return quantize_row_q4_0_ref(x, out, n);
    case GgmlType::Q5_0: return quantize_row_q5_0_ref(x, out, n);
    case GgmlType::Q5_1: return quantize_row_q5_1_ref(x, out, n);
    case GgmlType::IQ4_NL: return quantize_row_iq4_nl_ref(x, out, n);
    case GgmlType::IQ4_XS: return quantize_row_iq4_xs_ref(x, out, n);
    case GgmlType::Q4_K: return quantize_row_q4_K_ref(x, out, n);
    case GgmlType::Q6_K: return quantize_row_q6_K_ref(x, out, n);
    case GgmlType::Q2_K: return quantize_row_q2_K_ref(x, out, n);
    case GgmlType::Q3_K: return quantize_row_q3_K_ref(x, out, n);
    case GgmlType::Q5_K: return quantize_row_q5_K_ref(x, out, n);
    case GgmlType::IQ2_XXS: return quantize_row_iq2_xxs_ref(x, out, n);
    case GgmlType::IQ1_S: return quantize_row_iq1_s_ref(x, out, n);
    case GgmlType::IQ1_M: return quantize_row_iq1_m_ref(x, out, n);
    case GgmlType::IQ3_XXS: return quantize_row_iq3_xxs_ref(x, out, n);
    case GgmlType::IQ2_XS: return quantize_row_iq2_xs_ref(x, out, n);
    case GgmlType::IQ2_S: return quantize_row_iq2_s_ref(x, out, n);
    case GgmlType::IQ3_S: return quantize_row_iq3_s_ref(x, out, n);
    default: break;
  }
}

}  // namespace moe
