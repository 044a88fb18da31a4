#include "model/ffn_jobs.h"

#include <algorithm>
#include <array>
#include <cstring>

#include "base/check.h"
#include "kernels/ops.h"
#include "model/ffn_schedule.h"

namespace moe {
namespace {

// Cost of one unit of job j in a region: streaming its weights (about as much as two
// tokens' arithmetic) plus one share per token of the job. Decode (one token per job) gets
// equal units; prefill gives fewer units of busy experts to each thread.
int64_t unit_cost(const FfnJob& j) { return 2 + j.n_rows; }

// Pieces of a region's cost range per thread (see run_region).
constexpr int kFfnChunksPerThread = 8;

// Calls fn(job index, r0, r1) for the units of each job whose start falls in the cost
// range [lo, hi) of the jobs' concatenated units (kFfnRowGrain rows each, unit_cost each);
// rows_of(j) gives job j's row count. The ranges of the threads partition the units.
template <typename RowsOf, typename Fn>
void for_cost_slice(std::span<const FfnJob> jobs, RowsOf rows_of, int64_t lo, int64_t hi, Fn fn) {
  int64_t base = 0;
  for (size_t j = 0; j < jobs.size() && base < hi; ++j) {
    const int64_t rows = rows_of(j);
    const int64_t units = ffn_units(rows);
    const int64_t w = unit_cost(jobs[j]);
    const auto first_at = [&](int64_t cost) { return std::clamp<int64_t>((cost - base + w - 1) / w, 0, units); };
    const int64_t u0 = lo <= base ? 0 : first_at(lo);
    const int64_t u1 = first_at(hi);
    if (u0 < u1) fn(j, u0 * kFfnRowGrain, std::min(rows, u1 * kFfnRowGrain));
    base += units * w;
  }
}

// The nodes of the active threads when some job is pinned to a node (--numa experts) and
// those threads span more than one node; empty otherwise, for the plain path.
std::span<const int> numa_thread_nodes(const ThreadPool& pool, std::span<const FfnJob> jobs) {
  const std::vector<int>& nodes = pool.affinity().nodes;
  const size_t n = static_cast<size_t>(pool.active());
  if (nodes.size() < n) return {};
  if (std::none_of(jobs.begin(), jobs.end(), [](const FfnJob& j) { return j.node >= 0; })) return {};
  const std::span<const int> active(nodes.data(), n);
  if (std::all_of(active.begin(), active.end(), [&](int node) { return node == active[0]; })) return {};
  return active;
}

// Calls fn(job, r0, r1) for every row of every job (rows_of(j) rows) on the active threads:
// equal-cost slices of the jobs' concatenated units, or, with `thread_node`, each job pinned to
// a node on that node's threads only (ffn_schedule.h). Either way a slice covers whole
// units of one job, so every output element is the same kernel call's dot product.
template <typename RowsOf, typename Fn>
void run_region(BlockContext& c, std::span<const FfnJob> jobs, std::span<const int> thread_node, RowsOf rows_of,
                Fn fn) {
  if (thread_node.empty()) {
    int64_t total = 0;  // cost of all units
    for (size_t j = 0; j < jobs.size(); ++j) total += ffn_units(rows_of(j)) * unit_cost(jobs[j]);
    // Equal-cost pieces taken from a shared counter (ThreadPool::parallel_for_dynamic), each
    // whole units of contiguous rows: about 2 MB of weights per piece in an r1-bench decode.
    c.pool.parallel_for_dynamic(total, kFfnChunksPerThread, [&](int64_t lo, int64_t hi, int) {
      for_cost_slice(jobs, rows_of, lo, hi, fn);
    });
    return;
  }
  ForwardState& s = c.state;
  s.ffn_work.clear();
  for (size_t j = 0; j < jobs.size(); ++j) s.ffn_work.push_back({rows_of(j), jobs[j].node});
  schedule_ffn(s.ffn_work, thread_node, s.ffn_schedule);
  ++s.numa_ffn_regions;
  c.pool.run(static_cast<int>(thread_node.size()), [&](int ith, int nth) {
    MOE_CHECK(nth == static_cast<int>(thread_node.size()));
    for (const FfnSlice& sl : s.ffn_schedule.of_thread(ith)) fn(static_cast<size_t>(sl.job), sl.r0, sl.r1);
  });
}

}  // namespace

void run_ffn_jobs(BlockContext& c, std::span<const FfnJob> jobs, const float* h,
                  const int32_t* token_of_row, int64_t n_rows, float* out) {
  ForwardState& s = c.state;
  const KernelTable& k = c.model.kernels();
  const int64_t T = static_cast<int64_t>(c.batch.size());
  const int64_t dim = jobs.front().w1.cols();

  // Inputs of gate/up in each format the jobs need (at most two distinct formats here),
  // quantized once and gathered into job order before the parallel region reads them.
  const std::array<QuantizedRows*, 2> gathered = {&s.act_gathered, &s.act_gathered_b};
  std::array<GgmlType, 2> formats{};
  int n_formats = 0;
  for (const FfnJob& j : jobs) {
    for (GgmlType w : {j.w1.type, j.w3.type}) {
      const GgmlType f = activation_type(w);
      if (std::find(formats.begin(), formats.begin() + n_formats, f) != formats.begin() + n_formats) continue;
      MOE_CHECK(n_formats < 2);
      formats[n_formats] = f;
      s.act_a.quantize(c.pool, k, w, h, dim, T, dim);
      gathered[n_formats++]->gather(s.act_a, token_of_row, n_rows);
    }
  }
  const auto rows_for = [&](GgmlType w) -> const QuantizedRows& {
    const GgmlType f = activation_type(w);
    return *gathered[f == formats[0] ? 0 : 1];
  };

  int64_t ld = 0;  // row stride of the hidden activations: the widest job
  for (const FfnJob& j : jobs) ld = std::max(ld, j.w1.rows());
  float* gate = s.gate.get(n_rows * ld);
  float* up = s.up.get(n_rows * ld);

  // Region 1: gate and up rows of every job, then silu(gate) * up on the same columns.
  const std::span<const int> thread_node = numa_thread_nodes(c.pool, jobs);
  const auto inter_of = [&](size_t j) { return jobs[j].w1.rows(); };
  run_region(c, jobs, thread_node, inter_of, [&](size_t ji, int64_t r0, int64_t r1) {
    const FfnJob& j = jobs[ji];
    const QuantizedRows& a1 = rows_for(j.w1.type);
    const QuantizedRows& a3 = rows_for(j.w3.type);
    float* g = gate + j.row0 * ld;
    float* u = up + j.row0 * ld;
    k.for_type(j.w1.type).gemm(dim, j.w1.row(r0), j.w1.row_stride, r1 - r0, a1.row(j.row0), a1.row_bytes(),
                               j.n_rows, g + r0, ld);
    k.for_type(j.w3.type).gemm(dim, j.w3.row(r0), j.w3.row_stride, r1 - r0, a3.row(j.row0), a3.row_bytes(),
                               j.n_rows, u + r0, ld);
    for (int64_t i = 0; i < j.n_rows; ++i) k.silu_mul(g + i * ld + r0, u + i * ld + r0, r1 - r0);
  });

  // The hidden rows in each job's down-projection format (row sizes differ per job).
  std::vector<size_t>& hidden_offset = s.hidden_offset;
  hidden_offset.resize(jobs.size() + 1);
  hidden_offset[0] = 0;
  for (size_t ji = 0; ji < jobs.size(); ++ji) {
    hidden_offset[ji + 1] = hidden_offset[ji] + activation_row_bytes(jobs[ji].w2.type, jobs[ji].w2.cols()) *
                                                    static_cast<size_t>(jobs[ji].n_rows);
  }
  uint8_t* hidden = s.hidden_q.get(hidden_offset.back());  // bytes
  c.pool.parallel_for(n_rows, [&](int64_t i0, int64_t i1, int) {
    for (size_t ji = 0; ji < jobs.size(); ++ji) {
      const FfnJob& j = jobs[ji];
      const size_t rb = activation_row_bytes(j.w2.type, j.w2.cols());
      for (int64_t i = std::max(i0, j.row0); i < std::min(i1, j.row0 + j.n_rows); ++i) {
        quantize_activation(k, j.w2.type, gate + i * ld, hidden + hidden_offset[ji] + (i - j.row0) * rb,
                            j.w2.cols());
      }
    }
  });

  // Region 2: down projections into out [n_rows, dim].
  const auto dim_of = [&](size_t j) { return jobs[j].w2.rows(); };
  run_region(c, jobs, thread_node, dim_of, [&](size_t ji, int64_t r0, int64_t r1) {
    const FfnJob& j = jobs[ji];
    const size_t rb = activation_row_bytes(j.w2.type, j.w2.cols());
    k.for_type(j.w2.type).gemm(j.w2.cols(), j.w2.row(r0), j.w2.row_stride, r1 - r0, hidden + hidden_offset[ji], rb,
                               j.n_rows, out + j.row0 * dim + r0, dim);
  });
}

}  // namespace moe
