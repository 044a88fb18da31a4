// The K formats against Q8_K. Each super-block is decoded to 256 integer values, one
// integer scale and min per group of 16, and the float d / dmin; then
//   dot = d_a * (d * sum_j scale_j * sum(q * a) - dmin * sum_j min_j * bsums_j)
// with all sums exact in int32.
#include <cstring>

#include "base/half.h"
#include "kernels/ref/ref_kernels.h"
#include "quant/block_scales.h"
#include "quant/blocks.h"
#include "quant/iq_grids.h"

namespace moe::ref {
namespace {

struct Decoded {
  int q[kQK_K];
  int scale[16];
  int min[16];
  float d;
  float dmin;
};

// The 2-bit fields of Q2_K/Q3_K: group g = 4n + k of 32 values is bits 2k of qs[32n..].
int q2_field(const uint8_t* qs, int i) {
  const int n = i / 128, k = (i % 128) / 32, l = i % 32;
  return (qs[32 * n + l] >> (2 * k)) & 3;
}

void decode(const BlockQ2_K& b, Decoded* o) {
  o->d = f16_to_f32(b.d);
  o->dmin = f16_to_f32(b.dmin);
  for (int j = 0; j < 16; ++j) {
    o->scale[j] = b.scales[j] & 0xF;
    o->min[j] = b.scales[j] >> 4;
  }
  for (int i = 0; i < kQK_K; ++i) o->q[i] = q2_field(b.qs, i);
}

void decode(const BlockQ3_K& b, Decoded* o) {
  o->d = f16_to_f32(b.d);
  o->dmin = 0.0f;
  for (int j = 0; j < 16; ++j) {
    o->scale[j] = q3_K_scale(j, b.scales);
    o->min[j] = 0;
  }
  for (int i = 0; i < kQK_K; ++i) {
    const int hb = (b.hmask[i % 32] >> (i / 32)) & 1;
    o->q[i] = q2_field(b.qs, i) - (hb ? 0 : 4);
  }
}

void decode(const BlockQ4_K& b, Decoded* o) {
  o->d = f16_to_f32(b.d);
  o->dmin = f16_to_f32(b.dmin);
  for (int s = 0; s < 8; ++s) {
    uint8_t sc, m;
    k4_scale_min(s, b.scales, &sc, &m);
    o->scale[2 * s] = o->scale[2 * s + 1] = sc;
    o->min[2 * s] = o->min[2 * s + 1] = m;
  }
  for (int c = 0; c < 4; ++c) {
    for (int l = 0; l < 32; ++l) {
      o->q[64 * c + l] = b.qs[32 * c + l] & 0xF;
      o->q[64 * c + 32 + l] = b.qs[32 * c + l] >> 4;
    }
  }
}

void decode(const BlockQ5_K& b, Decoded* o) {
  o->d = f16_to_f32(b.d);
  o->dmin = f16_to_f32(b.dmin);
  for (int s = 0; s < 8; ++s) {
    uint8_t sc, m;
    k4_scale_min(s, b.scales, &sc, &m);
    o->scale[2 * s] = o->scale[2 * s + 1] = sc;
    o->min[2 * s] = o->min[2 * s + 1] = m;
  }
  for (int c = 0; c < 4; ++c) {
    for (int l = 0; l < 32; ++l) {
      const int h0 = ((b.qh[l] >> (2 * c)) & 1) << 4;
      const int h1 = ((b.qh[l] >> (2 * c + 1)) & 1) << 4;
      o->q[64 * c + l] = (b.qs[32 * c + l] & 0xF) | h0;
      o->q[64 * c + 32 + l] = (b.qs[32 * c + l] >> 4) | h1;
    }
  }
}

void decode(const BlockQ6_K& b, Decoded* o) {
  o->d = f16_to_f32(b.d);
  o->dmin = 0.0f;
  for (int j = 0; j < 16; ++j) {
    o->scale[j] = b.scales[j];
    o->min[j] = 0;
  }
  for (int n = 0; n < 2; ++n) {
    const uint8_t* ql = b.ql + 64 * n;
    const uint8_t* qh = b.qh + 32 * n;
    int* q = o->q + 128 * n;
    for (int l = 0; l < 32; ++l) {
      q[l] = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
      q[l + 32] = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
      q[l + 64] = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
      q[l + 96] = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
    }
  }
}

// IQ4_XS: the IQ4_NL levels as q, ls - 32 as the scale (one per 32 values).
void decode(const BlockIQ4_XS& b, Decoded* o) {
  o->d = f16_to_f32(b.d);
  o->dmin = 0.0f;
  for (int g = 0; g < 8; ++g) {
    const int ls = ((b.scales_l[g / 2] >> (4 * (g % 2))) & 0xF) | (((b.scales_h >> (2 * g)) & 3) << 4);
    o->scale[2 * g] = o->scale[2 * g + 1] = ls - 32;
    o->min[2 * g] = o->min[2 * g + 1] = 0;
    for (int l = 0; l < 16; ++l) {
      o->q[32 * g + l] = kIq4nlValues[b.qs[16 * g + l] & 0xF];
      o->q[32 * g + 16 + l] = kIq4nlValues[b.qs[16 * g + l] >> 4];
    }
  }
}

// The IQ formats as integers: x = d / 8 * scale * q, with IQ2_XXS's q = +-magnitude and
// scale = 2s + 1 (its d * (0.5 + s) / 4), the IQ1 formats' q = 8 grid +- 1 (their shift of
// 1/8) and scale = 2s + 1. Every such product is exact in float, as ggml's values are.
int8_t grid_value(uint64_t entry, int j) { return static_cast<int8_t>(entry >> (8 * j)); }

void decode(const BlockIQ2_XXS& b, Decoded* o) {
  o->d = f16_to_f32(b.d) * 0.125f;
  o->dmin = 0.0f;
  for (int g = 0; g < 8; ++g) {
    uint32_t aux[2];
    std::memcpy(aux, b.qs + 4 * g, 8);
    o->scale[2 * g] = o->scale[2 * g + 1] = static_cast<int>(2 * (aux[1] >> 28) + 1);
    o->min[2 * g] = o->min[2 * g + 1] = 0;
    for (int l = 0; l < 4; ++l) {
      const uint64_t e = kIq2xxsGrid.v[(aux[0] >> (8 * l)) & 0xFF];
      const int signs = kIq2Signs.v[(aux[1] >> (7 * l)) & 127];
      for (int j = 0; j < 8; ++j) o->q[32 * g + 8 * l + j] = (signs >> j) & 1 ? -grid_value(e, j) : grid_value(e, j);
    }
  }
}

// IQ2_XS / IQ2_S: d / 8, scale 2s + 1 per 16 values (their d (0.5 + s) / 4), q = +-magnitude.
void iq2_scales(uint16_t d, const uint8_t* scales, Decoded* o) {
  o->d = f16_to_f32(d) * 0.125f;
  o->dmin = 0.0f;
  for (int j = 0; j < 16; ++j) {
    o->scale[j] = 2 * ((scales[j / 2] >> (4 * (j % 2))) & 0xF) + 1;
    o->min[j] = 0;
  }
}

void decode(const BlockIQ2_XS& b, Decoded* o) {
  iq2_scales(b.d, b.scales, o);
  for (int k = 0; k < 32; ++k) {
    const uint64_t e = kIq2xsGrid.v[b.qs[k] & 511];
    const int signs = kIq2Signs.v[b.qs[k] >> 9];
    for (int l = 0; l < 8; ++l) o->q[8 * k + l] = (signs >> l) & 1 ? -grid_value(e, l) : grid_value(e, l);
  }
}

void decode(const BlockIQ2_S& b, Decoded* o) {
  iq2_scales(b.d, b.scales, o);
  for (int k = 0; k < 32; ++k) {
    const uint64_t e = kIq2sGrid.v[b.qs[k] | (((b.qh[k / 4] >> (2 * (k % 4))) & 3) << 8)];
    for (int l = 0; l < 8; ++l) o->q[8 * k + l] = (b.signs[k] >> l) & 1 ? -grid_value(e, l) : grid_value(e, l);
  }
}

// IQ3_XXS: d / 4, scale 2s + 1 per 32 (its d (0.5 + s) / 2); IQ3_S: d, scale 1 + 2s per 32.
void decode(const BlockIQ3_XXS& b, Decoded* o) {
  o->d = f16_to_f32(b.d) * 0.25f;
  o->dmin = 0.0f;
  for (int g = 0; g < 8; ++g) {
    uint32_t aux;
    std::memcpy(&aux, b.sas + 4 * g, 4);
    o->scale[2 * g] = o->scale[2 * g + 1] = static_cast<int>(2 * (aux >> 28) + 1);
    o->min[2 * g] = o->min[2 * g + 1] = 0;
    for (int l = 0; l < 4; ++l) {
      const int signs = kIq2Signs.v[(aux >> (7 * l)) & 127];
      for (int m = 0; m < 8; ++m) {
        const int v = grid_value(kIq3xxsGrid.v[b.qs[8 * g + 2 * l + m / 4]], m % 4);
        o->q[32 * g + 8 * l + m] = (signs >> m) & 1 ? -v : v;
      }
    }
  }
}

void decode(const BlockIQ3_S& b, Decoded* o) {
  o->d = f16_to_f32(b.d);
  o->dmin = 0.0f;
  for (int g = 0; g < 8; ++g) {
    o->scale[2 * g] = o->scale[2 * g + 1] = 1 + 2 * ((b.scales[g / 2] >> (4 * (g % 2))) & 0xF);
    o->min[2 * g] = o->min[2 * g + 1] = 0;
  }
  for (int e = 0; e < 64; ++e) {
    const uint32_t entry = kIq3sGrid.v[b.qs[e] | (((b.qh[e / 8] >> (e % 8)) & 1) << 8)];
    for (int m = 0; m < 4; ++m) {
      const int v = 4 * e + m;
      o->q[v] = (b.signs[v / 8] >> (v % 8)) & 1 ? -grid_value(entry, m) : grid_value(entry, m);
    }
  }
}

void decode(const BlockIQ1_S& b, Decoded* o) {
  o->d = f16_to_f32(b.d) * 0.125f;
  o->dmin = 0.0f;
  for (int g = 0; g < 8; ++g) {
    const int qh = b.qh[g];
    o->scale[2 * g] = o->scale[2 * g + 1] = 2 * ((qh >> 12) & 7) + 1;
    o->min[2 * g] = o->min[2 * g + 1] = 0;
    const int shift = qh & 0x8000 ? -1 : 1;
    for (int l = 0; l < 4; ++l) {
      const uint64_t e = kIq1sGrid.v[b.qs[4 * g + l] | (((qh >> (3 * l)) & 7) << 8)];
      for (int j = 0; j < 8; ++j) o->q[32 * g + 8 * l + j] = 8 * grid_value(e, j) + shift;
    }
  }
}

void decode(const BlockIQ1_M& b, Decoded* o) {
  uint16_t sc[4];
  std::memcpy(sc, b.scales, 8);
  const uint16_t dh = static_cast<uint16_t>((sc[0] >> 12) | ((sc[1] >> 8) & 0x00F0) | ((sc[2] >> 4) & 0x0F00) |
                                            (sc[3] & 0xF000));
  o->d = f16_to_f32(dh) * 0.125f;
  o->dmin = 0.0f;
  for (int j = 0; j < 16; ++j) {
    o->scale[j] = 2 * ((sc[j / 4] >> (3 * (j % 4))) & 7) + 1;
    o->min[j] = 0;
  }
  for (int k = 0; k < 32; ++k) {
    const int nib = (b.qh[k / 2] >> (4 * (k % 2))) & 0xF;
    const uint64_t e = kIq1sGrid.v[b.qs[k] | ((nib & 7) << 8)];
    for (int j = 0; j < 8; ++j) o->q[8 * k + j] = 8 * grid_value(e, j) + (nib & 8 ? -1 : 1);
  }
}

template <class W>
float dot_k(int64_t n, const void* w, const void* a) {
  const auto* x = static_cast<const W*>(w);
  const auto* y = static_cast<const BlockQ8_K*>(a);
  float sum = 0.0f;
  Decoded dec;
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    decode(x[i], &dec);
    int isum = 0, msum = 0;
    for (int j = 0; j < 16; ++j) {
      int s = 0;
      for (int l = 0; l < 16; ++l) s += dec.q[16 * j + l] * y[i].qs[16 * j + l];
      isum += dec.scale[j] * s;
      msum += dec.min[j] * y[i].bsums[j];
    }
    sum += y[i].d * (dec.d * static_cast<float>(isum) - dec.dmin * static_cast<float>(msum));
  }
  return sum;
}

}  // namespace

