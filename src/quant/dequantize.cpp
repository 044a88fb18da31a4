// Reference block decoders. Each decoder's comment gives the bit layout it reads; the
// layouts are ggml's (ggml-common.h), which llama.cpp's quantizer wrote into the files.
#include "quant/dequantize.h"

#include <cstring>

#include "base/check.h"
#include "base/half.h"
#include "quant/block_scales.h"
#include "quant/blocks.h"
#include "quant/iq_grids.h"

namespace moe {
namespace {

// Q4_0, 18 bytes / 32 values: f16 d, then 16 bytes; byte l holds value l in its low nibble
// and value l+16 in its high nibble. x = d * (q - 8).
void dequant_q4_0(const BlockQ4_0* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += kQK) {
    const float d = f16_to_f32(b[i].d);
    for (int l = 0; l < kQK / 2; ++l) {
      y[l] = d * static_cast<float>((b[i].qs[l] & 0xF) - 8);
      y[l + 16] = d * static_cast<float>((b[i].qs[l] >> 4) - 8);
    }
  }
}

// Q4_1, 20 bytes: f16 d, f16 m, nibbles as Q4_0. x = d * q + m.
void dequant_q4_1(const BlockQ4_1* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += kQK) {
    const float d = f16_to_f32(b[i].d), m = f16_to_f32(b[i].m);
    for (int l = 0; l < kQK / 2; ++l) {
      y[l] = d * static_cast<float>(b[i].qs[l] & 0xF) + m;
      y[l + 16] = d * static_cast<float>(b[i].qs[l] >> 4) + m;
    }
  }
}

// Bit j of the little-endian 32-bit qh is the 5th bit of value j.
inline uint32_t load_qh(const uint8_t* qh) {
  uint32_t v;
  std::memcpy(&v, qh, 4);
  return v;
}

// Q5_0, 22 bytes: f16 d, 4 bytes qh (high bits), nibbles as Q4_0. x = d * (q - 16).
void dequant_q5_0(const BlockQ5_0* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += kQK) {
    const float d = f16_to_f32(b[i].d);
    const uint32_t qh = load_qh(b[i].qh);
    for (int l = 0; l < kQK / 2; ++l) {
      const int h0 = ((qh >> l) & 1) << 4, h1 = ((qh >> (l + 16)) & 1) << 4;
      y[l] = d * static_cast<float>(((b[i].qs[l] & 0xF) | h0) - 16);
      y[l + 16] = d * static_cast<float>(((b[i].qs[l] >> 4) | h1) - 16);
    }
  }
}

// IQ4_NL, 18 bytes: f16 d, nibbles as Q4_0 indexing the 16 levels. x = d * level.
void dequant_iq4_nl(const BlockIQ4_NL* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += kQK) {
    const float d = f16_to_f32(b[i].d);
    for (int l = 0; l < kQK / 2; ++l) {
      y[l] = d * static_cast<float>(kIq4nlValues[b[i].qs[l] & 0xF]);
      y[l + 16] = d * static_cast<float>(kIq4nlValues[b[i].qs[l] >> 4]);
    }
  }
}

// Q5_1, 24 bytes: f16 d, f16 m, qh, nibbles. x = d * q + m.
void dequant_q5_1(const BlockQ5_1* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += kQK) {
    const float d = f16_to_f32(b[i].d), m = f16_to_f32(b[i].m);
    const uint32_t qh = load_qh(b[i].qh);
    for (int l = 0; l < kQK / 2; ++l) {
      const int h0 = ((qh >> l) & 1) << 4, h1 = ((qh >> (l + 16)) & 1) << 4;
      y[l] = d * static_cast<float>((b[i].qs[l] & 0xF) | h0) + m;
      y[l + 16] = d * static_cast<float>((b[i].qs[l] >> 4) | h1) + m;
    }
  }
}

// Q8_0, 34 bytes: f16 d, 32 int8. x = d * q.
void dequant_q8_0(const BlockQ8_0* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += kQK) {
    const float d = f16_to_f32(b[i].d);
    for (int l = 0; l < kQK; ++l) y[l] = d * static_cast<float>(b[i].qs[l]);
  }
}

// Q8_1, 36 bytes: f16 d, f16 s (= d * sum q, unused here), 32 int8. x = d * q.
void dequant_q8_1(const BlockQ8_1* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += kQK) {
    const float d = f16_to_f32(b[i].d);
    for (int l = 0; l < kQK; ++l) y[l] = d * static_cast<float>(b[i].qs[l]);
  }
}

