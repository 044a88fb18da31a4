// Shared fixtures for the tokenizer tests: the DeepSeek-R1 vocabulary, loaded once through
// the GGUF reader exactly as the engine loads it.
#pragma once

#include <string>

#include <gtest/gtest.h>

#include "gguf/gguf.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/unicode.h"

namespace moe::testing {

inline std::string test_data_path(const std::string& relative) {
  return std::string(MOEINFER_TEST_DATA_DIR) + "/" + relative;
}

// The R1 tokenizer (129,280 tokens); aborts the test binary if it cannot load.
inline const Tokenizer& r1_tokenizer() {
  static const Tokenizer* tokenizer = [] {
    const std::string path = test_data_path("models/deepseek-r1-vocab.gguf");
    Result<GgufModel> model = GgufModel::open(path);
    if (!model.is_ok()) {
      ADD_FAILURE() << model.status().message();
      std::abort();
    }
    Result<Tokenizer> t = load_tokenizer(*model);
    if (!t.is_ok()) {
      ADD_FAILURE() << t.status().message();
      std::abort();
    }
    return new Tokenizer(std::move(t).value());  // the tokenizer copies what it keeps
  }();
  return *tokenizer;
}

}  // namespace moe::testing
