#include "model/planner.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>

#include "base/check.h"
#include "kernels/kernels.h"
#include "model/pack_weights.h"

namespace moe {
namespace {

constexpr uint64_t kGiB = 1ull << 30;
constexpr uint64_t kGB = 1000000000ull;

// The preset table. Sizes are DEEPSEEK.md's (whole split sets, approximate); the computed
// totals for R1 (planner_test checks them) are given after each rule.
constexpr std::array<QuantPreset, 11> kPresets = {{
    {"BF16", 1340 * kGB, "every matrix BF16, norms/router F32 (computed 1342.3 GB)"},
    {"Q8_0", 713 * kGB,
     "every matrix Q8_0 (34 B / 32 values), norms/router F32 (computed 713.3 GB)"},
    {"Q6_K", 551 * kGB,
     "every matrix Q6_K (210 B / 256); attn_k_b (rows of 128) falls back to Q8_0 (computed 550.9 "
     "GB)"},
    {"Q5_K_M", 475 * kGB,
     "llama.cpp Q5_K_M: Q5_K, output and ffn_down* of use_more_bits layers Q6_K; attn_k_b -> Q5_1 "
     "(computed 475.4 GB)"},
    {"Q4_K_M", 404 * kGB,
     "llama.cpp Q4_K_M: Q4_K, output and ffn_down* of use_more_bits layers Q6_K; attn_k_b -> Q5_0 "
     "(computed 404.5 GB)"},
    {"Q3_K_M", 319 * kGB,
     "llama.cpp Q3_K_M: Q3_K, attn_output Q4_K, ffn_down* Q4_K (Q5_K in the first n/16 layers), "
     "output Q6_K; "
     "attn_k_b -> IQ4_NL (computed 319.3 GB)"},
    {"Q2_K", 0,
     "llama.cpp Q2_K: Q2_K, attn_output and ffn_down* Q3_K, output Q6_K; attn_k_b -> IQ4_NL (no "
     "published size "
     "listed; computed 244.1 GB)"},
    {"IQ1_S", 131 * kGB,
     "dynamic 1.58-bit: attention, dense FFNs and token_embd Q4_K, shared experts and output Q6_K, "
     "router F32; "
     "routed gate/up IQ1_S, routed down IQ1_S except the first 3 MoE layers IQ2_XXS (computed "
     "139.4 GB = 129.8 GiB)"},
    {"IQ1_M", 158 * kGB,
     "dynamic 1.73-bit: non-expert as IQ1_S; routed gate/up IQ1_M, routed down IQ2_XXS (computed "
     "162.5 GB)"},
    {"IQ2_XXS", 183 * kGB,
     "dynamic 2.22-bit: non-expert as IQ1_S; routed gate/up IQ2_XXS, routed down IQ2_XXS except "
     "the first 3 MoE "
     "layers Q2_K (computed 180.3 GB)"},
    {"Q2_K_XL", 212 * kGB,
     "dynamic 2.51-bit: non-expert as IQ1_S; routed gate/up Q2_K, routed down Q2_K except the "
     "first 3 MoE layers "
     "Q3_K (computed 226.7 GB)"},
}};

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  }
  return true;
}

bool contains(std::string_view s, std::string_view part) {
  return s.find(part) != std::string_view::npos;
}

// llama.cpp's use_more_bits: the first and last eighth of the layers and every third between.
bool use_more_bits(int64_t i, int64_t n) {
  return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2;
}

// llama.cpp's fallback when a row is not a multiple of the type's block.
GgmlType fallback_type(GgmlType t) {
  switch (t) {
    case GgmlType::Q4_K:
      return GgmlType::Q5_0;
    case GgmlType::Q5_K:
      return GgmlType::Q5_1;
    case GgmlType::Q6_K:
      return GgmlType::Q8_0;
    default:
      return GgmlType::IQ4_NL;  // Q2_K, Q3_K and the IQ types
  }
}

// Dynamic mixes: (routed gate/up, routed down, down of the first 3 MoE layers).
struct DynamicMix {
  std::string_view name;
  GgmlType gate_up, down, down_first;
};
constexpr std::array<DynamicMix, 4> kDynamic = {{
    {"IQ1_S", GgmlType::IQ1_S, GgmlType::IQ1_S, GgmlType::IQ2_XXS},
    {"IQ1_M", GgmlType::IQ1_M, GgmlType::IQ2_XXS, GgmlType::IQ2_XXS},
    {"IQ2_XXS", GgmlType::IQ2_XXS, GgmlType::IQ2_XXS, GgmlType::Q2_K},
    {"Q2_K_XL", GgmlType::Q2_K, GgmlType::Q2_K, GgmlType::Q3_K},
}};

