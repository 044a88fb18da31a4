// The scheduler's view of the model: one forward pass over a batch of tokens from several
// sequences (one per slot) plus the per-sequence cache bookkeeping it needs. Two
// implementations: KvModelStep (the real model over a block-pooled latent KvCache) and
// ScriptedStep (a deterministic token source for tests and `serve --test-script`: the
// fixture models are random and never emit </think> or tool-call markup on their own).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"
#include "base/thread_pool.h"
#include "engine/session.h"
#include "model/forward.h"
#include "model/kv_cache.h"
#include "model/model.h"

namespace moe {

class ModelStep {
 public:
  virtual ~ModelStep() = default;

  virtual int64_t n_vocab() const = 0;
  virtual int max_seqs() const = 0;
  // Cached positions of `seq` (its next position).
  virtual int64_t length(int seq) const = 0;
  // Drops positions >= n of `seq`.
  virtual void truncate(int seq, int64_t n) = 0;
  // KV cache use over all sequences, for /metrics.
  virtual int64_t used_tokens() const = 0;
  virtual int64_t capacity_tokens() const = 0;

  // One forward pass; every entry routes through `n_experts` experts (0: the model's).
  // `prefill` says the batch holds prompt chunks (the engine uses -tb threads then).
  virtual Status run(std::span<const BatchToken> batch, int n_experts, bool prefill, Logits& out) = 0;

  // Slot persistence: the rows of positions [0, length) of `seq` plus its tokens.
  virtual Status save(int seq, std::span<const int32_t> tokens, const std::string& path) const = 0;
  // Replaces `seq`'s cache from a file written by save(); returns its tokens. A file that
  // is not ours, for another model, or larger than `max_tokens` is an error (cache cleared).
  virtual Result<std::vector<int32_t>> restore(int seq, const std::string& path, int64_t max_tokens) = 0;
};

// The real model. Owns the KV cache and a Forward; the model and pool are shared.
class KvModelStep final : public ModelStep {
 public:
  KvModelStep(const Model& model, ThreadPool& pool, KvCache kv, SessionConfig config);

  int64_t n_vocab() const override { return model_.args().vocab_size; }
  int max_seqs() const override { return kv_.max_seqs(); }
  int64_t length(int seq) const override { return kv_.length(seq); }
  void truncate(int seq, int64_t n) override { kv_.truncate(seq, n); }
  int64_t used_tokens() const override;
  int64_t capacity_tokens() const override { return kv_.capacity_tokens(); }
  Status run(std::span<const BatchToken> batch, int n_experts, bool prefill, Logits& out) override;
  Status save(int seq, std::span<const int32_t> tokens, const std::string& path) const override;
  Result<std::vector<int32_t>> restore(int seq, const std::string& path, int64_t max_tokens) override;

  // Identifies the model and cache layout in slot files.
  uint64_t fingerprint() const;

 private:
  const Model& model_;
  ThreadPool& pool_;
  KvCache kv_;
  SessionConfig config_;
  Forward forward_;
};

// Emits `script` token by token for every request, then `end_token` (EOS) forever: each
// logits row puts 0 on the scripted token and -1e9 elsewhere, so greedy and sampled
// decoding both follow it. A sequence's script restarts when its cache is truncated
// (a new request). `step_delay_ms` slows each pass (tests of queueing and disconnects).
class ScriptedStep final : public ModelStep {
 public:
  ScriptedStep(int64_t n_vocab, int max_seqs, int64_t ctx_per_seq, std::vector<int32_t> script,
               int32_t end_token, int step_delay_ms = 0);

  int64_t n_vocab() const override { return n_vocab_; }
  int max_seqs() const override { return static_cast<int>(seqs_.size()); }
  int64_t length(int seq) const override { return seqs_[seq].length; }
  void truncate(int seq, int64_t n) override;
  int64_t used_tokens() const override;
  int64_t capacity_tokens() const override { return ctx_per_seq_ * max_seqs(); }
  Status run(std::span<const BatchToken> batch, int n_experts, bool prefill, Logits& out) override;
  Status save(int seq, std::span<const int32_t> tokens, const std::string& path) const override;
  Result<std::vector<int32_t>> restore(int seq, const std::string& path, int64_t max_tokens) override;

 private:
  struct Seq {
    int64_t length = 0;
    size_t emitted = 0;  // script position
  };
  int64_t n_vocab_;
  int64_t ctx_per_seq_;
  std::vector<int32_t> script_;
  int32_t end_token_;
  int step_delay_ms_;
  std::vector<Seq> seqs_;
};

}  // namespace moe
