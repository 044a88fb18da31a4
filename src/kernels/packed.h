// Load-time repacked weight layouts. A GGUF file stores each row's blocks contiguously, so
// a one-token product walks several rows at once and spends its time on per-block scale
// conversions and horizontal sums. The packed layouts interleave 16 rows: one 512-bit
// load holds the same 4 bytes of 16 rows, one VNNI instruction advances 16 row sums, the
// 16 scales of a block column convert in one instruction, and each thread streams one
// sequential region (the AVX2 kernels read each 64-byte chunk as two 32-byte halves of 8
// rows). A packed tensor keeps its source's size and row stride; a group of
// 16 rows starts at row 16g of the source.
//
// Q8_0_R16 (per group, per block column b of 32 values, 16 x 34 = 544 bytes):
//   uint16_t d[16]                  f16 scales of rows 0..15
//   uint8_t  q[8][16][4]            chunk c (values 4c..4c+3) of row r, stored as q + 128
// The product takes Q8_0_S activations: dot = d_w * d_a * (sum((q+128) * a) - 128 * sum(a)).
// Tail rows left in the Q8_0 file layout (a matrix not in whole groups) are multiplied by
// gemm_q8_0_q8_0_s with the same float arithmetic per element, so they agree bitwise.
//
// Q4_0_R16 (per group, per block column of 32 values, 16 x 18 = 288 bytes):
//   uint16_t d[16]                  f16 scales of rows 0..15
//   uint8_t  q[4][16][4]            line c, row r: the row's Q4_0 bytes qs[4c..4c+3] as the
//                                   file has them: values 4c..4c+3 (chunk c) in the low
//                                   nibbles, 16+4c..19+4c (chunk c + 4) in the high ones
// The nibbles u = q + 8 in [0, 15] are the unsigned operand of the byte products against
// Q8_0_S activations: dot = d_w * d_a * (sum(u * a) - 8 * sum(a)), -8 * sum(a) = neg_sum128 / 16.
// That is the integer Q8_0_R16 gets from the same values, so the two layouts' products agree
// bitwise; Q4_0_R16 reads half the bytes. Tail rows stay Q4_0 (gemm_q4_0_q8_0_s).
//
// Q4_K_R16, Q5_K_R16, Q6_K_R16, Q2_K_R16, Q3_K_R16 and IQ1_S_R16: see packed_k.cpp.
// IQ1_S_R16 is a conversion (1.4x IQ1_S's bytes): the codebook's ternary values looked up
// once at load and stored as 2-bit values, so the products decode like Q2_K_R16's instead of
// looking up 4 codebook entries per 32 values. IQ2_XXS_R16 likewise (1.55x): 3-bit codes of
// the 6 signed magnitudes, decoded like Q3_K_R16's values and mapped by a byte shuffle.
// IQ1_M_R16 (1.96x) is a Q3_K_R16 column whose 3-bit values are codes of IQ1_M's 6 values
// 8 grid + shift, mapped by a byte shuffle, and whose scales are IQ1_M's.
// IQ4_XS_R16 keeps IQ4_XS's bytes (no growth): its nibbles in Q4_K_R16's line order, mapped to
// IQ4_NL's levels by a byte shuffle in the products. IQ3_XXS_R16 (1.39x) and IQ3_S_R16 (1.24x)
// are the same layout with 4-bit codes of those formats' 16 signed values (their codebooks
// looked up once at load) and their own level tables (below). IQ2_XS_R16 (1.43x) and IQ2_S_R16
// (1.29x) are IQ2_XXS_R16's codes with a scale per 16 values.
//
// Each packed gemm computes every output element with one fixed arithmetic whatever the
// batch (batch invariance); the reference versions (ref/) are the definition, the ISA
// versions must match them bitwise.
#pragma once

#include <cstddef>
#include <cstdint>

