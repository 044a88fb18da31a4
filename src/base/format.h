// Human-readable sizes for logs and tables (decimal units: GB = 1e9 bytes, as every
// benchmark and the planner report them).
#pragma once

#include <cstdint>
#include <string>

namespace moe {

// "404.45 GB", "12.3 MB", "4.1 kB", "17 B".
std::string format_bytes(uint64_t bytes);

}  // namespace moe
