// Feed-forward work for a batch in two parallel regions: every FFN (routed experts, shared
// experts, or a dense MLP) of a layer is a job over a contiguous range of gathered token
// rows. Region 1 computes gate and up rows of every job together and applies SiLU; region 2
// the down projections. Threads take equal slices of the jobs' concatenated weight rows, so
// each weight byte is streamed once per batch by one thread, with no barrier per expert.
// With --numa experts and threads on several nodes, a job pinned to a node is sliced among
// that node's threads only (ffn_schedule.h), so expert weights are read node-locally.
// Every output element is one fixed-order kernel dot product (batch invariance).
#pragma once

#include <cstdint>
#include <span>

#include "model/blocks.h"
#include "model/ffn_job.h"

namespace moe {


// h: [T, dim] inputs; token_of_row[i]: the token of gathered row i (n_rows rows in all);
// out: [n_rows, dim] down-projection outputs in gathered order.
void run_ffn_jobs(BlockContext& c, std::span<const FfnJob> jobs, const float* h,
                  const int32_t* token_of_row, int64_t n_rows, float* out);

}  // namespace moe
