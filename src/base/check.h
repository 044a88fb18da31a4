// CHECK: always-on assertion for internal invariants (never for untrusted input, which
// gets a Status instead). Prints the condition and location, then aborts.
#pragma once

#include <cstdio>
#include <cstdlib>

#define MOE_CHECK(cond)                                                                   \
  do {                                                                                    \
    if (!(cond)) {                                                                        \
      std::fprintf(stderr, "CHECK failed: %s at %s:%d\n", #cond, __FILE__, __LINE__);     \
      std::abort();                                                                       \
    }                                                                                     \
  } while (0)

#define MOE_CHECK_MSG(cond, msg)                                                          \
  do {                                                                                    \
    if (!(cond)) {                                                                        \
      std::fprintf(stderr, "CHECK failed: %s (%s) at %s:%d\n", #cond, msg, __FILE__,      \
                   __LINE__);                                                             \
      std::abort();                                                                       \
    }                                                                                     \
  } while (0)