namespace moe {

constexpr int kPackRows = 16;

// The levels of the 4-bit codes of IQ3_XXS_R16 and IQ3_S_R16 (IQ4_XS_R16's are IQ4_NL's): the
// formats' 8 magnitudes with either sign, codes 0-7 negative. IQ3_XXS's x = d/4 * sc * level,
// IQ3_S's x = d * sc * level, sc = 2s + 1 stored as IQ4_XS's ls = sc + 32.
inline constexpr int8_t kIq3xxsLevels[16] = {-62, -52, -44, -36, -28, -20, -12, -4,
                                             4,   12,  20,  28,  36,  44,  52,  62};
inline constexpr int8_t kIq3sLevels[16] = {-15, -13, -11, -9, -7, -5, -3, -1,
                                           1,   3,   5,   7,  9,  11, 13, 15};

// Activation block for Q8_0_R16: like Q8_0 but with the unrounded f32 scale and the
// block's sum, so the unsigned-weight product needs no per-row correction.
struct BlockQ8_0S {
  float d;
  // -128 * sum(qs): the products of q + 128 start their int32 sums here, a broadcast load
  // and no subtraction.
  int32_t neg_sum128;
  int8_t qs[32];
};
static_assert(sizeof(BlockQ8_0S) == 40);

struct BlockQ8_0;

namespace packed {
// RepackFn for each layout (plain code, every table uses the same ones).
void repack_q8_0_r16(const void* src, int64_t rows, int64_t n, void* dst);
// One row of a Q8_0_R16 group (row r < kPackRows of the group at `group`, nb blocks): written
// from / read back into plain Q8_0 blocks (the latent q8_0 KV cache stores its rows this way).
void write_q8_0_r16_row(const BlockQ8_0* row, int64_t nb, int r, void* group);
void read_q8_0_r16_row(const void* group, int64_t nb, int r, BlockQ8_0* row);
// read_q8_0_r16_row then d * q for each value, in one pass: nb * 32 floats (the cache's
// decode attention reads its rows this way, many times per token).
void dequantize_q8_0_r16_row(const void* group, int64_t nb, int r, float* out);
// Lossless conversions (Q5_0 / IQ4_NL values are small integers times an f16 scale): the
// packed rows are larger than the source rows (34 bytes per block instead of 22 / 18).
void repack_q5_0_to_q8_0_r16(const void* src, int64_t rows, int64_t n, void* dst);
void repack_iq4_nl_to_q8_0_r16(const void* src, int64_t rows, int64_t n, void* dst);
void repack_q4_0_r16(const void* src, int64_t rows, int64_t n, void* dst);
void repack_q4_K_r16(const void* src, int64_t rows, int64_t n, void* dst);
void repack_q5_K_r16(const void* src, int64_t rows, int64_t n, void* dst);
void repack_q6_K_r16(const void* src, int64_t rows, int64_t n, void* dst);
void repack_q2_K_r16(const void* src, int64_t rows, int64_t n, void* dst);
void repack_q3_K_r16(const void* src, int64_t rows, int64_t n, void* dst);
void repack_iq1_s_r16(const void* src, int64_t rows, int64_t n, void* dst);
void repack_iq2_xxs_r16(const void* src, int64_t rows, int64_t n, void* dst);
void repack_iq1_m_r16(const void* src, int64_t rows, int64_t n, void* dst);
void repack_iq4_xs_r16(const void* src, int64_t rows, int64_t n, void* dst);
void repack_iq3_xxs_r16(const void* src, int64_t rows, int64_t n, void* dst);
void repack_iq3_s_r16(const void* src, int64_t rows, int64_t n, void* dst);
void repack_iq2_xs_r16(const void* src, int64_t rows, int64_t n, void* dst);
void repack_iq2_s_r16(const void* src, int64_t rows, int64_t n, void* dst);
}  // namespace packed

#define MOE_PACKED_GEMM(name)                                                              \
  void gemm_##name(int64_t n, const void* w, size_t w_row_bytes, int64_t rows,            \
                   const void* a, size_t a_row_bytes, int64_t tokens, float* y,           \
                   int64_t y_stride);

