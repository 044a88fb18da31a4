// Shared helpers for the model tests: fixture paths, loading, greedy runs.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "base/thread_pool.h"
#include "engine/session.h"
#include "kernels/kernels.h"
#include "model/forward.h"
#include "model/kv_cache.h"
#include "model/model.h"

namespace moe::testing {

inline std::string data_path(const std::string& rel) { return std::string(MOEINFER_TEST_DATA_DIR) + "/" + rel; }
inline std::string model_path(const std::string& name) { return data_path("models/" + name + ".gguf"); }

inline std::unique_ptr<Model> load_fixture(const std::string& name, const KernelTable& k = best_kernel_table()) {
  auto m = Model::load(model_path(name), k);
  EXPECT_TRUE(m.is_ok()) << m.status().message();
  return m.is_ok() ? std::move(m).value() : nullptr;
}

inline const std::vector<std::string>& fixture_models() {
  static const std::vector<std::string> kModels = {
      "r1-mini-bf16",        "r1-mini-q8_0",       "r1-mini-q4_k_m", "r1-mini-legacy-kvb-q8_0",
      "r1-mini-legacy-kvb-q4_k_m", "v2lite-mini-q8_0", "v2lite-mini-q4_k_m"};
  return kModels;
}

}  // namespace moe::testing
