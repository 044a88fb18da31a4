// A gemm made of calls to one vec_dot: trivially batch invariant (used by the scalar
// reference table).
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/kernels.h"

namespace moe {

template <VecDotFn kVecDot>
void gemm_by_vec_dot(int64_t n, const void* w, size_t w_row_bytes, int64_t rows, const void* a,
                     size_t a_row_bytes, int64_t tokens, float* y, int64_t y_stride) {
  const auto* wb = static_cast<const uint8_t*>(w);
  const auto* ab = static_cast<const uint8_t*>(a);
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t t = 0; t < tokens; ++t) {
      y[t * y_stride + r] = kVecDot(n, wb + r * w_row_bytes, ab + t * a_row_bytes);
    }
  }
}

}  // namespace moe
