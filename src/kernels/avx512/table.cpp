// Plain code (no ISA intrinsics) compiled with AVX-512 flags: only ever called after
// isa_supported(kAvx512) said yes.
#include "kernels/avx512/avx512_kernels.h"

namespace moe::avx512 {

void override_kernels(KernelTable* t) {
  const auto set = [t](GgmlType type, VecDotFn vec_dot, GemmFn gemm) {
    t->weights[static_cast<uint32_t>(type)] = {vec_dot, gemm};
  };
  set(GgmlType::F32, vec_dot_f32_f32, gemm_f32_f32);
  t->weighted_rows = weighted_rows;
  t->silu_mul = silu_mul;
  t->softmax = softmax;
  set(GgmlType::Q8_0, vec_dot_q8_0_q8_0, gemm_q8_0_q8_0);
  set(GgmlType::Q4_0, vec_dot_q4_0_q8_0, gemm_q4_0_q8_0);
  set(GgmlType::Q5_0, vec_dot_q5_0_q8_0, gemm_q5_0_q8_0);
  set(GgmlType::IQ4_NL, vec_dot_iq4_nl_q8_0, gemm_iq4_nl_q8_0);
  set(GgmlType::Q4_1, vec_dot_q4_1_q8_1, gemm_q4_1_q8_1);
  set(GgmlType::Q5_1, vec_dot_q5_1_q8_1, gemm_q5_1_q8_1);
  set(GgmlType::Q2_K, vec_dot_q2_K_q8_K, gemm_q2_K_q8_K);
  set(GgmlType::Q3_K, vec_dot_q3_K_q8_K, gemm_q3_K_q8_K);
  set(GgmlType::Q4_K, vec_dot_q4_K_q8_K, gemm_q4_K_q8_K);
  set(GgmlType::Q5_K, vec_dot_q5_K_q8_K, gemm_q5_K_q8_K);
  set(GgmlType::Q6_K, vec_dot_q6_K_q8_K, gemm_q6_K_q8_K);
  set(GgmlType::IQ4_XS, vec_dot_iq4_xs_q8_K, gemm_iq4_xs_q8_K);
  set(GgmlType::IQ2_XXS, vec_dot_iq2_xxs_q8_K, gemm_iq2_xxs_q8_K);
  set(GgmlType::IQ1_S, vec_dot_iq1_s_q8_K, gemm_iq1_s_q8_K);
  set(GgmlType::IQ1_M, vec_dot_iq1_m_q8_K, gemm_iq1_m_q8_K);
  set(GgmlType::IQ2_XS, vec_dot_iq2_xs_q8_K, gemm_iq2_xs_q8_K);
  set(GgmlType::IQ2_S, vec_dot_iq2_s_q8_K, gemm_iq2_s_q8_K);
  set(GgmlType::IQ3_XXS, vec_dot_iq3_xxs_q8_K, gemm_iq3_xxs_q8_K);
  set(GgmlType::IQ3_S, vec_dot_iq3_s_q8_K, gemm_iq3_s_q8_K);
}

}  // namespace moe::avx512
