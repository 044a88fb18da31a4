// Reference Q4_K_R16 / Q5_K_R16 / Q6_K_R16 / Q2_K_R16 / Q3_K_R16 x Q8_K products: the definition of their arithmetic (layouts
// in kernels/packed_k.cpp). Per output element and super-block b, with exact int32 sums
// (s_j = sum over sub-block j of q * a, q the unsigned stored value):
//   Q4_K: isum = sum_j sc_j * s_j,  msum = sum_j m_j * (bsums[2j] + bsums[2j+1])
//         acc = fma(d * d_a, float(isum), acc);  acc = fma(-(dmin * d_a), float(msum), acc)
//   Q5_K: as Q4_K, q = nibble + 16 * hbit
//   Q6_K: isum = sum_j sc_j * (s_j - 32 * bsums[j])
//         acc = fma(d * d_a, float(isum), acc)
//   Q2_K: isum = sum_j sc_j * s_j,  msum = sum_j m_j * bsums[j]   (16 sub-blocks of 16)
//         acc = fma(d * d_a, float(isum), acc);  acc = fma(-(dmin * d_a), float(msum), acc)
//   Q3_K: isum = sum_j sc_j * (s_j - 4 * bsums[j])   (sc_j signed, q3 = q2 + 4 * hbit)
//         acc = fma(d * d_a, float(isum), acc)
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

// Row r's q5 value i of a Q5_K_R16 column: the Q4_K_R16 nibble and its fifth bit.
int q5_value(const uint8_t* col, int r, int i) {
  const int c = i / 64, hi = (i % 64) / 32, l = i % 32;
  const int z = 8 * c + l / 4;
  const int bit = (col[2304 + 64 * (z / 4) + 4 * r + l % 4] >> (2 * (z % 4) + hi)) & 1;
  return q4_value(col, r, i) | bit << 4;
}

template <int (*kValue)(const uint8_t*, int, int), size_t kColumn>
float row_q4_K(int64_t nb, const uint8_t* group, int r, const BlockQ8_K* a) {
  float acc = 0.0f;
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* col = group + b * kColumn;
    int32_t isum = 0, msum = 0;
    for (int j = 0; j < 8; ++j) {
      int32_t s = 0;
      for (int l = 0; l < 32; ++l) s += kValue(col, r, 32 * j + l) * a[b].qs[32 * j + l];
      isum += q4_scale(col, r, j) * s;
      msum += q4_min(col, r, j) * (a[b].bsums[2 * j] + a[b].bsums[2 * j + 1]);
    }
    acc = std::fma(f16_at(col, r) * a[b].d, static_cast<float>(isum), acc);
    acc = std::fma(-(f16_at(col + 32, r) * a[b].d), static_cast<float>(msum), acc);
  }
  return acc;
}

// Row r's q2 value i of a Q2_K_R16 column.
int q2_value(const uint8_t* col, int r, int i) {
  const int j = i / 16, k = (i % 16) / 4, l = i % 4;
  return (col[320 + 64 * j + 4 * r + l] >> (2 * k)) & 3;
}

float row_q2_K(int64_t nb, const uint8_t* group, int r, const BlockQ8_K* a) {
  float acc = 0.0f;
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* col = group + b * kQ2Column;
    int32_t isum = 0, msum = 0;
    for (int j = 0; j < 16; ++j) {
      int32_t s = 0;
      for (int l = 0; l < 16; ++l) s += q2_value(col, r, 16 * j + l) * a[b].qs[16 * j + l];
      const uint8_t sm = col[64 + 16 * j + r];
      isum += (sm & 15) * s;
      msum += (sm >> 4) * a[b].bsums[j];
    }
    acc = std::fma(f16_at(col, r) * a[b].d, static_cast<float>(isum), acc);
    acc = std::fma(-(f16_at(col + 32, r) * a[b].d), static_cast<float>(msum), acc);
  }
  return acc;
}

