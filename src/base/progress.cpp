#include "base/progress.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>

#include "base/memory.h"

namespace moe {
namespace {

constexpr int64_t kReportIntervalNs = 100'000'000;

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

std::string format_seconds(double s) {
  char buf[32];
  if (s < 60) {
    std::snprintf(buf, sizeof buf, "%.1fs", s);
  } else if (s < 3600) {
    std::snprintf(buf, sizeof buf, "%dm%02ds", static_cast<int>(s) / 60, static_cast<int>(s) % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%dh%02dm", static_cast<int>(s) / 3600, static_cast<int>(s) % 3600 / 60);
  }
  return buf;
}

}  // namespace

std::string format_progress(std::string_view label, uint64_t done, uint64_t total, double elapsed_s, int bar_width) {
  if (done > total) done = total;
  const double frac = total > 0 ? static_cast<double>(done) / static_cast<double>(total) : 1.0;
  const int filled = static_cast<int>(frac * bar_width);
  std::string s(label);
  s += " [";
  s.append(static_cast<size_t>(filled), '#');
  s.append(static_cast<size_t>(bar_width - filled), '.');
  char buf[128];
  std::snprintf(buf, sizeof buf, "] %3d%%  %.2f/%.2f GB", static_cast<int>(frac * 100),
                static_cast<double>(done) / 1e9, static_cast<double>(total) / 1e9);
  s += buf;
  if (elapsed_s > 0 && done > 0) {
    const double gbps = static_cast<double>(done) / 1e9 / elapsed_s;
    std::snprintf(buf, sizeof buf, "  %.2f GB/s", gbps);
    s += buf;
    if (done < total) {
      s += "  ETA " + format_seconds(static_cast<double>(total - done) / (static_cast<double>(done) / elapsed_s));
    } else {
      s += "  in " + format_seconds(elapsed_s);
    }
  }
  return s;
}

ProgressBar::ProgressBar(std::string label, uint64_t total, ProgressFn callback, bool draw, int fd)
    : label_(std::move(label)),
      total_(total),
      callback_(std::move(callback)),
      draw_(draw && isatty(fd) == 1),
      fd_(fd),
      start_ns_(now_ns()) {
  next_report_ns_.store(start_ns_ + kReportIntervalNs, std::memory_order_relaxed);
  if (callback_) callback_(0, total_);
}

ProgressBar::~ProgressBar() { finish(); }

double ProgressBar::elapsed_s() const { return static_cast<double>(now_ns() - start_ns_) / 1e9; }

void ProgressBar::add(uint64_t bytes) {
  const uint64_t done = done_.fetch_add(bytes, std::memory_order_relaxed) + bytes;
  if (!draw_ && !callback_) return;
  const int64_t now = now_ns();
  int64_t next = next_report_ns_.load(std::memory_order_relaxed);
  if (now < next) return;
  if (!next_report_ns_.compare_exchange_strong(next, now + kReportIntervalNs)) return;  // another thread draws
  report(done);
}

void ProgressBar::report(uint64_t done) {
  if (callback_) callback_(done, total_);
  if (!draw_) return;
  // \r + the line + clear to end of line: one write, so lines from threads never interleave.
  // (appends: GCC 12 warns falsely, -Wrestrict, on `"\r" + std::string`)
  std::string line = "\r";
  line.append(format_progress(label_, done, total_, elapsed_s())).append("\x1b[K");
  [[maybe_unused]] const ssize_t n = ::write(fd_, line.data(), line.size());
}

void ProgressBar::finish() {
  if (finished_.exchange(true)) return;
  report(done_.load());
  if (draw_) {
    [[maybe_unused]] const ssize_t n = ::write(fd_, "\n", 1);
  }
}

}  // namespace moe
