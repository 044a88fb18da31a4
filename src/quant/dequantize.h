// Reference (scalar) decoders: GGUF row bytes -> floats, with ggml's exact semantics.
#pragma once

#include <cstdint>

#include "gguf/types.h"

namespace moe {

// True for the types dequantize_row handles: F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0,
// Q8_1, IQ4_NL, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, Q8_K, IQ4_XS, IQ2_XXS, IQ2_XS,
// IQ2_S, IQ3_XXS, IQ3_S, IQ1_S, IQ1_M.
bool can_dequantize(GgmlType type);

// Decodes n values (a multiple of the type's block size) from `src` into `dst`.
// CHECKs can_dequantize(type).
void dequantize_row(GgmlType type, const void* src, float* dst, int64_t n);

}  // namespace moe
