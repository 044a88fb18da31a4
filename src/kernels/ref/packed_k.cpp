// Reference Q4_K_R16 / Q5_K_R16 / Q6_K_R16 / Q2_K_R16 / Q3_K_R16 / IQ1_S_R16 / IQ2_XXS_R16 /
// IQ1_M_R16 / IQ4_XS_R16 / IQ3_XXS_R16 / IQ3_S_R16 x Q8_K products: the definition of their
// arithmetic (layouts in kernels/packed_k.cpp). Per output element and super-block b, with exact
// int32 sums (s_j = sum over sub-block j of q * a, q the unsigned stored value):
//   Q4_K: isum = sum_j sc_j * s_j,  msum = sum_j m_j * (bsums[2j] + bsums[2j+1])
//         acc = fma(d * d_a, float(isum), acc);  acc = fma(-(dmin * d_a), float(msum), acc)
//   Q5_K: as Q4_K, q = nibble + 16 * hbit
//   Q6_K: isum = sum_j sc_j * (s_j - 32 * bsums[j])
//         acc = fma(d * d_a, float(isum), acc)
//   Q2_K: isum = sum_j sc_j * s_j,  msum = sum_j m_j * bsums[j]   (16 sub-blocks of 16)
//         acc = fma(d * d_a, float(isum), acc);  acc = fma(-(dmin * d_a), float(msum), acc)
//   Q3_K: isum = sum_j sc_j * (s_j - 4 * bsums[j])   (sc_j signed, q3 = q2 + 4 * hbit)
//         acc = fma(d * d_a, float(isum), acc)
//   IQ1_S: isum = sum_g sc_g * (8 * s_g - (8 - shift_g) * sum(a over g))   (8 groups of 32,
//         u = grid + 1 the stored 2-bit value: the file's 8 * grid + shift times a, summed)
//         acc = fma(d / 8 * d_a, float(isum), acc)
//   IQ2_XXS: isum = sum_g sc_g * (sum((q + 43) * a over g) - 43 * sum(a over g))   (q from
//         the stored code; 8 groups of 32; IQ2_XS, IQ2_S: 16 groups of 16)
//         acc = fma(d / 8 * d_a, float(isum), acc)
//   IQ1_M: isum = sum_j sc_j * (sum((q + 9) * a over j) - 9 * bsums[j])   (Q3_K's, q from the
//         stored code)
//         acc = fma(d / 8 * d_a, float(isum), acc)
//   IQ4_XS: isum = sum_j (ls_j - 32) * (sum(u * a over j) - 128 * sum(a over j))   (8
//         sub-blocks of 32, u = level + 128 from the stored nibble)
//         acc = fma(d * d_a, float(isum), acc)
//   IQ3_XXS, IQ3_S: as IQ4_XS with their levels (packed.h); IQ3_XXS's acc = fma(d / 4 * d_a, ..)
// starting from acc = 0 and going through b in order; y = acc. Every ISA version does these
// float operations in this order, so it matches bitwise, whatever the batch.
#include <cmath>
#include <cstring>

#include "base/check.h"
#include "base/half.h"
#include "kernels/packed.h"
#include "quant/block_scales.h"
#include "quant/blocks.h"

