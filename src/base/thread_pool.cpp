#include "base/thread_pool.h"

#include <algorithm>
#include <utility>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace moe {
namespace {
inline void cpu_relax() {
#if defined(__x86_64__)
  _mm_pause();
#endif
}
// About 0.1 ms of spinning (pause is ~40-140 cycles): long enough to bridge the short serial
// gaps between the regions of a decode step, short enough not to starve other processes.
constexpr int kSpinIterations = 1 << 11;
}  // namespace

ThreadPool::ThreadPool(int n_threads, AffinityPlan affinity)
    : n_threads_(std::max(1, n_threads)), active_(n_threads_), affinity_(std::move(affinity)) {
  if (!affinity_.empty() && static_cast<int>(affinity_.cpus.size()) < n_threads_) affinity_ = {};
  workers_.reserve(n_threads_ - 1);
  for (int i = 1; i < n_threads_; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
}

ThreadPool::~ThreadPool() {
  stop_.store(true);
  generation_.fetch_add(1);
  generation_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::pin_caller() {
  const std::thread::id self = std::this_thread::get_id();
  if (pinned_caller_.load(std::memory_order_relaxed) == self) return;
  pinned_caller_.store(self, std::memory_order_relaxed);
  (void)pin_current_thread(affinity_.cpus[0]);  // best effort, like the workers
}

void ThreadPool::run_raw(int n, RawFn fn, void* ctx) {
  if (!affinity_.empty()) pin_caller();
  const int nth = std::clamp(n, 1, n_threads_);
  if (nth == 1) {
    fn(ctx, 0, 1);
    return;
  }
  job_fn_ = fn;
  job_ctx_ = ctx;
  job_threads_ = nth;
  pending_.store(nth - 1, std::memory_order_relaxed);
  generation_.fetch_add(1, std::memory_order_release);
  generation_.notify_all();
  fn(ctx, 0, nth);
  // Spin briefly (the common case on an idle machine), then sleep until the last worker
  // is done: spinning against a descheduled worker would burn the time slice it needs.
  int pending = pending_.load(std::memory_order_acquire);
  for (int spin = 0; pending != 0 && spin < kSpinIterations; ++spin) {
    cpu_relax();
    pending = pending_.load(std::memory_order_acquire);
  }
  while (pending != 0) {
    pending_.wait(pending, std::memory_order_acquire);
    pending = pending_.load(std::memory_order_acquire);
  }
}

void ThreadPool::worker_loop(int ith) {
  if (!affinity_.empty()) (void)pin_current_thread(affinity_.cpus[static_cast<size_t>(ith)]);
  uint64_t seen = 0;
  for (;;) {
    uint64_t gen = generation_.load(std::memory_order_acquire);
    for (int spin = 0; gen == seen && spin < kSpinIterations; ++spin) {
      cpu_relax();
      gen = generation_.load(std::memory_order_acquire);
    }
    while (gen == seen) {
      generation_.wait(seen, std::memory_order_acquire);
      gen = generation_.load(std::memory_order_acquire);
    }
    seen = gen;
    if (stop_.load()) return;
    if (ith < job_threads_) {
      job_fn_(job_ctx_, ith, job_threads_);
      if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) pending_.notify_one();
    }
  }
}

}  // namespace moe
