// AVX2 + FMA + F16C kernels (compiled with those flags; called only through the table
// dispatch.cpp builds when the CPU has them). Each gemm is bitwise its vec_dot per element.
#pragma once

#include <cstddef>
#include <cstdint>

namespace moe::avx2 {

#define MOE_AVX2_PRODUCT(name)                                                              \
  float vec_dot_##name(int64_t n, const void* w, const void* a);                           \
  void gemm_##name(int64_t n, const void* w, size_t w_row_bytes, int64_t rows,             \
                   const void* a, size_t a_row_bytes, int64_t tokens, float* y,            \
                   int64_t y_stride);

MOE_AVX2_PRODUCT(f32_f32)
MOE_AVX2_PRODUCT(f16_f32)
MOE_AVX2_PRODUCT(bf16_f32)
MOE_AVX2_PRODUCT(q8_0_q8_0)
MOE_AVX2_PRODUCT(q4_0_q8_0)
MOE_AVX2_PRODUCT(q5_0_q8_0)
MOE_AVX2_PRODUCT(iq4_nl_q8_0)
MOE_AVX2_PRODUCT(q4_1_q8_1)
MOE_AVX2_PRODUCT(q5_1_q8_1)
MOE_AVX2_PRODUCT(q2_K_q8_K)
MOE_AVX2_PRODUCT(q3_K_q8_K)
MOE_AVX2_PRODUCT(q4_K_q8_K)
MOE_AVX2_PRODUCT(q5_K_q8_K)
MOE_AVX2_PRODUCT(q6_K_q8_K)
MOE_AVX2_PRODUCT(iq4_xs_q8_K)
MOE_AVX2_PRODUCT(iq2_xxs_q8_K)
MOE_AVX2_PRODUCT(iq1_s_q8_K)
MOE_AVX2_PRODUCT(iq1_m_q8_K)
MOE_AVX2_PRODUCT(iq2_xs_q8_K)
MOE_AVX2_PRODUCT(iq2_s_q8_K)
MOE_AVX2_PRODUCT(iq3_xxs_q8_K)
MOE_AVX2_PRODUCT(iq3_s_q8_K)

#undef MOE_AVX2_PRODUCT

// Bitwise the scalar versions (base/half.h, kernels/ops.h).
void f16_to_f32_row(const uint16_t* in, float* out, int64_t n);
void q8_0_r16_row_to_f32(const void* group, int64_t nb, int r, float* out);
void axpy(float a, const float* x, float* y, int64_t n);
// The scalar version's chain with each step fused (float.cpp).
void weighted_rows(const float* s, int64_t s_stride, int64_t heads, int64_t n_rows, const float* rows,
                   int64_t row_stride, float* out, int64_t out_stride, int64_t width, bool resume);

// Within a few ulp of the scalar versions (kernels/ops.h): e^x is a polynomial here.
void silu_mul(float* gate, const float* up, int64_t n);
void softmax(float* x, int64_t n, float scale);

// Bitwise the reference quantizers' output (quant/quantize.h).
void quantize_q8_0(const float* x, void* out, int64_t n);
void quantize_q8_1(const float* x, void* out, int64_t n);
void quantize_q8_K(const float* x, void* out, int64_t n);

}  // namespace moe::avx2
