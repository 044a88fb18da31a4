// `moeinfer plan` end to end: the preset table on given hardware, one row for a GGUF, JSON
// fields, bad input, and the --measure plumbing on the tiny synthetic preset.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cli/cli_test_util.h"

namespace moe::testing {
namespace {

const char* kFields[] = {
    "quant",       "weights_bytes", "bytes_per_token", "kv_bytes_per_token", "kv_bytes",
    "total_bytes", "fits",          "max_context",     "decode_tps",         "prefill_tps"};

TEST(PlanCli, PresetTableAsJson) {
  const ProcessResult r =
      run_moeinfer("plan --ram 768G --bandwidth 460GB/s --cores 16 --ghz 3 -c 8192 --json");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_TRUE(j.contains("rows"));
  ASSERT_EQ(j["rows"].size(), 11u);
  for (const auto& row : j["rows"]) {
    for (const char* f : kFields) EXPECT_TRUE(row.contains(f)) << f;
    EXPECT_EQ(row["kv_bytes_per_token"].get<uint64_t>(), 70272u);  // f16 latent cache of R1
    EXPECT_EQ(row["kv_bytes"].get<uint64_t>(), 70272ull * 8192);
    EXPECT_GT(row["decode_tps"].get<double>(), 0.0);
    EXPECT_GT(row["prefill_tps"].get<double>(), 0.0);
  }
  EXPECT_EQ(j["rows"][0]["quant"], "BF16");
  EXPECT_FALSE(j["rows"][0]["fits"].get<bool>());  // 1.34 TB in 768 GiB
  EXPECT_EQ(j["rows"][0]["max_context"], 0);
  EXPECT_EQ(j["rows"][1]["published_bytes"].get<uint64_t>(), 713000000000ull);
  EXPECT_EQ(j["rows"][4]["quant"], "Q4_K_M");
  EXPECT_TRUE(j["rows"][4]["fits"].get<bool>());
  EXPECT_EQ(j["hardware"]["bandwidth_gbps"].get<double>(), 460.0);
  EXPECT_EQ(j["hardware"]["ram_bytes"].get<uint64_t>(), 768ull << 30);
}

TEST(PlanCli, KimiK2Rows) {
  const ProcessResult r =
      run_moeinfer("plan --arch kimi-k2 --ram 768G --bandwidth 460GB/s --cores 16 --json");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["rows"].size(), 11u);
  EXPECT_EQ(j["rows"][1]["quant"], "Q8_0");
  EXPECT_EQ(j["rows"][1]["weights_bytes"].get<uint64_t>(), 1091046901760ull);  // planner_test.cpp
  EXPECT_FALSE(j["rows"][1]["fits"].get<bool>());
  EXPECT_EQ(j["rows"][1]["published_bytes"], 0);  // the published sizes are R1's
  EXPECT_TRUE(j["rows"][4]["fits"].get<bool>());  // Q4_K_M, about 621 GB
  EXPECT_EQ(run_moeinfer("plan --arch llama --ram 768G --bandwidth 400 2>/dev/null").exit_code, 1);
}

TEST(PlanCli, CacheTypeQ8AndOneQuant) {
  const ProcessResult r = run_moeinfer(
      "plan --ram 512G --bandwidth 200 --cores 8 --quant q4_k_m --cache-type q8_0 --json");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["rows"].size(), 1u);
  EXPECT_EQ(j["rows"][0]["kv_bytes_per_token"].get<uint64_t>(), 37332u);
}

TEST(PlanCli, TextTableNamesEveryQuant) {
  const ProcessResult r = run_moeinfer("plan --ram 768G --bandwidth 460GB/s --cores 16");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  for (const char* q : {"BF16", "Q8_0", "Q6_K", "Q5_K_M", "Q4_K_M", "Q3_K_M", "Q2_K", "IQ1_S",
                        "IQ1_M", "IQ2_XXS", "Q2_K_XL"}) {
    EXPECT_NE(r.out.find(q), std::string::npos) << q;
  }
  EXPECT_NE(r.out.find("max ctx"), std::string::npos);
}

TEST(PlanCli, OneRowForAModelFile) {
  const ProcessResult r = run_moeinfer("plan -m " + model_path("r1-mini-q8_0") +
                                       " --ram 16G --bandwidth 30 --cores 2 -c 1024 --json");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const auto j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["rows"].size(), 1u);
  const auto& row = j["rows"][0];
  for (const char* f : kFields) EXPECT_TRUE(row.contains(f)) << f;
  EXPECT_GT(row["weights_bytes"].get<uint64_t>(), 1000000u);
  EXPECT_LT(row["bytes_per_token"].get<uint64_t>(), row["weights_bytes"].get<uint64_t>());
  EXPECT_TRUE(row["fits"].get<bool>());
  EXPECT_EQ(row["published_bytes"], 0);  // a file is not one of the published R1 quants
}

TEST(PlanCli, BadInputIsAClearError) {
  EXPECT_EQ(run_moeinfer("plan --ram 768G --bandwidth fast 2>/dev/null").exit_code, 1);
  EXPECT_EQ(run_moeinfer("plan --ram 768G --bandwidth 400 --quant Q9 2>/dev/null").exit_code, 1);
  EXPECT_EQ(run_moeinfer("plan --ram 768G --bandwidth 400 --cache-type q4 2>/dev/null").exit_code,
            1);
  EXPECT_EQ(run_moeinfer("plan -m /nonexistent.gguf --ram 1G --bandwidth 1 2>/dev/null").exit_code,
            1);
}

TEST(PlanCli, MeasureOnTheTinyPreset) {
  // The real --measure writes a ~7 GB r1-slice; the tiny preset exercises the same path.
  const ProcessResult r = run_moeinfer(
      "plan --measure --measure-preset tiny --type Q8_0 --membw-size 64M --ram 64G --bandwidth 30 "
      "--cores 2 "
      "--json 2>/dev/null");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_GT(j["measure"]["efficiency"].get<double>(), 0.0);
  EXPECT_GT(j["measure"]["tg_tps"].get<double>(), 0.0);
  ASSERT_EQ(j["rows"].size(), 1u);
  EXPECT_EQ(j["rows"][0]["quant"], "Q8_0");
  EXPECT_GT(j["rows"][0]["decode_tps"].get<double>(), 0.0);
}

}  // namespace
}  // namespace moe::testing
