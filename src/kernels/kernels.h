// The only interface to the compute kernels. Kernels are single-threaded functions over
// row ranges; callers (the model, via the thread pool) split the work. They know nothing of
// the model.
//
// A weight matrix is `rows` rows of `n` values in its GGUF type. Its products consume the
// activation in the format `activation_type(weight)` says: f32 for float weights, Q8_0
// blocks for Q8_0/Q4_0/Q5_0, Q8_1 for Q4_1/Q5_1, Q8_K super-blocks for the K and IQ
// formats.
// Activations are quantized once per layer input with `quantize_activation`.
//
// Batch invariance: `gemm` computes every output element with exactly the arithmetic (and
// reduction order) of `vec_dot`, so a token's result never depends on its batch-mates.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "gguf/types.h"

namespace moe {

enum class Isa { kScalar, kAvx2, kAvx512 };
std::string_view isa_name(Isa isa);

// Dot product of one weight row (n values, type W) with one activation row (format A(W)).
using VecDotFn = float (*)(int64_t n, const void* w_row, const void* a_row);
// y[t * y_stride + r] = vec_dot(w row r, a row t) for r in [0, rows), t in [0, tokens).
using GemmFn = void (*)(int64_t n, const void* w, size_t w_row_bytes, int64_t rows,
                        const void* a, size_t a_row_bytes, int64_t tokens, float* y,
                        int64_t y_stride);
// Converts n floats to the activation format (n a multiple of the format's block).
using QuantizeFn = void (*)(const float* x, void* out, int64_t n);
// Row helpers of attention over the latent cache (exactly the scalar arithmetic).
using F16RowFn = void (*)(const uint16_t* in, float* out, int64_t n);  // IEEE half -> f32
// Row r of a Q8_0_R16 group (nb blocks) as nb * 32 floats d * q: packed::dequantize_q8_0_r16_row.
using Q8_0R16RowFn = void (*)(const void* group, int64_t nb, int r, float* out);
using AxpyFn = void (*)(float a, const float* x, float* y, int64_t n);  // y += a * x
// out_h[j] = (resume ? out_h[j] : 0) + sum over p in order of s_h[p] * rows[p * row_stride + j],
// for `heads` weight vectors s_h = s + h * s_stride and outputs out_h = out + h * out_stride;
// each step a multiply then an add in the scalar table (bitwise a chain of axpy calls), one
// fused multiply-add in the AVX2 and AVX-512 tables. A longer sum split into calls that
// resume gives the same bits as one call.
using WeightedRowsFn = void (*)(const float* s, int64_t s_stride, int64_t heads, int64_t n_rows, const float* rows,
                                int64_t row_stride, float* out, int64_t out_stride, int64_t width, bool resume);
// Element-wise activations (within a few ulp of kernels/ops.h's; each value depends only on
// its own inputs, and a softmax on its row, so results never depend on the batch).
using SiluMulFn = void (*)(float* gate, const float* up, int64_t n);  // gate = silu(gate) * up
using SoftmaxFn = void (*)(float* x, int64_t n, float scale);         // x = softmax(x * scale)
// Attention over a bf16 latent cache (AVX512-BF16 only; the other tables leave these null
// and a bf16 cache is read back to f32 for the f32 entries). Products of two bf16 values
// are exact; sums are f32, each output one fixed chain whatever the batch.
// y[h * y_stride + p] = sum over j < n of q_h[j] * rows_p[j]  (q_h = q + h * q_stride,
// rows_p = rows + p * row_stride), for p < n_rows, h < heads.
using Bf16ScoresFn = void (*)(int64_t n, const uint16_t* rows, int64_t row_stride, int64_t n_rows,
                              const uint16_t* q, int64_t q_stride, int64_t heads, float* y, int64_t y_stride);
// out_h[j] = (resume ? out_h[j] : 0) + sum over p < n_rows of s_h[p] * rows_p[j], j < width,
// rows taken in pairs (p, p + 1) from p = 0: so a longer sum split into calls gives the same
// bits as one call when every call but the last has an even n_rows.
using Bf16WeightedRowsFn = void (*)(const uint16_t* s, int64_t s_stride, int64_t heads, int64_t n_rows,
                                    const uint16_t* rows, int64_t row_stride, float* out, int64_t out_stride,
                                    int64_t width, bool resume);

struct WeightKernels {
  VecDotFn vec_dot = nullptr;  // nullptr: no per-row product (none yet, or a packed layout)
  GemmFn gemm = nullptr;       // nullptr: this weight type has no kernel yet
  // Packed layouts only: the product of rows still in the SOURCE layout (the tail rows of a
  // matrix packed in whole groups only) with this type's activation, any row count.
  GemmFn tail_gemm = nullptr;
};

// Rewrites `rows` rows of n values (a multiple of the group) from a GGUF layout into a
// packed layout (kernels/packed.h): the same bytes, or for a conversion (Q5_0 -> Q8_0_R16)
// row_bytes(packed, n) per row.
using RepackFn = void (*)(const void* src, int64_t rows, int64_t n, void* dst);

// A load-time repacking a table asks for: weights of the source type (n a multiple of the
// block) are rewritten into `packed` once, in whole groups of group_rows rows, then
// multiplied by that type's gemm. Packed gemms take `w` at a group's first row and a
// multiple of group_rows rows; their w_row_bytes is the source row size. A matrix whose
// row count is not a multiple of group_rows may keep its last rows (fewer than a group) in
// the source layout at their usual offsets; those go through the packed type's tail_gemm.
struct PackedLayout {
  GgmlType packed = GgmlType::F32;  // F32: this type is used as the file stores it
  int group_rows = 0;
  RepackFn repack = nullptr;
};

struct KernelTable {
  Isa isa = Isa::kScalar;
  WeightKernels weights[kMaxTypeId] = {};  // indexed by type id (incl. packed layouts)
  PackedLayout packing[kMaxTypeId] = {};   // indexed by source type id
  QuantizeFn quantize_q8_0 = nullptr;
  QuantizeFn quantize_q8_1 = nullptr;
  QuantizeFn quantize_q8_K = nullptr;
  QuantizeFn quantize_q8_0_s = nullptr;
  F16RowFn f16_to_f32 = nullptr;
  Q8_0R16RowFn q8_0_r16_to_f32 = nullptr;  // the q8_0 KV cache's rows
  AxpyFn axpy = nullptr;
  WeightedRowsFn weighted_rows = nullptr;
  SiluMulFn silu_mul = nullptr;
  SoftmaxFn softmax = nullptr;
  Bf16ScoresFn bf16_scores = nullptr;              // null: no bf16 attention kernels
  Bf16WeightedRowsFn bf16_weighted_rows = nullptr;

