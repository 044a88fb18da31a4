// Continuous batching over N slots (one KV sequence each), driven by one engine thread.
//
// Every step builds one batch: a decode token for every generating slot plus prefill
// chunks of admitted prompts (at most `batch_size` tokens in all, decode first, so running
// streams keep flowing while a long prompt is processed), runs it, samples each slot from
// its logits row, detokenizes, checks EOS / stop strings / max_tokens / a full slot context
// (finish_reason "length", never an abort) and pushes events to the request's handle.
//
// Requests with different `n_experts` cannot share a pass (the router's k is per pass): a
// step runs one pass per distinct n_experts among its slots, each batched among equals.
//
// Prompt cache: a slot keeps its tokens and KV rows after a request ends. A new request
// takes the free slot with the longest common token prefix (ties: least recently used),
// keeps that prefix (minus at least one token, re-fed so logits exist) and feeds the rest.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/status.h"
#include "engine/generation.h"
#include "engine/model_step.h"
#include "engine/slot.h"
#include "tokenizer/tokenizer.h"

namespace moe {

struct SchedulerOptions {
  int64_t slot_ctx = 4096;  // positions per slot
  int batch_size = 512;     // tokens per step (decode tokens + prefill chunks)
  int max_queue = 32;       // waiting requests beyond the busy slots
};

enum class SubmitError { kNone, kQueueFull, kInvalid, kStopped };

struct SubmitResult {
  std::shared_ptr<RequestHandle> handle;
  SubmitError error = SubmitError::kNone;
  std::string message;
};

struct SlotInfo {
  int id = 0;
  bool busy = false;
  int64_t n_cached = 0;  // tokens in the slot's cache
};

// Counters for /metrics (monotonic unless said otherwise).
struct SchedulerMetrics {
  int64_t requests_finished = 0;
  int64_t prompt_tokens = 0;      // prompt tokens processed (cache hits excluded)
  int64_t generated_tokens = 0;
  double prompt_seconds = 0;      // engine time spent on prompt tokens
  double decode_seconds = 0;      // engine time spent on decode tokens
  int64_t cache_tokens_reused = 0;
  int queued = 0;                 // gauge
  int slots_busy = 0;             // gauge
  int slots_total = 0;
  int64_t kv_used_tokens = 0;     // gauge
  int64_t kv_capacity_tokens = 0;
};

class Scheduler {
 public:
  Scheduler(ModelStep& step, Tokenizer tokenizer, SchedulerOptions options);
  ~Scheduler();
  Scheduler(const Scheduler&) = delete;
  Scheduler& operator=(const Scheduler&) = delete;

  void start();
  void stop();  // cancels everything, joins the engine thread

  int n_slots() const { return static_cast<int>(slots_.size()); }
  int64_t slot_ctx() const { return options_.slot_ctx; }
  int64_t n_vocab() const { return step_.n_vocab(); }

  // Queues a request (the prompt must already be validated against slot_ctx()).
  SubmitResult submit(GenerationRequest request);

  std::vector<SlotInfo> slots() const;
  SchedulerMetrics metrics() const;

  // Slot files (run on the engine thread between steps). The slot must be idle.
  Result<int64_t> save_slot(int slot, const std::string& path);     // tokens saved
  Result<int64_t> restore_slot(int slot, const std::string& path);  // tokens restored
  Result<int64_t> erase_slot(int slot);                             // tokens dropped

 private:
  struct Pending {
    GenerationRequest request;
    std::shared_ptr<RequestHandle> handle;
  };
  using Task = std::function<void()>;

  void engine_loop();
  void wake();
  void admit(Pending pending);
  void drop_cancelled();
  void step_once();
  void sample_slot(Slot& slot, const float* logits);
  void emit(Slot& slot, GenerationEvent event);
  void finish(Slot& slot, FinishReason reason, std::string error = {});
  Result<int64_t> run_task(std::function<Result<int64_t>()> fn);
  void publish_metrics();

  ModelStep& step_;
  Tokenizer tokenizer_;
  SchedulerOptions options_;
  std::vector<Slot> slots_;  // engine thread only
  Logits logits_;
  std::vector<float> scratch_;
  uint64_t use_clock_ = 0;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Pending> queue_;
  std::deque<Task> tasks_;
  bool stop_ = false;
  bool woken_ = false;
  int free_slots_ = 0;  // slots without a request, minus admissions in flight
  SchedulerMetrics metrics_;  // under mu_
  std::vector<SlotInfo> slot_info_;  // under mu_
  std::thread thread_;
};

}  // namespace moe
