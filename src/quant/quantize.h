// Reference (scalar) quantizers with ggml's semantics.
//
// Activation formats (what the kernels consume): Q8_0, Q8_1, Q8_K. The ISA-specific
// quantizers in kernels/ must produce bitwise the same bytes as these.
// Weight formats (synthetic model files, tests): Q8_0, Q4_0, Q5_0 (ggml's reference
// rounding), Q4_K, Q6_K (plain round-to-nearest into ggml's layout; not ggml's iterative
// scale search, so a bit less accurate than llama-quantize but bit-compatible).
#pragma once

#include <cstdint>

#include "gguf/types.h"

namespace moe {

// One block of 32 for the 8-bit activation formats: d = amax / 127 (returned, f32),
// qs = roundf(x * (1 / d)) (half away from zero; 0 where d is 0).
float quantize_block_q8_ref(const float* x, int8_t* qs);
// Q8_0: per 32 values d = amax / 127, q = roundf(x * (1 / d)) (half away from zero),
// d stored as f16 (q computed from the f32 d, as ggml does).
void quantize_row_q8_0_ref(const float* x, void* out, int64_t n);
// Q8_1: as Q8_0, plus s = f16(d * sum(q)).
void quantize_row_q8_1_ref(const float* x, void* out, int64_t n);
// Q8_K: per 256 values, max = the value of largest magnitude (first on ties),
// iscale = -127 / max, q = min(127, nearest_even(iscale * x)), d = 1 / iscale (f32),
// bsums[j] = sum of q[16j .. 16j+15]. An all-zero block gets d = 0, q = 0, bsums = 0.
void quantize_row_q8_K_ref(const float* x, void* out, int64_t n);

void quantize_row_q4_0_ref(const float* x, void* out, int64_t n);
void quantize_row_q5_0_ref(const float* x, void* out, int64_t n);
void quantize_row_q5_1_ref(const float* x, void* out, int64_t n);
void quantize_row_iq4_nl_ref(const float* x, void* out, int64_t n);
void quantize_row_iq4_xs_ref(const float* x, void* out, int64_t n);
void quantize_row_q4_K_ref(const float* x, void* out, int64_t n);
void quantize_row_q6_K_ref(const float* x, void* out, int64_t n);
void quantize_row_q2_K_ref(const float* x, void* out, int64_t n);
void quantize_row_q3_K_ref(const float* x, void* out, int64_t n);
void quantize_row_q5_K_ref(const float* x, void* out, int64_t n);
// The codebook formats (quantize_iq.cpp): least-squares group scales and nearest entries.
void quantize_row_iq2_xxs_ref(const float* x, void* out, int64_t n);
void quantize_row_iq1_s_ref(const float* x, void* out, int64_t n);
void quantize_row_iq1_m_ref(const float* x, void* out, int64_t n);
void quantize_row_iq2_xs_ref(const float* x, void* out, int64_t n);
void quantize_row_iq2_s_ref(const float* x, void* out, int64_t n);
void quantize_row_iq3_xxs_ref(const float* x, void* out, int64_t n);
void quantize_row_iq3_s_ref(const float* x, void* out, int64_t n);

// Types quantize_row handles: Q8_0, Q8_1, Q8_K, Q4_0, Q5_0, Q5_1, IQ4_NL, Q4_K, Q5_K, Q6_K,
// Q2_K, Q3_K, IQ4_XS, IQ2_XXS, IQ2_XS, IQ2_S, IQ1_S, IQ1_M, IQ3_XXS, IQ3_S (plus F32, F16, BF16 by
// conversion).
bool can_quantize(GgmlType type);
// n a multiple of the type's block size; CHECKs can_quantize(type).
void quantize_row(GgmlType type, const float* x, void* out, int64_t n);

}  // namespace moe
