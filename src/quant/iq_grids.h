// The codebooks of the IQ1_S / IQ1_M, IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS and IQ3_S formats:
// part of the formats' definition (ggml-common.h's iq1s_grid, iq2xxs_grid, iq2xs_grid,
// iq2s_grid, iq3xxs_grid, iq3s_grid), without which their files cannot be read. An IQ1 / IQ2
// entry is 8 values, value j in byte j (little-endian); an IQ3 entry is 4. Plain arrays in structs, so the
// ISA sources index them without calling any shared inline function.
#pragma once

#include <cstdint>

namespace moe {

inline constexpr int kIq2xxsGridSize = 256;
inline constexpr int kIq1sGridSize = 2048;
inline constexpr int kIq2xsGridSize = 512;
inline constexpr int kIq2sGridSize = 1024;
inline constexpr int kIq3xxsGridSize = 256;
inline constexpr int kIq3sGridSize = 512;

struct Iq2xxsGrid {
  uint64_t v[kIq2xxsGridSize];  // bytes 8, 25 or 43 (unsigned magnitudes)
};
struct Iq1sGrid {
  uint64_t v[kIq1sGridSize];  // bytes -1, 0 or +1 (int8)
};
struct Iq2xsGrid {
  uint64_t v[kIq2xsGridSize];  // IQ2_XS: bytes 8, 25 or 43
};
struct Iq2sGrid {
  uint64_t v[kIq2sGridSize];  // IQ2_S: bytes 8, 25 or 43
};
// IQ3 entries are 4 values, value j in byte j.
struct Iq3xxsGrid {
  uint32_t v[kIq3xxsGridSize];  // IQ3_XXS: bytes 4, 12, 20, 28, 36, 44, 52, 62
};
struct Iq3sGrid {
  uint32_t v[kIq3sGridSize];  // IQ3_S: odd bytes 1 .. 15
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
extern const Iq2xsGrid kIq2xsGrid;
extern const Iq2sGrid kIq2sGrid;
extern const Iq3xxsGrid kIq3xxsGrid;
extern const Iq3sGrid kIq3sGrid;
extern const Iq2Signs kIq2Signs;
extern const Iq2SignMasks kIq2SignMasks;

}  // namespace moe