GgmlType dynamic_type(const DynamicMix& mix, const PlanTensor& t, const ModelArgs& a) {
  if (t.routed_expert) {
    if (!contains(t.name, "ffn_down")) return mix.gate_up;
    return t.layer < a.n_dense_layers + 3 ? mix.down_first : mix.down;
  }
  if (contains(t.name, "_shexp") || t.name == "output.weight") return GgmlType::Q6_K;
  return GgmlType::Q4_K;
}

GgmlType base_type(std::string_view preset, const PlanTensor& t, const ModelArgs& a) {
  const bool output = t.name == "output.weight";
  const bool down = contains(t.name, "ffn_down");
  const bool more = t.layer >= 0 && use_more_bits(t.layer, a.n_layers);
  if (iequals(preset, "BF16")) return GgmlType::BF16;
  if (iequals(preset, "Q8_0")) return GgmlType::Q8_0;
  if (iequals(preset, "Q6_K")) return GgmlType::Q6_K;
  if (iequals(preset, "Q5_K_M")) return output || (down && more) ? GgmlType::Q6_K : GgmlType::Q5_K;
  if (iequals(preset, "Q4_K_M")) return output || (down && more) ? GgmlType::Q6_K : GgmlType::Q4_K;
  if (iequals(preset, "Q3_K_M")) {
    if (output) return GgmlType::Q6_K;
    if (contains(t.name, "attn_output")) return GgmlType::Q4_K;
    if (down) return t.layer < a.n_layers / 16 ? GgmlType::Q5_K : GgmlType::Q4_K;
    return GgmlType::Q3_K;
  }
  if (iequals(preset, "Q2_K")) {
    if (output) return GgmlType::Q6_K;
    if (contains(t.name, "attn_output") || down) return GgmlType::Q3_K;
    return GgmlType::Q2_K;
  }
  for (const DynamicMix& mix : kDynamic) {
    if (iequals(preset, mix.name)) return dynamic_type(mix, t, a);
  }
  MOE_CHECK_MSG(false, "unknown quant preset");
  return GgmlType::F32;
}

uint64_t tensor_bytes(GgmlType type, const PlanTensor& t) {
  const TypeTraits& tt = type_traits(type);
  return static_cast<uint64_t>(t.n_elements / tt.block_size) * static_cast<uint64_t>(tt.type_size);
}

}  // namespace

std::vector<PlanTensor> deepseek_tensor_list(const ModelArgs& a) {
  std::vector<PlanTensor> out;
  auto add = [&](int64_t layer, const std::string& name, int64_t row, int64_t rows, bool matrix,
                 bool expert = false) {
    const std::string full =
        layer >= 0 ? "blk." + std::to_string(layer) + "." + name + ".weight" : name + ".weight";
    out.push_back({full, layer, row, row * rows, expert, matrix});
  };
  const int64_t qk = a.qk_head_dim();
  add(-1, "token_embd", a.dim, a.vocab_size, true);
  for (int64_t l = 0; l < a.n_layers; ++l) {
    add(l, "attn_norm", a.dim, 1, false);
    if (a.q_lora_rank > 0) {
      add(l, "attn_q_a", a.dim, a.q_lora_rank, true);
      add(l, "attn_q_a_norm", a.q_lora_rank, 1, false);
      add(l, "attn_q_b", a.q_lora_rank, a.n_heads * qk, true);
    } else {
      add(l, "attn_q", a.dim, a.n_heads * qk, true);
    }
    add(l, "attn_kv_a_mqa", a.dim, a.kv_lora_rank + a.qk_rope_head_dim, true);
    add(l, "attn_kv_a_norm", a.kv_lora_rank, 1, false);
    add(l, "attn_k_b", a.qk_nope_head_dim, a.kv_lora_rank * a.n_heads, true);
    add(l, "attn_v_b", a.kv_lora_rank, a.v_head_dim * a.n_heads, true);
    add(l, "attn_output", a.n_heads * a.v_head_dim, a.dim, true);
    add(l, "ffn_norm", a.dim, 1, false);
    if (!a.is_moe_layer(l)) {
      add(l, "ffn_gate", a.dim, a.inter_dim, true);
      add(l, "ffn_up", a.dim, a.inter_dim, true);
      add(l, "ffn_down", a.inter_dim, a.dim, true);
      continue;
    }
    add(l, "ffn_gate_inp", a.dim, a.n_routed_experts, false);
    if (a.score_func == ScoreFunc::kSigmoid) {
      out.push_back({"blk." + std::to_string(l) + ".exp_probs_b.bias", l, a.n_routed_experts,
                     a.n_routed_experts, false, false});
    }
    add(l, "ffn_gate_exps", a.dim, a.moe_inter_dim * a.n_routed_experts, true, true);
    add(l, "ffn_up_exps", a.dim, a.moe_inter_dim * a.n_routed_experts, true, true);
    add(l, "ffn_down_exps", a.moe_inter_dim, a.dim * a.n_routed_experts, true, true);
    if (a.n_shared_experts > 0) {
      const int64_t sh = a.moe_inter_dim * a.n_shared_experts;
      add(l, "ffn_gate_shexp", a.dim, sh, true);
      add(l, "ffn_up_shexp", a.dim, sh, true);
      add(l, "ffn_down_shexp", sh, a.dim, true);
    }
  }
  add(-1, "output_norm", a.dim, 1, false);
  add(-1, "output", a.dim, a.vocab_size, true);
  return out;
}

