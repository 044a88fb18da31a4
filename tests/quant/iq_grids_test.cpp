// The IQ codebooks against ggml-common.h: entries copied from it by hand (an independent
// source from the compact table the library expands), and the tables' structure.
#include "quant/iq_grids.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <vector>

namespace moe {
namespace {

// An entry's code in the order ggml lists the tables (the last value most significant): the
// IQ1 / IQ2 entries' 8 values in 2 bits each, the IQ3 entries' 4 values in 3 bits.
template <int kLevels>
int code_of(uint64_t e, const uint8_t (&levels)[kLevels]) {
  const int values = kLevels == 3 ? 8 : 4, radix = kLevels == 3 ? 4 : 8;
  int code = 0;
  for (int j = values - 1; j >= 0; --j) {
    const uint8_t b = static_cast<uint8_t>(e >> (8 * j));
    const int c = static_cast<int>(std::find(levels, levels + kLevels, b) - levels);
    EXPECT_LT(c, kLevels) << std::hex << e;
    code = code * radix + c;
  }
  return code;
}

TEST(IqGrids, Iq2xxsEntriesAsGgmlListsThem) {
  EXPECT_EQ(kIq2xxsGrid.v[0], 0x0808080808080808ULL);
  EXPECT_EQ(kIq2xxsGrid.v[1], 0x080808080808082bULL);
  EXPECT_EQ(kIq2xxsGrid.v[2], 0x0808080808081919ULL);
  EXPECT_EQ(kIq2xxsGrid.v[3], 0x0808080808082b08ULL);
  EXPECT_EQ(kIq2xxsGrid.v[128], 0x082b2b0808082b08ULL);
  EXPECT_EQ(kIq2xxsGrid.v[131], 0x082b2b2b19081908ULL);
  EXPECT_EQ(kIq2xxsGrid.v[132], 0x1908080808080819ULL);
  EXPECT_EQ(kIq2xxsGrid.v[252], 0x2b2b082b08080808ULL);
  EXPECT_EQ(kIq2xxsGrid.v[255], 0x2b2b2b1908081908ULL);
}

TEST(IqGrids, Iq1sEntriesAsGgmlListsThem) {
  EXPECT_EQ(kIq1sGrid.v[0], 0xffffffffffffffffULL);
  EXPECT_EQ(kIq1sGrid.v[1], 0xffffffffffffff01ULL);
  EXPECT_EQ(kIq1sGrid.v[2], 0xffffffffffff0000ULL);
  EXPECT_EQ(kIq1sGrid.v[3], 0xffffffffffff01ffULL);
  EXPECT_EQ(kIq1sGrid.v[2047], 0x0101010101010101ULL);
  // Runs of consecutive entries from the middle of ggml's table.
  const std::vector<std::pair<int, std::vector<uint64_t>>> runs = {
      {524, {0xff0100ff010000ffULL, 0xff0100ff01000100ULL, 0xff0100ff0101ff00ULL, 0xff0100ff01010000ULL,
             0xff010000ffff0100ULL, 0xff010000ff000000ULL, 0xff010000ff01ff00ULL, 0xff010000ff010100ULL}},
      {728, {0x00ff0000ff010000ULL, 0x00ff0000ff010101ULL, 0x00ff000000ffff00ULL, 0x00ff000000ff00ffULL}},
      {1024, {0x0000000000ff0100ULL, 0x000000000000ffffULL, 0x000000000000ff00ULL, 0x000000000000ff01ULL,
              0x00000000000000ffULL, 0x0000000000000000ULL, 0x0000000000000001ULL, 0x00000000000001ffULL}},
      {1188, {0x00000101ff010100ULL, 0x0000010100ff0000ULL, 0x0000010100ff01ffULL, 0x0000010100ff0100ULL}},
      {1266, {0x0001ff0101010000ULL, 0x000100ffff00ff00ULL, 0x000100ffff00ff01ULL, 0x000100ffff000000ULL}},
  };
  for (const auto& [first, entries] : runs) {
    for (size_t i = 0; i < entries.size(); ++i) EXPECT_EQ(kIq1sGrid.v[first + i], entries[i]) << first + i;
  }
}

TEST(IqGrids, Iq2xsAndIq2sEntriesAsGgmlListsThem) {
  const uint64_t xs[] = {0x0808080808080808ULL, 0x080808080808082bULL, 0x0808080808081919ULL, 0x0808080808082b08ULL,
                         0x0808080808082b2bULL, 0x0808080808190819ULL, 0x0808080808191908ULL, 0x080808080819192bULL,
                         0x0808080808192b19ULL, 0x08080808082b0808ULL, 0x08080808082b082bULL, 0x08080808082b1919ULL,
                         0x08080808082b2b08ULL, 0x0808080819080819ULL};
  for (int k = 0; k < 14; ++k) EXPECT_EQ(kIq2xsGrid.v[k], xs[k]) << k;
  EXPECT_EQ(kIq2sGrid.v[0], 0x0808080808080808ULL);
  EXPECT_EQ(kIq2sGrid.v[3], 0x0808080808082b08ULL);
  EXPECT_EQ(kIq2sGrid.v[1020], 0x2b2b2b2b082b082bULL);
  EXPECT_EQ(kIq2sGrid.v[1021], 0x2b2b2b2b082b2b08ULL);
  EXPECT_EQ(kIq2sGrid.v[1022], 0x2b2b2b2b2b082b08ULL);
  EXPECT_EQ(kIq2sGrid.v[1023], 0x2b2b2b2b2b2b2b2bULL);
}

TEST(IqGrids, Iq3EntriesAsGgmlListsThem) {
  const uint32_t xxs[] = {0x04040404, 0x04040414, 0x04040424, 0x04040c0c, 0x04040c1c, 0x04040c3e, 0x04041404, 0x04041414,
                          0x04041c0c, 0x04042414, 0x04043e1c, 0x04043e2c, 0x040c040c, 0x040c041c, 0x040c0c04, 0x040c0c14};
  for (int k = 0; k < 16; ++k) EXPECT_EQ(kIq3xxsGrid.v[k], xxs[k]) << k;
  EXPECT_EQ(kIq3xxsGrid.v[53], 0x043e0c04u);
  EXPECT_EQ(kIq3xxsGrid.v[54], 0x043e0c24u);
  EXPECT_EQ(kIq3xxsGrid.v[55], 0x043e0c34u);
  const uint32_t s[] = {0x01010101, 0x01010103, 0x01010105, 0x0101010b, 0x0101010f, 0x01010301, 0x01010303,
                        0x01010305, 0x01010309, 0x0101030d, 0x01010501, 0x01010503, 0x0101050b, 0x01010707,
                        0x01010901, 0x01010905, 0x0101090b, 0x0101090f, 0x01010b03, 0x01010b07, 0x01010d01,
                        0x01010d05, 0x01010f03, 0x01010f09, 0x01010f0f, 0x01030101, 0x01030103, 0x01030105,
                        0x01030109, 0x01030301, 0x01030303, 0x0103030b, 0x01030501, 0x01030507, 0x0103050f};
  for (int k = 0; k < 35; ++k) EXPECT_EQ(kIq3sGrid.v[k], s[k]) << k;
  const uint32_t s_tail[] = {0x0f090307, 0x0f090501, 0x0f090b01, 0x0f0b0505,
                             0x0f0b0905, 0x0f0d0105, 0x0f0d0703, 0x0f0f0101};
  for (int k = 0; k < 8; ++k) EXPECT_EQ(kIq3sGrid.v[504 + k], s_tail[k]) << 504 + k;
}

// ggml lists every table in ascending order of the entries' codes, each value one of the
// format's levels: a corrupted digit in the compact table breaks one or the other.
TEST(IqGrids, EntriesAreValidAndAscending) {
  const uint8_t iq2_levels[3] = {0x08, 0x19, 0x2b};
  const uint8_t iq1_levels[3] = {0xff, 0x00, 0x01};
  for (int k = 1; k < kIq2xxsGridSize; ++k)
    EXPECT_LT(code_of(kIq2xxsGrid.v[k - 1], iq2_levels), code_of(kIq2xxsGrid.v[k], iq2_levels)) << k;
  for (int k = 1; k < kIq1sGridSize; ++k)
    EXPECT_LT(code_of(kIq1sGrid.v[k - 1], iq1_levels), code_of(kIq1sGrid.v[k], iq1_levels)) << k;
  for (int k = 1; k < kIq2xsGridSize; ++k)
    EXPECT_LT(code_of(kIq2xsGrid.v[k - 1], iq2_levels), code_of(kIq2xsGrid.v[k], iq2_levels)) << k;
  for (int k = 1; k < kIq2sGridSize; ++k)
    EXPECT_LT(code_of(kIq2sGrid.v[k - 1], iq2_levels), code_of(kIq2sGrid.v[k], iq2_levels)) << k;
  const uint8_t xxs_levels[8] = {0x04, 0x0c, 0x14, 0x1c, 0x24, 0x2c, 0x34, 0x3e};
  const uint8_t s_levels[8] = {1, 3, 5, 7, 9, 11, 13, 15};
  for (int k = 1; k < kIq3xxsGridSize; ++k)
    EXPECT_LT(code_of(kIq3xxsGrid.v[k - 1], xxs_levels), code_of(kIq3xxsGrid.v[k], xxs_levels)) << k;
  for (int k = 1; k < kIq3sGridSize; ++k)
    EXPECT_LT(code_of(kIq3sGrid.v[k - 1], s_levels), code_of(kIq3sGrid.v[k], s_levels)) << k;
}

TEST(IqGrids, SignsCompleteAnEvenCount) {
  // ggml's ksigns_iq2xs starts 0x00, 0x81, 0x82, 0x03, 0x84 and ends 0xff.
  EXPECT_EQ(kIq2Signs.v[0], 0x00);
  EXPECT_EQ(kIq2Signs.v[1], 0x81);
  EXPECT_EQ(kIq2Signs.v[2], 0x82);
  EXPECT_EQ(kIq2Signs.v[3], 0x03);
  EXPECT_EQ(kIq2Signs.v[127], 0xff);
  for (int i = 0; i < 128; ++i) {
    EXPECT_EQ(kIq2Signs.v[i] & 127, i);
    EXPECT_EQ(__builtin_popcount(kIq2Signs.v[i]) % 2, 0) << i;
  }
}

}  // namespace
}  // namespace moe
