// Element-wise and row operations of the forward pass (portable C++; the compiler
// vectorizes them, and they are a small share of the time). Each works on one row, with a
// fixed reduction order, so results never depend on the batch.
#pragma once

#include <cstdint>

namespace moe {

// y = x / sqrt(mean(x^2) + eps) * w   (y may alias x)
void rms_norm(const float* x, const float* w, float eps, int64_t n, float* y);
// x = silu(gate) * up, element-wise, in place into gate.
void silu_mul(float* gate, const float* up, int64_t n);
// In-place softmax of x * scale over n values (each x * scale rounded to float first).
void softmax(float* x, int64_t n, float scale = 1.0f);
// In-place rotation of interleaved pairs (x[2i], x[2i+1]) by angle i: cos_sin holds
// (cos, sin) pairs, n/2 of them.
void rope_interleaved(float* x, const float* cos_sin, int64_t n);
// y += a * x
void axpy(float a, const float* x, float* y, int64_t n);
// out_h[j] = sum_p s_h[p] * rows[p][j] (see kernels.h WeightedRowsFn): the reference.
void weighted_rows(const float* s, int64_t s_stride, int64_t heads, int64_t n_rows, const float* rows,
                   int64_t row_stride, float* out, int64_t out_stride, int64_t width, bool resume);
// Dot product of two f32 rows, accumulated in double for accuracy (attention scores).
float dot_f32(const float* a, const float* b, int64_t n);
// log-softmax of n logits into out (double accumulation).
void log_softmax(const float* logits, int64_t n, float* out);

}  // namespace moe
