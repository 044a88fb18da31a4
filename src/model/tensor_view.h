// A typed view of weights: in the mapped file, or in a buffer made at load time (e.g. a
// legacy attn_kv_b converted to the split layout). The forward pass only sees views.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

#include "gguf/types.h"

namespace moe {

struct TensorView {
  GgmlType type = GgmlType::F32;
  const uint8_t* data = nullptr;
  int64_t ne[3] = {1, 1, 1};  // ggml order: ne[0] values per row, ne[1] rows, ne[2] matrices
  size_t row_stride = 0;      // bytes between rows
  size_t matrix_stride = 0;   // bytes between matrices (experts, heads)
  // A packed type (kernels/packed.h) whose rows are not whole groups: its last tail_rows
  // rows (fewer than a group, 2-D matrices only) are still in the source layout.
  int64_t tail_rows = 0;

  bool empty() const { return data == nullptr; }
  int64_t cols() const { return ne[0]; }
  int64_t rows() const { return ne[1]; }
  int64_t packed_rows() const { return ne[1] - tail_rows; }  // rows before the tail
  const uint8_t* row(int64_t r, int64_t matrix = 0) const {
    return data + static_cast<size_t>(matrix) * matrix_stride + static_cast<size_t>(r) * row_stride;
  }
  // The 2-D view of matrix `m` (an expert, a head).
  TensorView matrix(int64_t m) const {
    TensorView v = *this;
    v.data = data + static_cast<size_t>(m) * matrix_stride;
    v.ne[2] = 1;
    return v;
  }
  // Rows [r0, r0 + n) of matrix 0.
  TensorView row_slice(int64_t r0, int64_t n) const {
    TensorView v = *this;
    v.data = row(r0);
    v.ne[1] = n;
    v.ne[2] = 1;
    v.tail_rows = n - std::clamp<int64_t>(packed_rows() - r0, 0, n);
    return v;
  }
  const float* f32() const { return reinterpret_cast<const float*>(data); }
};

}  // namespace moe