std::span<const QuantPreset> quant_presets() {
  return kPresets;
}

const QuantPreset* find_quant_preset(std::string_view name) {
  for (const QuantPreset& p : kPresets) {
    if (iequals(p.name, name)) return &p;
  }
  return nullptr;
}

GgmlType preset_tensor_type(std::string_view preset, const PlanTensor& t, const ModelArgs& a) {
  if (!t.matrix) return GgmlType::F32;
  GgmlType type = base_type(preset, t, a);
  if (t.row_length % type_traits(type).block_size != 0) type = fallback_type(type);
  return type;
}

bool is_codebook_type(GgmlType type) {
  switch (type) {
    case GgmlType::IQ1_S: case GgmlType::IQ1_M: case GgmlType::IQ2_XXS: case GgmlType::IQ2_XS:
    case GgmlType::IQ2_S: case GgmlType::IQ3_XXS: case GgmlType::IQ3_S:
      return true;
    default:
      return false;
  }
}

// Bytes a block of `type` takes once the SIMD tables convert it at load (IQ1_S 50 -> 70, Q5_0
// 22 -> 34, ...), 0 where they keep its size or its layout.
int conversion_bytes_per_block(GgmlType type) {
  const GgmlType packed = simd_packed_type(type);
  if (packed == GgmlType::F32) return 0;
  const TypeTraits& from = type_traits(type);
  const TypeTraits& to = type_traits(packed);
  const int grown = to.type_size * from.block_size / to.block_size;
  return grown > from.type_size ? grown : 0;
}

void count_routed_tensor(WeightsFootprint* f, GgmlType type, uint64_t bytes, int64_t values,
                         uint64_t used, uint64_t total) {
  const uint64_t token_bytes = bytes * used / total;
  const auto token_values = static_cast<int64_t>(static_cast<uint64_t>(values) * used / total);
  if (is_codebook_type(type)) {
    f->codebook_bytes_per_token += token_bytes;
    f->codebook_params_per_token += token_values;
  }
  if (const int converted = conversion_bytes_per_block(type); converted > 0) {
    const TypeTraits& tt = type_traits(type);
    const uint64_t grown =
        bytes / static_cast<uint64_t>(tt.type_size) * static_cast<uint64_t>(converted);
    f->conversion_growth += grown - bytes;
    f->conversion_growth_per_token += (grown - bytes) * used / total;
    if (is_codebook_type(type)) {
      f->converted_codebook_bytes_per_token += token_bytes;
      f->converted_codebook_params_per_token += token_values;
    }
  }
}

WeightsFootprint preset_footprint(std::string_view preset, const ModelArgs& a) {
  WeightsFootprint f;
  const uint64_t used = static_cast<uint64_t>(a.n_activated_experts);
  const uint64_t total = static_cast<uint64_t>(std::max<int64_t>(1, a.n_routed_experts));
  for (const PlanTensor& t : deepseek_tensor_list(a)) {
    const GgmlType type = preset_tensor_type(preset, t, a);
    const uint64_t bytes = tensor_bytes(type, t);
    f.weights_bytes += bytes;
    f.params_total += t.n_elements;
    if (t.routed_expert) {
      f.bytes_per_token += bytes * used / total;
      f.params_per_token +=
          static_cast<int64_t>(static_cast<uint64_t>(t.n_elements) * used / total);
      count_routed_tensor(&f, type, bytes, t.n_elements, used, total);
    } else if (t.name == "token_embd.weight") {
      f.bytes_per_token += row_bytes(type, t.row_length);
      f.params_per_token += t.row_length;
    } else {
      f.bytes_per_token += bytes;
      f.params_per_token += t.n_elements;
    }
  }
  return f;
}