float vec_dot_q2_K_q8_K(int64_t n, const void* w, const void* a) { return dot_k<BlockQ2_K>(n, w, a); }
float vec_dot_q3_K_q8_K(int64_t n, const void* w, const void* a) { return dot_k<BlockQ3_K>(n, w, a); }
float vec_dot_q4_K_q8_K(int64_t n, const void* w, const void* a) { return dot_k<BlockQ4_K>(n, w, a); }
float vec_dot_q5_K_q8_K(int64_t n, const void* w, const void* a) { return dot_k<BlockQ5_K>(n, w, a); }
float vec_dot_q6_K_q8_K(int64_t n, const void* w, const void* a) { return dot_k<BlockQ6_K>(n, w, a); }
float vec_dot_iq4_xs_q8_K(int64_t n, const void* w, const void* a) { return dot_k<BlockIQ4_XS>(n, w, a); }
float vec_dot_iq2_xxs_q8_K(int64_t n, const void* w, const void* a) { return dot_k<BlockIQ2_XXS>(n, w, a); }
float vec_dot_iq2_xs_q8_K(int64_t n, const void* w, const void* a) { return dot_k<BlockIQ2_XS>(n, w, a); }
float vec_dot_iq2_s_q8_K(int64_t n, const void* w, const void* a) { return dot_k<BlockIQ2_S>(n, w, a); }
float vec_dot_iq3_xxs_q8_K(int64_t n, const void* w, const void* a) { return dot_k<BlockIQ3_XXS>(n, w, a); }
float vec_dot_iq3_s_q8_K(int64_t n, const void* w, const void* a) { return dot_k<BlockIQ3_S>(n, w, a); }
float vec_dot_iq1_s_q8_K(int64_t n, const void* w, const void* a) { return dot_k<BlockIQ1_S>(n, w, a); }
float vec_dot_iq1_m_q8_K(int64_t n, const void* w, const void* a) { return dot_k<BlockIQ1_M>(n, w, a); }

}  // namespace moe::ref
