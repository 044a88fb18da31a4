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

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// How long a thread spins before it sleeps: after its share of a region a thread waits for
// the others (up to one piece of the region: about 0.15 ms in an r1-bench decode, 1 ms at
// R1's dimensions), and a worker waits through the serial gaps between regions. A thread
// that went to sleep costs a futex wake-up when the next region starts (tens of us in a KVM
// guest). Measured with bench's pool line (PERFORMANCE.md, "Thread-pool waits"): the spin
// before, 2048 pauses (19 us on this CPU, not the 0.1 ms its comment assumed), left two decode
// threads idle 4-8.5 % of their time in regions on r1-bench, this 0.5 ms 3.8-4.1 % (r1-slice
// 3.4-4.6 -> 2.7-3.0 %). Still short enough that an idle server sleeps almost at once.
constexpr int64_t kSpinNs = 500000;

// The first part of the spin only pauses; after it each round also yields, so that with more
// threads than CPUs (-t above the cores, tests running side by side) the thread being waited
// for gets the CPU instead of losing its time slice to the spinner. (Pausing the whole 0.5 ms
// made a test with 5 threads on 2 CPUs 25x slower.)
constexpr int64_t kPauseOnlyNs = 20000;

// Spins until done() or kSpinNs have passed; returns done().
template <typename Done>
bool spin_until(Done done) {
  const int64_t start = now_ns();
  for (;;) {
    for (int i = 0; i < 32; ++i) {
      if (done()) return true;
      cpu_relax();
    }
    const int64_t spent = now_ns() - start;
    if (spent > kSpinNs) return done();
    if (spent > kPauseOnlyNs) std::this_thread::yield();
  }
}

}  // namespace

double PoolStats::idle_pct() const {
  if (thread_ns <= 0) return 0.0;
  return 100.0 * static_cast<double>(thread_ns - busy_ns) / static_cast<double>(thread_ns);
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
  spin_until([&] { return pending_.load(std::memory_order_acquire) == 0; });
  int pending = pending_.load(std::memory_order_acquire);
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
    spin_until([&] { return generation_.load(std::memory_order_acquire) != seen; });
    uint64_t gen = generation_.load(std::memory_order_acquire);
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
