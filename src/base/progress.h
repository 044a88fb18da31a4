// A single-line progress bar on stderr for long byte-counting work (loading, touching
// weights): "loading [#######.......]  4.20/12.26 GB  2.10 GB/s  ETA 3.8s". Drawn only
// when the stream is a terminal; a callback form reports the same (done, total) to others
// (the server's /health). Thread safe: many reader threads call add() at once.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace moe {

// Called with (bytes done, bytes total); must be cheap and thread safe.
using ProgressFn = std::function<void(uint64_t done, uint64_t total)>;

// The bar's text for a state: a pure function (no terminal control characters).
std::string format_progress(std::string_view label, uint64_t done, uint64_t total, double elapsed_s,
                            int bar_width = 24);

class ProgressBar {
 public:
  // Draws to `fd` (stderr by default) only when it is a terminal and `draw` is true.
  ProgressBar(std::string label, uint64_t total, ProgressFn callback = {}, bool draw = true, int fd = 2);
  ~ProgressBar();
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  bool drawing() const { return draw_; }
  uint64_t done() const { return done_.load(std::memory_order_relaxed); }
  uint64_t total() const { return total_; }
  double elapsed_s() const;

  // Adds finished bytes; redraws / calls back at most every 100 ms (whichever thread
  // crosses the interval does it).
  void add(uint64_t bytes);
  // Final state: one last draw and a newline (idempotent; the destructor calls it).
  void finish();

 private:
  void report(uint64_t done);

  std::string label_;
  uint64_t total_;
  ProgressFn callback_;
  bool draw_;
  int fd_;
  int64_t start_ns_;
  std::atomic<uint64_t> done_{0};
  std::atomic<int64_t> next_report_ns_{0};
  std::atomic<bool> finished_{false};
};

}  // namespace moe
