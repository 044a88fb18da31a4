// Paths the engine tests share.
#pragma once

#include <string>

namespace moe {

// A model copied from the shared fixtures into tests/data/models (without ".gguf").
inline std::string fixture(const std::string& name) {
  return std::string(MOEINFER_TEST_DATA_DIR) + "/models/" + name + ".gguf";
}

}  // namespace moe
