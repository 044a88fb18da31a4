#include "model/config.h"

#include <cmath>
#include <string>

namespace moe {
namespace {

constexpr std::string_view kArch = "deepseek2";

std::string key(std::string_view suffix) { return std::string(kArch) + "." + std::string(suffix); }

// Reads a required positive integer key.
Status read_required(const GgufMetadata& md, std::string_view suffix, int64_t* out) {
  auto v = md.get_uint(key(suffix));
  if (!v.is_ok()) return v.status();
  if (!v->has_value()) return Status::error("missing metadata key " + key(suffix));
  if (**v == 0 || **v > (1ull << 40)) {
    return Status::error("metadata key " + key(suffix) + " has invalid value " + std::to_string(**v));
  }
  *out = static_cast<int64_t>(**v);
  return Status::ok();
}

Status read_optional(const GgufMetadata& md, std::string_view suffix, int64_t* out) {
  auto v = md.get_uint(key(suffix));
  if (!v.is_ok()) return v.status();
  if (v->has_value()) {
    if (**v > (1ull << 40)) return Status::error("metadata key " + key(suffix) + " is out of range");
    *out = static_cast<int64_t>(**v);
  }
  return Status::ok();
}

Status read_optional_float(const GgufMetadata& md, std::string_view suffix, double* out) {
  auto v = md.get_float(key(suffix));
  if (!v.is_ok()) return v.status();
  if (v->has_value()) {
    if (!std::isfinite(**v)) return Status::error("metadata key " + key(suffix) + " is not finite");
    *out = **v;
  }
  return Status::ok();
}

Status check(bool ok, const std::string& what) { return ok ? Status::ok() : Status::error(what); }

}  // namespace

std::string_view score_func_name(ScoreFunc f) { return f == ScoreFunc::kSigmoid ? "sigmoid" : "softmax"; }
std::string_view tensor_layout_name(TensorLayout l) { return l == TensorLayout::kLegacy ? "legacy" : "split"; }

Result<ModelArgs> read_model_args(const GgufMetadata& md) {
  MOE_ASSIGN_OR_RETURN(auto arch, md.get_string("general.architecture"));
  if (!arch.has_value()) return Status::error("missing metadata key general.architecture");
  if (*arch != kArch) {
    return Status::error("unsupported architecture '" + std::string(*arch) + "' (expected deepseek2)");
  }
  ModelArgs a;
  MOE_RETURN_IF_ERROR(read_required(md, "block_count", &a.n_layers));
  MOE_RETURN_IF_ERROR(read_required(md, "embedding_length", &a.dim));
  MOE_RETURN_IF_ERROR(read_required(md, "feed_forward_length", &a.inter_dim));
  MOE_RETURN_IF_ERROR(read_required(md, "attention.head_count", &a.n_heads));
  MOE_RETURN_IF_ERROR(read_required(md, "attention.kv_lora_rank", &a.kv_lora_rank));
  MOE_RETURN_IF_ERROR(read_required(md, "rope.dimension_count", &a.qk_rope_head_dim));
  MOE_RETURN_IF_ERROR(read_optional(md, "context_length", &a.context_length));
  MOE_RETURN_IF_ERROR(read_optional(md, "attention.q_lora_rank", &a.q_lora_rank));
  MOE_RETURN_IF_ERROR(read_optional(md, "leading_dense_block_count", &a.n_dense_layers));
  MOE_RETURN_IF_ERROR(read_optional(md, "expert_count", &a.n_routed_experts));
  MOE_RETURN_IF_ERROR(read_optional(md, "expert_used_count", &a.n_activated_experts));
  MOE_RETURN_IF_ERROR(read_optional(md, "expert_shared_count", &a.n_shared_experts));
  MOE_RETURN_IF_ERROR(read_optional(md, "expert_feed_forward_length", &a.moe_inter_dim));
  MOE_RETURN_IF_ERROR(read_optional(md, "expert_group_count", &a.n_expert_groups));
  MOE_RETURN_IF_ERROR(read_optional(md, "expert_group_used_count", &a.n_limited_groups));
  MOE_RETURN_IF_ERROR(read_optional_float(md, "expert_weights_scale", &a.route_scale));
  MOE_RETURN_IF_ERROR(read_optional_float(md, "attention.layer_norm_rms_epsilon", &a.rms_eps));
  MOE_RETURN_IF_ERROR(read_optional_float(md, "rope.freq_base", &a.rope_theta));
  MOE_RETURN_IF_ERROR(read_optional_float(md, "rope.scaling.yarn_beta_fast", &a.beta_fast));
  MOE_RETURN_IF_ERROR(read_optional_float(md, "rope.scaling.yarn_beta_slow", &a.beta_slow));

  MOE_ASSIGN_OR_RETURN(auto norm, md.get_bool(key("expert_weights_norm")));
  a.norm_topk_prob = norm.value_or(false);

  // Gating: 1 softmax, 2 sigmoid; absent (old V2 files) means softmax.
  int64_t gating = 1;
  MOE_RETURN_IF_ERROR(read_optional(md, "expert_gating_func", &gating));
  if (gating != 1 && gating != 2) {
    return Status::error(key("expert_gating_func") + " = " + std::to_string(gating) +
                         " (expected 1 softmax or 2 sigmoid)");
  }
  a.score_func = gating == 2 ? ScoreFunc::kSigmoid : ScoreFunc::kSoftmax;
  if (a.n_expert_groups == 0) a.n_expert_groups = 1;
  if (a.n_limited_groups == 0) a.n_limited_groups = a.n_expert_groups;

  // Head dims and the two MLA tensor layouts.
  int64_t key_length = 0, value_length = 0, key_mla = 0, value_mla = 0, head_count_kv = 0;
  MOE_RETURN_IF_ERROR(read_required(md, "attention.key_length", &key_length));
  MOE_RETURN_IF_ERROR(read_required(md, "attention.value_length", &value_length));
  MOE_RETURN_IF_ERROR(read_optional(md, "attention.key_length_mla", &key_mla));
  MOE_RETURN_IF_ERROR(read_optional(md, "attention.value_length_mla", &value_mla));
  MOE_RETURN_IF_ERROR(read_optional(md, "attention.head_count_kv", &head_count_kv));
  if (key_mla > 0 && value_mla > 0) {
    a.tensor_layout = TensorLayout::kSplit;
    a.qk_nope_head_dim = key_mla - a.qk_rope_head_dim;
    a.v_head_dim = value_mla;
  } else {
    a.tensor_layout = TensorLayout::kLegacy;
    a.qk_nope_head_dim = key_length - a.qk_rope_head_dim;
    a.v_head_dim = value_length;
  }

  // YaRN.
  MOE_ASSIGN_OR_RETURN(auto scaling, md.get_string(key("rope.scaling.type")));
  if (scaling.has_value() && *scaling != "none" && *scaling != "yarn") {
    return Status::error(key("rope.scaling.type") + " = '" + std::string(*scaling) +
                         "' is not supported (yarn or none)");
  }
  if (scaling.has_value() && *scaling == "yarn") {
    MOE_RETURN_IF_ERROR(read_optional_float(md, "rope.scaling.factor", &a.rope_factor));
    MOE_RETURN_IF_ERROR(read_optional(md, "rope.scaling.original_context_length", &a.original_seq_len));
    double log_multiplier = 0.1;
    MOE_RETURN_IF_ERROR(read_optional_float(md, "rope.scaling.yarn_log_multiplier", &log_multiplier));
    // Stored as 0.1 x mscale_all_dim; round away the float32 storage noise (0.1f -> 1.0).
    a.mscale = std::round(log_multiplier / 0.1 * 1e6) / 1e6;
  }

  MOE_ASSIGN_OR_RETURN(auto vocab, md.get_uint(key("vocab_size")));
  if (vocab.has_value()) {
    a.vocab_size = static_cast<int64_t>(*vocab);
  } else {
    MOE_ASSIGN_OR_RETURN(auto tokens, md.get_array("tokenizer.ggml.tokens", GgufType::STRING));
    if (tokens != nullptr) a.vocab_size = static_cast<int64_t>(tokens->size());
  }

  // Consistency of what was read (the tensor table is checked against it at bind time).
  MOE_RETURN_IF_ERROR(check(a.vocab_size > 0, "vocabulary size unknown (no vocab_size, no tokens)"));
  MOE_RETURN_IF_ERROR(check(a.qk_nope_head_dim > 0, "key_length is not larger than rope.dimension_count"));
  MOE_RETURN_IF_ERROR(check(a.v_head_dim > 0, "value head dim must be positive"));
  MOE_RETURN_IF_ERROR(check(a.qk_rope_head_dim % 2 == 0, "rope.dimension_count must be even"));
  MOE_RETURN_IF_ERROR(check(a.n_dense_layers <= a.n_layers, "leading_dense_block_count exceeds block_count"));
  if (a.n_dense_layers < a.n_layers) {
    MOE_RETURN_IF_ERROR(check(a.n_routed_experts > 0 && a.moe_inter_dim > 0,
                              "MoE layers need expert_count and expert_feed_forward_length"));
    MOE_RETURN_IF_ERROR(check(a.n_activated_experts > 0 && a.n_activated_experts <= a.n_routed_experts,
                              "expert_used_count must be in 1..expert_count"));
    MOE_RETURN_IF_ERROR(check(a.n_routed_experts % a.n_expert_groups == 0,
                              "expert_count must be a multiple of expert_group_count"));
    MOE_RETURN_IF_ERROR(check(a.n_limited_groups <= a.n_expert_groups,
                              "expert_group_used_count exceeds expert_group_count"));
    MOE_RETURN_IF_ERROR(check(a.n_activated_experts <= a.n_limited_groups * (a.n_routed_experts / a.n_expert_groups),
                              "expert_used_count exceeds the experts in the used groups"));
  }
  if (a.tensor_layout == TensorLayout::kSplit && head_count_kv != 0 && head_count_kv != 1) {
    return Status::error("split MLA layout expects attention.head_count_kv = 1, found " +
                         std::to_string(head_count_kv));
  }
  return a;
}

ModelArgs deepseek_r1_args() {
  ModelArgs a;
  a.vocab_size = 129280;
  a.dim = 7168;
  a.inter_dim = 18432;
  a.moe_inter_dim = 2048;
  a.n_layers = 61;
  a.n_dense_layers = 3;
  a.n_heads = 128;
  a.n_routed_experts = 256;
  a.n_shared_experts = 1;
  a.n_activated_experts = 8;
  a.n_expert_groups = 8;
  a.n_limited_groups = 4;
  a.score_func = ScoreFunc::kSigmoid;
  a.route_scale = 2.5;
  a.norm_topk_prob = true;
  a.q_lora_rank = 1536;
  a.kv_lora_rank = 512;
  a.qk_nope_head_dim = 128;
  a.qk_rope_head_dim = 64;
  a.v_head_dim = 128;
  a.original_seq_len = 4096;
  a.rope_theta = 10000.0;
  a.rope_factor = 40.0;
  a.mscale = 1.0;
  a.context_length = 163840;
  return a;
}

ModelArgs kimi_k2_args() {
  ModelArgs a = deepseek_r1_args();
  a.vocab_size = 163840;
  a.n_dense_layers = 1;
  a.n_heads = 64;
  a.n_routed_experts = 384;
  a.n_expert_groups = 1;
  a.n_limited_groups = 1;
  a.route_scale = 2.827;
  a.rope_theta = 50000.0;
  a.rope_factor = 32.0;
  a.context_length = 131072;
  return a;
}

}  // namespace moe
