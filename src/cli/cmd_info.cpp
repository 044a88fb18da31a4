// `moeinfer info -m MODEL [--json]`: what a GGUF file holds and what it costs per token.
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "base/format.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "cli/model_options.h"
#include "gguf/gguf.h"
#include "model/config.h"
#include "model/model_info.h"
#include "model/weights.h"

namespace moe::cli {
namespace {

using Json = nlohmann::ordered_json;

Json tokenizer_json(const GgufMetadata& md) {
  Json j;
  auto str = [&](const char* key) -> Json {
    auto v = md.get_string(key);
    return v.is_ok() && v->has_value() ? Json(std::string(**v)) : Json(nullptr);
  };
  j["model"] = str("tokenizer.ggml.model");
  j["pre"] = str("tokenizer.ggml.pre");
  auto tokens = md.get_array("tokenizer.ggml.tokens", GgufType::STRING);
  j["tokens"] = tokens.is_ok() && *tokens != nullptr ? (*tokens)->size() : 0;
  auto merges = md.get_array("tokenizer.ggml.merges", GgufType::STRING);
  j["merges"] = merges.is_ok() && *merges != nullptr ? (*merges)->size() : 0;
  for (const char* key : {"bos_token_id", "eos_token_id", "padding_token_id"}) {
    auto v = md.get_uint(std::string("tokenizer.ggml.") + key);
    if (v.is_ok() && v->has_value()) j[key] = **v;
  }
  j["chat_template"] = md.has("tokenizer.chat_template");
  return j;
}

Json args_json(const ModelArgs& a) {
  Json j;
  j["vocab_size"] = a.vocab_size;
  j["dim"] = a.dim;
  j["inter_dim"] = a.inter_dim;
  j["moe_inter_dim"] = a.moe_inter_dim;
  j["n_layers"] = a.n_layers;
  j["n_dense_layers"] = a.n_dense_layers;
  j["n_heads"] = a.n_heads;
  j["n_routed_experts"] = a.n_routed_experts;
  j["n_shared_experts"] = a.n_shared_experts;
  j["n_activated_experts"] = a.n_activated_experts;
  j["n_expert_groups"] = a.n_expert_groups;
  j["n_limited_groups"] = a.n_limited_groups;
  j["score_func"] = std::string(score_func_name(a.score_func));
  j["route_scale"] = a.route_scale;
  j["norm_topk_prob"] = a.norm_topk_prob;
  j["q_lora_rank"] = a.q_lora_rank;
  j["kv_lora_rank"] = a.kv_lora_rank;
  j["qk_nope_head_dim"] = a.qk_nope_head_dim;
  j["qk_rope_head_dim"] = a.qk_rope_head_dim;
  j["v_head_dim"] = a.v_head_dim;
  j["original_seq_len"] = a.original_seq_len;
  j["rope_theta"] = a.rope_theta;
  j["rope_factor"] = a.rope_factor;
  j["beta_fast"] = a.beta_fast;
  j["beta_slow"] = a.beta_slow;
  j["mscale"] = a.mscale;
  j["rms_eps"] = a.rms_eps;
  j["context_length"] = a.context_length;
  j["tensor_layout"] = std::string(tensor_layout_name(a.tensor_layout));
  return j;
}

void print_text(const Json& j) {
  std::printf("file:            %s (%s)\n", j["file"].get<std::string>().c_str(),
              format_bytes(j["file_bytes"].get<uint64_t>()).c_str());
  std::printf("gguf version:    %d, %d tensors\n", j["gguf_version"].get<int>(), j["tensor_count"].get<int>());
  if (j.contains("dim")) {
    std::printf("architecture:    %s (%s tensor layout)\n", j["architecture"].get<std::string>().c_str(),
                j["tensor_layout"].get<std::string>().c_str());
    std::printf("layers:          %lld (%lld dense, %lld MoE)\n", j["n_layers"].get<long long>(),
                j["n_dense_layers"].get<long long>(),
                j["n_layers"].get<long long>() - j["n_dense_layers"].get<long long>());
    std::printf("hidden:          %lld, dense FFN %lld, expert FFN %lld\n", j["dim"].get<long long>(),
                j["inter_dim"].get<long long>(), j["moe_inter_dim"].get<long long>());
    std::printf("attention:       %lld heads, q_lora %lld, kv_lora %lld, nope %lld, rope %lld, v %lld\n",
                j["n_heads"].get<long long>(), j["q_lora_rank"].get<long long>(),
                j["kv_lora_rank"].get<long long>(), j["qk_nope_head_dim"].get<long long>(),
                j["qk_rope_head_dim"].get<long long>(), j["v_head_dim"].get<long long>());
    std::printf("experts:         %lld routed, %lld shared, %lld used, %lld groups (%lld used)\n",
                j["n_routed_experts"].get<long long>(), j["n_shared_experts"].get<long long>(),
                j["n_activated_experts"].get<long long>(), j["n_expert_groups"].get<long long>(),
                j["n_limited_groups"].get<long long>());
    std::printf("gating:          %s, routed scale %g%s\n", j["score_func"].get<std::string>().c_str(),
                j["route_scale"].get<double>(), j["norm_topk_prob"].get<bool>() ? ", normalized" : "");
    std::printf("rope:            theta %g, YaRN factor %g over %lld (beta %g/%g, mscale %g)\n",
                j["rope_theta"].get<double>(), j["rope_factor"].get<double>(),
                j["original_seq_len"].get<long long>(), j["beta_fast"].get<double>(),
                j["beta_slow"].get<double>(), j["mscale"].get<double>());
    std::printf("context:         %lld (trained)\n", j["context_length"].get<long long>());
    std::printf("vocabulary:      %lld\n", j["vocab_size"].get<long long>());
    std::printf("parameters:      %.3f M total, %.3f M per token\n", j["params_total"].get<double>() / 1e6,
                j["params_per_token"].get<double>() / 1e6);
    std::printf("bytes per token: %s read per decoded token (weights)\n",
                format_bytes(j["bytes_per_token"].get<uint64_t>()).c_str());
    std::printf("KV cache:        %s per token of context (f16 latent, all layers)\n",
                format_bytes(j["kv_bytes_per_token"].get<uint64_t>()).c_str());
    std::printf("tensor types:\n");
    for (const auto& [type, t] : j["types"].items()) {
      std::printf("  %-8s %4d tensors  %s\n", type.c_str(), t["tensors"].get<int>(),
                  format_bytes(t["bytes"].get<uint64_t>()).c_str());
    }
  }
  const Json& tok = j["tokenizer"];
  std::printf("tokenizer:       %s / %s, %zu tokens, %zu merges, chat template %s\n",
              tok["model"].is_null() ? "none" : tok["model"].get<std::string>().c_str(),
              tok["pre"].is_null() ? "none" : tok["pre"].get<std::string>().c_str(),
              tok["tokens"].get<size_t>(), tok["merges"].get<size_t>(),
              tok["chat_template"].get<bool>() ? "present" : "absent");
}

}  // namespace

int info_main(int argc, char** argv) {
  Args args("info", "Describe a GGUF model: hyperparameters, sizes, bytes read per token.",
            {{"--model", "-m", "FILE", "", "GGUF model file (or first part of a split set)"},
             {"--json", "", "", "", "print one JSON object"}});
  if (Status s = args.parse(argc, argv); !s) {
    std::fprintf(stderr, "moeinfer info: %s\n%s", s.message().c_str(), args.usage().c_str());
    return 2;
  }
  if (args.help_requested()) {
    std::printf("%s", args.usage().c_str());
    return 0;
  }
  const std::string path = model_path_arg(args);
  if (path.empty()) {
    std::fprintf(stderr, "moeinfer info: no model given (-m FILE)\n");
    return 2;
  }
  auto file = GgufModel::open(path);
  if (!file) {
    std::fprintf(stderr, "moeinfer info: %s\n", file.status().message().c_str());
    return 1;
  }
  const GgufMetadata& md = file->metadata();
  Json j;
  j["file"] = path;
  j["file_bytes"] = file->file_bytes();
  j["gguf_version"] = file->version();
  j["tensor_count"] = file->tensors().size();
  auto arch = md.get_string("general.architecture");
  j["architecture"] = arch.is_ok() && arch->has_value() ? Json(std::string(**arch)) : Json(nullptr);
  const bool vocab_only = file->tensors().empty();
  if (!vocab_only) {
    auto model_args = read_model_args(md);
    if (!model_args) {
      std::fprintf(stderr, "moeinfer info: %s: %s\n", path.c_str(), model_args.status().message().c_str());
      return 1;
    }
    auto weights = bind_weights(*file, *model_args);
    if (!weights) {
      std::fprintf(stderr, "moeinfer info: %s: %s\n", path.c_str(), weights.status().message().c_str());
      return 1;
    }
    j.update(args_json(*model_args));
    const ModelFootprint f = model_footprint(*file, *model_args, weights->ignored_tensors);
    j["params_total"] = f.params_total;
    j["params_per_token"] = f.params_per_token;
    j["bytes_per_token"] = f.bytes_per_token;
    j["kv_bytes_per_token"] = f.kv_bytes_per_token;
    Json types = Json::object();
    for (const auto& [name, t] : f.by_type) {
      types[name] = {{"tensors", t.tensors}, {"bytes", t.bytes}, {"params", t.params}};
    }
    j["types"] = types;
    j["ignored_tensors"] = weights->ignored_tensors;
  }
  j["tokenizer"] = tokenizer_json(md);
  if (args.flag("--json")) {
    std::printf("%s\n", j.dump(2).c_str());
  } else {
    print_text(j);
  }
  return 0;
}

}  // namespace moe::cli
