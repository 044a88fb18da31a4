// Where the parameters and bytes of a model go (DEEPSEEK.md's one definition of
// bytes_per_token, shared by `info`, `bench` and `plan`).
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "gguf/gguf.h"
#include "model/config.h"

namespace moe {

struct TypeTotals {
  int64_t tensors = 0;
  uint64_t bytes = 0;
  int64_t params = 0;
};

struct ModelFootprint {
  int64_t params_total = 0;      // every tensor the model uses
  int64_t params_per_token = 0;  // non-expert tensors in full + n_used/n_expert of experts + 1 embedding row
  uint64_t bytes_per_token = 0;  // the same in bytes
  uint64_t kv_bytes_per_token = 0;  // latent cache, f16, all layers
  std::map<std::string, TypeTotals> by_type;  // ggml type name -> totals
};

// Counts over the tensors of `file` (tensors in `ignored` are not counted: e.g. NextN).
ModelFootprint model_footprint(const GgufModel& file, const ModelArgs& args,
                               const std::vector<std::string>& ignored);

}  // namespace moe