FootprintSplit preset_split(std::string_view preset, const ModelArgs& a) {
  FootprintSplit s;
  const uint64_t used = static_cast<uint64_t>(a.n_activated_experts);
  const uint64_t total = static_cast<uint64_t>(std::max<int64_t>(1, a.n_routed_experts));
  for (const PlanTensor& t : deepseek_tensor_list(a)) {
    const uint64_t bytes = tensor_bytes(preset_tensor_type(preset, t, a), t);
    if (t.routed_expert) {
      s.expert_bytes_per_token += bytes * used / total;
    } else {
      s.non_expert_bytes += bytes;
    }
  }
  return s;
}

uint64_t kv_bytes_per_token(const ModelArgs& a, KvCacheType type) {
  const uint64_t width = static_cast<uint64_t>(a.kv_cache_width());
  // f16 and bf16: 2 bytes a value
  const uint64_t per_layer = type == KvCacheType::kQ8_0 ? (width + 31) / 32 * 34 : width * 2;
  return per_layer * static_cast<uint64_t>(a.n_layers);
}

uint64_t default_os_reserve(uint64_t ram_bytes) {
  return std::max<uint64_t>(2 * kGiB, ram_bytes / 32);
}

uint64_t compute_buffer_bytes(const ModelArgs& a, int64_t batch, int64_t ctx_per_slot,
                              int threads) {
  const int64_t experts = a.n_activated_experts + a.n_shared_experts;
  const int64_t per_token = 8 * a.dim + a.n_heads * a.qk_head_dim()  // residual, norms, q
                            + a.n_heads * a.kv_lora_rank * 2         // q_abs, attention @ c
                            + a.n_heads * a.v_head_dim               // attention output
                            + 2 * experts * a.moe_inter_dim          // expert gate/up hiddens
                            + 2 * a.inter_dim                        // dense gate/up hidden
                            + a.vocab_size;                          // one logits row
  const uint64_t activations = static_cast<uint64_t>(per_token) * static_cast<uint64_t>(batch) * 4;
  const uint64_t scores = static_cast<uint64_t>(a.n_heads) * static_cast<uint64_t>(ctx_per_slot) *
                          4 * static_cast<uint64_t>(std::max(1, threads));
  return activations + scores + 256ull * (1 << 20);
}

double expected_distinct_experts(int64_t n_expert, int64_t k, int64_t tokens) {
  if (n_expert <= 0) return 0.0;
  const double p = static_cast<double>(k) / static_cast<double>(n_expert);
  return static_cast<double>(n_expert) * (1.0 - std::pow(1.0 - p, static_cast<double>(tokens)));
}

double prefill_macs_per_token(const ModelArgs& a, int64_t params_per_token, int64_t ctx_per_slot) {
  const double head = static_cast<double>(a.vocab_size) * static_cast<double>(a.dim);
  const double weights = static_cast<double>(params_per_token) - head - static_cast<double>(a.dim);
  const double attention = static_cast<double>(a.n_layers) * static_cast<double>(a.n_heads) *
                           static_cast<double>(2 * a.kv_lora_rank + a.qk_rope_head_dim) *
                           (static_cast<double>(ctx_per_slot) / 2.0);
  return weights + attention;
}

