// AVX2 products of the 32-value formats (policies in legacy.h).
#include "kernels/avx2/avx2_kernels.h"
#include "kernels/avx2/legacy.h"

namespace moe::avx2 {

float vec_dot_q8_0_q8_0(int64_t n, const void* w, const void* a) { return vec_dot_tiled<Q8_0P<false>>(n, w, a); }
float vec_dot_q4_0_q8_0(int64_t n, const void* w, const void* a) { return vec_dot_tiled<Q4_0P<false>>(n, w, a); }
float vec_dot_q5_0_q8_0(int64_t n, const void* w, const void* a) { return vec_dot_tiled<Q5_0P<false>>(n, w, a); }
float vec_dot_iq4_nl_q8_0(int64_t n, const void* w, const void* a) { return vec_dot_tiled<IQ4_NLP<false>>(n, w, a); }
float vec_dot_q4_1_q8_1(int64_t n, const void* w, const void* a) { return vec_dot_tiled<Q4_1P<false>>(n, w, a); }
float vec_dot_q5_1_q8_1(int64_t n, const void* w, const void* a) { return vec_dot_tiled<Q5_1P<false>>(n, w, a); }

void gemm_q8_0_q8_0(int64_t n, const void* w, size_t wrb, int64_t rows, const void* a, size_t arb,
                    int64_t tokens, float* y, int64_t ys) {
  gemm_tiled<Q8_0P<false>, 2, 4>(n, w, wrb, rows, a, arb, tokens, y, ys);
}
void gemm_q4_0_q8_0(int64_t n, const void* w, size_t wrb, int64_t rows, const void* a, size_t arb,
                    int64_t tokens, float* y, int64_t ys) {
  gemm_tiled<Q4_0P<false>, 2, 4>(n, w, wrb, rows, a, arb, tokens, y, ys);
}
void gemm_q5_0_q8_0(int64_t n, const void* w, size_t wrb, int64_t rows, const void* a, size_t arb,
                    int64_t tokens, float* y, int64_t ys) {
  gemm_tiled<Q5_0P<false>, 2, 4>(n, w, wrb, rows, a, arb, tokens, y, ys);
}
void gemm_iq4_nl_q8_0(int64_t n, const void* w, size_t wrb, int64_t rows, const void* a, size_t arb,
                      int64_t tokens, float* y, int64_t ys) {
  gemm_tiled<IQ4_NLP<false>, 2, 4>(n, w, wrb, rows, a, arb, tokens, y, ys);
}
void gemm_q4_1_q8_1(int64_t n, const void* w, size_t wrb, int64_t rows, const void* a, size_t arb,
                    int64_t tokens, float* y, int64_t ys) {
  gemm_tiled<Q4_1P<false>, 2, 4>(n, w, wrb, rows, a, arb, tokens, y, ys);
}
void gemm_q5_1_q8_1(int64_t n, const void* w, size_t wrb, int64_t rows, const void* a, size_t arb,
                    int64_t tokens, float* y, int64_t ys) {
  gemm_tiled<Q5_1P<false>, 2, 4>(n, w, wrb, rows, a, arb, tokens, y, ys);
}

}  // namespace moe::avx2
