// The forward pass against the ground truth: an independent float64 implementation of
// DeepSeek's model on the same weights (tests/data/oracle/<model>.json). The comparison is
// the one the fixtures README defines (and ../shared/tools/check_oracle.py implements):
// walk the greedy steps while both pick the same token; every reference top-8 token found
// in ours must be within the tolerance; a different choice is excused only at a near tie
// (top-2 gap under 2 x tolerance); comparison stops at a routing near-tie (route_margin).
#include <cmath>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "model_test_util.h"

namespace moe::testing {
namespace {

using nlohmann::json;

double tolerance_for(const std::string& model) {
  if (model.ends_with("bf16")) return 0.04;
  if (model.ends_with("q8_0")) return 0.12;
  return 0.15;
}

struct StepResult {
  int32_t id;
  std::vector<std::pair<int32_t, float>> top;  // ours, 8 entries
};

std::vector<StepResult> greedy_run(const Model& model, ThreadPool& pool, const std::vector<int32_t>& prompt,
                                   int steps, KvCacheType cache_type) {
  auto kv = KvCache::create(model.args(), cache_type, static_cast<int64_t>(prompt.size()) + steps, 1);
  EXPECT_TRUE(kv.is_ok());
  Session session(model, pool, *kv, 0, SessionConfig{});
  std::vector<StepResult> out;
  std::vector<float> scratch;
  EXPECT_TRUE(session.feed(prompt).is_ok());
  for (int i = 0; i < steps; ++i) {
    auto top = top_logprobs(session.logits(), session.n_vocab(), 8, scratch);
    out.push_back({top[0].first, top});
    if (i + 1 < steps) {
      const int32_t next[1] = {top[0].first};
      EXPECT_TRUE(session.feed(next).is_ok());
    }
  }
  return out;
}

// Returns the worst |logprob error| over the comparable steps; adds failures to `problems`.
double compare(const json& ref_steps, const std::vector<StepResult>& got, double tol,
               std::vector<std::string>& problems) {
  double worst = 0.0;
  for (size_t s = 0; s < ref_steps.size() && s < got.size(); ++s) {
    const json& x = ref_steps[s];
    if (x.contains("route_margin") && x["route_margin"].get<double>() < 0.02) break;
    std::map<int32_t, float> ours(got[s].top.begin(), got[s].top.end());
    float floor = 0.0f;
    for (const auto& [id, lp] : got[s].top) floor = std::min(floor, lp);
    for (const json& pair : x["top"]) {
      const int32_t id = pair[0].get<int32_t>();
      const double lp = pair[1].get<double>();
      if (auto it = ours.find(id); it != ours.end()) {
        worst = std::max(worst, std::abs(lp - it->second));
      } else if (lp - floor > tol) {
        problems.push_back("step " + std::to_string(s) + ": token " + std::to_string(id) + " missing from top-8");
        return worst;
      }
    }
    if (x["id"].get<int32_t>() != got[s].id) {
      const double gap = x["top"][0][1].get<double>() - x["top"][1][1].get<double>();
      if (gap >= 2 * tol) {
        problems.push_back("step " + std::to_string(s) + ": expected token " + std::to_string(x["id"].get<int>()) +
                           ", got " + std::to_string(got[s].id) + " (top-2 gap " + std::to_string(gap) + ")");
      }
      break;
    }
  }
  return worst;
}

struct OracleCase {
  std::string model;
  KvCacheType cache;
  double tol_scale;
};

class OracleTest : public ::testing::TestWithParam<OracleCase> {};

TEST_P(OracleTest, GreedyStepsMatchReference) {
  const OracleCase& c = GetParam();
  std::ifstream in(data_path("oracle/" + c.model + ".json"));
  ASSERT_TRUE(in.good());
  const json oracle = json::parse(in);
  auto model = load_fixture(c.model);
  ASSERT_NE(model, nullptr);
  ThreadPool pool(2);
  const double tol = tolerance_for(c.model) * c.tol_scale;
  double worst = 0.0;
  std::vector<std::string> problems;
  for (const json& g : oracle["greedy"]) {
    const auto prompt = g["prompt"].get<std::vector<int32_t>>();
    const auto got = greedy_run(*model, pool, prompt, static_cast<int>(g["steps"].size()), c.cache);
    worst = std::max(worst, compare(g["steps"], got, tol, problems));
  }
  const double llama = oracle["llama_cpp"]["max_abs_logprob_error_vs_reference"].get<double>();
  std::printf("[ oracle ] %-28s cache %-4s max |logprob error| %.4f (tolerance %.3f; llama.cpp %.4f)\n",
              c.model.c_str(), kv_cache_type_name(c.cache), worst, tol, llama);
  for (const std::string& p : problems) ADD_FAILURE() << c.model << ": " << p;
  EXPECT_LE(worst, tol) << c.model;
}

std::vector<OracleCase> all_cases() {
  std::vector<OracleCase> cases;
  for (const std::string& m : fixture_models()) cases.push_back({m, KvCacheType::kF16, 1.0});
  // q8_0 cache: c and k_pe are rounded to 8 bits per value (relative step 1/127 of the block
  // max) instead of f16's 11 bits; that adds an error of the same order as Q8_0 weights do,
  // so the tolerance is widened by half.
  for (const std::string& m : fixture_models()) cases.push_back({m, KvCacheType::kQ8_0, 1.5});
  // bf16 cache: 8 significant bits per value (f16 has 11), and where the CPU has AVX512-BF16
  // the queries and softmax weights are rounded to bf16 too (the in-place kernels): the
  // same order of error as the q8_0 cache.
  for (const std::string& m : fixture_models()) cases.push_back({m, KvCacheType::kBF16, 1.5});
  return cases;
}

INSTANTIATE_TEST_SUITE_P(Fixtures, OracleTest, ::testing::ValuesIn(all_cases()),
                         [](const ::testing::TestParamInfo<OracleCase>& info) {
                           std::string n = info.param.model + "_" + kv_cache_type_name(info.param.cache);
                           for (char& ch : n) {
                             if (ch == '-') ch = '_';
                           }
                           return n;
                         });

}  // namespace
}  // namespace moe::testing
