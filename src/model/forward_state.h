// Scratch buffers of one Forward: grown on demand, reused for every batch, so a decode
// step at a steady batch size allocates nothing. Internal to the model layer.
#pragma once

#include <cstdint>
#include <vector>

#include "base/cache_aligned.h"
#include "model/ffn_job.h"
#include "model/ffn_schedule.h"
#include "model/matmul.h"

namespace moe {

// A grow-only float buffer on a cache line (every row of 16k floats then is too).
class Scratch {
 public:
  float* get(size_t n) {
    if (buf_.size() < n) buf_.resize(n);
    return buf_.data();
  }

 private:
  CacheAlignedVector<float> buf_;
};

// A grow-only byte buffer on a cache line.
class ByteScratch {
 public:
  uint8_t* get(size_t n) {
    if (buf_.size() < n) buf_.resize(n);
    return buf_.data();
  }

 private:
  CacheAlignedVector<uint8_t> buf_;
};

struct ThreadScratch {
  QuantizedRows rows;
  Scratch a;
  Scratch b;
  ByteScratch act8;  // quantized attention queries (q8_0 cache)
  ByteScratch bf16;  // bf16 attention: the heads' queries and softmax weights
  Scratch latent_block;  // decode attention: a block of latent rows as f32
};

struct ForwardState {
  explicit ForwardState(int n_threads) : per_thread(static_cast<size_t>(n_threads)) {}

  Scratch x;         // [T, dim] residual stream
  Scratch hn;        // [T, dim] normalized input of a block
  Scratch q_lora;    // [T, q_lora]
  Scratch q;         // [T, heads, nope + rope]
  Scratch kv_a;      // [T, kv_lora + rope]
  Scratch q_abs;     // [T, heads, kv_lora]
  Scratch ctx;       // [T, heads, kv_lora] attention-weighted latent
  Scratch o;         // [T, heads, v_head]
  Scratch out;       // [T, dim] block output
  Scratch cos_sin;   // [T, rope] (cos, sin) pairs per token
  std::vector<Scratch> latent;  // per sequence id in the batch: [len, kv_lora + rope]
  std::vector<int64_t> seq_len; // per sequence id: positions visible to this batch
  std::vector<int64_t> seq_tokens;  // per sequence id: its tokens in this batch
  std::vector<int32_t> chunk_tokens;   // batch indices attending in groups of tokens (prompt
                                       // chunks; every token of a bf16 cache read in place)
  std::vector<int32_t> decode_tokens;  // batch indices attending block by block (decode)
  std::vector<int64_t> chunk_group_at;   // where each group of chunk_tokens starts
  std::vector<int64_t> decode_score_at;  // per decode token: where its scores start
  std::vector<int64_t> decode_block_at;  // per decode token: its first block of positions
  Scratch decode_scores;                 // the decode tokens' [heads, positions] scores
  ByteScratch decode_queries;            // ... their queries for a q8_0 (Q8_0_S) or bf16 cache
  ByteScratch decode_weights;            // ... and a bf16 cache's softmax weights as bf16
  // MoE
  Scratch router;       // [T, n_routed]
  std::vector<int32_t> expert_ids;    // [T, k]
  std::vector<float> expert_weights;  // [T, k]
  std::vector<int32_t> expert_tokens;  // token indices grouped by expert
  std::vector<int32_t> expert_slots;   // matching t * k + j
  std::vector<int32_t> expert_offsets; // [n_routed + 1]
  std::vector<int32_t> expert_fill;    // [n_routed] fill cursor
  Scratch expert_out;   // [T*k + T, dim] FFN outputs in gathered row order
  Scratch gate;         // [n, inter]
  Scratch up;           // [n, inter]
  QuantizedRows act_a;
  QuantizedRows act_b;
  QuantizedRows act_gathered;
  QuantizedRows act_gathered_b;
  ByteScratch hidden_q;              // FFN hidden rows quantized for the down projections
  std::vector<size_t> hidden_offset;  // per FFN job: its first byte in hidden_q
  std::vector<int32_t> row_tokens;    // gathered row -> token (experts, then shared)
  std::vector<int32_t> slot_row;      // t * k + j -> gathered row
  std::vector<FfnJob> jobs;
  std::vector<FfnWork> ffn_work;  // --numa experts: the jobs' rows and nodes of one region
  FfnSchedule ffn_schedule;       // ... and which thread computes which rows
  int64_t numa_ffn_regions = 0;   // FFN regions run node by node (tests, logs)
  std::vector<int32_t> logit_rows;  // batch indices wanting logits
  std::vector<int64_t> next_pos;    // per sequence: the next position (validation)
  std::vector<ThreadScratch> per_thread;
};

}  // namespace moe
