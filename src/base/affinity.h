// Which CPU each pool thread runs on. Decode is bandwidth bound and SMT siblings only
// fight over the same core's load ports, so threads take one CPU per physical core first
// (node by node), and SMT siblings only beyond the physical core count (prefill, -tb).
#pragma once

#include <string>
#include <vector>

#include "base/numa.h"
#include "base/status.h"

namespace moe {

struct AffinityPlan {
  std::vector<int> cpus;   // cpus[i]: logical CPU of pool thread i; empty: not pinned
  std::vector<int> nodes;  // nodes[i]: NUMA node of thread i (parallel to cpus)
  bool empty() const { return cpus.empty(); }
  std::string describe() const;  // "4 threads: cpu 0,1,2,3 (node 0)"
};

struct AffinityOptions {
  int numa_node = -1;        // >= 0: only this node's CPUs
  std::vector<int> allowed;  // CPUs this process may use (sched_getaffinity); empty: all
};

// Threads [0, n_threads): first one per physical core, cores taken node by node (threads
// of one node are contiguous), then SMT siblings in the same order; more threads than
// CPUs wrap around. Errors when the node does not exist or has no allowed CPU.
Result<AffinityPlan> plan_affinity(const NumaTopology& topo, int n_threads, const AffinityOptions& options = {});

// The CPUs this process may run on (sched_getaffinity).
std::vector<int> allowed_cpus();
// Pins the calling thread to one CPU (or, with cpus, to a set).
Status pin_current_thread(int cpu);
Status pin_current_thread(const std::vector<int>& cpus);

}  // namespace moe