namespace ref {
MOE_PACKED_GEMM(q8_0_r16)
MOE_PACKED_GEMM(iq1_s_r16)
MOE_PACKED_GEMM(iq2_xxs_r16)
MOE_PACKED_GEMM(iq1_m_r16)
MOE_PACKED_GEMM(iq4_xs_r16)
MOE_PACKED_GEMM(iq3_xxs_r16)
MOE_PACKED_GEMM(iq3_s_r16)
MOE_PACKED_GEMM(iq2_xs_r16)
MOE_PACKED_GEMM(iq2_s_r16)
MOE_PACKED_GEMM(q4_0_r16)
MOE_PACKED_GEMM(q4_K_r16)
MOE_PACKED_GEMM(q5_K_r16)
MOE_PACKED_GEMM(q6_K_r16)
MOE_PACKED_GEMM(q2_K_r16)
MOE_PACKED_GEMM(q3_K_r16)
void quantize_q8_0_s(const float* x, void* out, int64_t n);
// Q8_0 rows in the file layout x Q8_0_S activations: Q8_0_R16's tail_gemm (any row count).
void gemm_q8_0_q8_0_s(int64_t n, const void* w, size_t w_row_bytes, int64_t rows, const void* a,
                      size_t a_row_bytes, int64_t tokens, float* y, int64_t y_stride);
// Q4_0 file-layout rows x Q8_0_S: Q4_0_R16's tail_gemm.
void gemm_q4_0_q8_0_s(int64_t n, const void* w, size_t w_row_bytes, int64_t rows, const void* a,
                      size_t a_row_bytes, int64_t tokens, float* y, int64_t y_stride);
}  // namespace ref

namespace avx2 {
MOE_PACKED_GEMM(q8_0_r16)
MOE_PACKED_GEMM(iq1_s_r16)
MOE_PACKED_GEMM(iq2_xxs_r16)
MOE_PACKED_GEMM(iq1_m_r16)
MOE_PACKED_GEMM(iq4_xs_r16)
MOE_PACKED_GEMM(iq3_xxs_r16)
MOE_PACKED_GEMM(iq3_s_r16)
MOE_PACKED_GEMM(iq2_xs_r16)
MOE_PACKED_GEMM(iq2_s_r16)
MOE_PACKED_GEMM(q4_0_r16)
MOE_PACKED_GEMM(q4_K_r16)
MOE_PACKED_GEMM(q5_K_r16)
MOE_PACKED_GEMM(q6_K_r16)
MOE_PACKED_GEMM(q2_K_r16)
MOE_PACKED_GEMM(q3_K_r16)
void quantize_q8_0_s(const float* x, void* out, int64_t n);  // bitwise ref::quantize_q8_0_s
}  // namespace avx2

namespace avx512 {
MOE_PACKED_GEMM(q8_0_r16)
MOE_PACKED_GEMM(iq1_s_r16)
MOE_PACKED_GEMM(iq2_xxs_r16)
MOE_PACKED_GEMM(iq1_m_r16)
MOE_PACKED_GEMM(iq4_xs_r16)
MOE_PACKED_GEMM(iq3_xxs_r16)
MOE_PACKED_GEMM(iq3_s_r16)
MOE_PACKED_GEMM(iq2_xs_r16)
MOE_PACKED_GEMM(iq2_s_r16)
MOE_PACKED_GEMM(q4_0_r16)
MOE_PACKED_GEMM(q4_K_r16)
MOE_PACKED_GEMM(q5_K_r16)
MOE_PACKED_GEMM(q6_K_r16)
MOE_PACKED_GEMM(q2_K_r16)
MOE_PACKED_GEMM(q3_K_r16)
}  // namespace avx512

#undef MOE_PACKED_GEMM

}  // namespace moe
