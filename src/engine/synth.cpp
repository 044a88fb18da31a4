#include "engine/synth.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <memory>

#include "gguf/writer.h"
#include "model/planner.h"
#include "quant/quantize.h"

namespace moe {
namespace {

struct Preset {
  std::string_view name;
  std::string_view description;
  ModelArgs args;
};

// R1's settings with the r1-mini fixture's vocabulary; the presets change the sizes.
ModelArgs r1_like() {
  ModelArgs a = deepseek_r1_args();
  a.vocab_size = 4113;
  return a;
}

std::vector<Preset> preset_table() {
  std::vector<Preset> t;
  {
    ModelArgs a = r1_like();  // R1's proportions at 3B: 0.573 GB/token at Q8_0
    a.dim = 2048;
    a.inter_dim = 8192;
    a.moe_inter_dim = 1024;
    a.n_layers = 8;
    a.n_dense_layers = 1;
    a.n_heads = 16;
    a.n_routed_experts = 64;
    a.q_lora_rank = 512;
    t.push_back({"r1-bench", "R1 proportions, 3B: 8 layers (1 dense), hidden 2048, 64 experts of 1024", a});
  }
  {
    ModelArgs a = r1_like();  // R1's true dimensions; --layers picks how many
    a.n_layers = 2;
    a.n_dense_layers = 1;
    t.push_back({"r1-slice", "R1's true dims (hidden 7168, 256 experts of 2048); default --layers 1+1", a});
  }
  {
    ModelArgs a;  // DeepSeek-V2-Lite (16B), real shapes; vocabulary from the fixture
    a.vocab_size = 4113;
    a.dim = 2048;
    a.inter_dim = 10944;
    a.moe_inter_dim = 1408;
    a.n_layers = 27;
    a.n_dense_layers = 1;
    a.n_heads = 16;
    a.n_routed_experts = 64;
    a.n_shared_experts = 2;
    a.n_activated_experts = 6;
    a.n_expert_groups = 1;
    a.n_limited_groups = 1;
    a.score_func = ScoreFunc::kSoftmax;
    a.route_scale = 1.0;
    a.norm_topk_prob = false;
    a.q_lora_rank = 0;
    a.kv_lora_rank = 512;
    a.qk_nope_head_dim = 128;
    a.qk_rope_head_dim = 64;
    a.v_head_dim = 128;
    a.original_seq_len = 4096;
    a.rope_theta = 10000.0;
    a.rope_factor = 40.0;
    a.mscale = 0.707;
    a.rms_eps = 1e-6;
    a.context_length = 163840;
    t.push_back({"v2-lite", "DeepSeek-V2-Lite shapes: 27 layers, no q-LoRA, 64 experts of 1408, 6 used, 2 shared", a});
  }
  {
    ModelArgs a = r1_like();  // a few MB, for tests and demos
    a.dim = 256;
    a.inter_dim = 512;
    a.moe_inter_dim = 256;
    a.n_layers = 2;
    a.n_dense_layers = 1;
    a.n_heads = 4;
    a.n_routed_experts = 8;
    a.n_activated_experts = 2;
    a.n_expert_groups = 2;
    a.n_limited_groups = 1;
    a.q_lora_rank = 256;
    a.kv_lora_rank = 256;
    a.qk_nope_head_dim = 64;
    a.qk_rope_head_dim = 32;
    a.v_head_dim = 64;
    t.push_back({"tiny", "a few MB: 2 layers (1 dense), hidden 256, 8 experts of 256", a});
  }
  return t;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool contains(std::string_view s, std::string_view what) { return s.find(what) != std::string_view::npos; }

// llama.cpp's use_more_bits: the first and last eighth of the layers and every third between.
bool use_more_bits(int64_t i, int64_t n) { return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2; }

uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

std::string blk(int64_t layer, std::string_view name) {
  return "blk." + std::to_string(layer) + "." + std::string(name);
}

// Streams one planned tensor: rows covering each requested byte range are generated and
// quantized (in parallel) into a scratch buffer, and the range is copied out.
struct TensorFiller {
  SynthTensor tensor;
  uint64_t index = 0;
  uint64_t seed = 0;
  ThreadPool* pool = nullptr;
  uint64_t row_bytes = 0;
  int64_t n_rows = 0;
  std::vector<uint8_t> scratch;
  std::vector<std::vector<float>> values;  // one row of floats per thread

  Status fill(uint64_t offset, uint8_t* dst, size_t n) {
    const int64_t first = static_cast<int64_t>(offset / row_bytes);
    const int64_t last = std::min<int64_t>(n_rows, static_cast<int64_t>((offset + n + row_bytes - 1) / row_bytes));
    const int64_t count = last - first;
    if (count <= 0) return Status::error("synth: byte range beyond the tensor");
    scratch.resize(static_cast<size_t>(count) * row_bytes);
    const int nth = std::max(1, std::min<int>(pool->size(), static_cast<int>(count)));
    if (values.size() < static_cast<size_t>(nth)) values.resize(static_cast<size_t>(nth));
    const int64_t row_len = tensor.ne[0];
    pool->run(nth, [&](int ith, int nt) {
      std::vector<float>& v = values[static_cast<size_t>(ith)];
      v.resize(static_cast<size_t>(row_len));
      for (int64_t r = count * ith / nt; r < count * (ith + 1) / nt; ++r) {
        synth_row_values(tensor, seed, index, first + r, v.data());
        quantize_row(tensor.type, v.data(), scratch.data() + static_cast<size_t>(r) * row_bytes, row_len);
      }
    });
    std::memcpy(dst, scratch.data() + (offset - static_cast<uint64_t>(first) * row_bytes), n);
    if (offset + n >= row_bytes * static_cast<uint64_t>(n_rows)) {  // done: free the buffers
      scratch = {};
      values = {};
    }
    return Status::ok();
  }
};

void add_model_keys(GgufWriter& w, const ModelArgs& a) {
  auto key = [](const char* suffix) { return std::string("deepseek2.") + suffix; };
  auto u32 = [&](const char* suffix, int64_t v) { w.add_uint32(key(suffix), static_cast<uint32_t>(v)); };
  u32("block_count", a.n_layers);
  u32("context_length", a.context_length);
  u32("embedding_length", a.dim);
  u32("feed_forward_length", a.inter_dim);
  u32("attention.head_count", a.n_heads);
  u32("attention.head_count_kv", 1);
  w.add_float32(key("rope.freq_base"), static_cast<float>(a.rope_theta));
  w.add_float32(key("attention.layer_norm_rms_epsilon"), static_cast<float>(a.rms_eps));
  if (a.n_moe_layers() > 0) {
    u32("expert_used_count", a.n_activated_experts);
    u32("expert_count", a.n_routed_experts);
    u32("expert_shared_count", a.n_shared_experts);
    u32("expert_feed_forward_length", a.moe_inter_dim);
  }
  u32("leading_dense_block_count", a.n_dense_layers);
  u32("vocab_size", a.vocab_size);
  if (a.q_lora_rank > 0) u32("attention.q_lora_rank", a.q_lora_rank);
  u32("attention.kv_lora_rank", a.kv_lora_rank);
  // Split MLA layout (2025+): one latent "KV head".
  u32("attention.key_length", a.kv_lora_rank + a.qk_rope_head_dim);
  u32("attention.value_length", a.kv_lora_rank);
  u32("attention.key_length_mla", a.qk_head_dim());
  u32("attention.value_length_mla", a.v_head_dim);
  if (a.n_moe_layers() > 0) {
    w.add_float32(key("expert_weights_scale"), static_cast<float>(a.route_scale));
    w.add_bool(key("expert_weights_norm"), a.norm_topk_prob);
    u32("expert_gating_func", a.score_func == ScoreFunc::kSigmoid ? 2 : 1);
    if (a.n_expert_groups > 1) {
      u32("expert_group_count", a.n_expert_groups);
      u32("expert_group_used_count", a.n_limited_groups);
    }
  }
  u32("rope.dimension_count", a.qk_rope_head_dim);
  if (a.uses_yarn()) {
    w.add_string(key("rope.scaling.type"), "yarn");
    w.add_float32(key("rope.scaling.factor"), static_cast<float>(a.rope_factor));
    u32("rope.scaling.original_context_length", a.original_seq_len);
    w.add_float32(key("rope.scaling.yarn_log_multiplier"), static_cast<float>(0.1 * a.mscale));
  }
}

}  // namespace

Result<SynthMix> parse_synth_mix(std::string_view name) {
  const std::string n = lower(name);
  if (n == "f32") return SynthMix::kF32;
  if (n == "bf16") return SynthMix::kBF16;
  if (n == "q8_0") return SynthMix::kQ8_0;
  if (n == "q6_k") return SynthMix::kQ6_K;
  if (n == "q4_0") return SynthMix::kQ4_0;
  if (n == "q5_0") return SynthMix::kQ5_0;
  if (n == "q4_k_m") return SynthMix::kQ4_K_M;
  if (n == "q2_k") return SynthMix::kQ2_K;
  if (n == "q3_k_m") return SynthMix::kQ3_K_M;
  if (n == "q5_k_m") return SynthMix::kQ5_K_M;
  if (n == "iq4_xs") return SynthMix::kIQ4_XS;
  if (n == "iq3_xxs") return SynthMix::kIQ3_XXS;
  if (n == "iq3_s") return SynthMix::kIQ3_S;
  if (n == "iq2_xs") return SynthMix::kIQ2_XS;
  if (n == "iq2_s") return SynthMix::kIQ2_S;
  if (n == "iq2_xxs") return SynthMix::kIQ2_XXS;
  if (n == "iq1_m") return SynthMix::kIQ1_M;
  if (n == "iq1_s") return SynthMix::kIQ1_S;
  return Status::error("unknown type '" + std::string(name) +
                       "' (F32, BF16, Q8_0, Q6_K, Q4_0, Q5_0, Q5_K_M, Q4_K_M, Q3_K_M, Q2_K, "
                       "IQ4_XS, IQ3_XXS, IQ3_S, IQ2_XS, IQ2_S, IQ2_XXS, IQ1_M, IQ1_S)");
}

std::string_view synth_mix_name(SynthMix mix) {
  switch (mix) {
    case SynthMix::kF32: return "F32";
    case SynthMix::kBF16: return "BF16";
    case SynthMix::kQ8_0: return "Q8_0";
    case SynthMix::kQ6_K: return "Q6_K";
    case SynthMix::kQ4_0: return "Q4_0";
    case SynthMix::kQ5_0: return "Q5_0";
    case SynthMix::kQ4_K_M: return "Q4_K_M";
    case SynthMix::kQ2_K: return "Q2_K";
    case SynthMix::kQ3_K_M: return "Q3_K_M";
    case SynthMix::kQ5_K_M: return "Q5_K_M";
    case SynthMix::kIQ4_XS: return "IQ4_XS";
    case SynthMix::kIQ3_XXS: return "IQ3_XXS";
    case SynthMix::kIQ3_S: return "IQ3_S";
    case SynthMix::kIQ2_XS: return "IQ2_XS";
    case SynthMix::kIQ2_S: return "IQ2_S";
    case SynthMix::kIQ2_XXS: return "IQ2_XXS";
    case SynthMix::kIQ1_M: return "IQ1_M";
    case SynthMix::kIQ1_S: return "IQ1_S";
  }
  return "?";
}

uint32_t synth_file_type(SynthMix mix) {
  switch (mix) {
    case SynthMix::kF32: return 0;
    case SynthMix::kBF16: return 32;
    case SynthMix::kQ8_0: return 7;
    case SynthMix::kQ6_K: return 18;
    case SynthMix::kQ4_0: return 2;
    case SynthMix::kQ5_0: return 8;
    case SynthMix::kQ4_K_M: return 15;
    case SynthMix::kQ2_K: return 10;
    case SynthMix::kQ3_K_M: return 12;
    case SynthMix::kQ5_K_M: return 17;
    case SynthMix::kIQ4_XS: return 30;
    case SynthMix::kIQ3_XXS: return 23;
    case SynthMix::kIQ3_S: return 26;
    case SynthMix::kIQ2_XS: return 20;
    case SynthMix::kIQ2_S: return 28;
    case SynthMix::kIQ2_XXS: return 19;
    case SynthMix::kIQ1_M: return 31;
    case SynthMix::kIQ1_S: return 24;
  }
  return 0;
}

std::vector<std::string> synth_preset_names() {
  std::vector<std::string> names;
  for (const Preset& p : preset_table()) names.emplace_back(p.name);
  return names;
}

std::string synth_preset_description(std::string_view name) {
  for (const Preset& p : preset_table()) {
    if (p.name == name) return std::string(p.description);
  }
  return "";
}

Result<ModelArgs> synth_preset(std::string_view name) {
  std::string known;
  for (const Preset& p : preset_table()) {
    if (p.name == name) return p.args;
    known += (known.empty() ? "" : ", ") + std::string(p.name);
  }
  return Status::error("unknown preset '" + std::string(name) + "' (" + known + ")");
}

Status set_synth_layers(std::string_view spec, ModelArgs* args) {
  const size_t plus = spec.find('+');
  auto number = [](std::string_view s, int64_t* out) {
    if (s.empty() || s.size() > 6) return false;
    int64_t v = 0;
    for (char c : s) {
      if (c < '0' || c > '9') return false;
      v = v * 10 + (c - '0');
    }
    *out = v;
    return true;
  };
  int64_t dense = 0, moe = 0;
  if (plus == std::string_view::npos || !number(spec.substr(0, plus), &dense) ||
      !number(spec.substr(plus + 1), &moe) || dense + moe < 1 || dense + moe > 1000) {
    return Status::error("--layers: expected D+M (dense + MoE layers, at least one), found '" +
                         std::string(spec) + "'");
  }
  args->n_dense_layers = dense;
  args->n_layers = dense + moe;
  return Status::ok();
}

uint64_t SynthTensor::n_bytes() const {
  uint64_t rows = 1;
  for (size_t i = 1; i < ne.size(); ++i) rows *= static_cast<uint64_t>(ne[i]);
  return row_bytes(type, ne[0]) * rows;
}

GgmlType synth_tensor_type(SynthMix mix, std::string_view name, int64_t row_length, int64_t layer,
                           const ModelArgs& args) {
  const int64_t n_layers = args.n_layers;
  const bool output = name == "output.weight";
  GgmlType t = GgmlType::Q8_0;
  switch (mix) {
    case SynthMix::kF32: return GgmlType::F32;
    case SynthMix::kBF16: return GgmlType::BF16;
    case SynthMix::kQ8_0: t = GgmlType::Q8_0; break;
    case SynthMix::kQ6_K: t = GgmlType::Q6_K; break;
    case SynthMix::kQ4_0: t = output ? GgmlType::Q6_K : GgmlType::Q4_0; break;
    case SynthMix::kQ5_0: t = output ? GgmlType::Q6_K : GgmlType::Q5_0; break;
    case SynthMix::kQ2_K: t = output ? GgmlType::Q6_K : GgmlType::Q2_K; break;
    case SynthMix::kIQ4_XS: t = output ? GgmlType::Q6_K : GgmlType::IQ4_XS; break;
    case SynthMix::kIQ3_XXS: t = output ? GgmlType::Q6_K : GgmlType::IQ3_XXS; break;
    case SynthMix::kIQ3_S: t = output ? GgmlType::Q6_K : GgmlType::IQ3_S; break;
    case SynthMix::kIQ2_XS: t = output ? GgmlType::Q6_K : GgmlType::IQ2_XS; break;
    case SynthMix::kIQ2_S: t = output ? GgmlType::Q6_K : GgmlType::IQ2_S; break;
    case SynthMix::kQ4_K_M:
    case SynthMix::kQ5_K_M:
      if (output || (layer >= 0 && contains(name, "ffn_down") && use_more_bits(layer, n_layers))) {
        t = GgmlType::Q6_K;
      } else {
        t = mix == SynthMix::kQ4_K_M ? GgmlType::Q4_K : GgmlType::Q5_K;
      }
      break;
    case SynthMix::kQ3_K_M:
      if (output) {
        t = GgmlType::Q6_K;
      } else if (contains(name, "attn_output")) {
        t = GgmlType::Q4_K;
      } else if (contains(name, "ffn_down")) {
        t = layer < n_layers / 16 ? GgmlType::Q5_K : GgmlType::Q4_K;
      } else {
        t = GgmlType::Q3_K;
      }
      break;
    case SynthMix::kIQ2_XXS:
    case SynthMix::kIQ1_M:
    case SynthMix::kIQ1_S: {  // the planner's rule, fallback included
      PlanTensor pt;
      pt.name = std::string(name);
      pt.layer = layer;
      pt.row_length = row_length;
      pt.routed_expert = contains(name, "_exps");
      return preset_tensor_type(synth_mix_name(mix), pt, args);
    }
  }
  if (row_length % type_traits(t).block_size != 0) {  // llama.cpp's fallback
    if (t == GgmlType::Q4_K) t = GgmlType::Q5_0;
    else if (t == GgmlType::Q5_K) t = GgmlType::Q5_1;
    else if (t == GgmlType::Q6_K) t = GgmlType::Q8_0;
    else if (t == GgmlType::Q2_K || t == GgmlType::Q3_K || t == GgmlType::IQ4_XS ||
             t == GgmlType::IQ3_XXS || t == GgmlType::IQ3_S || t == GgmlType::IQ2_XS ||
             t == GgmlType::IQ2_S)
      t = GgmlType::IQ4_NL;
    if (row_length % type_traits(t).block_size != 0) t = GgmlType::F16;
  }
  return t;
}

std::vector<SynthTensor> synth_tensor_plan(const ModelArgs& a, SynthMix mix) {
  std::vector<SynthTensor> plan;
  auto matrix = [&](std::string name, std::vector<int64_t> ne, int64_t layer, float stddev = 0.0f) {
    SynthTensor t;
    t.type = synth_tensor_type(mix, name, ne[0], layer, a);
    t.stddev = stddev > 0.0f ? stddev : 1.0f / std::sqrt(static_cast<float>(ne[0]));
    t.name = std::move(name);
    t.ne = std::move(ne);
    plan.push_back(std::move(t));
  };
  auto f32 = [&](std::string name, std::vector<int64_t> ne, float stddev, float constant) {
    SynthTensor t;
    t.name = std::move(name);
    t.ne = std::move(ne);
    t.stddev = stddev;
    t.constant = constant;
    plan.push_back(std::move(t));
  };
  const int64_t q_width = a.n_heads * a.qk_head_dim();
  matrix("token_embd.weight", {a.dim, a.vocab_size}, -1, 1.0f);
  for (int64_t l = 0; l < a.n_layers; ++l) {
    f32(blk(l, "attn_norm.weight"), {a.dim}, 0.0f, 1.0f);
    if (a.q_lora_rank > 0) {
      matrix(blk(l, "attn_q_a.weight"), {a.dim, a.q_lora_rank}, l);
      f32(blk(l, "attn_q_a_norm.weight"), {a.q_lora_rank}, 0.0f, 1.0f);
      matrix(blk(l, "attn_q_b.weight"), {a.q_lora_rank, q_width}, l);
    } else {
      matrix(blk(l, "attn_q.weight"), {a.dim, q_width}, l);
    }
    matrix(blk(l, "attn_kv_a_mqa.weight"), {a.dim, a.kv_cache_width()}, l);
    f32(blk(l, "attn_kv_a_norm.weight"), {a.kv_lora_rank}, 0.0f, 1.0f);
    matrix(blk(l, "attn_k_b.weight"), {a.qk_nope_head_dim, a.kv_lora_rank, a.n_heads}, l);
    matrix(blk(l, "attn_v_b.weight"), {a.kv_lora_rank, a.v_head_dim, a.n_heads}, l);
    matrix(blk(l, "attn_output.weight"), {a.n_heads * a.v_head_dim, a.dim}, l);
    f32(blk(l, "ffn_norm.weight"), {a.dim}, 0.0f, 1.0f);
    if (!a.is_moe_layer(l)) {
      matrix(blk(l, "ffn_gate.weight"), {a.dim, a.inter_dim}, l);
      matrix(blk(l, "ffn_up.weight"), {a.dim, a.inter_dim}, l);
      matrix(blk(l, "ffn_down.weight"), {a.inter_dim, a.dim}, l);
      continue;
    }
    const int64_t e = a.n_routed_experts;
    // Router logits of order 0.5: routing varies from token to token without extremes.
    f32(blk(l, "ffn_gate_inp.weight"), {a.dim, e}, 0.5f / std::sqrt(static_cast<float>(a.dim)), 0.0f);
    if (a.score_func == ScoreFunc::kSigmoid) f32(blk(l, "exp_probs_b.bias"), {e}, 0.01f, 0.0f);
    matrix(blk(l, "ffn_gate_exps.weight"), {a.dim, a.moe_inter_dim, e}, l);
    matrix(blk(l, "ffn_up_exps.weight"), {a.dim, a.moe_inter_dim, e}, l);
    matrix(blk(l, "ffn_down_exps.weight"), {a.moe_inter_dim, a.dim, e}, l);
    if (a.n_shared_experts > 0) {
      const int64_t width = a.moe_inter_dim * a.n_shared_experts;
      matrix(blk(l, "ffn_gate_shexp.weight"), {a.dim, width}, l);
      matrix(blk(l, "ffn_up_shexp.weight"), {a.dim, width}, l);
      matrix(blk(l, "ffn_down_shexp.weight"), {width, a.dim}, l);
    }
  }
  f32("output_norm.weight", {a.dim}, 0.0f, 1.0f);
  matrix("output.weight", {a.dim, a.vocab_size}, -1);
  return plan;
}

void synth_row_values(const SynthTensor& t, uint64_t seed, uint64_t tensor_index, int64_t row, float* out) {
  const int64_t n = t.ne[0];
  if (t.stddev == 0.0f) {
    std::fill(out, out + n, t.constant);
    return;
  }
  // xorshift64* per row; each draw gives four 16-bit uniforms: (a + b - c - d) has mean 0
  // and standard deviation 65536 / sqrt(3), a cheap bell-shaped value.
  uint64_t x = splitmix64(seed ^ splitmix64((tensor_index << 40) ^ static_cast<uint64_t>(row)));
  if (x == 0) x = 1;
  const float k = t.stddev * 1.7320508f / 65536.0f;
  for (int64_t i = 0; i < n; ++i) {
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    const uint64_t r = x * 0x2545F4914F6CDD1Dull;
    const int32_t v = static_cast<int32_t>(r & 0xFFFF) + static_cast<int32_t>((r >> 16) & 0xFFFF) -
                      static_cast<int32_t>((r >> 32) & 0xFFFF) - static_cast<int32_t>(r >> 48);
    out[i] = static_cast<float>(v) * k;
  }
}

Result<uint64_t> write_synth_gguf(const SynthOptions& options, const GgufMetadata& vocab, ThreadPool& pool,
                                  const std::string& path) {
  MOE_ASSIGN_OR_RETURN(auto tokens, vocab.get_array("tokenizer.ggml.tokens", GgufType::STRING));
  if (tokens == nullptr || tokens->empty()) {
    return Status::error("synth: the vocabulary file has no tokenizer.ggml.tokens");
  }
  ModelArgs a = options.args;
  a.vocab_size = static_cast<int64_t>(tokens->size());

  GgufWriter w;
  w.add_string("general.architecture", "deepseek2");
  w.add_string("general.name", options.name.empty() ? "moeinfer synth (random weights)" : options.name);
  w.add_uint32("general.file_type", synth_file_type(options.mix));
  if (options.mix != SynthMix::kF32 && options.mix != SynthMix::kBF16) {
    w.add_uint32("general.quantization_version", 2);
  }
  add_model_keys(w, a);
  for (const auto& [key, value] : vocab.entries()) {
    if (key.rfind("tokenizer.", 0) == 0) w.add_value(key, value);
  }

  const std::vector<SynthTensor> plan = synth_tensor_plan(a, options.mix);
  for (size_t i = 0; i < plan.size(); ++i) {
    auto filler = std::make_shared<TensorFiller>();
    filler->tensor = plan[i];
    filler->index = i;
    filler->seed = options.seed;
    filler->pool = &pool;
    filler->row_bytes = row_bytes(plan[i].type, plan[i].ne[0]);
    filler->n_rows = 1;
    for (size_t d = 1; d < plan[i].ne.size(); ++d) filler->n_rows *= plan[i].ne[d];
    w.add_tensor(plan[i].name, plan[i].type, plan[i].ne,
                 [filler](uint64_t offset, uint8_t* dst, size_t n) { return filler->fill(offset, dst, n); });
  }
  MOE_RETURN_IF_ERROR(w.write(path));
  std::error_code ec;
  const uintmax_t size = std::filesystem::file_size(path, ec);
  if (ec) return Status::error("synth: cannot stat " + path + ": " + ec.message());
  return static_cast<uint64_t>(size);
}

}  // namespace moe
