// Which thread computes which rows of an FFN region when routed experts live on NUMA nodes
// (`--numa experts`, docs/NUMA.md). Each job's weight rows are cut into units of
// kFfnRowGrain rows; a job pinned to node k is computed only by node k's threads, so its
// weights are read from local memory and only activations cross the interconnect. Jobs
// without a node (shared experts, the dense MLP, experts of a node that has no thread) fill
// up the nodes with the least pinned work per thread first (water-filling), so every thread
// ends up with about the same number of units. A pure function: tested on a simulated
// two-node machine.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace moe {

// Thread slices are whole units of this many rows of one job, so they start at a packed
// layout's group boundary (kernels/packed.h) and give the tiled kernels whole tiles.
constexpr int64_t kFfnRowGrain = 16;

inline int64_t ffn_units(int64_t rows) { return (rows + kFfnRowGrain - 1) / kFfnRowGrain; }

// One job's share of a region: `rows` weight rows; `node` holds them (-1: any thread).
struct FfnWork {
  int64_t rows = 0;
  int node = -1;
};

// Rows [r0, r1) of job `job`: r0 is a multiple of kFfnRowGrain, r1 one too or the job's end.
struct FfnSlice {
  int32_t job = 0;
  int64_t r0 = 0;
  int64_t r1 = 0;
};

// Per-thread slice lists. The buffers only grow, so a steady decode loop allocates nothing.
struct FfnSchedule {
  std::vector<FfnSlice> slices;  // grouped by thread, ascending
  std::vector<int32_t> first;    // [threads + 1]: thread t owns slices[first[t], first[t+1])
  std::span<const FfnSlice> of_thread(int t) const {
    return {slices.data() + first[static_cast<size_t>(t)], slices.data() + first[static_cast<size_t>(t) + 1]};
  }

  // Scratch of schedule_ffn.
  std::vector<int> node_ids;           // distinct nodes of the threads, ascending
  std::vector<int64_t> node_threads;   // per node index: thread count
  std::vector<int64_t> node_pinned;    // per node index: units of jobs pinned there
  std::vector<int64_t> node_shared;    // per node index: units of unpinned jobs it takes
  std::vector<int> job_node;           // per job: node index or -1
  std::vector<int> thread_rank;        // per thread: its rank among its node's threads
  std::vector<int> thread_node_index;  // per thread: its node index
};

// Fills `out` for threads t in [0, thread_node.size()), thread t being on node
// thread_node[t]. Every row of every job is in exactly one slice; a job whose node has
// threads is only on those threads; within a node, threads get equal units (+-1).
void schedule_ffn(std::span<const FfnWork> jobs, std::span<const int> thread_node, FfnSchedule& out);

// Splits `shared` units over nodes with `threads[k]` threads and `pinned[k]` units each so
// that pinned + shared per thread is as level as whole units allow: into `out` (>= 0 each,
// summing to `shared`).
void level_shared_units(std::span<const int64_t> threads, std::span<const int64_t> pinned, int64_t shared,
                        std::vector<int64_t>& out);

}  // namespace moe
