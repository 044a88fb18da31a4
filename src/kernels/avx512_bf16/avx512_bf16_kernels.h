// AVX512-BF16 kernels (vdpbf16ps), on top of the AVX-512 set: only ever called when the
// CPU reports avx512_bf16 (dispatch.cpp), so the AVX-512 table works without them.
#pragma once

#include <cstdint>

#include "kernels/kernels.h"

namespace moe::avx512_bf16 {

// See kernels.h Bf16ScoresFn / Bf16WeightedRowsFn.
void scores(int64_t n, const uint16_t* rows, int64_t row_stride, int64_t n_rows, const uint16_t* q, int64_t q_stride,
            int64_t heads, float* y, int64_t y_stride);
void weighted_rows(const uint16_t* s, int64_t s_stride, int64_t heads, int64_t n_rows, const uint16_t* rows,
                   int64_t row_stride, float* out, int64_t out_stride, int64_t width, bool resume);

}  // namespace moe::avx512_bf16
