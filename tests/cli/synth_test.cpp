// `moeinfer synth` writes a file that `info` describes and `run` runs.
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "cli_test_util.h"

namespace moe::testing {
namespace {

using nlohmann::json;

TEST(CliSynth, TinyFileRunsAndInfoAgrees) {
  const auto dir = std::filesystem::temp_directory_path() / "moeinfer_cli_synth_test";
  std::filesystem::create_directories(dir);
  const std::string out = (dir / "tiny-q4km.gguf").string();
  const ProcessResult w = run_moeinfer("synth --preset tiny --type Q4_K_M --seed 3 -t 2 --vocab " +
                                       model_path("r1-mini-q8_0") + " -o " + out);
  ASSERT_EQ(w.exit_code, 0) << w.out;
  EXPECT_NE(w.out.find("bytes_per_token"), std::string::npos) << w.out;

  const ProcessResult info = run_moeinfer("info --json -m " + out);
  ASSERT_EQ(info.exit_code, 0);
  const json j = json::parse(info.out);
  EXPECT_EQ(j["architecture"], "deepseek2");
  EXPECT_EQ(j["n_layers"], 2);
  EXPECT_EQ(j["dim"], 256);
  EXPECT_EQ(j["vocab_size"], 4113);
  EXPECT_EQ(j["tensor_layout"], "split");
  EXPECT_TRUE(j["types"].contains("q4_K"));
  EXPECT_TRUE(j["types"].contains("q6_K"));
  EXPECT_TRUE(j["types"].contains("q5_0"));  // attn_k_b: rows of 64
  EXPECT_TRUE(j["tokenizer"]["chat_template"].get<bool>());

  const ProcessResult run = run_moeinfer("run -m " + out + " --prompt-ids 0,1,2 -n 4 --greedy --ignore-eos -t 2");
  EXPECT_EQ(run.exit_code, 0) << run.out;

  EXPECT_NE(run_moeinfer("synth --preset nope -o " + out + " 2>/dev/null").exit_code, 0);
  EXPECT_NE(run_moeinfer("synth --preset tiny --type Q3_X -o " + out + " 2>/dev/null").exit_code, 0);
  EXPECT_NE(run_moeinfer("synth --preset tiny --layers 1- -o " + out + " 2>/dev/null").exit_code, 0);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace moe::testing
