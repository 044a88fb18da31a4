#include "base/log.h"

#include <atomic>
#include <cstdio>

namespace moe {
namespace {
// The one process-wide setting: written by main() before threads start, read-only after.
std::atomic<int> g_threshold{static_cast<int>(LogLevel::kInfo)};
}  // namespace

void set_log_level(LogLevel level) { g_threshold.store(static_cast<int>(level)); }
LogLevel log_level() { return static_cast<LogLevel>(g_threshold.load()); }

void log_message(LogLevel level, const char* fmt, ...) {
  if (static_cast<int>(level) < g_threshold.load(std::memory_order_relaxed)) return;
  static const char* const kTags[] = {"debug", "info", "warn", "error"};
  char line[2048];
  va_list args;
  va_start(args, fmt);
  std::vsnprintf(line, sizeof line, fmt, args);
  va_end(args);
  std::fprintf(stderr, "[moeinfer %s] %s\n", kTags[static_cast<int>(level)], line);
}

}  // namespace moe
