// Threaded matrix products over a batch of token rows: the single place where the model
// calls the kernels' gemm. Rows of the weight are split across the pool's threads; every
// output element is computed by the kernel's fixed-order dot product (batch invariance).
#pragma once

#include <cstdint>
#include <vector>

#include "base/cache_aligned.h"
#include "base/thread_pool.h"
#include "kernels/kernels.h"
#include "model/tensor_view.h"

namespace moe {

// Activation rows converted to the format a weight type consumes. Reused across calls:
// its buffer only grows, so the decode loop does not allocate.
class QuantizedRows {
 public:
  // Converts `tokens` rows of `n` floats (row stride x_stride) for weights of type `w`.
  void quantize(ThreadPool& pool, const KernelTable& k, GgmlType w, const float* x,
                int64_t x_stride, int64_t tokens, int64_t n);
  // Copies rows `index[i]` of `src` (same format) into this buffer.
  void gather(const QuantizedRows& src, const int32_t* index, int64_t count);

  const uint8_t* row(int64_t t) const { return data() + static_cast<size_t>(t) * row_bytes_; }
  const uint8_t* data() const;
  size_t row_bytes() const { return row_bytes_; }
  int64_t tokens() const { return tokens_; }
  GgmlType format() const { return format_; }

 private:
  CacheAlignedVector<uint8_t> buffer_;
  GgmlType format_ = GgmlType::F32;
  size_t row_bytes_ = 0;
  int64_t tokens_ = 0;
};

// y[t * y_stride + r] = dot(w row r, a row t) for all rows r of w and tokens t of `a`,
// `a` quantized for w's type.
void matmul(ThreadPool& pool, const KernelTable& k, const TensorView& w, const QuantizedRows& a,
            float* y, int64_t y_stride);

// Convenience: quantizes into `scratch`, then multiplies.
void matmul_f32(ThreadPool& pool, const KernelTable& k, const TensorView& w, const float* x,
                int64_t x_stride, int64_t tokens, float* y, int64_t y_stride,
                QuantizedRows& scratch);

}  // namespace moe
