// The model's entry point: one forward pass over a batch of tokens from several sequences,
// each with its own blocks in the KV cache (see docs/ARCHITECTURE.md).
//
// A batch may mix a prefill chunk of one sequence with single decode tokens of others.
// Attention is per sequence and causal; everything else is per token and batch-wide (MoE
// groups all tokens of the batch by expert). Only entries with want_logits pay for the
// output head. A token's numbers never depend on its batch-mates (batch invariance).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "base/status.h"
#include "base/thread_pool.h"
#include "model/kv_cache.h"
#include "model/model.h"

namespace moe {

struct BatchToken {
  int32_t token = 0;
  int32_t pos = 0;  // must be the sequence's next position (kv.length(seq) + earlier entries)
  int32_t seq = 0;
  bool want_logits = false;
};

// Raw logits (no sampling transforms) of the batch entries that asked for them.
struct Logits {
  int64_t n_vocab = 0;
  std::vector<int32_t> batch_index;  // the batch entry of each row
  std::vector<float> values;         // rows x n_vocab
  size_t rows() const { return batch_index.size(); }
  const float* row(size_t i) const { return values.data() + i * static_cast<size_t>(n_vocab); }
};

struct ForwardState;  // scratch buffers, sized once and reused (no allocation per token)

class Forward {
 public:
  Forward(const Model& model, ThreadPool& pool);
  ~Forward();
  Forward(const Forward&) = delete;
  Forward& operator=(const Forward&) = delete;

  // Routed experts per token (0 = the model's n_activated_experts); fewer is faster.
  void set_n_experts(int n) { n_experts_ = n; }
  int n_experts() const;
  // FFN regions so far that ran each routed expert on its node's threads (--numa experts
  // with the pool's threads on several nodes); 0 on the plain path. For tests and logs.
  int64_t numa_ffn_regions() const;

  // Runs the batch, appends its latent KV rows to `kv` and fills `out`. Invalid input
  // (token ids, sequence ids, positions, a full context) is an error and changes nothing.
  Status run(std::span<const BatchToken> batch, KvCache& kv, Logits& out);

 private:
  Status validate(std::span<const BatchToken> batch, KvCache& kv);

  const Model& model_;
  ThreadPool& pool_;
  int n_experts_ = 0;
  std::unique_ptr<ForwardState> state_;
};

}  // namespace moe
