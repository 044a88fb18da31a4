// Builds the kernel tables (scalar reference, AVX2, AVX-512) and picks the best one the CPU
// supports. Tables are function-local constants built on first use; nothing mutable.
#include <cstring>

#include "base/check.h"
#include "base/cpu_features.h"
#include "kernels/avx2/avx2_kernels.h"
#include "kernels/avx512/avx512_kernels.h"
#include "kernels/avx512_bf16/avx512_bf16_kernels.h"
#include "kernels/gemm_loop.h"
#include "kernels/kernels.h"
#include "kernels/ops.h"
#include "kernels/packed.h"
#include "kernels/ref/ref_kernels.h"
#include "quant/quantize.h"

namespace moe {
namespace {

void set(KernelTable* t, GgmlType type, VecDotFn vec_dot, GemmFn gemm) {
  t->weights[static_cast<uint32_t>(type)] = {vec_dot, gemm};
}

// Tail rows of a packed matrix (still in the source layout) x the packed type's activation:
// the K layouts take Q8_K like their sources, so their sources' gemms; Q8_0_R16 and Q4_0_R16
// take Q8_0_S, which the file-layout kernels do not.
void set_tail_gemms(KernelTable* t) {
  const auto at = [t](GgmlType type) -> WeightKernels& { return t->weights[static_cast<uint32_t>(type)]; };
  at(GgmlType::Q8_0_R16).tail_gemm = ref::gemm_q8_0_q8_0_s;
  at(GgmlType::Q4_0_R16).tail_gemm = ref::gemm_q4_0_q8_0_s;
  at(GgmlType::Q4_K_R16).tail_gemm = at(GgmlType::Q4_K).gemm;
  at(GgmlType::Q6_K_R16).tail_gemm = at(GgmlType::Q6_K).gemm;
  at(GgmlType::Q2_K_R16).tail_gemm = at(GgmlType::Q2_K).gemm;
  at(GgmlType::Q3_K_R16).tail_gemm = at(GgmlType::Q3_K).gemm;
  at(GgmlType::Q5_K_R16).tail_gemm = at(GgmlType::Q5_K).gemm;
  at(GgmlType::IQ4_XS_R16).tail_gemm = at(GgmlType::IQ4_XS).gemm;
}

// The load-time repackings of the SIMD tables (both read the same packed layouts).
void set_packing(KernelTable* t) {
  const auto pack = [t](GgmlType from, GgmlType to, RepackFn fn) {
    t->packing[static_cast<uint32_t>(from)] = {to, kPackRows, fn};
  };
  pack(GgmlType::Q8_0, GgmlType::Q8_0_R16, packed::repack_q8_0_r16);
  pack(GgmlType::Q4_K, GgmlType::Q4_K_R16, packed::repack_q4_K_r16);
  pack(GgmlType::Q6_K, GgmlType::Q6_K_R16, packed::repack_q6_K_r16);
  pack(GgmlType::Q2_K, GgmlType::Q2_K_R16, packed::repack_q2_K_r16);
  pack(GgmlType::Q3_K, GgmlType::Q3_K_R16, packed::repack_q3_K_r16);
  pack(GgmlType::Q5_K, GgmlType::Q5_K_R16, packed::repack_q5_K_r16);
  pack(GgmlType::Q4_0, GgmlType::Q4_0_R16, packed::repack_q4_0_r16);
  // IQ4_XS (4.25 bits, e.g. the published R1 IQ4_XS files' experts) in its own bytes: the file
  // layout's product decodes a level per value and runs far below the bandwidth.
  pack(GgmlType::IQ4_XS, GgmlType::IQ4_XS_R16, packed::repack_iq4_xs_r16);
  // IQ1_S grows 1.4x into 2-bit values, IQ2_XXS 1.55x into 3-bit codes (the routed experts only
  // within the memory limit, model/pack_weights.h): the file layout's codebook lookups bound its
  // products far below the bandwidth.
  pack(GgmlType::IQ1_S, GgmlType::IQ1_S_R16, packed::repack_iq1_s_r16);
  pack(GgmlType::IQ2_XXS, GgmlType::IQ2_XXS_R16, packed::repack_iq2_xxs_r16);
  // IQ1_M (the 1.73-bit file's experts) grows 1.96x into Q3_K_R16's layout: its scales per 16
  // values are Q3_K's, and its values 8 grid + shift six 3-bit codes.
  pack(GgmlType::IQ1_M, GgmlType::IQ1_M_R16, packed::repack_iq1_m_r16);
  // IQ3_XXS (1.39x) and IQ3_S (1.24x) into IQ4_XS_R16's layout: 4-bit codes of their 16 signed
  // values, a level table each.
  pack(GgmlType::IQ3_XXS, GgmlType::IQ3_XXS_R16, packed::repack_iq3_xxs_r16);
  pack(GgmlType::IQ3_S, GgmlType::IQ3_S_R16, packed::repack_iq3_s_r16);
  // IQ2_XS (1.43x) and IQ2_S (1.29x) into IQ2_XXS_R16's codes with a scale per 16 values.
  pack(GgmlType::IQ2_XS, GgmlType::IQ2_XS_R16, packed::repack_iq2_xs_r16);
  pack(GgmlType::IQ2_S, GgmlType::IQ2_S_R16, packed::repack_iq2_s_r16);
  // Q5_0 / IQ4_NL (e.g. attn_k_b of Q4_K_M / Q3_K_M files, rows of 128) become Q8_0_R16:
  // 1.5-1.9x the bytes of these small tensors, streamed by the fast kernel instead of the
  // file layout's (routed experts only within a memory limit: model/pack_weights.h).
  pack(GgmlType::Q5_0, GgmlType::Q8_0_R16, packed::repack_q5_0_to_q8_0_r16);
  pack(GgmlType::IQ4_NL, GgmlType::Q8_0_R16, packed::repack_iq4_nl_to_q8_0_r16);
}

KernelTable make_scalar_table() {
  KernelTable t;
  t.isa = Isa::kScalar;
  set(&t, GgmlType::F32, ref::vec_dot_f32_f32, gemm_by_vec_dot<ref::vec_dot_f32_f32>);
  set(&t, GgmlType::F16, ref::vec_dot_f16_f32, gemm_by_vec_dot<ref::vec_dot_f16_f32>);
  set(&t, GgmlType::BF16, ref::vec_dot_bf16_f32, gemm_by_vec_dot<ref::vec_dot_bf16_f32>);
  set(&t, GgmlType::Q8_0, ref::vec_dot_q8_0_q8_0, gemm_by_vec_dot<ref::vec_dot_q8_0_q8_0>);
  set(&t, GgmlType::Q4_0, ref::vec_dot_q4_0_q8_0, gemm_by_vec_dot<ref::vec_dot_q4_0_q8_0>);
  set(&t, GgmlType::Q5_0, ref::vec_dot_q5_0_q8_0, gemm_by_vec_dot<ref::vec_dot_q5_0_q8_0>);
  set(&t, GgmlType::IQ4_NL, ref::vec_dot_iq4_nl_q8_0, gemm_by_vec_dot<ref::vec_dot_iq4_nl_q8_0>);
  set(&t, GgmlType::Q4_1, ref::vec_dot_q4_1_q8_1, gemm_by_vec_dot<ref::vec_dot_q4_1_q8_1>);
  set(&t, GgmlType::Q5_1, ref::vec_dot_q5_1_q8_1, gemm_by_vec_dot<ref::vec_dot_q5_1_q8_1>);
  set(&t, GgmlType::Q2_K, ref::vec_dot_q2_K_q8_K, gemm_by_vec_dot<ref::vec_dot_q2_K_q8_K>);
  set(&t, GgmlType::Q3_K, ref::vec_dot_q3_K_q8_K, gemm_by_vec_dot<ref::vec_dot_q3_K_q8_K>);
  set(&t, GgmlType::Q4_K, ref::vec_dot_q4_K_q8_K, gemm_by_vec_dot<ref::vec_dot_q4_K_q8_K>);
  set(&t, GgmlType::Q5_K, ref::vec_dot_q5_K_q8_K, gemm_by_vec_dot<ref::vec_dot_q5_K_q8_K>);
  set(&t, GgmlType::Q6_K, ref::vec_dot_q6_K_q8_K, gemm_by_vec_dot<ref::vec_dot_q6_K_q8_K>);
  set(&t, GgmlType::IQ4_XS, ref::vec_dot_iq4_xs_q8_K, gemm_by_vec_dot<ref::vec_dot_iq4_xs_q8_K>);
  set(&t, GgmlType::IQ2_XXS, ref::vec_dot_iq2_xxs_q8_K, gemm_by_vec_dot<ref::vec_dot_iq2_xxs_q8_K>);
  set(&t, GgmlType::IQ1_S, ref::vec_dot_iq1_s_q8_K, gemm_by_vec_dot<ref::vec_dot_iq1_s_q8_K>);
  set(&t, GgmlType::IQ1_M, ref::vec_dot_iq1_m_q8_K, gemm_by_vec_dot<ref::vec_dot_iq1_m_q8_K>);
  set(&t, GgmlType::IQ2_XS, ref::vec_dot_iq2_xs_q8_K, gemm_by_vec_dot<ref::vec_dot_iq2_xs_q8_K>);
  set(&t, GgmlType::IQ2_S, ref::vec_dot_iq2_s_q8_K, gemm_by_vec_dot<ref::vec_dot_iq2_s_q8_K>);
  set(&t, GgmlType::IQ3_XXS, ref::vec_dot_iq3_xxs_q8_K, gemm_by_vec_dot<ref::vec_dot_iq3_xxs_q8_K>);
  set(&t, GgmlType::IQ3_S, ref::vec_dot_iq3_s_q8_K, gemm_by_vec_dot<ref::vec_dot_iq3_s_q8_K>);
  t.quantize_q8_0 = quantize_row_q8_0_ref;
  t.quantize_q8_1 = quantize_row_q8_1_ref;
  t.quantize_q8_K = quantize_row_q8_K_ref;
  // The packed layouts' definitions (this table never repacks: they are for tests).
  set(&t, GgmlType::Q8_0_R16, nullptr, ref::gemm_q8_0_r16);
  set(&t, GgmlType::Q4_0_R16, nullptr, ref::gemm_q4_0_r16);
  set(&t, GgmlType::IQ1_S_R16, nullptr, ref::gemm_iq1_s_r16);
  set(&t, GgmlType::IQ2_XXS_R16, nullptr, ref::gemm_iq2_xxs_r16);
  set(&t, GgmlType::IQ1_M_R16, nullptr, ref::gemm_iq1_m_r16);
  set(&t, GgmlType::IQ4_XS_R16, nullptr, ref::gemm_iq4_xs_r16);
  set(&t, GgmlType::IQ3_XXS_R16, nullptr, ref::gemm_iq3_xxs_r16);
  set(&t, GgmlType::IQ3_S_R16, nullptr, ref::gemm_iq3_s_r16);
  set(&t, GgmlType::IQ2_XS_R16, nullptr, ref::gemm_iq2_xs_r16);
  set(&t, GgmlType::IQ2_S_R16, nullptr, ref::gemm_iq2_s_r16);
  set(&t, GgmlType::Q4_K_R16, nullptr, ref::gemm_q4_K_r16);
  set(&t, GgmlType::Q6_K_R16, nullptr, ref::gemm_q6_K_r16);
  set(&t, GgmlType::Q2_K_R16, nullptr, ref::gemm_q2_K_r16);
  set(&t, GgmlType::Q3_K_R16, nullptr, ref::gemm_q3_K_r16);
  set(&t, GgmlType::Q5_K_R16, nullptr, ref::gemm_q5_K_r16);
  set_tail_gemms(&t);
  t.quantize_q8_0_s = ref::quantize_q8_0_s;
  t.f16_to_f32 = ref::f16_to_f32_row;
  t.q8_0_r16_to_f32 = packed::dequantize_q8_0_r16_row;
  t.axpy = axpy;
  t.weighted_rows = weighted_rows;
  t.silu_mul = silu_mul;
  t.softmax = softmax;
  return t;
}

KernelTable make_avx2_table() {
  KernelTable t;
  t.isa = Isa::kAvx2;
  set(&t, GgmlType::F32, avx2::vec_dot_f32_f32, avx2::gemm_f32_f32);
  set(&t, GgmlType::F16, avx2::vec_dot_f16_f32, avx2::gemm_f16_f32);
  set(&t, GgmlType::BF16, avx2::vec_dot_bf16_f32, avx2::gemm_bf16_f32);
  set(&t, GgmlType::Q8_0, avx2::vec_dot_q8_0_q8_0, avx2::gemm_q8_0_q8_0);
  set(&t, GgmlType::Q4_0, avx2::vec_dot_q4_0_q8_0, avx2::gemm_q4_0_q8_0);
  set(&t, GgmlType::Q5_0, avx2::vec_dot_q5_0_q8_0, avx2::gemm_q5_0_q8_0);
  set(&t, GgmlType::IQ4_NL, avx2::vec_dot_iq4_nl_q8_0, avx2::gemm_iq4_nl_q8_0);
  set(&t, GgmlType::Q4_1, avx2::vec_dot_q4_1_q8_1, avx2::gemm_q4_1_q8_1);
  set(&t, GgmlType::Q5_1, avx2::vec_dot_q5_1_q8_1, avx2::gemm_q5_1_q8_1);
  set(&t, GgmlType::Q2_K, avx2::vec_dot_q2_K_q8_K, avx2::gemm_q2_K_q8_K);
  set(&t, GgmlType::Q3_K, avx2::vec_dot_q3_K_q8_K, avx2::gemm_q3_K_q8_K);
  set(&t, GgmlType::Q4_K, avx2::vec_dot_q4_K_q8_K, avx2::gemm_q4_K_q8_K);
  set(&t, GgmlType::Q5_K, avx2::vec_dot_q5_K_q8_K, avx2::gemm_q5_K_q8_K);
  set(&t, GgmlType::Q6_K, avx2::vec_dot_q6_K_q8_K, avx2::gemm_q6_K_q8_K);
  set(&t, GgmlType::IQ4_XS, avx2::vec_dot_iq4_xs_q8_K, avx2::gemm_iq4_xs_q8_K);
  set(&t, GgmlType::IQ2_XXS, avx2::vec_dot_iq2_xxs_q8_K, avx2::gemm_iq2_xxs_q8_K);
  set(&t, GgmlType::IQ1_S, avx2::vec_dot_iq1_s_q8_K, avx2::gemm_iq1_s_q8_K);
  set(&t, GgmlType::IQ1_M, avx2::vec_dot_iq1_m_q8_K, avx2::gemm_iq1_m_q8_K);
  set(&t, GgmlType::IQ2_XS, avx2::vec_dot_iq2_xs_q8_K, avx2::gemm_iq2_xs_q8_K);
  set(&t, GgmlType::IQ2_S, avx2::vec_dot_iq2_s_q8_K, avx2::gemm_iq2_s_q8_K);
  set(&t, GgmlType::IQ3_XXS, avx2::vec_dot_iq3_xxs_q8_K, avx2::gemm_iq3_xxs_q8_K);
  set(&t, GgmlType::IQ3_S, avx2::vec_dot_iq3_s_q8_K, avx2::gemm_iq3_s_q8_K);
  t.quantize_q8_0 = avx2::quantize_q8_0;
  t.quantize_q8_1 = avx2::quantize_q8_1;
  t.quantize_q8_K = avx2::quantize_q8_K;
  t.quantize_q8_0_s = avx2::quantize_q8_0_s;
  t.f16_to_f32 = avx2::f16_to_f32_row;
  t.q8_0_r16_to_f32 = avx2::q8_0_r16_row_to_f32;
  t.axpy = avx2::axpy;
  t.weighted_rows = avx2::weighted_rows;
  t.silu_mul = avx2::silu_mul;
  t.softmax = avx2::softmax;
  set(&t, GgmlType::Q8_0_R16, nullptr, avx2::gemm_q8_0_r16);
  set(&t, GgmlType::Q4_0_R16, nullptr, avx2::gemm_q4_0_r16);
  set(&t, GgmlType::IQ1_S_R16, nullptr, avx2::gemm_iq1_s_r16);
  set(&t, GgmlType::IQ2_XXS_R16, nullptr, avx2::gemm_iq2_xxs_r16);
  set(&t, GgmlType::IQ1_M_R16, nullptr, avx2::gemm_iq1_m_r16);
  set(&t, GgmlType::IQ4_XS_R16, nullptr, avx2::gemm_iq4_xs_r16);
  set(&t, GgmlType::IQ3_XXS_R16, nullptr, avx2::gemm_iq3_xxs_r16);
  set(&t, GgmlType::IQ3_S_R16, nullptr, avx2::gemm_iq3_s_r16);
  set(&t, GgmlType::IQ2_XS_R16, nullptr, avx2::gemm_iq2_xs_r16);
  set(&t, GgmlType::IQ2_S_R16, nullptr, avx2::gemm_iq2_s_r16);
  set(&t, GgmlType::Q4_K_R16, nullptr, avx2::gemm_q4_K_r16);
  set(&t, GgmlType::Q6_K_R16, nullptr, avx2::gemm_q6_K_r16);
  set(&t, GgmlType::Q2_K_R16, nullptr, avx2::gemm_q2_K_r16);
  set(&t, GgmlType::Q3_K_R16, nullptr, avx2::gemm_q3_K_r16);
  set(&t, GgmlType::Q5_K_R16, nullptr, avx2::gemm_q5_K_r16);
  set_tail_gemms(&t);
  set_packing(&t);
  return t;
}

// AVX-512: own kernels where written (avx512/), the AVX2 ones for every other type.
KernelTable make_avx512_table() {
  KernelTable t = make_avx2_table();
  t.isa = Isa::kAvx512;
  avx512::override_kernels(&t);
  set(&t, GgmlType::Q8_0_R16, nullptr, avx512::gemm_q8_0_r16);
  set(&t, GgmlType::Q4_0_R16, nullptr, avx512::gemm_q4_0_r16);
  set(&t, GgmlType::IQ1_S_R16, nullptr, avx512::gemm_iq1_s_r16);
  set(&t, GgmlType::IQ2_XXS_R16, nullptr, avx512::gemm_iq2_xxs_r16);
  set(&t, GgmlType::IQ1_M_R16, nullptr, avx512::gemm_iq1_m_r16);
  set(&t, GgmlType::IQ4_XS_R16, nullptr, avx512::gemm_iq4_xs_r16);
  set(&t, GgmlType::IQ3_XXS_R16, nullptr, avx512::gemm_iq3_xxs_r16);
  set(&t, GgmlType::IQ3_S_R16, nullptr, avx512::gemm_iq3_s_r16);
  set(&t, GgmlType::IQ2_XS_R16, nullptr, avx512::gemm_iq2_xs_r16);
  set(&t, GgmlType::IQ2_S_R16, nullptr, avx512::gemm_iq2_s_r16);
  set(&t, GgmlType::Q4_K_R16, nullptr, avx512::gemm_q4_K_r16);
  set(&t, GgmlType::Q6_K_R16, nullptr, avx512::gemm_q6_K_r16);
  set(&t, GgmlType::Q2_K_R16, nullptr, avx512::gemm_q2_K_r16);
  set(&t, GgmlType::Q3_K_R16, nullptr, avx512::gemm_q3_K_r16);
  set(&t, GgmlType::Q5_K_R16, nullptr, avx512::gemm_q5_K_r16);
  if (detect_cpu_features().avx512bf16) {
    t.bf16_scores = avx512_bf16::scores;
    t.bf16_weighted_rows = avx512_bf16::weighted_rows;
  }
  set_tail_gemms(&t);  // the packing is the AVX2 table's (same layouts)
  return t;
}

bool is_k_format(GgmlType w) {
  return w == GgmlType::Q2_K || w == GgmlType::Q3_K || w == GgmlType::Q4_K ||
         w == GgmlType::Q5_K || w == GgmlType::Q6_K;
}

}  // namespace

std::string_view isa_name(Isa isa) {
  switch (isa) {
    case Isa::kScalar: return "scalar";
    case Isa::kAvx2: return "avx2";
    case Isa::kAvx512: return "avx512";
  }
  return "?";
}

GgmlType activation_type(GgmlType w) {
  switch (w) {
    case GgmlType::F32: case GgmlType::F16: case GgmlType::BF16:
      return GgmlType::F32;
    case GgmlType::Q8_0: case GgmlType::Q4_0: case GgmlType::Q5_0: case GgmlType::IQ4_NL:
      return GgmlType::Q8_0;
    case GgmlType::Q4_1: case GgmlType::Q5_1:
      return GgmlType::Q8_1;
    case GgmlType::Q8_0_R16: case GgmlType::Q4_0_R16:
      return GgmlType::Q8_0_S;
    case GgmlType::Q4_K_R16: case GgmlType::Q6_K_R16: case GgmlType::Q2_K_R16: case GgmlType::Q3_K_R16:
    case GgmlType::Q5_K_R16: case GgmlType::IQ4_XS: case GgmlType::IQ2_XXS: case GgmlType::IQ1_S:
    case GgmlType::IQ1_M: case GgmlType::IQ2_XS: case GgmlType::IQ2_S: case GgmlType::IQ3_XXS: case GgmlType::IQ3_S:
    case GgmlType::IQ1_S_R16: case GgmlType::IQ2_XXS_R16: case GgmlType::IQ1_M_R16: case GgmlType::IQ4_XS_R16:
    case GgmlType::IQ3_XXS_R16: case GgmlType::IQ3_S_R16: case GgmlType::IQ2_XS_R16: case GgmlType::IQ2_S_R16:
      return GgmlType::Q8_K;
    default:
      MOE_CHECK_MSG(is_k_format(w), "activation_type: weight type has no kernel");
      return GgmlType::Q8_K;
  }
}

size_t activation_row_bytes(GgmlType w, int64_t n) {
  return static_cast<size_t>(row_bytes(activation_type(w), n));
}

void quantize_activation(const KernelTable& k, GgmlType w, const float* x, void* out, int64_t n) {
  switch (activation_type(w)) {
    case GgmlType::F32:
      if (out != x) std::memcpy(out, x, static_cast<size_t>(n) * sizeof(float));
      return;
    case GgmlType::Q8_0: return k.quantize_q8_0(x, out, n);
    case GgmlType::Q8_1: return k.quantize_q8_1(x, out, n);
    case GgmlType::Q8_0_S: return k.quantize_q8_0_s(x, out, n);
    default: return k.quantize_q8_K(x, out, n);
  }
}

bool has_kernel(const KernelTable& k, GgmlType w) {
  const auto id = static_cast<uint32_t>(w);
  return id < kMaxTypeId && k.weights[id].gemm != nullptr;
}

GgmlType simd_packed_type(GgmlType source) {
  const auto id = static_cast<uint32_t>(source);
  if (id >= kMaxTypeId) return GgmlType::F32;
  static const KernelTable kPackingOnly = [] {
    KernelTable t;
    set_packing(&t);
    return t;
  }();
  return kPackingOnly.packing[id].packed;
}

int gemm_row_grain(GgmlType w) {
  switch (w) {
    case GgmlType::Q8_0_R16: case GgmlType::Q4_K_R16: case GgmlType::Q6_K_R16: case GgmlType::Q2_K_R16:
    case GgmlType::Q3_K_R16: case GgmlType::Q5_K_R16: case GgmlType::Q4_0_R16: case GgmlType::IQ1_S_R16:
    case GgmlType::IQ2_XXS_R16: case GgmlType::IQ1_M_R16: case GgmlType::IQ4_XS_R16: case GgmlType::IQ3_XXS_R16:
    case GgmlType::IQ3_S_R16: case GgmlType::IQ2_XS_R16: case GgmlType::IQ2_S_R16:
      return kPackRows;
    default:
      return 4;
  }
}

bool isa_supported(Isa isa) {
  static const CpuFeatures f = detect_cpu_features();
  switch (isa) {
    case Isa::kScalar: return true;
    case Isa::kAvx2: return f.has_avx2_set();
    case Isa::kAvx512: return f.has_avx512_set();
  }
  return false;
}

const KernelTable& kernel_table(Isa isa) {
  MOE_CHECK_MSG(isa_supported(isa), "kernel_table: ISA not supported by this CPU");
  switch (isa) {
    case Isa::kAvx2: {
      static const KernelTable t = make_avx2_table();
      return t;
    }
    case Isa::kAvx512: {
      static const KernelTable t = make_avx512_table();
      return t;
    }
    default: {
      static const KernelTable t = make_scalar_table();
      return t;
    }
  }
}

const KernelTable& best_kernel_table() {
  static const Isa best = isa_supported(Isa::kAvx512) ? Isa::kAvx512
                          : isa_supported(Isa::kAvx2) ? Isa::kAvx2
                                                      : Isa::kScalar;
  return kernel_table(best);
}

}  // namespace moe
