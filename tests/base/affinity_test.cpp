// The thread placement plan: one thread per physical core first, SMT siblings only after,
// node by node; --numa-node restricts it to one node. And the thread pool that follows it:
// pinning, dynamic pieces, and its count of busy and idle thread time.
#include "base/affinity.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <set>
#include <thread>
#include <vector>

#include "base/thread_pool.h"

namespace moe {
namespace {

TEST(AffinityPlan, OnePerPhysicalCoreSiblingsSkippedForDecode) {
  const NumaTopology t = simulated_topology(2, 4, 2, 0);  // cpus 0-7 primary, 8-15 siblings
  auto p = plan_affinity(t, 8);
  ASSERT_TRUE(p.is_ok());
  EXPECT_EQ(p->cpus, (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7}));
  EXPECT_EQ(p->nodes, (std::vector<int>{0, 0, 0, 0, 1, 1, 1, 1}));
  // -tb 16: siblings after all the cores (decode with -t 8 uses threads 0-7 only).
  auto big = plan_affinity(t, 16);
  ASSERT_TRUE(big.is_ok());
  for (int i = 8; i < 16; ++i) EXPECT_EQ(big->cpus[static_cast<size_t>(i)], i);
  EXPECT_EQ(std::set<int>(big->cpus.begin(), big->cpus.end()).size(), 16u);
}

TEST(AffinityPlan, RealStyleSiblingNumbering) {
  // Siblings adjacent (cpu 2k and 2k+1 share a core), as some BIOSes number them.
  NumaTopology t;
  t.nodes.push_back({0, {0, 1, 2, 3}, 0});
  for (int c = 0; c < 4; ++c) t.cpus.push_back({c, c / 2, 0, 0, c % 2 == 0});
  auto p = plan_affinity(t, 2);
  ASSERT_TRUE(p.is_ok());
  EXPECT_EQ(p->cpus, (std::vector<int>{0, 2}));
}

TEST(AffinityPlan, NumaNodeRestricts) {
  const NumaTopology t = simulated_topology(2, 4, 2, 0);
  auto p = plan_affinity(t, 4, {1, {}});
  ASSERT_TRUE(p.is_ok());
  EXPECT_EQ(p->cpus, (std::vector<int>{4, 5, 6, 7}));
  for (int n : p->nodes) EXPECT_EQ(n, 1);
  auto bad = plan_affinity(t, 4, {2, {}});
  ASSERT_FALSE(bad.is_ok());
  EXPECT_NE(bad.status().message().find("no such node"), std::string::npos);
}

TEST(AffinityPlan, AllowedMaskAndWrapAround) {
  const NumaTopology t = simulated_topology(1, 4, 1, 0);
  auto p = plan_affinity(t, 5, {-1, {1, 3}});
  ASSERT_TRUE(p.is_ok());
  EXPECT_EQ(p->cpus, (std::vector<int>{1, 3, 1, 3, 1}));
  EXPECT_FALSE(plan_affinity(t, 2, {-1, {9}}).is_ok());
}

TEST(ThreadPool, RunsPinnedToThePlan) {
  const std::vector<int> allowed = allowed_cpus();
  ASSERT_FALSE(allowed.empty());
  auto topo = read_numa_topology();
  ASSERT_TRUE(topo.is_ok());
  auto plan = plan_affinity(*topo, 2, {-1, allowed});
  ASSERT_TRUE(plan.is_ok());
  const AffinityPlan expected = *plan;
  std::atomic<int> mismatches{0};
  std::thread caller([&] {  // a fresh thread: pinning the test's main thread would leak
    ThreadPool pool(2, *plan);
    EXPECT_EQ(pool.affinity().cpus, expected.cpus);
    for (int rep = 0; rep < 3; ++rep) {
      pool.run(2, [&](int ith, int) {
        if (sched_getcpu() != expected.cpus[static_cast<size_t>(ith)]) mismatches++;
      });
    }
  });
  caller.join();
  EXPECT_EQ(mismatches.load(), 0);
}

TEST(ThreadPool, WithoutAPlanNothingIsPinned) {
  ThreadPool pool(2);
  EXPECT_TRUE(pool.affinity().empty());
  std::atomic<int> ran{0};
  pool.run(2, [&](int, int) { ran++; });
  EXPECT_EQ(ran.load(), 2);
}

TEST(ThreadPool, DynamicPiecesCoverEveryIndexOnceInContiguousPieces) {
  for (int threads : {1, 2, 3}) {
    ThreadPool pool(threads);
    for (int64_t total : {0, 1, 5, 7, 1000}) {
      for (int per_thread : {1, 4, 8}) {
        std::vector<std::atomic<int>> hits(static_cast<size_t>(total));
        std::atomic<int> pieces{0};
        std::atomic<bool> bad{false};
        pool.parallel_for_dynamic(total, per_thread, [&](int64_t b, int64_t e, int ith) {
          if (b >= e || b < 0 || e > total || ith < 0 || ith >= threads) bad = true;
          for (int64_t i = b; i < e; ++i) hits[static_cast<size_t>(i)]++;
          pieces++;
        });
        EXPECT_FALSE(bad) << threads << " " << total;
        for (int64_t i = 0; i < total; ++i) ASSERT_EQ(hits[static_cast<size_t>(i)].load(), 1) << i;
        EXPECT_EQ(pieces.load(), std::min<int64_t>(total, int64_t{threads} * per_thread));
      }
    }
  }
}

// stats(): each run() is one region; thread time is the region's wall time times its threads,
// busy time what the threads spent in fn. Sleeps give lower bounds only (a loaded machine
// makes a region longer, never shorter), so nothing here depends on the machine's speed.
TEST(ThreadPool, StatsCountRegionsBusyAndIdleThreadTime) {
  using std::chrono::milliseconds;
  constexpr int64_t kMs = 1000000;
  ThreadPool pool(2);
  const PoolStats start = pool.stats();
  EXPECT_EQ(start.regions, 0);
  EXPECT_EQ(start.idle_pct(), 0.0);  // nothing ran

  // Both threads busy 20 ms: at least 40 ms busy.
  pool.run(2, [](int, int) { std::this_thread::sleep_for(milliseconds(20)); });
  const PoolStats both = pool.stats();
  EXPECT_EQ(both.regions, 1);
  EXPECT_GE(both.busy_ns, 40 * kMs);
  EXPECT_GE(both.thread_ns, both.busy_ns);

  // Only the worker busy (30 ms): the caller waits, so at least about half the thread time idles.
  pool.run(2, [](int ith, int) {
    if (ith == 1) std::this_thread::sleep_for(milliseconds(30));
  });
  const PoolStats one = pool.stats();
  EXPECT_EQ(one.regions, 2);
  EXPECT_GE(one.thread_ns - both.thread_ns, 2 * 30 * kMs);
  EXPECT_GE(one.busy_ns - both.busy_ns, 30 * kMs);
  EXPECT_GT((one - both).idle_pct(), 40.0);

  // One thread runs inline: its wall time is its busy time, no idle.
  pool.run(1, [](int, int) { std::this_thread::sleep_for(milliseconds(5)); });
  const PoolStats inline_run = pool.stats();
  EXPECT_EQ(inline_run.regions, 3);
  EXPECT_GE(inline_run.busy_ns - one.busy_ns, 5 * kMs);
  EXPECT_EQ((inline_run - one).idle_pct(), 0.0);
  EXPECT_EQ((inline_run - one).regions, 1);
}

}  // namespace
}  // namespace moe
