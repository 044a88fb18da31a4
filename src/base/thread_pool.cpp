#include "base/thread_pool.h"

#include <algorithm>
#include <chrono>
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

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

double PoolStats::idle_pct_since(const PoolStats& before) const {
  const int64_t offered = thread_ns - before.thread_ns;
  if (offered <= 0) return 0.0;
  return 100.0 * static_cast<double>(offered - (busy_ns - before.busy_ns)) / static_cast<double>(offered);
}

PoolStats ThreadPool::stats() const {
  PoolStats s;
  s.regions = regions_.load(std::memory_order_relaxed);
  s.thread_ns = thread_ns_.load(std::memory_order_relaxed);
  s.busy_ns = busy_ns_.load(std::memory_order_relaxed);
  return s;
}

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
  regions_.fetch_add(1, std::memory_order_relaxed);
  const int64_t start = now_ns();
  if (nth == 1) {
    fn(ctx, 0, 1);
    const int64_t t = now_ns() - start;
    thread_ns_.fetch_add(t, std::memory_order_relaxed);
    busy_ns_.fetch_add(t, std::memory_order_relaxed);
    return;
  }
  job_fn_ = fn;
  job_ctx_ = ctx;
  job_threads_ = nth;
  pending_.store(nth - 1, std::memory_order_relaxed);
  generation_.fetch_add(1, std::memory_order_release);
  generation_.notify_all();
  fn(ctx, 0, nth);
  busy_ns_.fetch_add(now_ns() - start, std::memory_order_relaxed);
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
  thread_ns_.fetch_add((now_ns() - start) * nth, std::memory_order_relaxed);
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
      const int64_t start = now_ns();
      job_fn_(job_ctx_, ith, job_threads_);
      busy_ns_.fetch_add(now_ns() - start, std::memory_order_relaxed);
      if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) pending_.notify_one();
    }
  }
}

}  // namespace moe
