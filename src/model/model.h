// A loaded model: the mapped GGUF, its ModelArgs, bound weights and the kernel table.
// Immutable after load and shared by every user (each user has its own Forward + KvCache).
#pragma once

#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"
#include "gguf/gguf.h"
#include "kernels/kernels.h"
#include "model/config.h"
#include "model/rope_yarn.h"
#include "model/weights.h"

namespace moe {

// --numa experts: nodes[layer][e] is the NUMA node holding routed expert e of the layer
// (empty for a dense layer, or everywhere without --numa experts).
struct ExpertNodes {
  std::vector<std::vector<int>> nodes;
  bool empty() const { return nodes.empty(); }
};

// The map from the load report: experts[i] (layer, expert) is on node_of[i].
ExpertNodes expert_nodes_from(const std::vector<ExpertRef>& experts, const std::vector<int>& node_of,
                              int64_t n_layers, int64_t n_routed);

class Model {
 public:
  // `load`: mmap (default) or read into memory, huge pages, mlock, warm-up, NUMA (gguf/load.h).
  static Result<std::unique_ptr<Model>> load(const std::string& path, const KernelTable& kernels,
                                             const LoadOptions& load = {});

  const ModelArgs& args() const { return args_; }
  const ModelWeights& weights() const { return weights_; }
  const GgufModel& file() const { return file_; }
  const KernelTable& kernels() const { return *kernels_; }
  const RopeYarn& rope() const { return rope_; }
  // The nodes of layer `layer`'s routed experts (empty: not placed); the MoE runs each
  // expert on its node's threads when the pool's threads span several nodes.
  std::span<const int> expert_nodes(int layer) const;
  // Set by load from --numa experts' placement; tests set a simulated map. Before sharing.
  void set_expert_nodes(ExpertNodes nodes) { expert_nodes_ = std::move(nodes); }

 private:
  Model(GgufModel file, ModelArgs args, ModelWeights weights, const KernelTable& kernels)
      : file_(std::move(file)), args_(args), weights_(std::move(weights)), kernels_(&kernels), rope_(args_) {}

  GgufModel file_;
  ModelArgs args_;
  ModelWeights weights_;
  const KernelTable* kernels_;
  RopeYarn rope_;
  ExpertNodes expert_nodes_;
};

}  // namespace moe
