// AVX-512 VNNI instantiations of the AVX2 block policies (compiled with AVX-512 flags; the
// policies and driver have internal linkage, so these copies never replace the AVX2 ones).
#include "kernels/avx2/iq_quants.h"
#include "kernels/avx2/k_quants.h"
#include "kernels/avx2/legacy.h"
#include "kernels/avx512/avx512_kernels.h"

namespace moe::avx512 {

#define MOE_AVX512_TILED(name, P, R, T)                                                        \
  float vec_dot_##name(int64_t n, const void* w, const void* a) {                             \
    return avx2::vec_dot_tiled<P>(n, w, a);                                                   \
  }                                                                                           \
  void gemm_##name(int64_t n, const void* w, size_t wrb, int64_t rows, const void* a,         \
                   size_t arb, int64_t tokens, float* y, int64_t ys) {                        \
    avx2::gemm_tiled<P, R, T>(n, w, wrb, rows, a, arb, tokens, y, ys);                        \
  }

MOE_AVX512_TILED(q8_0_q8_0, avx2::Q8_0P<true>, 2, 4)
MOE_AVX512_TILED(q4_0_q8_0, avx2::Q4_0P<true>, 2, 4)
MOE_AVX512_TILED(q5_0_q8_0, avx2::Q5_0P<true>, 2, 4)
MOE_AVX512_TILED(iq4_nl_q8_0, avx2::IQ4_NLP<true>, 2, 4)
MOE_AVX512_TILED(q4_1_q8_1, avx2::Q4_1P<true>, 2, 4)
MOE_AVX512_TILED(q5_1_q8_1, avx2::Q5_1P<true>, 2, 4)
MOE_AVX512_TILED(q2_K_q8_K, avx2::Q2KP<true>, 1, 4)
MOE_AVX512_TILED(q3_K_q8_K, avx2::Q3KP<true>, 1, 4)
MOE_AVX512_TILED(q4_K_q8_K, avx2::Q4KP<true>, 1, 4)
MOE_AVX512_TILED(q5_K_q8_K, avx2::Q5KP<true>, 1, 4)
MOE_AVX512_TILED(q6_K_q8_K, avx2::Q6KP<true>, 1, 4)
MOE_AVX512_TILED(iq4_xs_q8_K, avx2::Iq4xsP<true>, 1, 4)

#undef MOE_AVX512_TILED

#define MOE_AVX512_IQ(name, P)                                                                 \
  float vec_dot_##name(int64_t n, const void* w, const void* a) {                             \
    return avx2::vec_dot_tiled<P>(n, w, a);                                                   \
  }                                                                                           \
  void gemm_##name(int64_t n, const void* w, size_t wrb, int64_t rows, const void* a,         \
                   size_t arb, int64_t tokens, float* y, int64_t ys) {                        \
    avx2::gemm_expanded_rows<P>(n, w, wrb, rows, a, arb, tokens, y, ys);                      \
  }

MOE_AVX512_IQ(iq2_xxs_q8_K, avx2::Iq2xxsP<true>)
MOE_AVX512_IQ(iq1_s_q8_K, avx2::Iq1sP<true>)
MOE_AVX512_IQ(iq1_m_q8_K, avx2::Iq1mP<true>)
MOE_AVX512_IQ(iq2_xs_q8_K, avx2::Iq2xsP<true>)
MOE_AVX512_IQ(iq2_s_q8_K, avx2::Iq2sP<true>)
MOE_AVX512_IQ(iq3_xxs_q8_K, avx2::Iq3xxsP<true>)
MOE_AVX512_IQ(iq3_s_q8_K, avx2::Iq3sP<true>)

#undef MOE_AVX512_IQ

}  // namespace moe::avx512
