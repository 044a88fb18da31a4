// `moeinfer bench --json` on the r1-mini fixture with tiny sizes: every field is there and
// the derived numbers agree (no timing assertions).
#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>

#include "cli_test_util.h"

namespace moe::testing {
namespace {

using nlohmann::json;

// The parsed output of a `moeinfer` command that must succeed (discarded if it printed
// something else).
json run_json(const std::string& command) {
  const ProcessResult r = run_moeinfer(command);
  EXPECT_EQ(r.exit_code, 0) << command << "\n" << r.out;
  const json j = json::parse(r.out, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << command << "\n" << r.out;
  return j;
}

TEST(CliBench, JsonFieldsAreConsistent) {
  const json j = run_json("bench --json -m " + model_path("r1-mini-q8_0") +
                          " -p 8 -n 4 -r 2 -t 2 -tb 2 --membw-size 8M --membw-passes 2");
  ASSERT_TRUE(j.is_object());
  for (const char* key : {"pp_tps", "tg_tps", "tg_gbps", "membw_gbps", "tg_pct_membw", "threads", "n_prompt",
                          "n_gen", "bytes_per_token"}) {
    ASSERT_TRUE(j.contains(key)) << key;
  }
  EXPECT_EQ(j["n_prompt"], 8);
  EXPECT_EQ(j["n_gen"], 4);
  EXPECT_EQ(j["threads"], 2);
  EXPECT_EQ(j["reps"], 2);
  EXPECT_GT(j["pp_tps"].get<double>(), 0.0);
  EXPECT_GT(j["tg_tps"].get<double>(), 0.0);
  EXPECT_GT(j["membw_gbps"].get<double>(), 0.0);
  // bytes_per_token is `info`'s figure for the same file.
  EXPECT_EQ(j["bytes_per_token"], run_json("info --json -m " + model_path("r1-mini-q8_0"))["bytes_per_token"]);
  const double gbps = j["tg_gbps"].get<double>();
  EXPECT_NEAR(gbps, j["bytes_per_token"].get<double>() * j["tg_tps"].get<double>() / 1e9, 1e-9 * gbps + 1e-12);
  EXPECT_NEAR(j["tg_pct_membw"].get<double>(), 100.0 * gbps / j["membw_gbps"].get<double>(), 1e-9);
}

// Lists, as llama-bench takes them: per depth, a pp test per prompt size, then a tg test per
// generation length; --json prints an array of the objects a single test prints.
TEST(CliBench, ListsRunOneTestPerValue) {
  const json j = run_json("bench --json -m " + model_path("r1-mini-q8_0") +
                          " -p 4,8 -n 0,2 -d 0,5 -r 1 -t 1 -tb 1 --membw-size 0 --no-warmup");
  ASSERT_TRUE(j.is_array()) << j.dump();
  const int want[][3] = {{4, 0, 0}, {8, 0, 0}, {0, 2, 0}, {4, 0, 5}, {8, 0, 5}, {0, 2, 5}};  // p, n, d
  ASSERT_EQ(j.size(), std::size(want));
  for (size_t i = 0; i < j.size(); ++i) {
    EXPECT_EQ(j[i]["n_prompt"], want[i][0]) << i;
    EXPECT_EQ(j[i]["n_gen"], want[i][1]) << i;
    EXPECT_EQ(j[i]["n_depth"], want[i][2]) << i;
    const bool pp = want[i][0] > 0;
    EXPECT_EQ(j[i]["pp_samples"].size(), pp ? 1u : 0u) << i;
    EXPECT_EQ(j[i]["tg_samples"].size(), pp ? 0u : 1u) << i;
    EXPECT_GT(j[i][pp ? "pp_tps" : "tg_tps"].get<double>(), 0.0) << i;
  }
  // The table: one header, one row per test, the depth in the test's name.
  const ProcessResult text = run_moeinfer("bench -m " + model_path("r1-mini-q8_0") +
                                          " -p 4 -n 2 -d 0,5 -r 1 -t 1 -tb 1 --membw-size 0 --no-warmup");
  ASSERT_EQ(text.exit_code, 0) << text.out;
  size_t headers = 0;
  for (size_t at = text.out.find("| model"); at != std::string::npos; at = text.out.find("| model", at + 1)) ++headers;
  EXPECT_EQ(headers, 1u) << text.out;
  for (const char* test : {"| pp4 ", "| tg2 ", "| pp4 @ d5 ", "| tg2 @ d5 "}) {
    EXPECT_NE(text.out.find(test), std::string::npos) << test << "\n" << text.out;
  }
  // Under the table, each tg test's thread-pool line (one thread: nothing waits).
  for (const char* line : {"\ntg2, 1 threads: ", "\ntg2 @ d5, 1 threads: "}) {
    const size_t at = text.out.find(line);
    ASSERT_NE(at, std::string::npos) << line << "\n" << text.out;
    EXPECT_NE(text.out.find("parallel regions per token, threads idle 0.0 %", at),
              std::string::npos)
        << text.out;
  }
}

// -t and -tb lists: every pair runs the tests, each with the bandwidth probed at its -t.
// Other commands take one value.
TEST(CliBench, ThreadListsRunEveryPair) {
  const json j = run_json("bench --json -m " + model_path("r1-mini-q8_0") +
                          " -p 4 -n 2 -t 1,2 -tb 2,1 -r 1 --membw-size 4M --membw-passes 1 --no-warmup");
  ASSERT_TRUE(j.is_array()) << j.dump();
  const int want[][2] = {{1, 2}, {1, 1}, {2, 2}, {2, 1}};  // (threads, threads_batch)
  ASSERT_EQ(j.size(), std::size(want));
  for (size_t i = 0; i < j.size(); ++i) {
    EXPECT_EQ(j[i]["threads"], want[i][0]) << i;
    EXPECT_EQ(j[i]["threads_batch"], want[i][1]) << i;
    EXPECT_EQ(j[i]["membw_threads"], want[i][0]) << i;
    EXPECT_GT(j[i]["pp_tps"].get<double>(), 0.0) << i;
    EXPECT_GT(j[i]["tg_tps"].get<double>(), 0.0) << i;
  }
  const ProcessResult run = run_moeinfer("run -m " + model_path("r1-mini-q8_0") + " -t 1,2 -p hi -n 2 2>&1");
  EXPECT_EQ(run.exit_code, 1) << run.out;
  EXPECT_NE(run.out.find("one value"), std::string::npos) << run.out;
}

TEST(CliBench, MembwOnly) {
  const json j = run_json("bench --membw --json -t 1 --membw-size 4M --membw-passes 2");
  ASSERT_TRUE(j.is_object());
  EXPECT_GT(j["membw_gbps"].get<double>(), 0.0);
  EXPECT_TRUE(std::isfinite(j["membw_gbps"].get<double>()));
  EXPECT_EQ(j["threads"], 1);
  EXPECT_LE(j["huge_bytes"].get<uint64_t>(), j["bytes"].get<uint64_t>());
  const json small =
      run_json("bench --membw --json -t 1 --membw-size 4M --membw-passes 1 --membw-pages off");
  EXPECT_EQ(small["huge_bytes"], 0u);
  const json list = run_json("bench --membw --json -t 1,2 --membw-size 4M --membw-passes 1");
  ASSERT_TRUE(list.is_array()) << list.dump();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0]["threads"], 1);
  EXPECT_EQ(list[1]["threads"], 2);
}

// The probe runs before the weights load (its buffer finds the memory they will take free),
// once per -t value, and logs what it read.
TEST(CliBench, ProbesBeforeTheWeightsLoad) {
  const ProcessResult r = run_moeinfer(
      "bench -m " + model_path("r1-mini-q8_0") +
      " -p 0 -n 1 -r 1 -t 1,2 -tb 1 --no-warmup --membw-size 4M --membw-passes 1 2>&1");
  ASSERT_EQ(r.exit_code, 0) << r.out;
  const size_t one = r.out.find("bandwidth probe, 1 threads: ");
  const size_t two = r.out.find("bandwidth probe, 2 threads: ");
  const size_t loaded = r.out.find(": mmap (page cache)");  // Model::load's first line
  ASSERT_NE(one, std::string::npos) << r.out;
  ASSERT_NE(two, std::string::npos) << r.out;
  ASSERT_NE(loaded, std::string::npos) << r.out;
  EXPECT_LT(one, two);
  EXPECT_LT(two, loaded) << r.out;
}

TEST(CliBench, LoadAgainstCat) {
  for (const char* method : {"cow", "pread"}) {
    const json j = run_json("bench --load --json -r 3 --read-method " + std::string(method) + " -m " +
                            model_path("r1-mini-q8_0") + " 2>/dev/null");
    ASSERT_TRUE(j.is_object());
    EXPECT_EQ(j["read_method"], method);
    ASSERT_EQ(j["cat_gbps"].size(), 3u);
    ASSERT_EQ(j["load_gbps"].size(), 3u);
    EXPECT_GT(j["cat_median_gbps"].get<double>(), 0.0);
    EXPECT_NEAR(j["load_pct_cat"].get<double>(),
                100.0 * j["load_median_gbps"].get<double>() / j["cat_median_gbps"].get<double>(), 1e-9);
    const std::string how = j["load"].get<std::string>();
    EXPECT_NE(how.find(std::string(method) == "cow" ? "(copy-on-write" : "(pread)"), std::string::npos) << how;
    ASSERT_EQ(j["fresh_memory_gbps"].size(), 3u);
    EXPECT_GT(j["fresh_memory_median_gbps"].get<double>(), 0.0);
  }
}

TEST(CliBench, BadArgumentsFailCleanly) {
  EXPECT_NE(run_moeinfer("bench -m " + model_path("r1-mini-q8_0") + " -r 0 2>/dev/null").exit_code, 0);
  EXPECT_NE(run_moeinfer("bench --membw --membw-size 12Q 2>/dev/null").exit_code, 0);
  EXPECT_NE(run_moeinfer("bench --membw --membw-pages 3k 2>/dev/null").exit_code, 0);
  EXPECT_NE(run_moeinfer("bench -m /nonexistent.gguf 2>/dev/null").exit_code, 0);
  for (const char* zeros : {"-p 0 -n 0", "-p 0,0 -n 0"}) {  // nothing to measure
    EXPECT_EQ(run_moeinfer("bench -m " + model_path("r1-mini-q8_0") + " " + zeros + " 2>/dev/null").exit_code, 1);
  }
  for (const char* list : {"4,,8", "4,", ",4", "4,x", "4,-1", "4;8"}) {
    const ProcessResult r = run_moeinfer("bench -m " + model_path("r1-mini-q8_0") + " -p '" + list + "' 2>&1");
    EXPECT_EQ(r.exit_code, 1) << list;
    EXPECT_NE(r.out.find("--n-prompt"), std::string::npos) << list << ": " << r.out;
  }
  EXPECT_NE(run_moeinfer("bench --load -m /nonexistent.gguf 2>/dev/null").exit_code, 0);
  EXPECT_NE(run_moeinfer("bench --load --read-method fast -m " + model_path("r1-mini-q8_0") + " 2>/dev/null").exit_code, 0);
}

}  // namespace
}  // namespace moe::testing