  const WeightKernels& for_type(GgmlType t) const { return weights[static_cast<uint32_t>(t)]; }
};

// Activation format consumed by products with weights of type `w`.
GgmlType activation_type(GgmlType w);
// Bytes of one activation row of n values for weights of type `w`.
size_t activation_row_bytes(GgmlType w, int64_t n);
// Converts one row of n floats into the activation format for weights of type `w`.
void quantize_activation(const KernelTable& k, GgmlType w, const float* x, void* out, int64_t n);
// True when the weight type has a product kernel (load refuses other types clearly).
bool has_kernel(const KernelTable& k, GgmlType w);
// The layout the SIMD tables (AVX2 and AVX-512 alike) repack weights of type `source` into at
// load, whatever this CPU supports (F32: they use it as stored). The planner sizes converted
// models with it.
GgmlType simd_packed_type(GgmlType source);
// Row granularity a gemm over weights of type `w` must be split at: a packed layout's
// group, else 4 (whole tiles for the tiled kernels; any split gives the same results).
int gemm_row_grain(GgmlType w);

// The tables compiled in; `isa_supported` says whether this CPU can run one.
bool isa_supported(Isa isa);
const KernelTable& kernel_table(Isa isa);  // CHECKs isa_supported
// The best table this CPU supports (chosen once; logged by the caller).
const KernelTable& best_kernel_table();

}  // namespace moe
