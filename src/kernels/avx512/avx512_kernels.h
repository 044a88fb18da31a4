// AVX-512 (F/BW/VL/DQ/VNNI) kernels. They reuse the AVX2 block policies and tile driver
// (kernels/avx2/*.h) with AVX512-VNNI integer dots on 256-bit vectors: vpdpbusd for the
// 32-value formats, vpdpwssd for the K formats. F32 products and the attention's weighted
// rows have 512-bit versions (float.cpp: compute-bound in long-context attention); F16/BF16
// weights and the quantizers keep the AVX2 functions (bandwidth-bound, already exact).
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/kernels.h"

namespace moe::avx512 {

#define MOE_AVX512_PRODUCT(name)                                                            \
  float vec_dot_##name(int64_t n, const void* w, const void* a);                           \
  void gemm_##name(int64_t n, const void* w, size_t w_row_bytes, int64_t rows,             \
                   const void* a, size_t a_row_bytes, int64_t tokens, float* y,            \
                   int64_t y_stride);

MOE_AVX512_PRODUCT(f32_f32)
MOE_AVX512_PRODUCT(q8_0_q8_0)
MOE_AVX512_PRODUCT(q4_0_q8_0)
MOE_AVX512_PRODUCT(q5_0_q8_0)
MOE_AVX512_PRODUCT(iq4_nl_q8_0)
MOE_AVX512_PRODUCT(q4_1_q8_1)
MOE_AVX512_PRODUCT(q5_1_q8_1)
MOE_AVX512_PRODUCT(q2_K_q8_K)
MOE_AVX512_PRODUCT(q3_K_q8_K)
MOE_AVX512_PRODUCT(q4_K_q8_K)
MOE_AVX512_PRODUCT(q5_K_q8_K)
MOE_AVX512_PRODUCT(q6_K_q8_K)
MOE_AVX512_PRODUCT(iq4_xs_q8_K)
MOE_AVX512_PRODUCT(iq2_xxs_q8_K)
MOE_AVX512_PRODUCT(iq1_s_q8_K)
MOE_AVX512_PRODUCT(iq1_m_q8_K)
MOE_AVX512_PRODUCT(iq2_xs_q8_K)
MOE_AVX512_PRODUCT(iq2_s_q8_K)
MOE_AVX512_PRODUCT(iq3_xxs_q8_K)
MOE_AVX512_PRODUCT(iq3_s_q8_K)

#undef MOE_AVX512_PRODUCT

void weighted_rows(const float* s, int64_t s_stride, int64_t heads, int64_t n_rows, const float* rows,
                   int64_t row_stride, float* out, int64_t out_stride, int64_t width, bool resume);

// Within a few ulp of the scalar versions (kernels/ops.h): e^x is a polynomial here.
void silu_mul(float* gate, const float* up, int64_t n);
void softmax(float* x, int64_t n, float scale);

// Replaces, in a table that starts as the AVX2 one, the entries listed above.
void override_kernels(KernelTable* t);

}  // namespace moe::avx512
