#include "base/affinity.h"

#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <cstring>
#include <map>

namespace moe {

std::string AffinityPlan::describe() const {
  if (cpus.empty()) return "threads not pinned";
  std::string s = std::to_string(cpus.size()) + " threads pinned:";
  std::map<int, std::string> by_node;
  for (size_t i = 0; i < cpus.size(); ++i) {
    std::string& list = by_node[nodes[i]];
    if (!list.empty()) list += ",";
    list += std::to_string(cpus[i]);
  }
  for (const auto& [node, list] : by_node) s += " node" + std::to_string(node) + " cpu " + list + ";";
  s.pop_back();
  return s;
}

Result<AffinityPlan> plan_affinity(const NumaTopology& topo, int n_threads, const AffinityOptions& options) {
  if (options.numa_node >= 0 && topo.node(options.numa_node) == nullptr) {
    return Status::error("--numa-node " + std::to_string(options.numa_node) + ": no such node (" + topo.describe() +
                         ")");
  }
  auto usable = [&](const CpuInfo& c) {
    if (options.numa_node >= 0 && c.node != options.numa_node) return false;
    return options.allowed.empty() || std::binary_search(options.allowed.begin(), options.allowed.end(), c.cpu);
  };
  // Primary threads node by node, then siblings node by node; ascending CPU within each.
  std::vector<CpuInfo> order;
  for (const CpuInfo& c : topo.cpus) {
    if (usable(c)) order.push_back(c);
  }
  std::stable_sort(order.begin(), order.end(), [](const CpuInfo& a, const CpuInfo& b) {
    if (a.primary != b.primary) return a.primary;
    if (a.node != b.node) return a.node < b.node;
    return a.cpu < b.cpu;
  });
  if (order.empty()) {
    return Status::error(options.numa_node >= 0 ? "node " + std::to_string(options.numa_node) + " has no usable CPU"
                                                : std::string("no usable CPU"));
  }
  AffinityPlan plan;
  for (int i = 0; i < n_threads; ++i) {
    const CpuInfo& c = order[static_cast<size_t>(i) % order.size()];
    plan.cpus.push_back(c.cpu);
    plan.nodes.push_back(c.node);
  }
  // Keep node-contiguous thread ranges within the physical-core part when threads are
  // fewer than cores: already true by the sort order.
  return plan;
}

std::vector<int> allowed_cpus() {
  std::vector<int> out;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) return out;
  for (int c = 0; c < CPU_SETSIZE; ++c) {
    if (CPU_ISSET(c, &set)) out.push_back(c);
  }
  return out;
}

Status pin_current_thread(const std::vector<int>& cpus) {
  cpu_set_t set;
  CPU_ZERO(&set);
  for (int c : cpus) {
    if (c < 0 || c >= CPU_SETSIZE) return Status::error("cpu " + std::to_string(c) + " out of range");
    CPU_SET(c, &set);
  }
  const int err = pthread_setaffinity_np(pthread_self(), sizeof set, &set);
  if (err != 0) return Status::error("pinning a thread failed: " + std::string(std::strerror(err)));
  return Status::ok();
}

Status pin_current_thread(int cpu) { return pin_current_thread(std::vector<int>{cpu}); }

}  // namespace moe