PlanRow plan_row(const std::string& quant, const ModelArgs& a, const WeightsFootprint& w,
                 const FootprintSplit& split, const Hardware& hw, const PlanOptions& o) {
  PlanRow r;
  r.quant = quant;
  // The load-time conversions of routed experts, layer by layer while the weights fit
  // (pack_weights.h): the share of the growth that fits the limit.
  const double limit = static_cast<double>(hw.ram_bytes / 100 * kConversionRamPercent);
  const double room = limit - static_cast<double>(w.weights_bytes);
  r.converted_share = w.conversion_growth == 0 || room <= 0
                          ? 0.0
                          : std::min(1.0, room / static_cast<double>(w.conversion_growth));
  const double share = r.converted_share;
  const auto part = [share](auto value) {
    return static_cast<decltype(value)>(std::llround(share * static_cast<double>(value)));
  };
  r.weights_bytes = w.weights_bytes + part(w.conversion_growth);
  r.bytes_per_token = w.bytes_per_token + part(w.conversion_growth_per_token);
  r.params_per_token = w.params_per_token;
  r.codebook_params_per_token = w.codebook_params_per_token - part(w.converted_codebook_params_per_token);
  const int64_t slots = std::max(1, o.n_slots);
  const int64_t ctx_per_slot = std::max<int64_t>(1, o.n_ctx / slots);
  r.kv_bytes_per_token = kv_bytes_per_token(a, o.cache_type);
  r.kv_bytes_f16 = kv_bytes_per_token(a, KvCacheType::kF16) * static_cast<uint64_t>(o.n_ctx);
  r.kv_bytes_q8_0 = kv_bytes_per_token(a, KvCacheType::kQ8_0) * static_cast<uint64_t>(o.n_ctx);
  r.kv_bytes = o.cache_type == KvCacheType::kQ8_0 ? r.kv_bytes_q8_0 : r.kv_bytes_f16;  // bf16: f16's size
  r.compute_bytes = compute_buffer_bytes(a, o.batch, ctx_per_slot, hw.cores);
  r.os_reserve_bytes = o.os_reserve_bytes >= 0 ? static_cast<uint64_t>(o.os_reserve_bytes)
                                               : default_os_reserve(hw.ram_bytes);
  r.total_bytes = r.weights_bytes + r.kv_bytes + r.compute_bytes;
  r.fits = r.total_bytes + r.os_reserve_bytes <= hw.ram_bytes;

  // Largest total context (multiple of 256, at most trained context x slots) that fits.
  auto needed = [&](int64_t ctx) {
    return r.weights_bytes + r.kv_bytes_per_token * static_cast<uint64_t>(ctx) +
           compute_buffer_bytes(a, o.batch, std::max<int64_t>(1, ctx / slots), hw.cores) +
           r.os_reserve_bytes;
  };
  const int64_t cap = (a.context_length > 0 ? a.context_length : 163840) * slots;
  int64_t lo = 0, hi = cap / 256;  // in units of 256 tokens
  if (needed(256) > hw.ram_bytes) {
    hi = 0;
  }
  while (lo < hi) {
    const int64_t mid = (lo + hi + 1) / 2;
    if (needed(mid * 256) <= hw.ram_bytes) {
      lo = mid;
    } else {
      hi = mid - 1;
    }
  }
  r.max_context = lo * 256;

  r.vram_bytes_needed = split.non_expert_bytes + r.kv_bytes + r.compute_bytes;
  r.vram_fits = hw.vram_bytes > 0 && r.vram_bytes_needed <= hw.vram_bytes;

  const double bw = hw.bandwidth_gbps * 1e9 * o.efficiency;
  const double kv_read =
      static_cast<double>(r.kv_bytes_per_token) * static_cast<double>(ctx_per_slot);
  // Codebook weights: their bytes stream while the cores decode them; the slower of the two.
  const double codebook_rate =
      static_cast<double>(hw.cores) * hw.ghz * 1e9 * hw.codebook_values_per_cycle;
  const auto codebook_seconds = [&](double bytes, double values) {
    return std::max(bytes / bw, codebook_rate > 0 ? values / codebook_rate : 0.0);
  };
  const double cb_bytes =
      static_cast<double>(w.codebook_bytes_per_token - part(w.converted_codebook_bytes_per_token));
  const double cb_values = static_cast<double>(r.codebook_params_per_token);
  r.decode_tps = 1.0 / ((static_cast<double>(r.bytes_per_token) - cb_bytes + kv_read) / bw +
                        codebook_seconds(cb_bytes, cb_values));
  // All slots decoding at once: the non-expert weights once, the union of the routed experts.
  const double per_token_experts =
      static_cast<double>(split.expert_bytes_per_token + part(w.conversion_growth_per_token));
  const double distinct =
      expected_distinct_experts(a.n_routed_experts, a.n_activated_experts, slots);
  const double expert_step =
      a.n_activated_experts > 0
          ? per_token_experts * distinct / static_cast<double>(a.n_activated_experts)
          : 0.0;
  const double step_bytes = static_cast<double>(r.bytes_per_token) - per_token_experts +
                            expert_step + kv_read * static_cast<double>(slots);
  // codebook weights are routed experts: the step reads and decodes their union likewise
  const double union_share =
      a.n_activated_experts > 0 ? distinct / static_cast<double>(a.n_activated_experts) : 0.0;
  r.decode_tps_total = static_cast<double>(slots) /
                       ((step_bytes - cb_bytes * union_share) / bw +
                        codebook_seconds(cb_bytes * union_share, cb_values * union_share));

  r.prefill_macs_per_token = prefill_macs_per_token(a, w.params_per_token, ctx_per_slot);
  const double macs =
      static_cast<double>(hw.cores) * hw.ghz * 1e9 * hw.int8_macs_per_cycle * o.compute_efficiency;
  r.prefill_tps = macs / r.prefill_macs_per_token;
  return r;
}

}  // namespace moe