namespace moe::ref {
namespace {

constexpr size_t kQ4Column = kPackRows * sizeof(BlockQ4_K);
constexpr size_t kQ5Column = kPackRows * sizeof(BlockQ5_K);
constexpr size_t kQ6Column = kPackRows * sizeof(BlockQ6_K);
constexpr size_t kQ2Column = kPackRows * sizeof(BlockQ2_K);
constexpr size_t kQ3Column = kPackRows * sizeof(BlockQ3_K);
constexpr size_t kIq1sColumn = kPackRows * 70;     // packed_k.cpp's IQ1_S_R16 column
constexpr size_t kIq2xxsColumn = kPackRows * 102;  // and IQ2_XXS_R16's
constexpr size_t kIq2xsColumn = kPackRows * 106;   // IQ2_XS_R16's and IQ2_S_R16's
constexpr size_t kIq4xsColumn = kPackRows * sizeof(BlockIQ4_XS);

float f16_at(const uint8_t* p, int r) {
  uint16_t h;
  std::memcpy(&h, p + 2 * r, 2);
  return f16_to_f32(h);
}

// Row r's value i (0..255) of a Q4_K_R16 column, and its sub-block scale and min.
int q4_value(const uint8_t* col, int r, int i) {
  const int c = i / 64, hi = (i % 64) / 32, l = i % 32;
  const uint8_t byte = col[256 + 64 * (8 * c + l / 4) + 4 * r + l % 4];
  return hi ? byte >> 4 : byte & 15;
}
int q4_scale(const uint8_t* col, int r, int j) { return col[64 + 16 * j + r] & 63; }
int q4_min(const uint8_t* col, int r, int j) {
  const int nib = col[64 + 16 * (8 + j % 4) + r] >> (j < 4 ? 0 : 4) & 15;
  return nib | (col[64 + 16 * j + r] >> 6) << 4;
}

// Row r's q6 value i of a Q6_K_R16 column.
int q6_value(const uint8_t* col, int r, int i) {
  const uint8_t* q = col + 288;
  const int j = i / 16, p = (i % 16) / 4, l = i % 4;
  if (p < 3) return q[(3 * j + p) * 64 + 4 * r + l] & 63;
  int v = 0;
  for (int k = 0; k < 3; ++k) v |= (q[(3 * j + k) * 64 + 4 * r + l] >> 6) << (2 * k);
  return v;
}


using ValueFn = int (*)(const uint8_t* col, int r, int i);  // row r's value i of a column
using ScaleFn = int (*)(const uint8_t* col, int r, int j);  // its sub-block j's scale (or min)

// sum(a) over sub-block j of kSub: the activation's per-16 bsums it spans.
template <int kSub>
int32_t sub_block_bsum(const BlockQ8_K& a, int j) {
  constexpr int kPer = kQK_K / kSub / 16;
  int32_t s = 0;
  for (int k = 0; k < kPer; ++k) s += a.bsums[kPer * j + k];
  return s;
}

// sum(q * a) over sub-block j of kSub (exact int32).
template <int kSub>
int32_t sub_block_dot(ValueFn value, const uint8_t* col, int r, const BlockQ8_K& a, int j) {
  constexpr int kLen = kQK_K / kSub;
  int32_t s = 0;
  for (int l = 0; l < kLen; ++l) s += value(col, r, kLen * j + l) * a.qs[kLen * j + l];
  return s;
}

// Row r's product with one activation row over nb super-blocks. The affine formats (Q4_K,
// Q5_K: 8 sub-blocks; Q2_K: 16): x = d * sc * q - dmin * m.
template <ValueFn kValue, ScaleFn kScale, ScaleFn kMin, int kSub, size_t kColumn>
float row_affine(int64_t nb, const uint8_t* group, int r, const BlockQ8_K* a) {
  float acc = 0.0f;
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* col = group + b * kColumn;
    int32_t isum = 0, msum = 0;
    for (int j = 0; j < kSub; ++j) {
      isum += kScale(col, r, j) * sub_block_dot<kSub>(kValue, col, r, a[b], j);
      msum += kMin(col, r, j) * sub_block_bsum<kSub>(a[b], j);
    }
    acc = std::fma(f16_at(col, r) * a[b].d, static_cast<float>(isum), acc);
    acc = std::fma(-(f16_at(col + 32, r) * a[b].d), static_cast<float>(msum), acc);
  }
  return acc;
}

// The offset formats (Q6_K, Q3_K, IQ1_M: 16 sub-blocks of 16; IQ4_XS: 8 of 32):
// x = d * kDScale * sc * (q - kOffset).
template <ValueFn kValue, ScaleFn kScale, int kOffset, size_t kColumn, float kDScale = 1.0f,
          int kSub = 16>
float row_offset(int64_t nb, const uint8_t* group, int r, const BlockQ8_K* a) {
  float acc = 0.0f;
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* col = group + b * kColumn;
    int32_t isum = 0;
    for (int j = 0; j < kSub; ++j) {
      isum += kScale(col, r, j) * (sub_block_dot<kSub>(kValue, col, r, a[b], j) -
                                   kOffset * sub_block_bsum<kSub>(a[b], j));
    }
    acc = std::fma(f16_at(col, r) * kDScale * a[b].d, static_cast<float>(isum), acc);
  }
  return acc;
}

