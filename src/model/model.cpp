#include "model/model.h"

#include "base/check.h"
#include "base/log.h"
#include "model/pack_weights.h"

namespace moe {
namespace {

// Every matrix the forward pass multiplies must have a kernel for its type.
Status check_kernels(const ModelWeights& w, const KernelTable& k) {
  auto need = [&](const TensorView& v, const std::string& what) -> Status {
    if (v.empty() || has_kernel(k, v.type)) return Status::ok();
    return Status::error(what + ": no " + std::string(isa_name(k.isa)) + " kernel for type " +
                         std::string(type_name(v.type)) + " yet");
  };
  MOE_RETURN_IF_ERROR(need(w.output, "output.weight"));
  for (size_t l = 0; l < w.layers.size(); ++l) {
    const LayerWeights& lw = w.layers[l];
    const std::string p = "blk." + std::to_string(l) + ".";
    for (const auto& [v, name] : {std::pair{&lw.attn.wq_a, "attn_q_a"}, {&lw.attn.wq_b, "attn_q_b"},
                                  {&lw.attn.wq, "attn_q"}, {&lw.attn.wkv_a, "attn_kv_a_mqa"},
                                  {&lw.attn.wk_b, "attn_k_b"}, {&lw.attn.wv_b, "attn_v_b"},
                                  {&lw.attn.wo, "attn_output"}, {&lw.ffn.w1, "ffn_gate"},
                                  {&lw.ffn.w2, "ffn_down"}, {&lw.ffn.w3, "ffn_up"},
                                  {&lw.moe.gate, "ffn_gate_inp"}, {&lw.moe.w1, "ffn_gate_exps"},
                                  {&lw.moe.w2, "ffn_down_exps"}, {&lw.moe.w3, "ffn_up_exps"},
                                  {&lw.moe.shared.w1, "ffn_gate_shexp"},
                                  {&lw.moe.shared.w2, "ffn_down_shexp"},
                                  {&lw.moe.shared.w3, "ffn_up_shexp"}}) {
      MOE_RETURN_IF_ERROR(need(*v, p + name));
    }
  }
  return Status::ok();
}

}  // namespace

ExpertNodes expert_nodes_from(const std::vector<ExpertRef>& experts, const std::vector<int>& node_of,
                              int64_t n_layers, int64_t n_routed) {
  ExpertNodes out;
  if (node_of.empty()) return out;
  MOE_CHECK(node_of.size() == experts.size());
  out.nodes.resize(static_cast<size_t>(n_layers));
  for (size_t i = 0; i < experts.size(); ++i) {
    const ExpertRef& e = experts[i];
    if (e.layer < 0 || e.layer >= n_layers || e.expert < 0 || e.expert >= n_routed) continue;
    std::vector<int>& layer = out.nodes[static_cast<size_t>(e.layer)];
    if (layer.empty()) layer.assign(static_cast<size_t>(n_routed), -1);  // -1: any thread
    layer[static_cast<size_t>(e.expert)] = node_of[i];
  }
  return out;
}

std::span<const int> Model::expert_nodes(int layer) const {
  if (layer < 0 || static_cast<size_t>(layer) >= expert_nodes_.nodes.size()) return {};
  return expert_nodes_.nodes[static_cast<size_t>(layer)];
}

Result<std::unique_ptr<Model>> Model::load(const std::string& path, const KernelTable& kernels,
                                           const LoadOptions& load) {
  MOE_ASSIGN_OR_RETURN(GgufModel file, GgufModel::open(path, {}, load));
  MOE_LOG_INFO("%s: %s", path.c_str(), file.load_report().describe().c_str());
  MOE_ASSIGN_OR_RETURN(ModelArgs args, read_model_args(file.metadata()));
  auto bound = bind_weights(file, args);
  if (!bound.is_ok()) return bound.status().with_context(path);
  ModelWeights weights = std::move(bound).value();
  MOE_RETURN_IF_ERROR(check_kernels(weights, kernels).with_context(path));
  if (load.repack) {
    const bool in_place = file.load_report().in_memory;
    const int threads = load.io_threads > 0 ? load.io_threads : default_io_threads();
    const uint64_t limit = load.conversion_memory_limit >= 0
                               ? static_cast<uint64_t>(load.conversion_memory_limit)
                               : physical_memory_bytes() / 100 * kConversionRamPercent;
    MOE_ASSIGN_OR_RETURN(PackReport packed, pack_weights(weights, kernels, in_place, threads,
                                                         file.load_report().bytes, limit));
    if (packed.tensors > 0 || packed.kept_tensors > 0) {
      MOE_LOG_INFO("%s: %s", path.c_str(), packed.describe().c_str());
    }
  }
  for (const std::string& name : weights.ignored_tensors) {
    MOE_LOG_INFO("%s: ignoring tensor %s (not used by this engine)", path.c_str(), name.c_str());
  }
  const LoadReport& report = file.load_report();
  ExpertNodes nodes = expert_nodes_from(report.experts, report.placement.node_of, args.n_layers, args.n_routed_experts);
  auto model = std::unique_ptr<Model>(new Model(std::move(file), args, std::move(weights), kernels));
  model->set_expert_nodes(std::move(nodes));
  return model;
}

}  // namespace moe
