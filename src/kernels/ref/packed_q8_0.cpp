// Reference Q8_0_R16 and Q4_0_R16 x Q8_0_S products and the Q8_0_S quantizer: the
// definitions the ISA versions match bitwise. Also the tail products: Q8_0 and Q4_0
// file-layout rows x Q8_0_S.
#include <algorithm>
#include <cmath>

#include "base/half.h"
#include "kernels/packed.h"
#include "quant/blocks.h"
#include "quant/quantize.h"

namespace moe::ref {

void quantize_q8_0_s(const float* x, void* out, int64_t n) {
  auto* y = static_cast<BlockQ8_0S*>(out);
  for (int64_t i = 0; i < n / kQK; ++i, x += kQK) {
    y[i].d = quantize_block_q8_ref(x, y[i].qs);
    int sum = 0;
    for (int j = 0; j < kQK; ++j) sum += y[i].qs[j];
    y[i].neg_sum128 = -128 * sum;
  }
}

namespace {

// Row r's value j of a block column's quants `q` as the product multiplies it (unsigned):
// Q8_0_R16's q + 128, Q4_0_R16's nibble q + 8.
int q8_0_r16_value(const uint8_t* q, int r, int j) { return q[(j / 4) * kPackRows * 4 + r * 4 + j % 4]; }
int q4_0_r16_value(const uint8_t* q, int r, int j) {
  const uint8_t byte = q[((j % 16) / 4) * kPackRows * 4 + r * 4 + j % 4];
  return j < 16 ? byte & 15 : byte >> 4;
}

// Per block column: isum = sum(value * a) - (128 / kOffsetDivisor) * sum(a), that is
// plus neg_sum128 / kOffsetDivisor (exact), then acc = fma(d_w * d_a, isum, acc), blocks in order.
template <int (*kValue)(const uint8_t*, int, int), size_t kColumnBytes, int kOffsetDivisor>
void gemm_packed(int64_t n, const void* w, size_t w_row_bytes, int64_t rows, const void* a, size_t a_row_bytes,
                 int64_t tokens, float* y, int64_t y_stride) {
  const int64_t nb = n / kQK;
  for (int64_t g = 0; g < rows / kPackRows; ++g) {
    const uint8_t* group = static_cast<const uint8_t*>(w) + g * kPackRows * w_row_bytes;
    for (int64_t t = 0; t < tokens; ++t) {
      const auto* act = reinterpret_cast<const BlockQ8_0S*>(static_cast<const uint8_t*>(a) + t * a_row_bytes);
      for (int r = 0; r < kPackRows; ++r) {
        float acc = 0.0f;
        for (int64_t b = 0; b < nb; ++b) {
          const uint8_t* col = group + b * kColumnBytes;
          const uint8_t* q = col + kPackRows * sizeof(uint16_t);
          int32_t isum = 0;
          for (int j = 0; j < kQK; ++j) isum += kValue(q, r, j) * act[b].qs[j];
          isum += act[b].neg_sum128 / kOffsetDivisor;
          uint16_t d;
          __builtin_memcpy(&d, col + r * sizeof(uint16_t), sizeof(d));
          acc = std::fmaf(f16_to_f32(d) * act[b].d, static_cast<float>(isum), acc);
        }
        y[t * y_stride + g * kPackRows + r] = acc;
      }
    }
  }
}

}  // namespace

void gemm_q8_0_r16(int64_t n, const void* w, size_t w_row_bytes, int64_t rows, const void* a,
                   size_t a_row_bytes, int64_t tokens, float* y, int64_t y_stride) {
  gemm_packed<q8_0_r16_value, kPackRows * sizeof(BlockQ8_0), 1>(n, w, w_row_bytes, rows, a, a_row_bytes, tokens, y,
                                                                 y_stride);
}
void gemm_q4_0_r16(int64_t n, const void* w, size_t w_row_bytes, int64_t rows, const void* a,
                   size_t a_row_bytes, int64_t tokens, float* y, int64_t y_stride) {
  gemm_packed<q4_0_r16_value, kPackRows * sizeof(BlockQ4_0), 16>(n, w, w_row_bytes, rows, a, a_row_bytes, tokens, y,
                                                                  y_stride);
}

namespace {

// sum(q * a) of one block, q the signed values: the packed products' integer without their
// corrections.
int32_t signed_dot(const BlockQ8_0& w, const int8_t* a) {
  int32_t isum = 0;
  for (int j = 0; j < kQK; ++j) isum += w.qs[j] * a[j];
  return isum;
}
int32_t signed_dot(const BlockQ4_0& w, const int8_t* a) {
  int32_t isum = 0;
  for (int j = 0; j < kQK / 2; ++j)
    isum += ((w.qs[j] & 15) - 8) * a[j] + ((w.qs[j] >> 4) - 8) * a[j + kQK / 2];
  return isum;
}

// The packed products' arithmetic on file-layout rows: the same exact integers, the same
// float steps.
template <class Block>
void gemm_file_rows_q8_0_s(int64_t n, const void* w, size_t w_row_bytes, int64_t rows,
                           const void* a, size_t a_row_bytes, int64_t tokens, float* y,
                           int64_t y_stride) {
  const int64_t nb = n / kQK;
  for (int64_t r = 0; r < rows; ++r) {
    const auto* row =
        reinterpret_cast<const Block*>(static_cast<const uint8_t*>(w) + r * w_row_bytes);
    for (int64_t t = 0; t < tokens; ++t) {
      const auto* act = reinterpret_cast<const BlockQ8_0S*>(static_cast<const uint8_t*>(a) + t * a_row_bytes);
      float acc = 0.0f;
      for (int64_t b = 0; b < nb; ++b) {
        const int32_t isum = signed_dot(row[b], act[b].qs);
        acc = std::fmaf(f16_to_f32(row[b].d) * act[b].d, static_cast<float>(isum), acc);
      }
      y[t * y_stride + r] = acc;
    }
  }
}

}  // namespace

void gemm_q8_0_q8_0_s(int64_t n, const void* w, size_t w_row_bytes, int64_t rows, const void* a,
                      size_t a_row_bytes, int64_t tokens, float* y, int64_t y_stride) {
  gemm_file_rows_q8_0_s<BlockQ8_0>(n, w, w_row_bytes, rows, a, a_row_bytes, tokens, y, y_stride);
}
void gemm_q4_0_q8_0_s(int64_t n, const void* w, size_t w_row_bytes, int64_t rows, const void* a,
                      size_t a_row_bytes, int64_t tokens, float* y, int64_t y_stride) {
  gemm_file_rows_q8_0_s<BlockQ4_0>(n, w, w_row_bytes, rows, a, a_row_bytes, tokens, y, y_stride);
}

}  // namespace moe::ref
