// AVX2 products of the K formats and the IQ codebook formats (policies in k_quants.h, iq_quants.h).
#include "kernels/avx2/avx2_kernels.h"
#include "kernels/avx2/iq_quants.h"
#include "kernels/avx2/k_quants.h"

namespace moe::avx2 {

#define MOE_AVX2_K(name, P, R, T)                                                              \
  float vec_dot_##name(int64_t n, const void* w, const void* a) {                             \
    return vec_dot_tiled<P>(n, w, a);                                                         \
  }                                                                                           \
  void gemm_##name(int64_t n, const void* w, size_t wrb, int64_t rows, const void* a,         \
                   size_t arb, int64_t tokens, float* y, int64_t ys) {                        \
    gemm_tiled<P, R, T>(n, w, wrb, rows, a, arb, tokens, y, ys);                              \
  }

MOE_AVX2_K(q2_K_q8_K, Q2KP<false>, 1, 4)
MOE_AVX2_K(q3_K_q8_K, Q3KP<false>, 1, 4)
MOE_AVX2_K(q4_K_q8_K, Q4KP<false>, 1, 4)
MOE_AVX2_K(q5_K_q8_K, Q5KP<false>, 1, 4)
MOE_AVX2_K(q6_K_q8_K, Q6KP<false>, 1, 4)
MOE_AVX2_K(iq4_xs_q8_K, Iq4xsP<false>, 1, 4)

#undef MOE_AVX2_K

#define MOE_AVX2_IQ(name, P)                                                                   \
  float vec_dot_##name(int64_t n, const void* w, const void* a) {                             \
    return vec_dot_tiled<P>(n, w, a);                                                         \
  }                                                                                           \
  void gemm_##name(int64_t n, const void* w, size_t wrb, int64_t rows, const void* a,         \
                   size_t arb, int64_t tokens, float* y, int64_t ys) {                        \
    gemm_expanded_rows<P>(n, w, wrb, rows, a, arb, tokens, y, ys);                            \
  }

MOE_AVX2_IQ(iq2_xxs_q8_K, Iq2xxsP<false>)
MOE_AVX2_IQ(iq1_s_q8_K, Iq1sP<false>)
MOE_AVX2_IQ(iq1_m_q8_K, Iq1mP<false>)
MOE_AVX2_IQ(iq2_xs_q8_K, Iq2xsP<false>)
MOE_AVX2_IQ(iq2_s_q8_K, Iq2sP<false>)
MOE_AVX2_IQ(iq3_xxs_q8_K, Iq3xxsP<false>)
MOE_AVX2_IQ(iq3_s_q8_K, Iq3sP<false>)

#undef MOE_AVX2_IQ

}  // namespace moe::avx2