// Q2_K, 84 bytes / 256 values: 16 bytes scales (low nibble: scale, high nibble: min of
// sub-block j of 16 values), 64 bytes qs, f16 d, f16 dmin. Each 128-value half n uses
// qs[32n .. 32n+31]; its 4 groups of 32 (k = 0..3) are the 2-bit fields at bit 2k of those
// bytes, the first 16 bytes with scale 8n+2k and the next 16 with scale 8n+2k+1.
// x = d * sc * q - dmin * m.
void dequant_q2_K(const BlockQ2_K* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i) {
    const float d = f16_to_f32(b[i].d), dmin = f16_to_f32(b[i].dmin);
    int is = 0;
    for (int n = 0; n < 2; ++n) {
      const uint8_t* q = b[i].qs + 32 * n;
      for (int k = 0; k < 4; ++k) {
        for (int half = 0; half < 2; ++half) {
          const uint8_t sc = b[i].scales[is++];
          const float dl = d * static_cast<float>(sc & 0xF);
          const float ml = dmin * static_cast<float>(sc >> 4);
          for (int l = 0; l < 16; ++l) {
            *y++ = dl * static_cast<float>((q[l + 16 * half] >> (2 * k)) & 3) - ml;
          }
        }
      }
    }
  }
}

// Q3_K, 110 bytes: 32 bytes hmask, 64 bytes qs, 12 bytes scales (16 six-bit, see
// q3_K_scale), f16 d. The 2 low bits of each value sit where Q2_K puts them; group g
// (0..7) of 32 values takes its high bit from bit g of hmask[0..31]. A clear high bit
// means 4 is subtracted: x = d * (scale - 32) * (q2 - (h ? 0 : 4)).
void dequant_q3_K(const BlockQ3_K* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i) {
    const float d = f16_to_f32(b[i].d);
    int is = 0, g = 0;
    for (int n = 0; n < 2; ++n) {
      const uint8_t* q = b[i].qs + 32 * n;
      for (int k = 0; k < 4; ++k, ++g) {
        for (int half = 0; half < 2; ++half) {
          const float dl = d * static_cast<float>(q3_K_scale(is++, b[i].scales));
          for (int l = 16 * half; l < 16 * half + 16; ++l) {
            const int q2 = (q[l] >> (2 * k)) & 3;
            const int hb = (b[i].hmask[l] >> g) & 1;
            *y++ = dl * static_cast<float>(q2 - (hb ? 0 : 4));
          }
        }
      }
    }
  }
}

// Q4_K, 144 bytes: f16 d, f16 dmin, 12 bytes of 6-bit scales/mins (k4_scale_min), 128
// bytes qs. Chunk c (0..3) of 64 values uses qs[32c .. 32c+31]: low nibbles are sub-block
// 2c, high nibbles sub-block 2c+1. x = d * sc * q - dmin * m.
void dequant_q4_K(const BlockQ4_K* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i) {
    const float d = f16_to_f32(b[i].d), dmin = f16_to_f32(b[i].dmin);
    for (int c = 0; c < 4; ++c) {
      const uint8_t* q = b[i].qs + 32 * c;
      uint8_t sc, m;
      k4_scale_min(2 * c, b[i].scales, &sc, &m);
      const float d1 = d * sc, m1 = dmin * m;
      k4_scale_min(2 * c + 1, b[i].scales, &sc, &m);
      const float d2 = d * sc, m2 = dmin * m;
      for (int l = 0; l < 32; ++l) *y++ = d1 * static_cast<float>(q[l] & 0xF) - m1;
      for (int l = 0; l < 32; ++l) *y++ = d2 * static_cast<float>(q[l] >> 4) - m2;
    }
  }
}

// Q5_K, 176 bytes: as Q4_K plus 32 bytes qh before qs; sub-block s (0..7) takes its 5th
// bit from bit s of qh[l]. x = d * sc * q - dmin * m.
void dequant_q5_K(const BlockQ5_K* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i) {
    const float d = f16_to_f32(b[i].d), dmin = f16_to_f32(b[i].dmin);
    for (int c = 0; c < 4; ++c) {
      const uint8_t* q = b[i].qs + 32 * c;
      uint8_t sc, m;
      k4_scale_min(2 * c, b[i].scales, &sc, &m);
      const float d1 = d * sc, m1 = dmin * m;
      k4_scale_min(2 * c + 1, b[i].scales, &sc, &m);
      const float d2 = d * sc, m2 = dmin * m;
      for (int l = 0; l < 32; ++l) {
        const int h = ((b[i].qh[l] >> (2 * c)) & 1) << 4;
        *y++ = d1 * static_cast<float>((q[l] & 0xF) | h) - m1;
      }
      for (int l = 0; l < 32; ++l) {
        const int h = ((b[i].qh[l] >> (2 * c + 1)) & 1) << 4;
        *y++ = d2 * static_cast<float>((q[l] >> 4) | h) - m2;
      }
    }
  }
}

