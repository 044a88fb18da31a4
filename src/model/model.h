// A loaded model: the mapped GGUF, its ModelArgs, bound weights and the kernel table.
// Immutable after load and shared by every user (each user has its own Forward + KvCache).
#pragma once

#include <memory>
#include <string>

#include "base/status.h"
#include "gguf/gguf.h"
#include "kernels/kernels.h"
#include "model/config.h"
#include "model/rope_yarn.h"
#include "model/weights.h"

namespace moe {

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

 private:
  Model(GgufModel file, ModelArgs args, ModelWeights weights, const KernelTable& kernels)
      : file_(std::move(file)), args_(args), weights_(std::move(weights)), kernels_(&kernels), rope_(args_) {}

  GgufModel file_;
  ModelArgs args_;
  ModelWeights weights_;
  const KernelTable* kernels_;
  RopeYarn rope_;
};

}  // namespace moe
