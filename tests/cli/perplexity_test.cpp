// `moeinfer perplexity` end to end: llama.cpp-style output, JSON, and the --kld-base / --kld
// round trip through a file.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "cli/cli_test_util.h"

namespace moe::testing {
namespace {

std::string text() {
  return data_path("text/lighthouse.txt");
}

TEST(PerplexityCli, PrintsRunningAndFinalEstimate) {
  const ProcessResult r = run_moeinfer("perplexity -m " + model_path("r1-mini-q8_0") + " -f " +
                                       text() + " -c 128 -t 2 2>/dev/null");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_EQ(r.out.rfind("[1]", 0), 0u) << r.out;
  EXPECT_NE(r.out.find(",[2]"), std::string::npos);
  EXPECT_NE(r.out.find("Final estimate: PPL = "), std::string::npos);
}

TEST(PerplexityCli, KldRoundTripAsJson) {
  const std::string base = (std::filesystem::temp_directory_path() /
                            ("moeinfer_ppl_cli_" + std::to_string(::getpid()) + ".kld"))
                               .string();
  ProcessResult r = run_moeinfer("perplexity -m " + model_path("r1-mini-bf16") + " -f " + text() +
                                 " -c 128 --chunks 2 --kld-base " + base + " --json 2>/dev/null");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["n_chunks"], 2);
  EXPECT_GT(j["ppl"].get<double>(), 1.0);

  r = run_moeinfer("perplexity -m " + model_path("r1-mini-q4_k_m") + " --kld " + base +
                   " --json 2>/dev/null");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  j = nlohmann::json::parse(r.out);
  ASSERT_TRUE(j.contains("kld"));
  EXPECT_GT(j["kld"]["kld_mean"].get<double>(), 0.0);
  EXPECT_TRUE(std::isfinite(j["kld"]["kld_p99"].get<double>()));
  EXPECT_GT(j["kld"]["top1_agreement_pct"].get<double>(), 0.0);
  EXPECT_EQ(j["kld"]["n"], 2 * (128 - 1 - 64));

  // A different context than the base file's: a clear error.
  r = run_moeinfer("perplexity -m " + model_path("r1-mini-q4_k_m") + " --kld " + base +
                   " -c 256 2>&1");
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_NE(r.out.find("-c 128, this run uses -c 256"), std::string::npos) << r.out;
  std::filesystem::remove(base);
}

TEST(PerplexityCli, MissingTextIsAnError) {
  EXPECT_EQ(run_moeinfer("perplexity -m " + model_path("r1-mini-q8_0") + " 2>/dev/null").exit_code,
            1);
  EXPECT_EQ(run_moeinfer("perplexity -m " + model_path("r1-mini-q8_0") +
                         " -f /nonexistent.txt 2>/dev/null")
                .exit_code,
            1);
}

}  // namespace
}  // namespace moe::testing