// Q6_K, 210 bytes: 128 bytes ql (low 4 bits), 64 bytes qh (high 2 bits), 16 int8 scales,
// f16 d. Half n (128 values) uses ql[64n..], qh[32n..], scales[8n..]; for l in 0..31:
//   value l      = ql[l] & 15      | (qh[l] >> 0 & 3) << 4, scale 8n + l/16
//   value l + 32 = ql[l+32] & 15   | (qh[l] >> 2 & 3) << 4, scale 8n + l/16 + 2
//   value l + 64 = ql[l] >> 4      | (qh[l] >> 4 & 3) << 4, scale 8n + l/16 + 4
//   value l + 96 = ql[l+32] >> 4   | (qh[l] >> 6 & 3) << 4, scale 8n + l/16 + 6
// x = d * scale * (q - 32).
void dequant_q6_K(const BlockQ6_K* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i) {
    const float d = f16_to_f32(b[i].d);
    for (int n = 0; n < 2; ++n, y += 128) {
      const uint8_t* ql = b[i].ql + 64 * n;
      const uint8_t* qh = b[i].qh + 32 * n;
      const int8_t* sc = b[i].scales + 8 * n;
      for (int l = 0; l < 32; ++l) {
        const int is = l / 16;
        const int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
        const int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
        const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
        const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
        y[l] = d * static_cast<float>(sc[is + 0]) * static_cast<float>(q1);
        y[l + 32] = d * static_cast<float>(sc[is + 2]) * static_cast<float>(q2);
        y[l + 64] = d * static_cast<float>(sc[is + 4]) * static_cast<float>(q3);
        y[l + 96] = d * static_cast<float>(sc[is + 6]) * static_cast<float>(q4);
      }
    }
  }
}

// The IQ formats (layouts in quant/blocks.h), as ggml computes them: a float scale per
// group times the codebook's value (plus the IQ1 shift of +-1/8).
inline float grid_byte(uint64_t entry, int j) { return static_cast<float>(static_cast<int8_t>(entry >> (8 * j))); }

void dequant_iq4_xs(const BlockIQ4_XS* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i) {
    const float d = f16_to_f32(b[i].d);
    for (int g = 0; g < 8; ++g, y += 32) {
      const int ls = ((b[i].scales_l[g / 2] >> (4 * (g % 2))) & 0xF) | (((b[i].scales_h >> (2 * g)) & 3) << 4);
      const float dl = d * static_cast<float>(ls - 32);
      for (int l = 0; l < 16; ++l) {
        y[l] = dl * static_cast<float>(kIq4nlValues[b[i].qs[16 * g + l] & 0xF]);
        y[l + 16] = dl * static_cast<float>(kIq4nlValues[b[i].qs[16 * g + l] >> 4]);
      }
    }
  }
}

void dequant_iq2_xxs(const BlockIQ2_XXS* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i) {
    const float d = f16_to_f32(b[i].d);
    for (int g = 0; g < 8; ++g) {
      uint32_t aux[2];
      std::memcpy(aux, b[i].qs + 4 * g, 8);
      const float db = d * (0.5f + static_cast<float>(aux[1] >> 28)) * 0.25f;
      for (int l = 0; l < 4; ++l) {
        const uint64_t e = kIq2xxsGrid.v[(aux[0] >> (8 * l)) & 0xFF];
        const uint8_t signs = kIq2Signs.v[(aux[1] >> (7 * l)) & 127];
        for (int j = 0; j < 8; ++j) *y++ = db * grid_byte(e, j) * ((signs >> j) & 1 ? -1.0f : 1.0f);
      }
    }
  }
}

inline float sign_of(uint32_t bits, int j) { return (bits >> j) & 1 ? -1.0f : 1.0f; }

void dequant_iq2_xs(const BlockIQ2_XS* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i) {
    const float d = f16_to_f32(b[i].d);
    for (int k = 0; k < 32; ++k) {
      const int j = k / 2;  // the scale's group of 16
      const float db = d * (0.5f + static_cast<float>((b[i].scales[j / 2] >> (4 * (j % 2))) & 0xF)) * 0.25f;
      const uint64_t e = kIq2xsGrid.v[b[i].qs[k] & 511];
      const uint32_t signs = kIq2Signs.v[b[i].qs[k] >> 9];
      for (int l = 0; l < 8; ++l) *y++ = db * grid_byte(e, l) * sign_of(signs, l);
    }
  }
}

