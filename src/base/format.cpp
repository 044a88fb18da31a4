#include "base/format.h"

#include <cinttypes>
#include <cstdio>

namespace moe {

std::string format_bytes(uint64_t bytes) {
  char buf[32];
  const double b = static_cast<double>(bytes);
  if (bytes >= 1000ull * 1000 * 1000) {
    std::snprintf(buf, sizeof buf, "%.2f GB", b / 1e9);
  } else if (bytes >= 1000ull * 1000) {
    std::snprintf(buf, sizeof buf, "%.1f MB", b / 1e6);
  } else if (bytes >= 1000) {
    std::snprintf(buf, sizeof buf, "%.1f kB", b / 1e3);
  } else {
    std::snprintf(buf, sizeof buf, "%" PRIu64 " B", bytes);
  }
  return buf;
}

}  // namespace moe
