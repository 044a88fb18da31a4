// NUMA topology from sysfs (no libnuma needed), memory binding through the mbind /
// set_mempolicy system calls, and the `--numa experts` planner: which node holds each
// routed expert's weights, and which threads run it. The planner and the scheduler are
// pure functions over a NumaTopology, so a simulated two-node machine tests them here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace moe {

struct CpuInfo {
  int cpu = 0;         // logical CPU number
  int core_id = 0;     // topology/core_id
  int package_id = 0;  // topology/physical_package_id (socket)
  int node = 0;
  bool primary = true;  // the first SMT sibling of its physical core
};

struct NumaNode {
  int id = 0;
  std::vector<int> cpus;   // logical CPUs, ascending
  uint64_t mem_bytes = 0;  // MemTotal of the node
};

struct NumaTopology {
  std::vector<NumaNode> nodes;  // ascending id; at least one
  std::vector<CpuInfo> cpus;    // online CPUs, ascending
  const NumaNode* node(int id) const;
  int physical_cores() const;
  std::string describe() const;  // "2 nodes: node0 8 cores/16 cpus 64.0 GB, node1 ..."
};

// "0-3,8,10-11" -> {0,1,2,3,8,10,11}; errors name the bad item.
Result<std::vector<int>> parse_cpu_list(std::string_view text);

// Reads node*/cpulist and node*/meminfo under `<root>/node`, and cpu/online and
// cpu*/topology/{core_id,physical_package_id,thread_siblings_list} under `<root>/cpu`.
// Without a node directory (a kernel without NUMA) every CPU is on one node 0.
Result<NumaTopology> read_numa_topology(const std::string& root = "/sys/devices/system");

// A made-up machine: `n_nodes` nodes of `cores_per_node` cores with `smt` threads each,
// numbered like Linux does (all first siblings, then all second siblings).
NumaTopology simulated_topology(int n_nodes, int cores_per_node, int smt, uint64_t mem_per_node);

// Binds [p, p + n) to `node` (MPOL_BIND; with `move`, pages already there migrate). The
// range is shrunk to whole pages of `page_bytes`. Errors (EPERM in containers, no such
// node) come back for the caller to log as a warning.
Status bind_memory_to_node(void* p, size_t n, int node, size_t page_bytes = 4096, bool move = true);
// Interleaves [p, p + n) over every node of `topo` (MPOL_INTERLEAVE).
Status interleave_memory(void* p, size_t n, const NumaTopology& topo);
// The calling thread's future allocations come from `node` (set_mempolicy MPOL_BIND).
Status bind_thread_memory_to_node(int node);

// ---- --numa experts -----------------------------------------------------------------

struct ExpertRef {
  int layer = 0;
  int expert = 0;
  uint64_t bytes = 0;  // the expert's slices of gate, up and down together
};

struct ExpertPlacement {
  std::vector<int> node_of;          // parallel to the experts given: node id
  std::vector<uint64_t> node_bytes;  // per node index of topo.nodes
};

// Places every expert on exactly one node: within each layer, the largest expert first
// onto the node with the fewest bytes of that layer so far (ties: fewer bytes in all, then
// the lower node), skipping nodes whose memory would overflow. Per-layer balance is what
// matters: a token's experts of one layer are read together. Equal sizes give round robin.
Result<ExpertPlacement> place_experts(const NumaTopology& topo, const std::vector<ExpertRef>& experts);

// One piece of work: rows [row_begin, row_end) of `expert`, on thread `thread`.
struct ExpertWork {
  int expert = 0;
  int thread = 0;
  int64_t row_begin = 0;
  int64_t row_end = 0;
};

// The work of one layer: `active` experts (the router's choice) each of `rows` rows;
// `node_of_expert[e]` is expert e's node, `thread_node[t]` is thread t's node. The threads
// of node k split the rows of node k's active experts evenly among themselves, so only
// activations cross the interconnect. A node without threads gives its experts to all
// threads (a warning case: fewer threads than nodes).
std::vector<ExpertWork> schedule_experts(const std::vector<int>& node_of_expert, const std::vector<int>& thread_node,
                                         const std::vector<int>& active, int64_t rows);

}  // namespace moe
