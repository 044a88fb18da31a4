// `moeinfer info --json` on every fixture reports the hyperparameters of the fixtures
// README's table (the expected values below are that table's, typed in by hand).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cli_test_util.h"

namespace moe::testing {
namespace {

using nlohmann::json;

json info(const std::string& model) {
  const ProcessResult r = run_moeinfer("info --json -m " + model_path(model));
  EXPECT_EQ(r.exit_code, 0) << model;
  return json::parse(r.out, nullptr, false);
}

void expect_common(const json& j) {
  EXPECT_EQ(j["n_layers"], 3);
  EXPECT_EQ(j["n_dense_layers"], 1);
  EXPECT_EQ(j["dim"], 256);
  EXPECT_EQ(j["inter_dim"], 512);
  EXPECT_EQ(j["moe_inter_dim"], 256);
  EXPECT_EQ(j["kv_lora_rank"], 256);
  EXPECT_EQ(j["qk_nope_head_dim"], 64);
  EXPECT_EQ(j["qk_rope_head_dim"], 32);
  EXPECT_EQ(j["v_head_dim"], 64);
  EXPECT_EQ(j["n_routed_experts"], 16);
  EXPECT_EQ(j["n_activated_experts"], 4);
  EXPECT_EQ(j["rope_theta"], 10000.0);
  EXPECT_EQ(j["beta_fast"], 32.0);
  EXPECT_EQ(j["beta_slow"], 1.0);
  EXPECT_EQ(j["mscale"], 1.0);
  EXPECT_EQ(j["vocab_size"], 4113);
  // Latent cache: (kv_lora + rope) f16 values per layer.
  EXPECT_EQ(j["kv_bytes_per_token"], (256 + 32) * 2 * 3);
}

TEST(InfoCommand, R1MiniMatchesTheFixtureTable) {
  for (const char* m : {"r1-mini-bf16", "r1-mini-q8_0", "r1-mini-q4_k_m", "r1-mini-legacy-kvb-q8_0",
                        "r1-mini-legacy-kvb-q4_k_m"}) {
    SCOPED_TRACE(m);
    const json j = info(m);
    ASSERT_FALSE(j.is_discarded());
    expect_common(j);
    EXPECT_EQ(j["n_heads"], 8);
    EXPECT_EQ(j["q_lora_rank"], 256);
    EXPECT_EQ(j["n_shared_experts"], 1);
    EXPECT_EQ(j["n_expert_groups"], 4);
    EXPECT_EQ(j["n_limited_groups"], 2);
    EXPECT_EQ(j["score_func"], "sigmoid");
    EXPECT_EQ(j["route_scale"], 2.5);
    EXPECT_EQ(j["rope_factor"], 40.0);
    EXPECT_EQ(j["original_seq_len"], 4096);
    EXPECT_EQ(j["context_length"], 163840);
    EXPECT_EQ(j["tensor_layout"], std::string(m).find("legacy") != std::string::npos ? "legacy" : "split");
  }
}

TEST(InfoCommand, V2LiteMiniMatchesTheFixtureTable) {
  for (const char* m : {"v2lite-mini-q8_0", "v2lite-mini-q4_k_m"}) {
    SCOPED_TRACE(m);
    const json j = info(m);
    ASSERT_FALSE(j.is_discarded());
    expect_common(j);
    EXPECT_EQ(j["n_heads"], 4);
    EXPECT_EQ(j["q_lora_rank"], 0);
    EXPECT_EQ(j["n_shared_experts"], 2);
    EXPECT_EQ(j["n_expert_groups"], 1);
    EXPECT_EQ(j["n_limited_groups"], 1);
    EXPECT_EQ(j["score_func"], "softmax");
    EXPECT_EQ(j["route_scale"], 1.0);
    EXPECT_EQ(j["rope_factor"], 1.0);
    EXPECT_EQ(j["original_seq_len"], 0);
    EXPECT_EQ(j["context_length"], 32768);
    EXPECT_EQ(j["tensor_layout"], "split");
  }
}

TEST(InfoCommand, LegacyAndSplitLayoutsDescribeTheSameModel) {
  json split = info("r1-mini-q8_0"), legacy = info("r1-mini-legacy-kvb-q8_0");
  for (const char* k : {"tensor_layout", "file", "file_bytes", "tensor_count", "types", "params_total",
                        "params_per_token", "bytes_per_token", "ignored_tensors", "gguf_version"}) {
    split.erase(k);
    legacy.erase(k);
  }
  EXPECT_EQ(split, legacy);
}

TEST(InfoCommand, BytesPerTokenFollowsTheDefinition) {
  // r1-mini bf16: count by hand from the shapes. Per layer, attention:
  //   q_a 256x256, q_b 256x768, kv_a 256x288, k_b 64x256x8, v_b 256x64x8, out 512x256 (bf16)
  //   norms 3 x 256 (f32). Dense FFN (layer 0): 3 x 256x512 bf16 + ffn_norm f32.
  //   MoE layers: router 256x16 f32, bias 16 f32, experts 3 x 256x256x16 bf16 (4 of 16 read),
  //   shared 3 x 256x256 bf16, ffn_norm f32.
  // Global: output 256x4113 bf16 in full, output_norm 256 f32, one row of token_embd (bf16).
  const json j = info("r1-mini-bf16");
  const uint64_t attn = 2ull * (256 * 256 + 256 * 768 + 256 * 288 + 64 * 256 * 8 + 256 * 64 * 8 + 512 * 256) +
                        4ull * 3 * 256;
  const uint64_t dense = 2ull * 3 * 256 * 512 + 4ull * 256;
  const uint64_t moe = 4ull * (256 * 16 + 16) + 2ull * 3 * 256 * 256 * 16 * 4 / 16 + 2ull * 3 * 256 * 256 +
                       4ull * 256;
  const uint64_t global = 2ull * 256 * 4113 + 4ull * 256 + 2ull * 256;
  EXPECT_EQ(j["bytes_per_token"].get<uint64_t>(), 3 * attn + dense + 2 * moe + global);
}

TEST(InfoCommand, VocabOnlyFileDescribesItsTokenizer) {
  const json j = info("deepseek-r1-vocab");
  ASSERT_FALSE(j.is_discarded());
  EXPECT_EQ(j["tokenizer"]["tokens"], 129280);
  EXPECT_EQ(j["tokenizer"]["merges"], 127741);
  EXPECT_EQ(j["tokenizer"]["pre"], "deepseek-v3");
  EXPECT_EQ(j["tokenizer"]["chat_template"], true);
  EXPECT_FALSE(j.contains("dim"));
}

TEST(InfoCommand, BadFilesAreClearErrors) {
  EXPECT_EQ(run_moeinfer("info -m /nonexistent.gguf 2>/dev/null").exit_code, 1);
  EXPECT_EQ(run_moeinfer("info -m " + data_path("oracle/tokenizer.json") + " 2>/dev/null").exit_code, 1);
  EXPECT_EQ(run_moeinfer("info 2>/dev/null").exit_code, 2);
}

}  // namespace
}  // namespace moe::testing
