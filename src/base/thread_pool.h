// A persistent thread pool for the forward pass. The caller thread takes part as thread 0.
// `run(n, fn)` calls fn(thread_index, n_threads) on n threads and returns when all are done.
// Workers spin briefly between jobs (the decode loop meets several times per layer) and
// then sleep on an atomic wait, so an idle server costs no CPU. No allocation per job.
// With an AffinityPlan, worker i runs pinned to plan.cpus[i]; the thread that calls run()
// is pinned to plan.cpus[0] on its first call (threads it creates afterwards inherit
// that mask, so create them before the first run() or reset their affinity).
// The pool also counts where its threads' time goes (stats()): bench reports the share of
// a decode step's thread time spent waiting at the regions' ends.
#pragma once

#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

#include "base/affinity.h"

namespace moe {

// Totals over the run() calls since the pool was made: `thread_ns` is each call's wall time
// (publishing the job to the last thread done) times its threads, `busy_ns` the time those
// threads spent inside fn. The difference is waking, imbalance and waiting.
struct PoolStats {
  int64_t regions = 0;
  int64_t thread_ns = 0;
  int64_t busy_ns = 0;
  // 100 x (1 - busy / thread time): 0 when nothing ran. Differences of two snapshots give
  // the calls between them, and sums of differences add them up.
  double idle_pct() const;
  PoolStats operator-(const PoolStats& before) const {
    return {regions - before.regions, thread_ns - before.thread_ns, busy_ns - before.busy_ns};
  }
  PoolStats& operator+=(const PoolStats& more) {
    regions += more.regions;
    thread_ns += more.thread_ns;
    busy_ns += more.busy_ns;
    return *this;
  }
};

class ThreadPool {
 public:
  explicit ThreadPool(int n_threads, AffinityPlan affinity = {});
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return n_threads_; }
  // Threads that parallel_for uses (<= size()): the engine lowers it for decode steps and
  // raises it for prefill batches (-t vs -tb) without a second pool.
  int active() const { return active_; }
  // The pinning plan (empty when threads are not pinned): cpus[i] / nodes[i] of thread i.
  const AffinityPlan& affinity() const { return affinity_; }
  void set_active(int n) { active_ = n < 1 ? 1 : (n > n_threads_ ? n_threads_ : n); }
  // Read between run() calls (a call in flight is not yet counted).
  PoolStats stats() const;

  // Runs fn(ith, nth) for ith in [0, nth), nth = min(n, size()). Blocks until done.
  template <typename Fn>
  void run(int n, Fn&& fn) {
    auto trampoline = [](void* ctx, int ith, int nth) { (*static_cast<Fn*>(ctx))(ith, nth); };
    run_raw(n, trampoline, &fn);
  }

  // Splits [0, total) into contiguous chunks, one per thread: fn(begin, end, ith).
  template <typename Fn>
  void parallel_for(int64_t total, Fn&& fn) {
    run(active_, [&](int ith, int nth) {
      const int64_t begin = total * ith / nth;
      const int64_t end = total * (ith + 1) / nth;
      if (begin < end) fn(begin, end, ith);
    });
  }

  // Splits [0, total) into about chunks_per_thread pieces per thread, contiguous and of equal
  // size, handed out in order from a shared counter: fn(begin, end, ith), possibly several
  // times per thread. A thread that runs slower (preempted by the OS or the host, sharing a
  // core with a busy SMT sibling) takes fewer pieces, so the call ends when the work is done
  // rather than when the slowest fixed share is. The pieces do not depend on which thread
  // runs them.
  template <typename Fn>
  void parallel_for_dynamic(int64_t total, int chunks_per_thread, Fn&& fn) {
    const int64_t wanted = static_cast<int64_t>(active_) * (chunks_per_thread < 1 ? 1 : chunks_per_thread);
    const int64_t pieces = total < wanted ? total : wanted;
    std::atomic<int64_t> next{0};
    run(active_, [&](int ith, int) {
      for (int64_t k = next.fetch_add(1, std::memory_order_relaxed); k < pieces;
           k = next.fetch_add(1, std::memory_order_relaxed)) {
        fn(total * k / pieces, total * (k + 1) / pieces, ith);
      }
    });
  }

 private:
  using RawFn = void (*)(void*, int, int);
  void run_raw(int n, RawFn fn, void* ctx);
  void worker_loop(int ith);

  void pin_caller();

  int n_threads_;
  int active_;
  AffinityPlan affinity_;
  std::atomic<std::thread::id> pinned_caller_{};
  std::vector<std::thread> workers_;
  // A job is published by bumping generation_; workers with index < job_threads_ run it.
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> pending_{0};
  std::atomic<bool> stop_{false};
  RawFn job_fn_ = nullptr;
  void* job_ctx_ = nullptr;
  int job_threads_ = 0;
  std::atomic<int64_t> regions_{0};
  std::atomic<int64_t> thread_ns_{0};
  std::atomic<int64_t> busy_ns_{0};  // the workers add theirs as they finish
};

}  // namespace moe
