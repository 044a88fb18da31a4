// The --numa experts FFN schedule on simulated topologies: every row of every job exactly
// once, in whole 16-row units; a job pinned to a node only on that node's threads; threads
// of one node within one unit of each other, and the unpinned work levelling the nodes.
#include "model/ffn_schedule.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

namespace moe {
namespace {

// Checks the invariants of `s` for `jobs` on `thread_node`; returns the units per thread.
std::vector<int64_t> check_schedule(const std::vector<FfnWork>& jobs, const std::vector<int>& thread_node,
                                    const FfnSchedule& s) {
  const size_t n_threads = thread_node.size();
  EXPECT_EQ(s.first.size(), n_threads + 1);
  std::vector<std::vector<int>> hits(jobs.size());
  for (size_t j = 0; j < jobs.size(); ++j) hits[j].assign(static_cast<size_t>(jobs[j].rows), 0);
  std::vector<int64_t> units(n_threads, 0);
  for (size_t t = 0; t < n_threads; ++t) {
    for (const FfnSlice& sl : s.of_thread(static_cast<int>(t))) {
      const FfnWork& job = jobs[static_cast<size_t>(sl.job)];
      EXPECT_LT(sl.r0, sl.r1);
      EXPECT_EQ(sl.r0 % kFfnRowGrain, 0) << "slice must start on a unit";
      EXPECT_TRUE(sl.r1 % kFfnRowGrain == 0 || sl.r1 == job.rows) << "slice must end on a unit";
      const bool node_has_threads = std::count(thread_node.begin(), thread_node.end(), job.node) > 0;
      if (job.node >= 0 && node_has_threads) {
        EXPECT_EQ(thread_node[t], job.node) << "job " << sl.job << " ran on thread " << t;
      }
      for (int64_t r = sl.r0; r < sl.r1; ++r) ++hits[static_cast<size_t>(sl.job)][static_cast<size_t>(r)];
      units[t] += ffn_units(sl.r1 - sl.r0);
    }
  }
  for (size_t j = 0; j < jobs.size(); ++j) {
    for (size_t r = 0; r < hits[j].size(); ++r) {
      EXPECT_EQ(hits[j][r], 1) << "job " << j << " row " << r;
      if (hits[j][r] != 1) return units;
    }
  }
  // Threads of one node differ by at most one unit.
  for (size_t a = 0; a < n_threads; ++a) {
    for (size_t b = 0; b < n_threads; ++b) {
      if (thread_node[a] == thread_node[b]) {
        EXPECT_LE(units[a] - units[b], 1) << "threads " << a << ", " << b;
      }
    }
  }
  return units;
}

std::vector<int64_t> schedule_and_check(const std::vector<FfnWork>& jobs, const std::vector<int>& thread_node) {
  FfnSchedule s;
  schedule_ffn(jobs, thread_node, s);
  return check_schedule(jobs, thread_node, s);
}

TEST(FfnSchedule, EvenRoutingGivesEveryThreadTheSameWork) {
  // 8 experts of 128 rows (8 units) alternating over two nodes, one shared expert.
  std::vector<FfnWork> jobs;
  for (int e = 0; e < 8; ++e) jobs.push_back({128, e % 2});
  jobs.push_back({128, -1});
  const std::vector<int> nodes = {0, 0, 0, 0, 1, 1, 1, 1};
  const auto units = schedule_and_check(jobs, nodes);
  for (int64_t u : units) EXPECT_EQ(u, 9);  // 72 units / 8 threads
}

TEST(FfnSchedule, SharedWorkGoesToTheLessLoadedNode) {
  // 6 experts on node 0, 2 on node 1 (8 units each), two shared jobs of 8 units.
  std::vector<FfnWork> jobs;
  for (int e = 0; e < 8; ++e) jobs.push_back({128, e < 6 ? 0 : 1});
  jobs.push_back({128, -1});
  jobs.push_back({128, -1});
  const std::vector<int> nodes = {0, 0, 0, 0, 1, 1, 1, 1};
  FfnSchedule s;
  schedule_ffn(jobs, nodes, s);
  const auto units = check_schedule(jobs, nodes, s);
  for (int t = 0; t < 4; ++t) EXPECT_EQ(units[static_cast<size_t>(t)], 12);  // 48 pinned / 4
  for (int t = 4; t < 8; ++t) EXPECT_EQ(units[static_cast<size_t>(t)], 8);   // (16 + 16) / 4
  for (int t = 0; t < 4; ++t) {
    for (const FfnSlice& sl : s.of_thread(t)) EXPECT_LT(sl.job, 8) << "shared work on the busy node";
  }
}

TEST(FfnSchedule, InterleavedThreadsAndPartialUnits) {
  // Threads of the two nodes interleaved; jobs whose rows are not multiples of 16.
  const std::vector<FfnWork> jobs = {{40, 1}, {7, 0}, {16, 0}, {33, 1}, {100, -1}, {1, 1}, {250, 0}};
  const std::vector<int> nodes = {0, 1, 0, 1, 0, 1};
  schedule_and_check(jobs, nodes);
}

TEST(FfnSchedule, NodeWithoutThreadsFallsBackToAllThreads) {
  // Experts on node 2, which has no thread, behave like shared work: spread over everyone.
  std::vector<FfnWork> jobs;
  for (int e = 0; e < 6; ++e) jobs.push_back({64, 2});
  const std::vector<int> nodes = {0, 0, 1, 1};
  const auto units = schedule_and_check(jobs, nodes);
  for (int64_t u : units) EXPECT_EQ(u, 6);  // 24 units / 4 threads
}

TEST(FfnSchedule, OneNodeIsThePlainEqualSlicing) {
  const std::vector<FfnWork> jobs = {{48, -1}, {20, 0}, {300, -1}};
  const std::vector<int> nodes = {5, 5, 5};
  FfnSchedule s;
  schedule_ffn(jobs, nodes, s);
  const auto units = check_schedule(jobs, nodes, s);
  const int64_t total = 3 + 2 + 19;
  for (int t = 0; t < 3; ++t) EXPECT_EQ(units[static_cast<size_t>(t)], total * (t + 1) / 3 - total * t / 3);
}

TEST(FfnSchedule, LevelSharedUnits) {
  std::vector<int64_t> out;
  level_shared_units(std::vector<int64_t>{4, 4}, std::vector<int64_t>{48, 16}, 16, out);
  EXPECT_EQ(out, (std::vector<int64_t>{0, 16}));
  level_shared_units(std::vector<int64_t>{4, 4}, std::vector<int64_t>{20, 16}, 20, out);
  EXPECT_EQ(out, (std::vector<int64_t>{8, 12}));
  level_shared_units(std::vector<int64_t>{1, 3}, std::vector<int64_t>{0, 0}, 8, out);
  EXPECT_EQ(out, (std::vector<int64_t>{2, 6}));
  level_shared_units(std::vector<int64_t>{2, 2, 2}, std::vector<int64_t>{100, 1, 0}, 5, out);
  EXPECT_EQ(out, (std::vector<int64_t>{0, 2, 3}));
}

TEST(FfnSchedule, RandomTopologiesKeepEveryInvariant) {
  std::mt19937 rng(1234);
  const auto uniform = [&](int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng); };
  for (int iter = 0; iter < 300; ++iter) {
    const int n_nodes = uniform(1, 4);
    std::vector<int> nodes(static_cast<size_t>(uniform(1, 24)));
    for (int& n : nodes) n = uniform(0, n_nodes - 1);
    if (uniform(0, 1) == 1) std::sort(nodes.begin(), nodes.end());  // contiguous like a real plan
    std::vector<FfnWork> jobs(static_cast<size_t>(uniform(1, 40)));
    for (FfnWork& j : jobs) j = {uniform(1, 300), uniform(-1, n_nodes)};  // node n_nodes: no threads
    const auto units = schedule_and_check(jobs, nodes);
    if (::testing::Test::HasFailure()) {
      ADD_FAILURE() << "iteration " << iter;
      return;
    }
    // Balanced up to rounding: no thread above the larger of the even share and its own
    // node's pinned share.
    std::vector<int64_t> pinned(static_cast<size_t>(n_nodes + 1), 0), count(pinned.size(), 0);
    int64_t total = 0;
    for (const FfnWork& j : jobs) {
      total += ffn_units(j.rows);
      const bool has = std::count(nodes.begin(), nodes.end(), j.node) > 0;
      if (j.node >= 0 && has) pinned[static_cast<size_t>(j.node)] += ffn_units(j.rows);
    }
    for (int n : nodes) ++count[static_cast<size_t>(n)];
    const int64_t even = (total + static_cast<int64_t>(nodes.size()) - 1) / static_cast<int64_t>(nodes.size());
    for (size_t t = 0; t < nodes.size(); ++t) {
      const size_t k = static_cast<size_t>(nodes[t]);
      const int64_t own = (pinned[k] + count[k] - 1) / count[k];
      EXPECT_LE(units[t], std::max(even, own) + 2) << "iteration " << iter << " thread " << t;
    }
  }
}

}  // namespace
}  // namespace moe
