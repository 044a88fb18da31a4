// The DeepSeek model description read from GGUF metadata, named after DeepSeek's
// `ModelArgs` (inference/model.py). One struct for V2, V2-Lite, V2.5, V3, R1, Kimi-K2.
#pragma once

#include <cstdint>
#include <string>

#include "base/status.h"
#include "gguf/gguf.h"

namespace moe {

enum class ScoreFunc { kSoftmax, kSigmoid };
// Published files store MLA's up-projections either as one `attn_kv_b` (legacy, before
// mid-2025) or as `attn_k_b` + `attn_v_b` (split).
enum class TensorLayout { kSplit, kLegacy };

std::string_view score_func_name(ScoreFunc f);
std::string_view tensor_layout_name(TensorLayout l);

struct ModelArgs {
  int64_t vocab_size = 0;
  int64_t dim = 0;            // hidden size
  int64_t inter_dim = 0;      // dense FFN width
  int64_t moe_inter_dim = 0;  // routed/shared expert FFN width
  int64_t n_layers = 0;
  int64_t n_dense_layers = 0;
  int64_t n_heads = 0;
  int64_t n_routed_experts = 0;
  int64_t n_shared_experts = 0;
  int64_t n_activated_experts = 0;
  int64_t n_expert_groups = 1;
  int64_t n_limited_groups = 1;
  ScoreFunc score_func = ScoreFunc::kSoftmax;
  double route_scale = 1.0;
  bool norm_topk_prob = false;  // GGUF expert_weights_norm
  int64_t q_lora_rank = 0;      // 0: plain attn_q
  int64_t kv_lora_rank = 0;
  int64_t qk_nope_head_dim = 0;
  int64_t qk_rope_head_dim = 0;
  int64_t v_head_dim = 0;
  int64_t original_seq_len = 0;  // YaRN's original context (0: no YaRN)
  double rope_theta = 10000.0;
  double rope_factor = 1.0;
  double beta_fast = 32.0;
  double beta_slow = 1.0;
  double mscale = 1.0;  // mscale_all_dim (GGUF stores 0.1 x it as yarn_log_multiplier)
  double rms_eps = 1e-6;
  int64_t context_length = 0;  // trained context from the file
  TensorLayout tensor_layout = TensorLayout::kSplit;

  bool uses_yarn() const { return rope_factor > 1.0 && original_seq_len > 0; }
  int64_t qk_head_dim() const { return qk_nope_head_dim + qk_rope_head_dim; }
  int64_t n_moe_layers() const { return n_layers - n_dense_layers; }
  bool is_moe_layer(int64_t layer) const { return layer >= n_dense_layers; }
  // Values per token per layer in the latent cache: normalized c plus roped k_pe.
  int64_t kv_cache_width() const { return kv_lora_rank + qk_rope_head_dim; }
};

// Reads every `deepseek2.*` key with the compatibility rules real files need; errors name
// the key and what was wrong. Architecture must be `deepseek2`.
Result<ModelArgs> read_model_args(const GgufMetadata& metadata);

// The published DeepSeek-R1 / V3 (671B) configuration (DEEPSEEK.md), for the planner and
// the synthetic-model presets.
ModelArgs deepseek_r1_args();
// Kimi-K2 (Moonshot's 1T model on the same architecture: 64 heads, 384 experts in one group,
// one dense layer, a 163,840-token vocabulary; its config.json), for the planner.
ModelArgs kimi_k2_args();

}  // namespace moe