// Row r's q5 value i of a Q5_K_R16 column: the Q4_K_R16 nibble and its fifth bit.
int q5_value(const uint8_t* col, int r, int i) {
  const int c = i / 64, hi = (i % 64) / 32, l = i % 32;
  const int z = 8 * c + l / 4;
  const int bit = (col[2304 + 64 * (z / 4) + 4 * r + l % 4] >> (2 * (z % 4) + hi)) & 1;
  return q4_value(col, r, i) | bit << 4;
}

// Row r's q2 value i of a Q2_K_R16 column, and its sub-block scale and min.
int q2_value(const uint8_t* col, int r, int i) {
  const int j = i / 16, k = (i % 16) / 4, l = i % 4;
  return (col[320 + 64 * j + 4 * r + l] >> (2 * k)) & 3;
}
int q2_scale(const uint8_t* col, int r, int j) { return col[64 + 16 * j + r] & 15; }
int q2_min(const uint8_t* col, int r, int j) { return col[64 + 16 * j + r] >> 4; }

// Row r's q3 value i of a Q3_K_R16 column (q2 from the Q2_K_R16 lines, the high bit from h),
// and its signed sub-block scale (from the row's 12 scale bytes, as in the file).
int q3_value(const uint8_t* col, int r, int i) {
  const int j = i / 16, k = (i % 16) / 4, l = i % 4;
  const int q2 = (col[224 + 64 * j + 4 * r + l] >> (2 * k)) & 3;
  const int pos = (k & 1) + 4 * (k >> 1) + 2 * (1 - r / 8);  // packed_k.cpp's layout
  const int hbit = (col[1248 + 32 * j + 4 * (r % 8) + l] >> pos) & 1;
  return q2 | hbit << 2;
}
int q3_scale(const uint8_t* col, int r, int j) {
  uint8_t scales[12];
  for (int k = 0; k < 12; ++k) scales[k] = col[32 + 16 * k + r];
  return q3_K_scale(j, scales);
}

// Row r's q + 9 for value i of an IQ1_M_R16 column (its code where Q3_K_R16 has q3).
int iq1_m_value(const uint8_t* col, int r, int i) {
  static constexpr int kPlus9[6] = {0, 2, 8, 10, 16, 18};
  return kPlus9[q3_value(col, r, i)];
}

// Row r's u = level + 128 for value i of an IQ4_XS_R16-layout column (its nibble where
// Q4_K_R16 has its value; the levels IQ4_XS's, IQ3_XXS_R16's or IQ3_S_R16's), and ls_j - 32
// of sub-block j (from the row's scales_l and scales_h).
template <const int8_t (&kLevels)[16]>
int level_value(const uint8_t* col, int r, int i) {
  const int c = i / 64, hi = (i % 64) / 32, l = i % 32;
  const uint8_t byte = col[128 + 64 * (8 * c + l / 4) + 4 * r + l % 4];
  return kLevels[hi ? byte >> 4 : byte & 15] + 128;
}
int level_scale(const uint8_t* col, int r, int j) {
  const int low = (col[32 + 4 * r + j / 2] >> (4 * (j % 2))) & 15;
  const int high = (col[96 + 2 * r + j / 4] >> (2 * (j % 4))) & 3;
  return (low | high << 4) - 32;
}

