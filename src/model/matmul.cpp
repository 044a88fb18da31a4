#include "model/matmul.h"

#include <algorithm>
#include <cstring>

#include "base/check.h"

namespace moe {
namespace {
// Pieces of a matrix's rows per thread, taken dynamically (ThreadPool::parallel_for_dynamic).
constexpr int kMatmulPiecesPerThread = 4;
}  // namespace

const uint8_t* QuantizedRows::data() const { return buffer_.data(); }

void QuantizedRows::quantize(ThreadPool& pool, const KernelTable& k, GgmlType w, const float* x,
                             int64_t x_stride, int64_t tokens, int64_t n) {
  format_ = activation_type(w);
  row_bytes_ = activation_row_bytes(w, n);
  tokens_ = tokens;
  const size_t need = row_bytes_ * static_cast<size_t>(tokens);
  if (buffer_.size() < need) buffer_.resize(need);
  uint8_t* out = buffer_.data();
  const size_t rb = row_bytes_;
  if (tokens == 1) {
    quantize_activation(k, w, x, out, n);
    return;
  }
  pool.parallel_for(tokens, [&](int64_t t0, int64_t t1, int) {
    for (int64_t t = t0; t < t1; ++t) {
      quantize_activation(k, w, x + t * x_stride, out + static_cast<size_t>(t) * rb, n);
    }
  });
}

void QuantizedRows::gather(const QuantizedRows& src, const int32_t* index, int64_t count) {
  format_ = src.format_;
  row_bytes_ = src.row_bytes_;
  tokens_ = count;
  const size_t need = row_bytes_ * static_cast<size_t>(count);
  if (buffer_.size() < need) buffer_.resize(need);
  for (int64_t i = 0; i < count; ++i) {
    std::memcpy(buffer_.data() + static_cast<size_t>(i) * row_bytes_, src.row(index[i]), row_bytes_);
  }
}

void matmul(ThreadPool& pool, const KernelTable& k, const TensorView& w, const QuantizedRows& a,
            float* y, int64_t y_stride) {
  const WeightKernels& wk = k.for_type(w.type);
  MOE_CHECK(wk.gemm != nullptr);
  MOE_CHECK(a.format() == activation_type(w.type));
  const int64_t tokens = a.tokens();
  // Split rows in chunks the kernel accepts: whole tiles, whole packed groups (the result
  // does not depend on the split: each element is one fixed-order dot product). The tail
  // rows of a matrix packed in whole groups only (tensor_view.h) are one more chunk,
  // multiplied in the source layout by tail_gemm.
  const int64_t grain = gemm_row_grain(w.type);
  const int64_t full = w.packed_rows();
  MOE_CHECK(w.tail_rows == 0 || (wk.tail_gemm != nullptr && full % grain == 0 && w.tail_rows < grain));
  const int64_t full_chunks = (full + grain - 1) / grain;
  const int64_t chunks = full_chunks + (w.tail_rows > 0 ? 1 : 0);
  pool.parallel_for_dynamic(chunks, kMatmulPiecesPerThread, [&](int64_t c0, int64_t c1, int) {
    const int64_t r0 = c0 * grain;
    const int64_t r1 = std::min(full, std::min(c1, full_chunks) * grain);
    if (r0 < r1) {
      wk.gemm(w.cols(), w.row(r0), w.row_stride, r1 - r0, a.data(), a.row_bytes(), tokens, y + r0, y_stride);
    }
    if (c1 > full_chunks) {
      wk.tail_gemm(w.cols(), w.row(full), w.row_stride, w.tail_rows, a.data(), a.row_bytes(), tokens, y + full,
                   y_stride);
    }
  });
}

void matmul_f32(ThreadPool& pool, const KernelTable& k, const TensorView& w, const float* x,
                int64_t x_stride, int64_t tokens, float* y, int64_t y_stride,
                QuantizedRows& scratch) {
  scratch.quantize(pool, k, w.type, x, x_stride, tokens, w.cols());
  matmul(pool, k, w, scratch, y, y_stride);
}

}  // namespace moe