void dequant_iq2_s(const BlockIQ2_S* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i) {
    const float d = f16_to_f32(b[i].d);
    for (int k = 0; k < 32; ++k) {
      const int j = k / 2;
      const float db = d * (0.5f + static_cast<float>((b[i].scales[j / 2] >> (4 * (j % 2))) & 0xF)) * 0.25f;
      const uint64_t e = kIq2sGrid.v[b[i].qs[k] | (((b[i].qh[k / 4] >> (2 * (k % 4))) & 3) << 8)];
      for (int l = 0; l < 8; ++l) *y++ = db * grid_byte(e, l) * sign_of(b[i].signs[k], l);
    }
  }
}

void dequant_iq3_xxs(const BlockIQ3_XXS* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i) {
    const float d = f16_to_f32(b[i].d);
    for (int g = 0; g < 8; ++g) {
      uint32_t aux;
      std::memcpy(&aux, b[i].sas + 4 * g, 4);
      const float db = d * (0.5f + static_cast<float>(aux >> 28)) * 0.5f;
      for (int l = 0; l < 4; ++l) {
        const uint32_t signs = kIq2Signs.v[(aux >> (7 * l)) & 127];
        for (int h = 0; h < 2; ++h) {
          const uint32_t e = kIq3xxsGrid.v[b[i].qs[8 * g + 2 * l + h]];
          for (int m = 0; m < 4; ++m) *y++ = db * grid_byte(e, m) * sign_of(signs, 4 * h + m);
        }
      }
    }
  }
}

void dequant_iq3_s(const BlockIQ3_S* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i) {
    const float d = f16_to_f32(b[i].d);
    for (int e = 0; e < 64; ++e) {
      const int g = e / 8;  // group of 32
      const float db = d * static_cast<float>(1 + 2 * ((b[i].scales[g / 2] >> (4 * (g % 2))) & 0xF));
      const uint32_t entry = kIq3sGrid.v[b[i].qs[e] | (((b[i].qh[g] >> (e % 8)) & 1) << 8)];
      for (int m = 0; m < 4; ++m) {
        const int v = 4 * e + m;
        *y++ = db * grid_byte(entry, m) * sign_of(b[i].signs[v / 8], v % 8);
      }
    }
  }
}

void dequant_iq1_s(const BlockIQ1_S* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i) {
    const float d = f16_to_f32(b[i].d);
    for (int g = 0; g < 8; ++g) {
      const int qh = b[i].qh[g];
      const float dl = d * static_cast<float>(2 * ((qh >> 12) & 7) + 1);
      const float delta = qh & 0x8000 ? -0.125f : 0.125f;
      for (int l = 0; l < 4; ++l) {
        const uint64_t e = kIq1sGrid.v[b[i].qs[4 * g + l] | (((qh >> (3 * l)) & 7) << 8)];
        for (int j = 0; j < 8; ++j) *y++ = dl * (grid_byte(e, j) + delta);
      }
    }
  }
}

void dequant_iq1_m(const BlockIQ1_M* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i) {
    uint16_t sc[4];
    std::memcpy(sc, b[i].scales, 8);
    const uint16_t dh = static_cast<uint16_t>((sc[0] >> 12) | ((sc[1] >> 8) & 0x00F0) | ((sc[2] >> 4) & 0x0F00) |
                                              (sc[3] & 0xF000));
    const float d = f16_to_f32(dh);
    for (int k = 0; k < 32; ++k) {  // sub-groups of 8; scale j = k / 2 covers 16 values
      const int j = k / 2;
      const float dl = d * static_cast<float>(2 * ((sc[j / 4] >> (3 * (j % 4))) & 7) + 1);
      const int nib = (b[i].qh[k / 2] >> (4 * (k % 2))) & 0xF;
      const float delta = nib & 8 ? -0.125f : 0.125f;
      const uint64_t e = kIq1sGrid.v[b[i].qs[k] | ((nib & 7) << 8)];
      for (int l = 0; l < 8; ++l) *y++ = dl * (grid_byte(e, l) + delta);
    }
  }
}

// Q8_K, 292 bytes: f32 d, 256 int8, 16 int16 bsums (unused here). x = d * q.
void dequant_q8_K(const BlockQ8_K* b, float* y, int64_t nb) {
  for (int64_t i = 0; i < nb; ++i, y += kQK_K) {
    for (int l = 0; l < kQK_K; ++l) y[l] = b[i].d * static_cast<float>(b[i].qs[l]);
  }
}

}  // namespace