int q6_scale(const uint8_t* col, int r, int j) { return static_cast<int8_t>(col[32 + 16 * j + r]); }

// Row r's u value i of an IQ1_S_R16 column (lines as Q2_K_R16's, after d and sm).
int iq1_s_value(const uint8_t* col, int r, int i) {
  const int j = i / 16, k = (i % 16) / 4, l = i % 4;
  return (col[96 + 64 * j + 4 * r + l] >> (2 * k)) & 3;
}

float row_iq1_s(int64_t nb, const uint8_t* group, int r, const BlockQ8_K* a) {
  float acc = 0.0f;
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* col = group + b * kIq1sColumn;
    int32_t isum = 0;
    for (int g = 0; g < 8; ++g) {
      const int info = (col[32 + 16 * (g / 2) + r] >> (4 * (g % 2))) & 15;
      const int sc = 2 * (info & 7) + 1, shift = info & 8 ? -1 : 1;
      const int32_t s = sub_block_dot<8>(iq1_s_value, col, r, a[b], g);
      isum += sc * (8 * s - (8 - shift) * sub_block_bsum<8>(a[b], g));
    }
    acc = std::fma(f16_at(col, r) * 0.125f * a[b].d, static_cast<float>(isum), acc);
  }
  return acc;
}

// Row r's q + 43 for value i of an IQ2_XXS_R16 column (kUnits 8: a scale per 32 values) or an
// IQ2_XS_R16 column (16: per 16): its code from the lines and high bits, laid out as Q3_K_R16's
// after d and the kUnits scale nibbles of each row.
template <int kUnits>
int iq2_value(const uint8_t* col, int r, int i) {
  static constexpr int kPlus43[6] = {0, 18, 35, 51, 68, 86};
  constexpr int kQ = 32 + 8 * kUnits, kH = kQ + 1024;
  const int j = i / 16, k = (i % 16) / 4, l = i % 4;
  const int low = (col[kQ + 64 * j + 4 * r + l] >> (2 * k)) & 3;
  const int pos = (k & 1) + 4 * (k >> 1) + 2 * (1 - r / 8);  // packed_k.cpp's layout
  const int hbit = (col[kH + 32 * j + 4 * (r % 8) + l] >> pos) & 1;
  return kPlus43[low | hbit << 2];
}

template <int kUnits, size_t kColumn>
float row_iq2(int64_t nb, const uint8_t* group, int r, const BlockQ8_K* a) {
  float acc = 0.0f;
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* col = group + b * kColumn;
    int32_t isum = 0;
    for (int g = 0; g < kUnits; ++g) {
      const int sc = 2 * ((col[32 + 16 * (g / 2) + r] >> (4 * (g % 2))) & 15) + 1;
      isum += sc * (sub_block_dot<kUnits>(iq2_value<kUnits>, col, r, a[b], g) -
                    43 * sub_block_bsum<kUnits>(a[b], g));
    }
    acc = std::fma(f16_at(col, r) * 0.125f * a[b].d, static_cast<float>(isum), acc);
  }
  return acc;
}

using RowFn = float (*)(int64_t nb, const uint8_t* group, int r, const BlockQ8_K* a);

template <RowFn kRow, size_t kColumn>
void gemm(int64_t n, const void* w, size_t w_row_bytes, int64_t rows, const void* a,
          size_t a_row_bytes, int64_t tokens, float* y, int64_t y_stride) {
  MOE_CHECK(rows % kPackRows == 0 && n % kQK_K == 0);
  const int64_t nb = n / kQK_K;
  MOE_CHECK(w_row_bytes == static_cast<size_t>(nb) * (kColumn / kPackRows));
  for (int64_t g = 0; g < rows / kPackRows; ++g) {
    const uint8_t* group = static_cast<const uint8_t*>(w) + g * kPackRows * w_row_bytes;
    for (int64_t t = 0; t < tokens; ++t) {
      const auto* at = reinterpret_cast<const BlockQ8_K*>(static_cast<const uint8_t*>(a) + t * a_row_bytes);
      for (int r = 0; r < kPackRows; ++r) y[t * y_stride + kPackRows * g + r] = kRow(nb, group, r, at);
    }
  }
}