// Row r's q3 value i of a Q3_K_R16 column (q2 from the Q2_K_R16 lines, the high bit from h).
int q3_value(const uint8_t* col, int r, int i) {
  const int j = i / 16, k = (i % 16) / 4, l = i % 4;
  const int q2 = (col[224 + 64 * j + 4 * r + l] >> (2 * k)) & 3;
  const int pos = (k & 1) + 4 * (k >> 1) + 2 * (1 - r / 8);  // packed_k.cpp's layout
  const int hbit = (col[1248 + 32 * j + 4 * (r % 8) + l] >> pos) & 1;
  return q2 | hbit << 2;
}

float row_q3_K(int64_t nb, const uint8_t* group, int r, const BlockQ8_K* a) {
  float acc = 0.0f;
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* col = group + b * kQ3Column;
    uint8_t scales[12];  // row r's scale bytes, as in the file
    for (int k = 0; k < 12; ++k) scales[k] = col[32 + 16 * k + r];
    int32_t isum = 0;
    for (int j = 0; j < 16; ++j) {
      int32_t s = 0;
      for (int l = 0; l < 16; ++l) s += q3_value(col, r, 16 * j + l) * a[b].qs[16 * j + l];
      isum += q3_K_scale(j, scales) * (s - 4 * a[b].bsums[j]);
    }
    acc = std::fma(f16_at(col, r) * a[b].d, static_cast<float>(isum), acc);
  }
  return acc;
}

float row_q6_K(int64_t nb, const uint8_t* group, int r, const BlockQ8_K* a) {
  float acc = 0.0f;
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* col = group + b * kQ6Column;
    const auto* sc = reinterpret_cast<const int8_t*>(col + 32);
    int32_t isum = 0;
    for (int j = 0; j < 16; ++j) {
      int32_t s = 0;
      for (int l = 0; l < 16; ++l) s += q6_value(col, r, 16 * j + l) * a[b].qs[16 * j + l];
      isum += sc[16 * j + r] * (s - 32 * a[b].bsums[j]);
    }
    acc = std::fma(f16_at(col, r) * a[b].d, static_cast<float>(isum), acc);
  }
  return acc;
}

template <float (*kRow)(int64_t, const uint8_t*, int, const BlockQ8_K*), size_t kColumn>
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

}  // namespace

void gemm_q4_K_r16(int64_t n, const void* w, size_t w_row_bytes, int64_t rows, const void* a,
                   size_t a_row_bytes, int64_t tokens, float* y, int64_t y_stride) {
  gemm<row_q4_K<q4_value, kQ4Column>, kQ4Column>(n, w, w_row_bytes, rows, a, a_row_bytes, tokens, y, y_stride);
}

void gemm_q5_K_r16(int64_t n, const void* w, size_t w_row_bytes, int64_t rows, const void* a,
                   size_t a_row_bytes, int64_t tokens, float* y, int64_t y_stride) {
  gemm<row_q4_K<q5_value, kQ5Column>, kQ5Column>(n, w, w_row_bytes, rows, a, a_row_bytes, tokens, y, y_stride);
}

void gemm_q6_K_r16(int64_t n, const void* w, size_t w_row_bytes, int64_t rows, const void* a,
                   size_t a_row_bytes, int64_t tokens, float* y, int64_t y_stride) {
  gemm<row_q6_K, kQ6Column>(n, w, w_row_bytes, rows, a, a_row_bytes, tokens, y, y_stride);
}

void gemm_q2_K_r16(int64_t n, const void* w, size_t w_row_bytes, int64_t rows, const void* a,
                   size_t a_row_bytes, int64_t tokens, float* y, int64_t y_stride) {
  gemm<row_q2_K, kQ2Column>(n, w, w_row_bytes, rows, a, a_row_bytes, tokens, y, y_stride);
}

void gemm_q3_K_r16(int64_t n, const void* w, size_t w_row_bytes, int64_t rows, const void* a,
                   size_t a_row_bytes, int64_t tokens, float* y, int64_t y_stride) {
  gemm<row_q3_K, kQ3Column>(n, w, w_row_bytes, rows, a, a_row_bytes, tokens, y, y_stride);
}

}  // namespace moe::ref