bool can_dequantize(GgmlType type) {
  switch (type) {
    case GgmlType::F32: case GgmlType::F16: case GgmlType::BF16:
    case GgmlType::Q4_0: case GgmlType::Q4_1: case GgmlType::Q5_0: case GgmlType::Q5_1:
    case GgmlType::Q8_0: case GgmlType::Q8_1: case GgmlType::IQ4_NL:
    case GgmlType::Q2_K: case GgmlType::Q3_K: case GgmlType::Q4_K: case GgmlType::Q5_K:
    case GgmlType::Q6_K: case GgmlType::Q8_K: case GgmlType::IQ2_XXS: case GgmlType::IQ1_S:
    case GgmlType::IQ1_M: case GgmlType::IQ4_XS: case GgmlType::IQ2_XS: case GgmlType::IQ2_S:
    case GgmlType::IQ3_XXS: case GgmlType::IQ3_S:
      return true;
    default:
      return false;
  }
}

void dequantize_row(GgmlType type, const void* src, float* dst, int64_t n) {
  MOE_CHECK_MSG(can_dequantize(type), "dequantize_row: unsupported type");
  const int64_t bs = type_traits(type).block_size;
  MOE_CHECK(n % bs == 0);
  const int64_t nb = n / bs;
  switch (type) {
    case GgmlType::F32:
      std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
      return;
    case GgmlType::F16: {
      const auto* s = static_cast<const uint16_t*>(src);
      for (int64_t i = 0; i < n; ++i) dst[i] = f16_to_f32(s[i]);
      return;
    }
    case GgmlType::BF16: {
      const auto* s = static_cast<const uint16_t*>(src);
      for (int64_t i = 0; i < n; ++i) dst[i] = bf16_to_f32(s[i]);
      return;
    }
    case GgmlType::Q4_0: return dequant_q4_0(static_cast<const BlockQ4_0*>(src), dst, nb);
    case GgmlType::Q4_1: return dequant_q4_1(static_cast<const BlockQ4_1*>(src), dst, nb);
    case GgmlType::Q5_0: return dequant_q5_0(static_cast<const BlockQ5_0*>(src), dst, nb);
    case GgmlType::Q5_1: return dequant_q5_1(static_cast<const BlockQ5_1*>(src), dst, nb);
    case GgmlType::IQ4_NL: return dequant_iq4_nl(static_cast<const BlockIQ4_NL*>(src), dst, nb);
    case GgmlType::Q8_0: return dequant_q8_0(static_cast<const BlockQ8_0*>(src), dst, nb);
    case GgmlType::Q8_1: return dequant_q8_1(static_cast<const BlockQ8_1*>(src), dst, nb);
    case GgmlType::Q2_K: return dequant_q2_K(static_cast<const BlockQ2_K*>(src), dst, nb);
    case GgmlType::Q3_K: return dequant_q3_K(static_cast<const BlockQ3_K*>(src), dst, nb);
    case GgmlType::Q4_K: return dequant_q4_K(static_cast<const BlockQ4_K*>(src), dst, nb);
    case GgmlType::Q5_K: return dequant_q5_K(static_cast<const BlockQ5_K*>(src), dst, nb);
    case GgmlType::Q6_K: return dequant_q6_K(static_cast<const BlockQ6_K*>(src), dst, nb);
    case GgmlType::Q8_K: return dequant_q8_K(static_cast<const BlockQ8_K*>(src), dst, nb);
    case GgmlType::IQ4_XS: return dequant_iq4_xs(static_cast<const BlockIQ4_XS*>(src), dst, nb);
    case GgmlType::IQ2_XXS: return dequant_iq2_xxs(static_cast<const BlockIQ2_XXS*>(src), dst, nb);
    case GgmlType::IQ2_XS: return dequant_iq2_xs(static_cast<const BlockIQ2_XS*>(src), dst, nb);
    case GgmlType::IQ2_S: return dequant_iq2_s(static_cast<const BlockIQ2_S*>(src), dst, nb);
    case GgmlType::IQ3_XXS: return dequant_iq3_xxs(static_cast<const BlockIQ3_XXS*>(src), dst, nb);
    case GgmlType::IQ3_S: return dequant_iq3_s(static_cast<const BlockIQ3_S*>(src), dst, nb);
    case GgmlType::IQ1_S: return dequant_iq1_s(static_cast<const BlockIQ1_S*>(src), dst, nb);
    case GgmlType::IQ1_M: return dequant_iq1_m(static_cast<const BlockIQ1_M*>(src), dst, nb);
    default: break;
  }
}

}  // namespace moe
