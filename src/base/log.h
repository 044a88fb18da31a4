// Minimal leveled logging to stderr (stdout is reserved for command output such as --jsonl).
#pragma once

#include <cstdarg>

namespace moe {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3, kQuiet = 4 };

// The threshold is process configuration set once by main() before any work starts.
void set_log_level(LogLevel level);
LogLevel log_level();

void log_message(LogLevel level, const char* fmt, ...) __attribute__((format(printf, 2, 3)));

}  // namespace moe

#define MOE_LOG_DEBUG(...) ::moe::log_message(::moe::LogLevel::kDebug, __VA_ARGS__)
#define MOE_LOG_INFO(...) ::moe::log_message(::moe::LogLevel::kInfo, __VA_ARGS__)
#define MOE_LOG_WARN(...) ::moe::log_message(::moe::LogLevel::kWarn, __VA_ARGS__)
#define MOE_LOG_ERROR(...) ::moe::log_message(::moe::LogLevel::kError, __VA_ARGS__)
