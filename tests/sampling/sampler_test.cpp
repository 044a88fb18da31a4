// Samplers against hand-worked cases; randomness is seeded, so results are reproducible.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <vector>

#include "sampling/sampler.h"

namespace moe {
namespace {

SamplingParams plain(float temperature) {
  SamplingParams p;
  p.temperature = temperature;
  p.top_k = 0;
  p.top_p = 1.0f;
  p.min_p = 0.0f;
  return p;
}

TEST(Sampler, GreedyTakesTheLargestLogitLowestIdOnTies) {
  const std::vector<float> logits = {0.1f, 2.0f, -1.0f, 2.0f};
  SamplingParams p = plain(1.0f);
  p.greedy = true;
  Sampler s(p);
  EXPECT_EQ(s.sample(logits.data(), 4, {}), 1);
  EXPECT_EQ(argmax(logits.data(), 4), 1);
  Sampler zero_temp(plain(0.0f));
  EXPECT_EQ(zero_temp.sample(logits.data(), 4, {}), 1);
}

TEST(Sampler, SameSeedSameTokensDifferentSeedDiffers) {
  std::vector<float> logits(50);
  for (int i = 0; i < 50; ++i) logits[i] = static_cast<float>(i % 7) * 0.3f;
  auto draw = [&](uint64_t seed) {
    SamplingParams p = plain(1.0f);
    p.seed = seed;
    Sampler s(p);
    std::vector<int32_t> out;
    for (int i = 0; i < 40; ++i) out.push_back(s.sample(logits.data(), 50, {}));
    return out;
  };
  EXPECT_EQ(draw(7), draw(7));
  EXPECT_NE(draw(7), draw(8));
}

TEST(Sampler, FrequenciesFollowTheSoftmax) {
  // logits ln(1), ln(2), ln(7): probabilities 0.1, 0.2, 0.7 at temperature 1.
  const std::vector<float> logits = {0.0f, std::log(2.0f), std::log(7.0f)};
  Sampler s(plain(1.0f));
  std::map<int32_t, int> counts;
  const int n = 20000;
  for (int i = 0; i < n; ++i) ++counts[s.sample(logits.data(), 3, {})];
  EXPECT_NEAR(counts[0] / static_cast<double>(n), 0.1, 0.015);
  EXPECT_NEAR(counts[1] / static_cast<double>(n), 0.2, 0.015);
  EXPECT_NEAR(counts[2] / static_cast<double>(n), 0.7, 0.015);
}

TEST(Sampler, TopKTopPMinPCutTheTail) {
  // Probabilities 0.1, 0.2, 0.7 (see above).
  const std::vector<float> logits = {0.0f, std::log(2.0f), std::log(7.0f)};
  auto support = [&](SamplingParams p) {
    Sampler s(p);
    std::map<int32_t, int> seen;
    for (int i = 0; i < 2000; ++i) ++seen[s.sample(logits.data(), 3, {})];
    return seen;
  };
  SamplingParams k = plain(1.0f);
  k.top_k = 2;
  EXPECT_EQ(support(k).count(0), 0u);  // only the two best survive
  EXPECT_EQ(support(k).size(), 2u);
  SamplingParams p = plain(1.0f);
  p.top_p = 0.75f;  // 0.7 < 0.75 <= 0.7 + 0.2: tokens 2 and 1
  EXPECT_EQ(support(p).size(), 2u);
  EXPECT_EQ(support(p).count(0), 0u);
  SamplingParams m = plain(1.0f);
  m.min_p = 0.2f;  // floor 0.14: drops token 0 (0.1), keeps token 1 (0.2)
  EXPECT_EQ(support(m).count(0), 0u);
  EXPECT_EQ(support(m).size(), 2u);
  m.min_p = 0.5f;  // floor 0.35: only token 2
  EXPECT_EQ(support(m).size(), 1u);
}

TEST(Sampler, PenaltiesAndBias) {
  const std::vector<float> logits = {2.0f, 1.9f, 0.0f};
  const std::vector<int32_t> history = {0, 0};
  SamplingParams rep = plain(0.0f);
  rep.repeat_penalty = 1.1f;  // 2.0 / 1.1 = 1.818 < 1.9
  EXPECT_EQ(Sampler(rep).sample(logits.data(), 3, history), 1);
  SamplingParams freq = plain(0.0f);
  freq.frequency_penalty = 0.06f;  // 2.0 - 2 x 0.06 = 1.88 < 1.9
  EXPECT_EQ(Sampler(freq).sample(logits.data(), 3, history), 1);
  freq.frequency_penalty = 0.04f;  // 1.92 > 1.9
  EXPECT_EQ(Sampler(freq).sample(logits.data(), 3, history), 0);
  SamplingParams presence = plain(0.0f);
  presence.presence_penalty = 0.2f;  // once per present token: 1.8 < 1.9
  EXPECT_EQ(Sampler(presence).sample(logits.data(), 3, history), 1);
  SamplingParams bias = plain(0.0f);
  bias.logit_bias = {{2, 5.0f}, {99, 1.0f}};  // out-of-vocabulary keys are ignored
  EXPECT_EQ(Sampler(bias).sample(logits.data(), 3, {}), 2);
  bias.logit_bias = {{0, -INFINITY}, {1, -INFINITY}};
  Sampler banned([&] { auto p = bias; p.temperature = 1.0f; return p; }());
  for (int i = 0; i < 50; ++i) EXPECT_EQ(banned.sample(logits.data(), 3, {}), 2);
}

}  // namespace
}  // namespace moe
