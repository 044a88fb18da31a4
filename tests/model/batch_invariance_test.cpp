// Batch invariance: a token's logits are bitwise identical whatever the prefill chunk size,
// whether the prompt was fed token by token, and whatever other sequences share the batch.
#include <algorithm>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>

#include "model_test_util.h"

namespace moe::testing {
namespace {

std::vector<int32_t> long_prompt() {
  std::ifstream in(data_path("oracle/r1-mini-q4_k_m.json"));
  const auto oracle = nlohmann::json::parse(in);
  for (const auto& g : oracle["greedy"]) {
    if (g["prompt"].size() > 600) return g["prompt"].get<std::vector<int32_t>>();
  }
  return {};
}

// Its first n tokens.
std::vector<int32_t> long_prompt(size_t n) {
  auto prompt = long_prompt();
  EXPECT_GE(prompt.size(), n);
  prompt.resize(std::min(prompt.size(), n));
  return prompt;
}

// Logits of every position of `prompt` fed in chunks of `chunk` tokens.
std::vector<float> all_logits(const Model& model, ThreadPool& pool, const std::vector<int32_t>& prompt,
                              size_t chunk, KvCacheType cache = KvCacheType::kF16, int64_t block_tokens = 256) {
  auto kv = KvCache::create(model.args(), cache, static_cast<int64_t>(prompt.size()), 1, block_tokens);
  Forward forward(model, pool);
  std::vector<float> out;
  Logits logits;
  for (size_t i = 0; i < prompt.size(); i += chunk) {
    std::vector<BatchToken> batch;
    for (size_t j = i; j < std::min(prompt.size(), i + chunk); ++j) {
      batch.push_back({prompt[j], static_cast<int32_t>(j), 0, true});
    }
    EXPECT_TRUE(forward.run(batch, *kv, logits).is_ok());
    out.insert(out.end(), logits.values.begin(), logits.values.end());
  }
  return out;
}

TEST(BatchInvariance, ChunkSizeDoesNotChangeLogits) {
  auto model = load_fixture("r1-mini-q4_k_m");
  ASSERT_NE(model, nullptr);
  const auto prompt = long_prompt();
  ASSERT_GT(prompt.size(), 600u);
  ThreadPool pool(2);
  const auto whole = all_logits(*model, pool, prompt, 512);
  const auto small = all_logits(*model, pool, prompt, 64);
  const auto single = all_logits(*model, pool, prompt, 1);
  ASSERT_EQ(whole.size(), prompt.size() * static_cast<size_t>(model->args().vocab_size));
  EXPECT_EQ(0, std::memcmp(whole.data(), small.data(), whole.size() * sizeof(float)));
  EXPECT_EQ(0, std::memcmp(whole.data(), single.data(), whole.size() * sizeof(float)));
}

// A q8_0 cache: the scores are the packed int8 gemm over the cache's 16-row groups, with
// the last group partly written. A bf16 cache (with AVX512-BF16): scores and weighted sums
// read in place, one run of rows per cache block, the weighted sums over pairs of rows.
// Several cache blocks of 16 positions, the last run odd.
TEST(BatchInvariance, Q8_0AndBf16CacheChunkSizeDoesNotChangeLogits) {
  auto model = load_fixture("r1-mini-q4_k_m");
  ASSERT_NE(model, nullptr);
  const auto prompt = long_prompt(45);
  ASSERT_EQ(prompt.size(), 45u);
  ThreadPool pool(2);
  for (KvCacheType cache : {KvCacheType::kQ8_0, KvCacheType::kBF16}) {
    const auto whole = all_logits(*model, pool, prompt, 45, cache, 16);
    const auto small = all_logits(*model, pool, prompt, 7, cache, 16);
    const auto single = all_logits(*model, pool, prompt, 1, cache, 32);
    ASSERT_EQ(whole.size(), prompt.size() * static_cast<size_t>(model->args().vocab_size));
    EXPECT_EQ(0, std::memcmp(whole.data(), small.data(), whole.size() * sizeof(float))) << kv_cache_type_name(cache);
    EXPECT_EQ(0, std::memcmp(whole.data(), single.data(), whole.size() * sizeof(float))) << kv_cache_type_name(cache);
  }
}

// Decode steps read the cache in blocks of 128 positions, the scores split by blocks and the
// weighted sums by pieces of columns and groups of heads, by how many threads there are; prompt
// chunks go over the shared latent in groups of tokens, block by block, a thread taking a
// group's range of heads: all give the bits of the prompt read in one chunk. 300 positions:
// three blocks, the last partial; cache blocks of 48 positions, which the 128-position blocks
// cross; chunks of 37 tokens, which the groups of tokens do not divide. A bf16 cache on a CPU
// with AVX512-BF16 is read in place on both paths (decode: runs of rows cut at cache blocks of
// 48 and at the 128-position blocks; the weighted sums by pieces of columns).
TEST(BatchInvariance, DecodeStepsMatchAPromptChunkWhateverTheThreads) {
  auto model = load_fixture("r1-mini-q4_k_m");
  ASSERT_NE(model, nullptr);
  const auto prompt = long_prompt(300);
  ASSERT_EQ(prompt.size(), 300u);
  ThreadPool two(2);
  for (KvCacheType cache : {KvCacheType::kF16, KvCacheType::kQ8_0, KvCacheType::kBF16}) {
    const auto whole = all_logits(*model, two, prompt, 300, cache, 48);
    for (int threads : {1, 3, 5}) {
      ThreadPool pool(threads);
      const auto single = all_logits(*model, pool, prompt, 1, cache, 48);
      const auto chunks = all_logits(*model, pool, prompt, 37, cache, 48);
      ASSERT_EQ(whole.size(), single.size());
      ASSERT_EQ(whole.size(), chunks.size());
      EXPECT_EQ(0, std::memcmp(whole.data(), single.data(), whole.size() * sizeof(float)))
          << kv_cache_type_name(cache) << ", " << threads << " threads";
      EXPECT_EQ(0, std::memcmp(whole.data(), chunks.data(), whole.size() * sizeof(float)))
          << kv_cache_type_name(cache) << ", chunks of 37, " << threads << " threads";
    }
  }
}

TEST(BatchInvariance, ThreadCountDoesNotChangeLogits) {
  auto model = load_fixture("r1-mini-q8_0");
  ASSERT_NE(model, nullptr);
  const std::vector<int32_t> prompt = {0, 671, 2342, 1911, 294, 447, 84, 730, 344, 12, 99};
  ThreadPool one(1), two(2);
  const auto a = all_logits(*model, one, prompt, 512);
  const auto b = all_logits(*model, two, prompt, 512);
  EXPECT_EQ(0, std::memcmp(a.data(), b.data(), a.size() * sizeof(float)));
}

TEST(BatchInvariance, TwoSequencesInOneBatchMatchEachAlone) {
  for (const char* name : {"r1-mini-bf16", "v2lite-mini-q4_k_m"}) {
    auto model = load_fixture(name);
    ASSERT_NE(model, nullptr);
    ThreadPool pool(2);
    const std::vector<int32_t> p1 = {0, 671, 2342, 1911, 294, 447, 84, 730, 344};
    const std::vector<int32_t> p2 = {0, 5, 17, 4000, 33, 2000, 1000, 12, 13, 14, 15, 16, 3};
    const auto alone1 = all_logits(*model, pool, p1, 512);
    const auto alone2 = all_logits(*model, pool, p2, 512);

    // Both prompts interleaved in one batch, then one decode step of each in one batch.
    auto kv = KvCache::create(model->args(), KvCacheType::kF16, 64, 2, 16);
    Forward forward(*model, pool);
    std::vector<BatchToken> batch;
    for (size_t i = 0; i < std::max(p1.size(), p2.size()); ++i) {
      if (i < p2.size()) batch.push_back({p2[i], static_cast<int32_t>(i), 1, true});
      if (i < p1.size()) batch.push_back({p1[i], static_cast<int32_t>(i), 0, true});
    }
    Logits logits;
    ASSERT_TRUE(forward.run(batch, *kv, logits).is_ok());
    const size_t V = static_cast<size_t>(model->args().vocab_size);
    for (size_t r = 0; r < logits.rows(); ++r) {
      const BatchToken& b = batch[static_cast<size_t>(logits.batch_index[r])];
      const auto& alone = b.seq == 0 ? alone1 : alone2;
      EXPECT_EQ(0, std::memcmp(logits.row(r), alone.data() + static_cast<size_t>(b.pos) * V, V * sizeof(float)))
          << name << " seq " << b.seq << " pos " << b.pos;
    }
  }
}

// One batch holding a decode step of one sequence (its rows read block by block) and the
// whole prompt of another (a shared latent), then decode steps of both together: each gives
// the logits it gives alone.
TEST(BatchInvariance, DecodeStepBesideAPromptMatchesEachAlone) {
  auto model = load_fixture("r1-mini-q8_0");
  ASSERT_NE(model, nullptr);
  ThreadPool pool(2);
  const std::vector<int32_t> p1 = {0, 671, 2342, 1911, 294, 447, 84, 730, 344, 12, 99};
  const std::vector<int32_t> p2 = {0, 5, 17, 4000, 33, 2000, 1000, 12, 13, 14, 15, 16, 3};
  const auto alone1 = all_logits(*model, pool, p1, 512);
  const auto alone2 = all_logits(*model, pool, p2, 512);

  auto kv = KvCache::create(model->args(), KvCacheType::kF16, 64, 2, 16);
  Forward forward(*model, pool);
  Logits logits;
  std::vector<BatchToken> batch;
  for (size_t i = 0; i + 2 < p1.size(); ++i) batch.push_back({p1[i], static_cast<int32_t>(i), 0, false});
  ASSERT_TRUE(forward.run(batch, *kv, logits).is_ok());
  // seq 0 decodes position 9 while seq 1's prompt but its last token goes in; then both decode
  batch.assign({{p1[9], 9, 0, true}});
  for (size_t i = 0; i + 1 < p2.size(); ++i) batch.push_back({p2[i], static_cast<int32_t>(i), 1, true});
  std::vector<std::vector<BatchToken>> steps = {batch, {{p2[12], 12, 1, true}, {p1[10], 10, 0, true}}};
  const size_t V = static_cast<size_t>(model->args().vocab_size);
  for (const auto& step : steps) {
    ASSERT_TRUE(forward.run(step, *kv, logits).is_ok());
    ASSERT_EQ(logits.rows(), step.size());
    for (size_t r = 0; r < logits.rows(); ++r) {
      const BatchToken& b = step[static_cast<size_t>(logits.batch_index[r])];
      const auto& alone = b.seq == 0 ? alone1 : alone2;
      EXPECT_EQ(0, std::memcmp(logits.row(r), alone.data() + static_cast<size_t>(b.pos) * V, V * sizeof(float)))
          << "seq " << b.seq << " pos " << b.pos;
    }
  }
}

TEST(Forward, RejectsBadInputWithoutChangingTheCache) {
  auto model = load_fixture("r1-mini-q8_0");
  ASSERT_NE(model, nullptr);
  ThreadPool pool(1);
  auto kv = KvCache::create(model->args(), KvCacheType::kF16, 8, 2, 4);
  Forward forward(*model, pool);
  Logits logits;
  const BatchToken bad_token[] = {{static_cast<int32_t>(model->args().vocab_size), 0, 0, true}};
  EXPECT_FALSE(forward.run(bad_token, *kv, logits).is_ok());
  const BatchToken bad_seq[] = {{1, 0, 5, true}};
  EXPECT_FALSE(forward.run(bad_seq, *kv, logits).is_ok());
  const BatchToken gap[] = {{1, 3, 0, true}};
  const Status s = forward.run(gap, *kv, logits);
  EXPECT_FALSE(s.is_ok());
  EXPECT_NE(s.message().find("next position"), std::string::npos) << s.message();
  EXPECT_EQ(kv->length(0), 0);
  // Filling the context is a clear error, not a crash.
  std::vector<BatchToken> many;
  for (int i = 0; i < 9; ++i) many.push_back({1, i, 0, false});
  const Status full = forward.run(many, *kv, logits);
  EXPECT_FALSE(full.is_ok());
  EXPECT_NE(full.message().find("context full"), std::string::npos) << full.message();
}

}  // namespace
}  // namespace moe::testing
