// Overflow-checked arithmetic for sizes computed from untrusted input.
#pragma once

#include <cstdint>

namespace moe {

inline bool checked_mul(uint64_t a, uint64_t b, uint64_t* out) {
  return !__builtin_mul_overflow(a, b, out);
}
inline bool checked_add(uint64_t a, uint64_t b, uint64_t* out) {
  return !__builtin_add_overflow(a, b, out);
}

}  // namespace moe
