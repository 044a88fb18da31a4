// Reference Q8_0_R16 x Q8_0_S product and the Q8_0_S quantizer: the definitions the ISA
// versions match bitwise. Also the tail product: Q8_0 file-layout rows x Q8_0_S.
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
    y[i].sum128 = 128 * sum;
  }
}

// Per block column: isum = sum((q+128) * a) - 128 * sum(a) (exact), then
// acc = fma(d_w * d_a, isum, acc), blocks in order.
void gemm_q8_0_r16(int64_t n, const void* w, size_t w_row_bytes, int64_t rows, const void* a,
                   size_t a_row_bytes, int64_t tokens, float* y, int64_t y_stride) {
  const int64_t nb = n / kQK;
  constexpr size_t kColumnBytes = kPackRows * sizeof(BlockQ8_0);
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
          for (int j = 0; j < kQK; ++j) isum += q[(j / 4) * kPackRows * 4 + r * 4 + j % 4] * act[b].qs[j];
          isum -= act[b].sum128;
          uint16_t d;
          __builtin_memcpy(&d, col + r * sizeof(uint16_t), sizeof(d));
          acc = std::fmaf(f16_to_f32(d) * act[b].d, static_cast<float>(isum), acc);
        }
        y[t * y_stride + g * kPackRows + r] = acc;
      }
    }
  }
}

// The packed product's arithmetic on file-layout rows: q is the signed value, so
// isum = sum(q * a) is the same exact integer without the 128 correction.
void gemm_q8_0_q8_0_s(int64_t n, const void* w, size_t w_row_bytes, int64_t rows, const void* a,
                      size_t a_row_bytes, int64_t tokens, float* y, int64_t y_stride) {
  const int64_t nb = n / kQK;
  for (int64_t r = 0; r < rows; ++r) {
    const auto* row = reinterpret_cast<const BlockQ8_0*>(static_cast<const uint8_t*>(w) + r * w_row_bytes);
    for (int64_t t = 0; t < tokens; ++t) {
      const auto* act = reinterpret_cast<const BlockQ8_0S*>(static_cast<const uint8_t*>(a) + t * a_row_bytes);
      float acc = 0.0f;
      for (int64_t b = 0; b < nb; ++b) {
        int32_t isum = 0;
        for (int j = 0; j < kQK; ++j) isum += row[b].qs[j] * act[b].qs[j];
        acc = std::fmaf(f16_to_f32(row[b].d) * act[b].d, static_cast<float>(isum), acc);
      }
      y[t * y_stride + r] = acc;
    }
  }
}

}  // namespace moe::ref
