#include "model/ffn_schedule.h"

#include <algorithm>

#include "base/check.h"

namespace moe {
namespace {

// Appends slices for units [begin, end) of the concatenated units of the jobs whose
// job_node is `k` (in job order).
void append_units(std::span<const FfnWork> jobs, const std::vector<int>& job_node, int k, int64_t begin,
                  int64_t end, std::vector<FfnSlice>& slices) {
  int64_t base = 0;
  for (size_t j = 0; j < jobs.size() && base < end; ++j) {
    if (job_node[j] != k) continue;
    const int64_t units = ffn_units(jobs[j].rows);
    const int64_t u0 = std::max<int64_t>(begin - base, 0);
    const int64_t u1 = std::min<int64_t>(end - base, units);
    if (u0 < u1) {
      slices.push_back({static_cast<int32_t>(j), u0 * kFfnRowGrain, std::min(jobs[j].rows, u1 * kFfnRowGrain)});
    }
    base += units;
  }
}

// Index of `node` in the ascending `ids`, or -1.
int node_index(const std::vector<int>& ids, int node) {
  const auto it = std::lower_bound(ids.begin(), ids.end(), node);
  return it != ids.end() && *it == node ? static_cast<int>(it - ids.begin()) : -1;
}

}  // namespace

void level_shared_units(std::span<const int64_t> threads, std::span<const int64_t> pinned, int64_t shared,
                        std::vector<int64_t>& out) {
  // A node whose pinned work alone is above the level takes no shared units; the level is
  // then recomputed without it. Each round drops a node or ends, and a last node is never
  // dropped (its quota is all the work left), so this ends within threads.size() rounds.
  constexpr int64_t kDropped = -1;
  const size_t n_nodes = threads.size();
  out.assign(n_nodes, 0);
  for (bool dropped = n_nodes > 0; dropped;) {
    dropped = false;
    int64_t total = shared, n = 0;
    for (size_t k = 0; k < n_nodes; ++k) {
      if (out[k] == kDropped) continue;
      total += pinned[k];
      n += threads[k];
    }
    // Quotas proportional to thread counts, from cumulative floors so they sum to total.
    int64_t cum = 0, given = 0;
    for (size_t k = 0; k < n_nodes; ++k) {
      if (out[k] == kDropped) continue;
      cum += threads[k];
      const int64_t upto = total * cum / n;
      const int64_t quota = upto - given;
      given = upto;
      if (quota < pinned[k]) {
        out[k] = kDropped;
        dropped = true;
      } else {
        out[k] = quota - pinned[k];
      }
    }
  }
  for (int64_t& s : out) s = std::max<int64_t>(s, 0);
}

void schedule_ffn(std::span<const FfnWork> jobs, std::span<const int> thread_node, FfnSchedule& out) {
  const size_t n_threads = thread_node.size();
  out.slices.clear();
  out.first.assign(n_threads + 1, 0);
  if (n_threads == 0) return;

  // The threads' nodes, and each thread's rank among its node's threads.
  out.node_ids.assign(thread_node.begin(), thread_node.end());
  std::sort(out.node_ids.begin(), out.node_ids.end());
  out.node_ids.erase(std::unique(out.node_ids.begin(), out.node_ids.end()), out.node_ids.end());
  const size_t n_nodes = out.node_ids.size();
  out.node_threads.assign(n_nodes, 0);
  out.thread_rank.resize(n_threads);
  out.thread_node_index.resize(n_threads);
  for (size_t t = 0; t < n_threads; ++t) {
    const int k = node_index(out.node_ids, thread_node[t]);
    out.thread_node_index[t] = k;
    out.thread_rank[t] = static_cast<int>(out.node_threads[static_cast<size_t>(k)]++);
  }

  // Units pinned to each node; a job on a node without threads counts as unpinned.
  out.node_pinned.assign(n_nodes, 0);
  out.job_node.resize(jobs.size());
  int64_t unpinned = 0;
  for (size_t j = 0; j < jobs.size(); ++j) {
    MOE_CHECK(jobs[j].rows >= 0);
    const int k = jobs[j].node >= 0 ? node_index(out.node_ids, jobs[j].node) : -1;
    out.job_node[j] = k;
    (k >= 0 ? out.node_pinned[static_cast<size_t>(k)] : unpinned) += ffn_units(jobs[j].rows);
  }
  level_shared_units(out.node_threads, out.node_pinned, unpinned, out.node_shared);

  // Node k's work is its pinned jobs' units, then its range of the unpinned jobs' units;
  // its threads take equal contiguous pieces of that list.
  for (size_t t = 0; t < n_threads; ++t) {
    const size_t k = static_cast<size_t>(out.thread_node_index[t]);
    int64_t shared_begin = 0;
    for (size_t i = 0; i < k; ++i) shared_begin += out.node_shared[i];
    const int64_t pinned = out.node_pinned[k];
    const int64_t work = pinned + out.node_shared[k];
    const int64_t n = out.node_threads[k], rank = out.thread_rank[t];
    const int64_t begin = work * rank / n, end = work * (rank + 1) / n;
    append_units(jobs, out.job_node, static_cast<int>(k), begin, std::min(end, pinned), out.slices);
    if (end > pinned) {
      append_units(jobs, out.job_node, -1, shared_begin + std::max(begin - pinned, int64_t{0}),
                   shared_begin + end - pinned, out.slices);
    }
    out.first[t + 1] = static_cast<int32_t>(out.slices.size());
  }
}

}  // namespace moe
