// The codebooks of the IQ2_XXS and IQ1_S / IQ1_M formats: part of the formats' definition
// (ggml-common.h's iq2xxs_grid and iq1s_grid), without which their files cannot be read.
// Entry k is 8 values, value j in byte j (little-endian). Plain arrays in structs, so the
// ISA sources index them without calling any shared inline function.
#pragma once

#include <cstdint>

namespace moe {

inline constexpr int kIq2xxsGridSize = 256;
inline constexpr int kIq1sGridSize = 2048;

struct Iq2xxsGrid {
  uint64_t v[kIq2xxsGridSize];  // bytes 8, 25 or 43 (unsigned magnitudes)
};
struct Iq1sGrid {
  uint64_t v[kIq1sGridSize];  // bytes -1, 0 or +1 (int8)
};
// IQ2_XXS signs: 7 stored bits index this table; the 8th bit completes an even count of
// minus signs. Bit j set: value j is negative.
struct Iq2Signs {
  uint8_t v[128];
};

// The same signs as 8 byte masks: byte j is 0xFF where value j is negative (for SIMD).
struct Iq2SignMasks {
  uint64_t v[128];
};

extern const Iq2xxsGrid kIq2xxsGrid;
extern const Iq1sGrid kIq1sGrid;
extern const Iq2Signs kIq2Signs;
extern const Iq2SignMasks kIq2SignMasks;

}  // namespace moe
