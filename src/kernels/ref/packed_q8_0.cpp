// Reference Q8_0_R16 x Q8_0_S product and the Q8_0_S quantizer: the definitions the ISA
// versions match bitwise.
#include <algorithm>
#include <cmath>

#include "base/half.h"
#include "kernels/packed.h"
#include "quant/blocks.h"

namespace moe::ref {

void quantize_q8_0_s(const float* x, void* out, int64_t n) {
  auto* y = static_cast<BlockQ8_0S*>(out);
  for (int64_t i = 0; i < n / kQK; ++i, x += kQK) {
    float amax = 0.0f;
    for (int j = 0; j < kQK; ++j) amax = std::max(amax, std::fabs(x[j]));
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    int sum = 0;
    for (int j = 0; j < kQK; ++j) {
      y[i].qs[j] = static_cast<int8_t>(std::roundf(x[j] * id));
      sum += y[i].qs[j];
    }
    y[i].d = d;
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

}  // namespace moe::ref
