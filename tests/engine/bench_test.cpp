// Bench plumbing (no timing assertions): the bandwidth probe returns a positive finite number,
// sizes parse, statistics are right, and a tiny bench run reports consistent fields.
#include "engine/bench.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "base/membw.h"
#include "engine_test_util.h"
#include "kernels/kernels.h"

namespace moe {
namespace {

// A short bench run: prompts of n_prompt tokens, n_gen decode steps, `reps` repetitions.
BenchOptions short_run(int n_prompt, int n_gen, int reps) {
  BenchOptions o;
  o.n_prompt = n_prompt;
  o.n_gen = n_gen;
  o.reps = reps;
  return o;
}

TEST(Membw, SmallBufferGivesPositiveFiniteBandwidth) {
  ThreadPool pool(2);
  MembwOptions o;
  o.bytes = 8u << 20;
  o.passes = 2;
  auto r = measure_read_bandwidth(pool, o);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_TRUE(std::isfinite(r->best_gbps));
  EXPECT_GT(r->best_gbps, 0.0);
  EXPECT_GE(r->best_gbps, r->mean_gbps);
  EXPECT_EQ(r->threads, 2);
  EXPECT_EQ(r->bytes, 8u << 20);
  EXPECT_GT(r->checksum, 0.0);

  o.threads = 1;
  o.bytes = 1 << 20;
  auto one = measure_read_bandwidth(pool, o);
  ASSERT_TRUE(one.is_ok());
  EXPECT_EQ(one->threads, 1);
  EXPECT_GT(one->best_gbps, 0.0);
}

// The buffer's pages are the ones asked for, and the result says what it got.
TEST(Membw, BufferPagesAreReported) {
  ThreadPool pool(1);
  MembwOptions o;
  o.bytes = 8u << 20;
  o.passes = 1;
  o.pages = PagePolicy::kOff;
  auto small = measure_read_bandwidth(pool, o);
  ASSERT_TRUE(small.is_ok()) << small.status().message();
  EXPECT_EQ(small->huge_bytes, 0u);
  EXPECT_NE(small->pages.find("4 KiB pages"), std::string::npos) << small->pages;

  o.pages = PagePolicy::kThp;  // the default
  EXPECT_EQ(MembwOptions{}.pages, PagePolicy::kThp);
  auto thp = measure_read_bandwidth(pool, o);
  ASSERT_TRUE(thp.is_ok()) << thp.status().message();
  EXPECT_LE(thp->huge_bytes, thp->bytes);
  EXPECT_GT(thp->best_gbps, 0.0);
  if (transparent_huge_pages_available()) {
    EXPECT_NE(thp->pages.find("transparent huge pages"), std::string::npos) << thp->pages;
  }
}

TEST(Membw, RejectsDegenerateRequests) {
  ThreadPool pool(1);
  MembwOptions o;
  o.bytes = 100;
  EXPECT_FALSE(measure_read_bandwidth(pool, o).is_ok());
  o.bytes = 1 << 20;
  o.passes = 0;
  EXPECT_FALSE(measure_read_bandwidth(pool, o).is_ok());
}

TEST(Membw, ParsesSizes) {
  EXPECT_EQ(*parse_byte_size("4G"), 4ull << 30);
  EXPECT_EQ(*parse_byte_size("4GiB"), 4ull << 30);
  EXPECT_EQ(*parse_byte_size("512M"), 512ull << 20);
  EXPECT_EQ(*parse_byte_size("64k"), 64ull << 10);
  EXPECT_EQ(*parse_byte_size("1048576"), 1048576ull);
  EXPECT_EQ(*parse_byte_size("0.5G"), 512ull << 20);
  EXPECT_FALSE(parse_byte_size("").is_ok());
  EXPECT_FALSE(parse_byte_size("G").is_ok());
  EXPECT_FALSE(parse_byte_size("4X").is_ok());
  EXPECT_FALSE(parse_byte_size("-1M").is_ok());
}

TEST(BenchStats, MeanAndSampleStddev) {
  const BenchStats s = bench_stats({10.0, 12.0, 14.0});
  EXPECT_DOUBLE_EQ(s.mean, 12.0);
  EXPECT_DOUBLE_EQ(s.stddev, 2.0);
  EXPECT_EQ(bench_stats({5.0}).stddev, 0.0);
  EXPECT_EQ(bench_stats({}).mean, 0.0);
}

TEST(Bench, TinyRunReportsConsistentJson) {
  auto model = Model::load(fixture("r1-mini-q8_0"), best_kernel_table());
  ASSERT_TRUE(model.is_ok()) << model.status().message();
  ThreadPool pool(2);
  SessionConfig sc;
  sc.threads = 2;
  sc.threads_batch = 2;
  const BenchOptions o = short_run(8, 4, 2);
  auto run = run_bench(**model, pool, sc, KvCacheType::kF16, o);
  ASSERT_TRUE(run.is_ok()) << run.status().message();
  EXPECT_EQ(run->pp.samples.size(), 2u);
  EXPECT_EQ(run->tg.samples.size(), 2u);
  EXPECT_GT(run->pp.mean, 0.0);
  EXPECT_GT(run->tg.mean, 0.0);
  EXPECT_EQ(run->cache_tokens, 4);  // the last tg test's tokens, from an empty cache

  BenchReport r;
  r.model = fixture("r1-mini-q8_0");
  r.threads = 2;
  r.threads_batch = 2;
  r.options = o;
  r.run = *run;
  r.bytes_per_token = bench_bytes_per_token(**model, 0);
  MembwOptions mo;
  mo.bytes = 4u << 20;
  mo.passes = 1;
  auto bw = measure_read_bandwidth(pool, mo);
  ASSERT_TRUE(bw.is_ok());
  r.membw = *bw;
  const auto j = bench_report_json(r);
  for (const char* key : {"pp_tps", "tg_tps", "tg_gbps", "membw_gbps", "tg_pct_membw", "threads", "n_prompt",
                          "n_gen", "bytes_per_token", "pp_tps_stddev", "tg_tps_stddev"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
  EXPECT_EQ(j["n_prompt"], 8);
  EXPECT_EQ(j["n_gen"], 4);
  EXPECT_EQ(j["threads"], 2);
  const double gbps = j["tg_gbps"].get<double>();
  EXPECT_NEAR(gbps, static_cast<double>(r.bytes_per_token) * j["tg_tps"].get<double>() / 1e9, 1e-9 * gbps);
  EXPECT_NEAR(j["tg_pct_membw"].get<double>(), 100.0 * gbps / j["membw_gbps"].get<double>(), 1e-9);
  const std::string rows = bench_table_rows(r);
  EXPECT_NE(rows.find("| pp8 "), std::string::npos) << rows;
  EXPECT_NE(rows.find("| tg4 "), std::string::npos) << rows;
  EXPECT_EQ(bench_membw_line(r).rfind("membw: ", 0), 0u) << bench_membw_line(r);
  EXPECT_EQ(bench_membw_line(BenchReport{}), "");  // no probe, no line

  // Fewer experts per token read fewer bytes.
  EXPECT_LT(bench_bytes_per_token(**model, 2), r.bytes_per_token);
}

// The pool's accounting over the timed decode steps: regions per token as one decode step
// makes them (counted here on a session of our own), and an idle share that is 0 on one
// thread (nothing to wait for) and a percentage on two.
TEST(Bench, DecodeReportsRegionsPerTokenAndPoolIdleTime) {
  auto model = Model::load(fixture("r1-mini-q8_0"), best_kernel_table());
  ASSERT_TRUE(model.is_ok()) << model.status().message();
  for (const int threads : {1, 2}) {
    ThreadPool pool(threads);
    SessionConfig sc;
    sc.threads = threads;
    sc.threads_batch = threads;
    auto kv = KvCache::create((*model)->args(), KvCacheType::kF16, 8, 1);
    ASSERT_TRUE(kv.is_ok());
    Session session(**model, pool, *kv, 0, sc);
    const int32_t first[1] = {5}, second[1] = {7};
    ASSERT_TRUE(session.feed(first).is_ok());  // the first step may set things up
    const PoolStats before = pool.stats();
    ASSERT_TRUE(session.feed(second).is_ok());
    const int64_t step_regions = pool.stats().regions - before.regions;
    ASSERT_GT(step_regions, 0);

    const BenchOptions o = short_run(0, 3, 2);
    auto run = run_bench(**model, pool, sc, KvCacheType::kF16, o);
    ASSERT_TRUE(run.is_ok()) << run.status().message();
    EXPECT_DOUBLE_EQ(run->tg_regions_per_token, static_cast<double>(step_regions)) << threads;
    if (threads == 1) {
      EXPECT_EQ(run->tg_pool_idle_pct, 0.0);
    } else {
      EXPECT_GE(run->tg_pool_idle_pct, 0.0);
      EXPECT_LT(run->tg_pool_idle_pct, 100.0);
    }
    BenchReport r;
    r.threads = threads;
    r.options = o;
    r.run = *run;
    EXPECT_EQ(bench_report_json(r)["tg_regions_per_token"].get<double>(),
              run->tg_regions_per_token);
    EXPECT_EQ(bench_pool_line(r).rfind("tg3, " + std::to_string(threads) + " threads: ", 0), 0u)
        << bench_pool_line(r);
  }
  BenchReport no_tg;
  no_tg.options.n_gen = 0;
  EXPECT_EQ(bench_pool_line(no_tg), "");
}

// The warm-up touches what the forward pass reads: the packed copies, not the file bytes
// they replaced (under memory pressure those would be read back from disk).
TEST(Bench, WarmUpTouchesThePackedCopiesNotTheBytesTheyReplaced) {
  auto model = Model::load(fixture("r1-mini-q8_0"), best_kernel_table());
  ASSERT_TRUE(model.is_ok()) << model.status().message();
  const ModelWeights& w = (*model)->weights();
  if (w.packed.size() == 0) GTEST_SKIP() << "no packed layouts with these kernels";
  uint64_t file_bytes = 0, replaced_bytes = 0;
  for (const TensorInfo& t : (*model)->file().tensors()) {
    file_bytes += t.n_bytes;
    if (std::find(w.replaced.begin(), w.replaced.end(), t.data) != w.replaced.end())
      replaced_bytes += t.n_bytes;
  }
  ASSERT_GT(replaced_bytes, 0u);
  // Q8_0 attention output: packed into a copy, its file bytes replaced.
  const TensorInfo* wo = (*model)->file().find_tensor("blk.0.attn_output.weight");
  ASSERT_NE(wo, nullptr);
  EXPECT_NE(std::find(w.replaced.begin(), w.replaced.end(), wo->data), w.replaced.end());
  EXPECT_GE(w.layers[0].attn.wo.data, w.packed.data());
  EXPECT_LT(w.layers[0].attn.wo.data, w.packed.data() + w.packed.size());
  EXPECT_EQ(touch_model_pages(**model), w.packed.size() + file_bytes - replaced_bytes);
}

// -d: every test starts with `depth` tokens already in the cache, like llama-bench's.
TEST(Bench, DepthFillsTheCacheFirst) {
  auto model = Model::load(fixture("r1-mini-q8_0"), best_kernel_table());
  ASSERT_TRUE(model.is_ok()) << model.status().message();
  ThreadPool pool(2);
  SessionConfig sc;
  BenchOptions o = short_run(8, 3, 1);
  o.depth = 40;
  auto run = run_bench(**model, pool, sc, KvCacheType::kF16, o);
  ASSERT_TRUE(run.is_ok()) << run.status().message();
  EXPECT_EQ(run->cache_tokens, 43);
  EXPECT_GT(run->tg.mean, 0.0);
  BenchReport r;
  r.options = o;
  r.run = *run;
  EXPECT_EQ(bench_report_json(r)["n_depth"], 40);
  const std::string text = bench_table_rows(r);
  EXPECT_NE(text.find("pp8 @ d40"), std::string::npos) << text;
  EXPECT_NE(text.find("tg3 @ d40"), std::string::npos) << text;
  o.depth = -1;
  EXPECT_FALSE(run_bench(**model, pool, sc, KvCacheType::kF16, o).is_ok());
}

}  // namespace
}  // namespace moe
