// NUMA topology from a fake sysfs tree, and the --numa experts planner and scheduler on a
// simulated two-node machine (this VM has one node).
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "base/numa.h"

namespace moe {
namespace {

namespace fs = std::filesystem;

class FakeSysfs {
 public:
  FakeSysfs() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    root_ = fs::temp_directory_path() / ("moe_sysfs_" + std::to_string(getpid()) + "_" + info->name());
    fs::create_directories(root_);
  }
  ~FakeSysfs() { fs::remove_all(root_); }
  void write(const std::string& rel, const std::string& text) {
    const fs::path p = root_ / rel;
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
  }
  std::string root() const { return root_.string(); }

 private:
  fs::path root_;
};

// Two sockets, 2 cores each, 2 SMT threads: cpus 0-3 first siblings, 4-7 second.
void write_two_socket(FakeSysfs& sys) {
  sys.write("cpu/online", "0-7\n");
  sys.write("node/node0/cpulist", "0-1,4-5\n");
  sys.write("node/node1/cpulist", "2-3,6-7\n");
  sys.write("node/node0/meminfo", "Node 0 MemTotal:       33554432 kB\nNode 0 MemFree: 1 kB\n");
  sys.write("node/node1/meminfo", "Node 1 MemTotal:       16777216 kB\n");
  sys.write("node/possible", "0-1\n");  // not a node directory: ignored
  for (int cpu = 0; cpu < 8; ++cpu) {
    const std::string t = "cpu/cpu" + std::to_string(cpu) + "/topology/";
    const int core = cpu % 4;
    sys.write(t + "core_id", std::to_string(core % 2) + "\n");
    sys.write(t + "physical_package_id", std::to_string(core / 2) + "\n");
    sys.write(t + "thread_siblings_list", std::to_string(core) + "," + std::to_string(core + 4) + "\n");
  }
}

TEST(CpuList, Parses) {
  EXPECT_EQ(*parse_cpu_list("0-3,8,10-11\n"), (std::vector<int>{0, 1, 2, 3, 8, 10, 11}));
  EXPECT_EQ(*parse_cpu_list(""), std::vector<int>{});
  EXPECT_FALSE(parse_cpu_list("3-1").is_ok());
  EXPECT_FALSE(parse_cpu_list("a").is_ok());
  EXPECT_FALSE(parse_cpu_list("1,,2").is_ok());
}

TEST(Topology, ReadsAFakeTwoSocketSysfs) {
  FakeSysfs sys;
  write_two_socket(sys);
  auto t = read_numa_topology(sys.root());
  ASSERT_TRUE(t.is_ok()) << t.status().message();
  ASSERT_EQ(t->nodes.size(), 2u);
  EXPECT_EQ(t->nodes[0].cpus, (std::vector<int>{0, 1, 4, 5}));
  EXPECT_EQ(t->nodes[1].cpus, (std::vector<int>{2, 3, 6, 7}));
  EXPECT_EQ(t->nodes[0].mem_bytes, 32ull << 30);
  EXPECT_EQ(t->nodes[1].mem_bytes, 16ull << 30);
  ASSERT_EQ(t->cpus.size(), 8u);
  EXPECT_EQ(t->physical_cores(), 4);
  EXPECT_TRUE(t->cpus[2].primary);
  EXPECT_FALSE(t->cpus[6].primary);
  EXPECT_EQ(t->cpus[6].node, 1);
  EXPECT_EQ(t->cpus[3].package_id, 1);
  EXPECT_NE(t->describe().find("node1 2 cores/4 cpus"), std::string::npos) << t->describe();
}

TEST(Topology, OfflineCpusAreLeftOut) {
  FakeSysfs sys;
  write_two_socket(sys);
  sys.write("cpu/online", "0-3\n");  // SMT switched off
  auto t = read_numa_topology(sys.root());
  ASSERT_TRUE(t.is_ok());
  EXPECT_EQ(t->cpus.size(), 4u);
  EXPECT_EQ(t->nodes[1].cpus, (std::vector<int>{2, 3}));
}

TEST(Topology, NoNodeDirectoryIsOneNode) {
  FakeSysfs sys;
  sys.write("cpu/online", "0-3\n");
  auto t = read_numa_topology(sys.root());
  ASSERT_TRUE(t.is_ok());
  ASSERT_EQ(t->nodes.size(), 1u);
  EXPECT_EQ(t->nodes[0].cpus.size(), 4u);
  EXPECT_EQ(t->physical_cores(), 4);  // no topology files: each CPU its own core
}

TEST(Topology, ThisMachine) {
  auto t = read_numa_topology();
  ASSERT_TRUE(t.is_ok()) << t.status().message();
  EXPECT_GE(t->nodes.size(), 1u);
  EXPECT_GE(t->physical_cores(), 1);
}

TEST(Topology, BadCpuListIsAnError) {
  FakeSysfs sys;
  sys.write("cpu/online", "0-1\n");
  sys.write("node/node0/cpulist", "zero\n");
  auto t = read_numa_topology(sys.root());
  ASSERT_FALSE(t.is_ok());
  EXPECT_NE(t.status().message().find("zero"), std::string::npos);
}

TEST(Simulated, TwoNodesWithSmt) {
  const NumaTopology t = simulated_topology(2, 4, 2, 64ull << 30);
  ASSERT_EQ(t.nodes.size(), 2u);
  EXPECT_EQ(t.cpus.size(), 16u);
  EXPECT_EQ(t.physical_cores(), 8);
  EXPECT_EQ(t.nodes[1].cpus, (std::vector<int>{4, 5, 6, 7, 12, 13, 14, 15}));
}

std::vector<ExpertRef> r1_like_experts(int layers, int experts, uint64_t bytes) {
  std::vector<ExpertRef> out;
  for (int l = 0; l < layers; ++l) {
    for (int e = 0; e < experts; ++e) out.push_back({l, e, bytes});
  }
  return out;
}

TEST(PlaceExperts, EveryExpertOnceBalancedPerLayer) {
  const NumaTopology t = simulated_topology(2, 8, 2, 512ull << 30);
  // R1 at Q4_K_M: 58 MoE layers x 256 experts, ~24.8 MB per expert (gate+up+down).
  const std::vector<ExpertRef> experts = r1_like_experts(58, 256, 24'772'608);
  auto p = place_experts(t, experts);
  ASSERT_TRUE(p.is_ok()) << p.status().message();
  ASSERT_EQ(p->node_of.size(), experts.size());
  std::map<int, std::array<int, 2>> per_layer;
  for (size_t i = 0; i < experts.size(); ++i) {
    ASSERT_TRUE(p->node_of[i] == 0 || p->node_of[i] == 1);
    per_layer[experts[i].layer][static_cast<size_t>(p->node_of[i])]++;
  }
  for (const auto& [layer, counts] : per_layer) {
    EXPECT_EQ(counts[0], 128) << layer;
    EXPECT_EQ(counts[1], 128) << layer;
  }
  EXPECT_EQ(p->node_bytes[0], p->node_bytes[1]);
  EXPECT_EQ(p->node_bytes[0] + p->node_bytes[1], 58ull * 256 * 24'772'608);
}

TEST(PlaceExperts, UnequalSizesBalanceBytes) {
  const NumaTopology t = simulated_topology(2, 2, 1, 0);  // 0: capacity unknown
  std::vector<ExpertRef> experts;
  const uint64_t sizes[] = {100, 90, 50, 40, 30, 20, 10, 10};
  for (int e = 0; e < 8; ++e) experts.push_back({0, e, sizes[e]});
  auto p = place_experts(t, experts);
  ASSERT_TRUE(p.is_ok());
  const uint64_t a = p->node_bytes[0], b = p->node_bytes[1];
  EXPECT_EQ(a + b, 350u);
  EXPECT_LE(a > b ? a - b : b - a, 10u);  // greedy largest-first: within one smallest expert
}

TEST(PlaceExperts, RespectsNodeMemory) {
  NumaTopology t = simulated_topology(2, 1, 1, 1000);
  t.nodes[0].mem_bytes = 300;  // node 0 holds three experts of 100 at most
  auto p = place_experts(t, r1_like_experts(1, 8, 100));
  ASSERT_TRUE(p.is_ok());
  EXPECT_EQ(p->node_bytes[0], 300u);
  EXPECT_EQ(p->node_bytes[1], 500u);
  t.nodes[1].mem_bytes = 300;
  auto full = place_experts(t, r1_like_experts(1, 8, 100));
  ASSERT_FALSE(full.is_ok());
  EXPECT_NE(full.status().message().find("fits on no node"), std::string::npos);
}

TEST(ScheduleExperts, ThreadsRunOnlyTheirNodesExperts) {
  // 16 experts alternating over 2 nodes; threads 0-3 on node 0, 4-7 on node 1.
  std::vector<int> node_of(16);
  for (int e = 0; e < 16; ++e) node_of[static_cast<size_t>(e)] = e % 2;
  const std::vector<int> thread_node = {0, 0, 0, 0, 1, 1, 1, 1};
  const std::vector<int> active = {3, 4, 9, 10, 11, 14};  // node 1: 3, 9, 11; node 0: 4, 10, 14
  const int64_t rows = 100;
  const std::vector<ExpertWork> work = schedule_experts(node_of, thread_node, active, rows);
  std::map<int, std::vector<int>> covered;  // expert -> per-row hit count
  std::map<int, int64_t> rows_of_thread;
  for (const ExpertWork& w : work) {
    EXPECT_EQ(thread_node[static_cast<size_t>(w.thread)], node_of[static_cast<size_t>(w.expert)])
        << "thread " << w.thread << " ran expert " << w.expert;
    auto& hits = covered[w.expert];
    hits.resize(rows, 0);
    for (int64_t r = w.row_begin; r < w.row_end; ++r) hits[static_cast<size_t>(r)]++;
    rows_of_thread[w.thread] += w.row_end - w.row_begin;
  }
  ASSERT_EQ(covered.size(), active.size());
  for (const auto& [e, hits] : covered) {
    for (int h : hits) ASSERT_EQ(h, 1) << "expert " << e;
  }
  for (int t = 0; t < 8; ++t) EXPECT_EQ(rows_of_thread[t], 75) << t;  // 300 rows / 4 threads
}

TEST(ScheduleExperts, NodeWithoutThreadsFallsBackToAll) {
  const std::vector<int> node_of = {0, 1};
  const std::vector<ExpertWork> work = schedule_experts(node_of, {0, 0}, {0, 1}, 10);
  int64_t rows = 0;
  for (const ExpertWork& w : work) rows += w.row_end - w.row_begin;
  EXPECT_EQ(rows, 20);
}

TEST(BindMemory, SingleNodeBindWorksOrExplains) {
  const size_t n = 1 << 20;
  void* p = mmap(nullptr, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(p, MAP_FAILED);
  Status s = bind_memory_to_node(p, n, 0);
  if (!s.is_ok()) {
    EXPECT_NE(s.message().find("mbind"), std::string::npos) << s.message();
  }
  Status bad = bind_memory_to_node(p, n, 5000);
  EXPECT_FALSE(bad.is_ok());
  munmap(p, n);
}

}  // namespace
}  // namespace moe
