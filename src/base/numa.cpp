#include "base/numa.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "base/memory.h"

namespace moe {
namespace {

// <linux/mempolicy.h> values (numaif.h comes with libnuma-dev, which we do not need).
constexpr int kMpolBind = 2;
constexpr int kMpolInterleave = 3;
constexpr unsigned kMpolMfStrict = 1u << 0;
constexpr unsigned kMpolMfMove = 1u << 1;
constexpr int kMaxNodes = 1024;

std::string read_text(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  std::string s = ss.str();
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

bool read_int(const std::string& path, int* out) {
  std::ifstream f(path);
  return static_cast<bool>(f >> *out);
}

// "Node 0 MemTotal:       32768 kB" -> bytes.
uint64_t node_mem_total(const std::string& meminfo) {
  const size_t pos = meminfo.find("MemTotal:");
  if (pos == std::string::npos) return 0;
  return std::strtoull(meminfo.c_str() + pos + 9, nullptr, 10) * 1024;
}

using NodeMask = std::vector<unsigned long>;
NodeMask mask_of(const std::vector<int>& nodes) {
  constexpr int kBits = 8 * sizeof(unsigned long);
  NodeMask mask(kMaxNodes / kBits, 0);
  for (int n : nodes) mask[n / kBits] |= 1ul << (n % kBits);
  return mask;
}

Status mbind_range(void* p, size_t n, int mode, const std::vector<int>& nodes, size_t page_bytes, unsigned flags) {
  for (int node : nodes) {
    if (node < 0 || node >= kMaxNodes) return Status::error("NUMA node " + std::to_string(node) + " out of range");
  }
  const uintptr_t lo = (reinterpret_cast<uintptr_t>(p) + page_bytes - 1) / page_bytes * page_bytes;
  const uintptr_t hi = (reinterpret_cast<uintptr_t>(p) + n) / page_bytes * page_bytes;
  if (hi <= lo) return Status::ok();  // less than a page: nothing to bind
  const NodeMask mask = mask_of(nodes);
  if (syscall(SYS_mbind, lo, hi - lo, mode, mask.data(), kMaxNodes + 1, flags) != 0) {
    return Status::error("mbind of " + format_bytes(hi - lo) + " to node(s) failed: " + std::strerror(errno));
  }
  return Status::ok();
}

}  // namespace

const NumaNode* NumaTopology::node(int id) const {
  for (const NumaNode& n : nodes) {
    if (n.id == id) return &n;
  }
  return nullptr;
}

int NumaTopology::physical_cores() const {
  return static_cast<int>(std::count_if(cpus.begin(), cpus.end(), [](const CpuInfo& c) { return c.primary; }));
}

std::string NumaTopology::describe() const {
  std::string s = std::to_string(nodes.size()) + (nodes.size() == 1 ? " node:" : " nodes:");
  for (const NumaNode& n : nodes) {
    int cores = 0;
    for (const CpuInfo& c : cpus) cores += (c.node == n.id && c.primary) ? 1 : 0;
    s += " node" + std::to_string(n.id) + " " + std::to_string(cores) + " cores/" + std::to_string(n.cpus.size()) +
         " cpus " + format_bytes(n.mem_bytes) + ";";
  }
  if (!s.empty() && s.back() == ';') s.pop_back();
  return s;
}

Result<std::vector<int>> parse_cpu_list(std::string_view text) {
  std::vector<int> out;
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find(',', pos);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view item = text.substr(pos, end - pos);
    const size_t dash = item.find('-');
    int lo = 0, hi = 0;
    const std::string_view a = item.substr(0, dash);
    auto r1 = std::from_chars(a.data(), a.data() + a.size(), lo);
    bool ok = r1.ec == std::errc() && r1.ptr == a.data() + a.size() && !a.empty();
    hi = lo;
    if (ok && dash != std::string_view::npos) {
      const std::string_view b = item.substr(dash + 1);
      auto r2 = std::from_chars(b.data(), b.data() + b.size(), hi);
      ok = r2.ec == std::errc() && r2.ptr == b.data() + b.size() && !b.empty();
    }
    if (!ok || lo < 0 || hi < lo || hi > 1 << 20) {
      return Status::error("cpu list '" + std::string(text) + "': bad item '" + std::string(item) + "'");
    }
    for (int c = lo; c <= hi; ++c) out.push_back(c);
    pos = end + 1;
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

Result<NumaTopology> read_numa_topology(const std::string& root) {
  namespace fs = std::filesystem;
  NumaTopology topo;
  std::map<int, int> node_of_cpu;
  std::error_code ec;
  const fs::path node_dir = fs::path(root) / "node";
  if (fs::is_directory(node_dir, ec)) {
    for (const auto& entry : fs::directory_iterator(node_dir, ec)) {
      const std::string name = entry.path().filename().string();
      if (name.size() < 5 || name.rfind("node", 0) != 0) continue;
      int id = 0;
      auto r = std::from_chars(name.data() + 4, name.data() + name.size(), id);
      if (r.ec != std::errc() || r.ptr != name.data() + name.size()) continue;
      NumaNode node;
      node.id = id;
      MOE_ASSIGN_OR_RETURN(node.cpus, parse_cpu_list(read_text((entry.path() / "cpulist").string())));
      node.mem_bytes = node_mem_total(read_text((entry.path() / "meminfo").string()));
      for (int c : node.cpus) node_of_cpu[c] = id;
      topo.nodes.push_back(std::move(node));
    }
  }
  std::sort(topo.nodes.begin(), topo.nodes.end(), [](const NumaNode& a, const NumaNode& b) { return a.id < b.id; });
  const fs::path cpu_dir = fs::path(root) / "cpu";
  std::vector<int> online;
  const std::string online_text = read_text((cpu_dir / "online").string());
  if (!online_text.empty()) {
    MOE_ASSIGN_OR_RETURN(online, parse_cpu_list(online_text));
  } else {
    for (const auto& [cpu, node] : node_of_cpu) online.push_back(cpu);
  }
  if (online.empty()) return Status::error(root + ": no online CPUs found (cpu/online, node*/cpulist)");
  if (topo.nodes.empty()) {
    NumaNode node;
    node.cpus = online;
    topo.nodes.push_back(node);
  }
  std::set<std::pair<int, int>> seen_cores;  // (package, core)
  for (int cpu : online) {
    CpuInfo c;
    c.cpu = cpu;
    const std::string t = (cpu_dir / ("cpu" + std::to_string(cpu)) / "topology").string();
    if (!read_int(t + "/core_id", &c.core_id)) c.core_id = cpu;
    if (!read_int(t + "/physical_package_id", &c.package_id)) c.package_id = 0;
    auto it = node_of_cpu.find(cpu);
    c.node = it == node_of_cpu.end() ? topo.nodes.front().id : it->second;
    // The primary thread is the lowest CPU of thread_siblings_list (or the first seen).
    const std::string siblings = read_text(t + "/thread_siblings_list");
    auto sib = parse_cpu_list(siblings);
    if (!siblings.empty() && sib.is_ok() && !sib->empty()) {
      c.primary = sib->front() == cpu;
    } else {
      c.primary = seen_cores.insert({c.package_id, c.core_id}).second;
    }
    topo.cpus.push_back(c);
  }
  // Only online CPUs belong to a node.
  for (NumaNode& n : topo.nodes) {
    std::erase_if(n.cpus, [&](int c) { return !std::binary_search(online.begin(), online.end(), c); });
  }
  return topo;
}

NumaTopology simulated_topology(int n_nodes, int cores_per_node, int smt, uint64_t mem_per_node) {
  NumaTopology topo;
  const int n_cores = n_nodes * cores_per_node;
  for (int k = 0; k < n_nodes; ++k) topo.nodes.push_back({k, {}, mem_per_node});
  for (int s = 0; s < smt; ++s) {
    for (int core = 0; core < n_cores; ++core) {
      CpuInfo c;
      c.cpu = s * n_cores + core;
      c.core_id = core % cores_per_node;
      c.package_id = core / cores_per_node;
      c.node = core / cores_per_node;
      c.primary = s == 0;
      topo.cpus.push_back(c);
      topo.nodes[c.node].cpus.push_back(c.cpu);
    }
  }
  for (NumaNode& n : topo.nodes) std::sort(n.cpus.begin(), n.cpus.end());
  return topo;
}

Status bind_memory_to_node(void* p, size_t n, int node, size_t page_bytes, bool move) {
  return mbind_range(p, n, kMpolBind, {node}, page_bytes, move ? (kMpolMfMove | kMpolMfStrict) : 0)
      .with_context("node " + std::to_string(node));
}

Status interleave_memory(void* p, size_t n, const NumaTopology& topo) {
  std::vector<int> nodes;
  for (const NumaNode& node : topo.nodes) nodes.push_back(node.id);
  return mbind_range(p, n, kMpolInterleave, nodes, 4096, 0);
}

Status bind_thread_memory_to_node(int node) {
  if (node < 0 || node >= kMaxNodes) return Status::error("NUMA node " + std::to_string(node) + " out of range");
  const NodeMask mask = mask_of({node});
  if (syscall(SYS_set_mempolicy, kMpolBind, mask.data(), kMaxNodes + 1) != 0) {
    return Status::error("set_mempolicy(MPOL_BIND, node " + std::to_string(node) + ") failed: " + std::strerror(errno));
  }
  return Status::ok();
}

Result<ExpertPlacement> place_experts(const NumaTopology& topo, const std::vector<ExpertRef>& experts) {
  const size_t n_nodes = topo.nodes.size();
  if (n_nodes == 0) return Status::error("place_experts: the topology has no nodes");
  ExpertPlacement out;
  out.node_of.assign(experts.size(), -1);
  out.node_bytes.assign(n_nodes, 0);
  // Group by layer, then largest first (stable: lower expert id first among equals).
  std::map<int, std::vector<size_t>> by_layer;
  for (size_t i = 0; i < experts.size(); ++i) by_layer[experts[i].layer].push_back(i);
  for (auto& [layer, idx] : by_layer) {
    std::stable_sort(idx.begin(), idx.end(), [&](size_t a, size_t b) { return experts[a].bytes > experts[b].bytes; });
    std::vector<uint64_t> layer_bytes(n_nodes, 0);
    for (size_t i : idx) {
      int best = -1;
      for (size_t k = 0; k < n_nodes; ++k) {
        const uint64_t cap = topo.nodes[k].mem_bytes;
        if (cap > 0 && out.node_bytes[k] + experts[i].bytes > cap) continue;
        if (best < 0 || layer_bytes[k] < layer_bytes[best] ||
            (layer_bytes[k] == layer_bytes[best] && out.node_bytes[k] < out.node_bytes[best])) {
          best = static_cast<int>(k);
        }
      }
      if (best < 0) {
        return Status::error("place_experts: layer " + std::to_string(layer) + " expert " +
                             std::to_string(experts[i].expert) + " (" + format_bytes(experts[i].bytes) +
                             ") fits on no node");
      }
      layer_bytes[best] += experts[i].bytes;
      out.node_bytes[best] += experts[i].bytes;
      out.node_of[i] = topo.nodes[best].id;
    }
  }
  return out;
}

std::vector<ExpertWork> schedule_experts(const std::vector<int>& node_of_expert, const std::vector<int>& thread_node,
                                         const std::vector<int>& active, int64_t rows) {
  std::vector<ExpertWork> work;
  std::map<int, std::vector<int>> experts_of_node;  // node -> active experts there
  for (int e : active) experts_of_node[node_of_expert[static_cast<size_t>(e)]].push_back(e);
  std::vector<int> all_threads(thread_node.size());
  for (size_t t = 0; t < thread_node.size(); ++t) all_threads[t] = static_cast<int>(t);
  for (const auto& [node, experts] : experts_of_node) {
    std::vector<int> threads;
    for (size_t t = 0; t < thread_node.size(); ++t) {
      if (thread_node[t] == node) threads.push_back(static_cast<int>(t));
    }
    if (threads.empty()) threads = all_threads;
    if (threads.empty()) break;
    // Rows of this node's experts, end to end, split evenly over its threads.
    const int64_t total = rows * static_cast<int64_t>(experts.size());
    const int64_t nth = static_cast<int64_t>(threads.size());
    for (int64_t i = 0; i < nth; ++i) {
      int64_t begin = total * i / nth;
      const int64_t end = total * (i + 1) / nth;
      while (begin < end) {
        const int64_t idx = begin / rows;
        const int64_t row = begin % rows;
        const int64_t stop = std::min(end - idx * rows, rows);
        work.push_back({experts[static_cast<size_t>(idx)], threads[static_cast<size_t>(i)], row, stop});
        begin = idx * rows + stop;
      }
    }
  }
  return work;
}

}  // namespace moe