// Each format's row product.
constexpr RowFn kRowQ4K = row_affine<q4_value, q4_scale, q4_min, 8, kQ4Column>;
constexpr RowFn kRowQ5K = row_affine<q5_value, q4_scale, q4_min, 8, kQ5Column>;
constexpr RowFn kRowQ2K = row_affine<q2_value, q2_scale, q2_min, 16, kQ2Column>;
constexpr RowFn kRowQ6K = row_offset<q6_value, q6_scale, 32, kQ6Column>;
constexpr RowFn kRowQ3K = row_offset<q3_value, q3_scale, 4, kQ3Column>;
constexpr RowFn kRowIq1s = row_iq1_s;
constexpr RowFn kRowIq2xxs = row_iq2<8, kIq2xxsColumn>;
constexpr RowFn kRowIq2xs = row_iq2<16, kIq2xsColumn>;
constexpr RowFn kRowIq1m = row_offset<iq1_m_value, q3_scale, 9, kQ3Column, 0.125f>;
constexpr RowFn kRowIq4xs =
    row_offset<level_value<kIq4nlValues>, level_scale, 128, kIq4xsColumn, 1.0f, 8>;
constexpr RowFn kRowIq3xxs =
    row_offset<level_value<kIq3xxsLevels>, level_scale, 128, kIq4xsColumn, 0.25f, 8>;
constexpr RowFn kRowIq3s =
    row_offset<level_value<kIq3sLevels>, level_scale, 128, kIq4xsColumn, 1.0f, 8>;

}  // namespace

#define MOE_PACKED_K_GEMM(name, row, kColumn)                                                     \
  void gemm_##name(int64_t n, const void* w, size_t w_row_bytes, int64_t rows, const void* a,   \
                   size_t a_row_bytes, int64_t tokens, float* y, int64_t y_stride) {           \
    gemm<row, kColumn>(n, w, w_row_bytes, rows, a, a_row_bytes, tokens, y, y_stride);          \
  }
MOE_PACKED_K_GEMM(q4_K_r16, kRowQ4K, kQ4Column)
MOE_PACKED_K_GEMM(q5_K_r16, kRowQ5K, kQ5Column)
MOE_PACKED_K_GEMM(q6_K_r16, kRowQ6K, kQ6Column)
MOE_PACKED_K_GEMM(q2_K_r16, kRowQ2K, kQ2Column)
MOE_PACKED_K_GEMM(q3_K_r16, kRowQ3K, kQ3Column)
MOE_PACKED_K_GEMM(iq1_s_r16, kRowIq1s, kIq1sColumn)
MOE_PACKED_K_GEMM(iq2_xxs_r16, kRowIq2xxs, kIq2xxsColumn)
MOE_PACKED_K_GEMM(iq1_m_r16, kRowIq1m, kQ3Column)
MOE_PACKED_K_GEMM(iq4_xs_r16, kRowIq4xs, kIq4xsColumn)
MOE_PACKED_K_GEMM(iq3_xxs_r16, kRowIq3xxs, kIq4xsColumn)
MOE_PACKED_K_GEMM(iq3_s_r16, kRowIq3s, kIq4xsColumn)
MOE_PACKED_K_GEMM(iq2_xs_r16, kRowIq2xs, kIq2xsColumn)
MOE_PACKED_K_GEMM(iq2_s_r16, kRowIq2xs, kIq2xsColumn)
#undef MOE_PACKED_K_GEMM

}  // namespace moe::ref
