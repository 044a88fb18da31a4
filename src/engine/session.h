// One sequence being generated: feeds prompt tokens in prefill batches and decode steps
// through the model, keeping the logits of the last position. Shared by `run`, `chat`
// and (one per slot) the server.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "base/status.h"
#include "base/thread_pool.h"
#include "model/forward.h"
#include "model/kv_cache.h"
#include "model/model.h"

namespace moe {

struct SessionConfig {
  int batch_size = 512;   // prefill chunk (tokens per forward pass)
  int threads = 0;        // decode threads (0: all of the pool)
  int threads_batch = 0;  // prefill threads (0: all of the pool)
  int n_experts = 0;      // routed experts per token (0: the model's)
};

class Session {
 public:
  Session(const Model& model, ThreadPool& pool, KvCache& kv, int seq, SessionConfig config);

  // Appends tokens to the sequence: batches of batch_size for prompts, one pass for one
  // token. Afterwards logits() holds the raw logits of the last token fed.
  Status feed(std::span<const int32_t> tokens);
  const float* logits() const { return logits_.row(0); }
  int64_t n_vocab() const { return logits_.n_vocab; }
  int64_t n_past() const { return kv_.length(seq_); }
  int64_t n_ctx() const { return n_ctx_; }
  // Forgets everything from position n on (prompt-prefix reuse, /reset).
  void truncate(int64_t n) { kv_.truncate(seq_, n); }

 private:
  const Model& model_;
  ThreadPool& pool_;
  KvCache& kv_;
  int seq_;
  SessionConfig config_;
  int64_t n_ctx_;
  Forward forward_;
  Logits logits_;
  std::vector<BatchToken> batch_;
};

// The top `n` (id, log-probability) pairs of a row of raw logits, best first.
std::vector<std::pair<int32_t, float>> top_logprobs(const float* logits, int64_t n_vocab, int n,
                                                    std::vector<float>& scratch);

}  // namespace moe
