// Each decoder against one crafted block whose expected values were worked out by hand
// from the format definitions (quant/dequantize.cpp comments, ggml-common.h).
#include "quant/dequantize.h"

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "quant/blocks.h"

namespace moe {
namespace {

constexpr uint16_t kF16One = 0x3C00, kF16Half = 0x3800, kF16Quarter = 0x3400, kF16Two = 0x4000;
constexpr uint16_t kF16MinusOne = 0xBC00;

template <class B>
std::vector<float> decode(GgmlType t, const B& b, int n) {
  std::vector<float> y(n);
  dequantize_row(t, &b, y.data(), n);
  return y;
}

TEST(Dequantize, SupportedTypes) {
  EXPECT_TRUE(can_dequantize(GgmlType::Q4_K));
  EXPECT_TRUE(can_dequantize(GgmlType::BF16));
  EXPECT_TRUE(can_dequantize(GgmlType::IQ1_M));
  EXPECT_TRUE(can_dequantize(GgmlType::IQ3_S));
  EXPECT_FALSE(can_dequantize(GgmlType::TQ1_0));
  EXPECT_FALSE(can_dequantize(GgmlType::I32));
}

TEST(Dequantize, Floats) {
  const uint16_t h[3] = {0x3C00, 0xC000, 0x7BFF};
  float y[3];
  dequantize_row(GgmlType::F16, h, y, 3);
  EXPECT_EQ(y[0], 1.0f);
  EXPECT_EQ(y[1], -2.0f);
  EXPECT_EQ(y[2], 65504.0f);
  const uint16_t b[2] = {0x3F80, 0xC040};
  dequantize_row(GgmlType::BF16, b, y, 2);
  EXPECT_EQ(y[0], 1.0f);
  EXPECT_EQ(y[1], -3.0f);
}

TEST(Dequantize, Q4_0) {
  BlockQ4_0 b;
  b.d = kF16Half;
  std::memset(b.qs, 0x88, sizeof(b.qs));
  b.qs[0] = 0x9A;  // value 0: 10, value 16: 9
  b.qs[15] = 0x0F;  // value 15: 15, value 31: 0
  const auto y = decode(GgmlType::Q4_0, b, 32);
  EXPECT_EQ(y[0], 1.0f);
  EXPECT_EQ(y[16], 0.5f);
  EXPECT_EQ(y[15], 3.5f);
  EXPECT_EQ(y[31], -4.0f);
  EXPECT_EQ(y[1], 0.0f);
}

TEST(Dequantize, Q4_1) {
  BlockQ4_1 b;
  b.d = kF16Half;
  b.m = kF16MinusOne;
  std::memset(b.qs, 0, sizeof(b.qs));
  b.qs[1] = 0x3F;
  const auto y = decode(GgmlType::Q4_1, b, 32);
  EXPECT_EQ(y[1], 6.5f);
  EXPECT_EQ(y[17], 0.5f);
  EXPECT_EQ(y[0], -1.0f);
}

TEST(Dequantize, Q5_0) {
  BlockQ5_0 b;
  b.d = kF16Two;
  std::memset(b.qs, 0, sizeof(b.qs));
  const uint32_t qh = 1u | (1u << 31);
  std::memcpy(b.qh, &qh, 4);
  b.qs[3] = 0xF7;
  const auto y = decode(GgmlType::Q5_0, b, 32);
  EXPECT_EQ(y[0], 0.0f);    // 16 - 16
  EXPECT_EQ(y[1], -32.0f);  // 0 - 16
  EXPECT_EQ(y[31], 0.0f);
  EXPECT_EQ(y[3], -18.0f);  // 7 - 16
  EXPECT_EQ(y[19], -2.0f);  // 15 - 16
}

TEST(Dequantize, Q5_1) {
  BlockQ5_1 b;
  b.d = kF16One;
  b.m = kF16Quarter;
  std::memset(b.qs, 0, sizeof(b.qs));
  const uint32_t qh = (1u << 1) | (1u << 16);
  std::memcpy(b.qh, &qh, 4);
  b.qs[0] = 0x50;
  b.qs[1] = 0x21;
  const auto y = decode(GgmlType::Q5_1, b, 32);
  EXPECT_EQ(y[1], 17.25f);
  EXPECT_EQ(y[17], 2.25f);
  EXPECT_EQ(y[0], 0.25f);
  EXPECT_EQ(y[16], 21.25f);
}

TEST(Dequantize, Q8_0) {
  BlockQ8_0 b;
  b.d = kF16Quarter;
  std::memset(b.qs, 0, sizeof(b.qs));
  b.qs[0] = -128;
  b.qs[5] = 100;
  b.qs[31] = 1;
  const auto y = decode(GgmlType::Q8_0, b, 32);
  EXPECT_EQ(y[0], -32.0f);
  EXPECT_EQ(y[5], 25.0f);
  EXPECT_EQ(y[31], 0.25f);
}

TEST(Dequantize, Q2_K) {
  BlockQ2_K b;
  std::memset(&b, 0, sizeof(b));
  b.d = kF16One;
  b.dmin = kF16Half;
  b.scales[0] = 0x21;  // sc 1, m 2
  b.scales[1] = 0x03;  // sc 3
  b.scales[6] = 0x07;  // sc 7
  b.scales[9] = 0x45;  // sc 5, m 4
  b.qs[0] = 0xE4;      // 2-bit fields 0, 1, 2, 3 for values 0, 32, 64, 96
  b.qs[16] = 0x03;     // value 16 (scale 1)
  b.qs[48] = 0x02;     // value 144 (second half, group 0, second 16: scale 9)
  const auto y = decode(GgmlType::Q2_K, b, 256);
  EXPECT_EQ(y[0], -1.0f);   // 1*0 - 0.5*2
  EXPECT_EQ(y[1], -1.0f);
  EXPECT_EQ(y[16], 9.0f);   // 3*3
  EXPECT_EQ(y[17], 0.0f);
  EXPECT_EQ(y[32], 0.0f);   // scale 2 is 0
  EXPECT_EQ(y[96], 21.0f);  // 7*3
  EXPECT_EQ(y[144], 8.0f);  // 5*2 - 0.5*4
  EXPECT_EQ(y[145], -2.0f);
}

// Nibbles as Q4_0's (value l low, l + 16 high nibble of qs[l]) index ggml's 16 levels.
TEST(Dequantize, IQ4_NL) {
  BlockIQ4_NL b;
  std::memset(&b, 0, sizeof(b));
  b.d = kF16Half;
  b.qs[0] = 0xF0;  // value 0: level 0 (-127), value 16: level 15 (113)
  b.qs[3] = 0x87;  // value 3: level 7 (-10), value 19: level 8 (1)
  const auto y = decode(GgmlType::IQ4_NL, b, 32);
  EXPECT_EQ(y[0], -63.5f);
  EXPECT_EQ(y[16], 56.5f);
  EXPECT_EQ(y[3], -5.0f);
  EXPECT_EQ(y[19], 0.5f);
  EXPECT_EQ(y[1], -63.5f);  // nibble 0
}

// Codebook entries used below (ggml-common.h): iq2xxs_grid[1] = 0x080808080808082b (value 0
// is 43, the rest 8), iq2xxs_grid[255] = 0x2b2b2b1908081908; iq1s_grid[0] = all -1,
// iq1s_grid[1] = 0xffffffffffffff01 (value 0 is +1, the rest -1), iq1s_grid[1029] = all 0
// (an 11-bit index: low byte 0x05, high bits 4).
TEST(Dequantize, IQ2_XXS) {
  BlockIQ2_XXS b;
  std::memset(&b, 0, sizeof(b));
  b.d = kF16Two;
  // group 0: entries 1 and 255 for values 0-7 and 8-15; signs index 1 for values 0-7 (the
  // table gives 0x81: values 0 and 7 negative) and 3 for 8-15 (0x03: values 8 and 9); s = 3
  const uint32_t aux[2] = {0x0000FF01u, 1u | (3u << 7) | (3u << 28)};
  std::memcpy(b.qs, aux, 8);
  const auto y = decode(GgmlType::IQ2_XXS, b, 256);
  // db = d (0.5 + s) / 4 = 2 x 3.5 / 4 = 1.75
  EXPECT_EQ(y[0], -1.75f * 43);
  EXPECT_EQ(y[1], 1.75f * 8);
  EXPECT_EQ(y[7], -1.75f * 8);
  EXPECT_EQ(y[8], -1.75f * 8);   // entry 255, value 0: 0x08
  EXPECT_EQ(y[9], -1.75f * 25);  // value 1: 0x19
  EXPECT_EQ(y[10], 1.75f * 8);   // value 2: 0x08
  EXPECT_EQ(y[15], 1.75f * 43);  // value 7: 0x2b
  EXPECT_EQ(y[16], 1.75f * 8);   // entry 0, no signs
  EXPECT_EQ(y[32], 0.25f * 8);   // group 1: s = 0, db = 2 x 0.5 / 4
}

TEST(Dequantize, IQ1_S) {
  BlockIQ1_S b;
  std::memset(&b, 0, sizeof(b));
  b.d = kF16Half;
  b.qs[0] = 1;      // sub-group 0: entry 1
  b.qs[1] = 0x05;   // sub-group 1: entry 0x405 = 1029 with high bits 4 at bits 3-5
  b.qh[0] = static_cast<uint16_t>((4 << 3) | (2 << 12));  // s = 2, positive shift
  b.qh[1] = 0x8000;                                       // group 1: s = 0, negative shift
  const auto y = decode(GgmlType::IQ1_S, b, 256);
  // dl = d (2s + 1) = 2.5
  EXPECT_EQ(y[0], 2.5f * 1.125f);
  EXPECT_EQ(y[1], 2.5f * -0.875f);
  EXPECT_EQ(y[8], 2.5f * 0.125f);    // entry 1029: all 0
  EXPECT_EQ(y[16], 2.5f * -0.875f);  // entry 0: all -1
  EXPECT_EQ(y[32], 0.5f * -1.125f);  // group 1: dl = 0.5, grid -1, shift -1/8
}

TEST(Dequantize, IQ1_M) {
  BlockIQ1_M b;
  std::memset(&b, 0, sizeof(b));
  // d = 0x3800 (0.5): its nibbles 0, 0, 8, 3 are the top nibbles of scale words 0..3
  const uint16_t words[4] = {static_cast<uint16_t>(3 | (5 << 3)), 0, 0x8000, 0x3000};
  std::memcpy(b.scales, words, 8);
  b.qs[0] = 1;                                       // sub-group 0: entry 1
  b.qs[1] = 0x05;                                    // sub-group 1: entry 1029 ...
  b.qh[0] = static_cast<uint8_t>(0x08 | (0x4 << 4)); // ... high bits 4; sub-group 0 shift -
  const auto y = decode(GgmlType::IQ1_M, b, 256);
  // scale 0 (values 0-15) = 3: dl = 0.5 x 7; scale 1 (16-31) = 5: dl = 0.5 x 11
  EXPECT_EQ(y[0], 3.5f * 0.875f);
  EXPECT_EQ(y[1], 3.5f * -1.125f);
  EXPECT_EQ(y[8], 3.5f * 0.125f);
  EXPECT_EQ(y[16], 5.5f * -0.875f);  // entry 0, positive shift
  EXPECT_EQ(y[32], 0.5f * -0.875f);  // scale 2 = 0
}

TEST(Dequantize, IQ4_XS) {
  BlockIQ4_XS b;
  std::memset(&b, 0, sizeof(b));
  b.d = kF16Half;
  // group 0: ls = 0x5 | 2 << 4 = 37 (scale 5); group 1: ls = 0xA | 0 = 10 (scale -22)
  b.scales_l[0] = 0xA5;
  b.scales_h = 2;
  b.qs[0] = 0xF0;   // value 0: level 0 (-127), value 16: level 15 (113)
  b.qs[16] = 0x87;  // group 1, value 0: level 7 (-10), value 16: level 8 (1)
  const auto y = decode(GgmlType::IQ4_XS, b, 256);
  EXPECT_EQ(y[0], 0.5f * 5 * -127);
  EXPECT_EQ(y[16], 0.5f * 5 * 113);
  EXPECT_EQ(y[1], 0.5f * 5 * -127);  // nibble 0
  EXPECT_EQ(y[32], 0.5f * -22 * -10);
  EXPECT_EQ(y[48], 0.5f * -22 * 1);
  EXPECT_EQ(y[64], 0.5f * -32 * -127);  // group 2: ls = 0
}

// More entries (ggml-common.h): iq2xs_grid[1] = 0x080808080808082b, iq2xs_grid[511] and
// iq2s_grid[1023] all 0x2b; iq3xxs_grid[1] = 0x04040414, [5] = 0x04040c3e, [0] all 4;
// iq3s_grid[1] = 0x01010103, [511] = 0x0f0f0101. ksigns: [1] = 0x81, [3] = 0x03.
TEST(Dequantize, IQ2_XS) {
  BlockIQ2_XS b;
  std::memset(&b, 0, sizeof(b));
  b.d = kF16Two;
  b.qs[0] = 1 | (1 << 9);      // entry 1, signs 0x81: values 0 and 7 negative
  b.qs[2] = 511 | (3 << 9);    // entry 511, signs 0x03: values 16 and 17 negative
  b.scales[0] = 0x53;          // values 0-15: s = 3, db = 2 x 3.5 / 4; 16-31: s = 5
  const auto y = decode(GgmlType::IQ2_XS, b, 256);
  EXPECT_EQ(y[0], -1.75f * 43);
  EXPECT_EQ(y[1], 1.75f * 8);
  EXPECT_EQ(y[7], -1.75f * 8);
  EXPECT_EQ(y[8], 1.75f * 8);  // entry 0
  EXPECT_EQ(y[16], -2.75f * 43);
  EXPECT_EQ(y[17], -2.75f * 43);
  EXPECT_EQ(y[18], 2.75f * 43);
  EXPECT_EQ(y[32], 0.25f * 8);  // scale 0: db = 2 x 0.5 / 4
}

TEST(Dequantize, IQ2_S) {
  BlockIQ2_S b;
  std::memset(&b, 0, sizeof(b));
  b.d = kF16Two;
  b.qs[0] = 1;
  b.signs[0] = 0x81;
  b.qs[2] = 0xFF;
  b.qh[0] = 3 << 4;  // sub-group 2: index 0xFF | 3 << 8 = 1023
  b.signs[2] = 0x02;
  b.scales[0] = 0x53;
  const auto y = decode(GgmlType::IQ2_S, b, 256);
  EXPECT_EQ(y[0], -1.75f * 43);
  EXPECT_EQ(y[1], 1.75f * 8);
  EXPECT_EQ(y[7], -1.75f * 8);
  EXPECT_EQ(y[16], 2.75f * 43);
  EXPECT_EQ(y[17], -2.75f * 43);
}

TEST(Dequantize, IQ3_XXS) {
  BlockIQ3_XXS b;
  std::memset(&b, 0, sizeof(b));
  b.d = kF16Two;
  b.qs[0] = 1;  // values 0-3: 20, 4, 4, 4
  b.qs[1] = 5;  // values 4-7: 62, 12, 4, 4
  const uint32_t aux = 1u | (2u << 28);  // signs 0x81 for values 0-7; s = 2: db = 2 x 2.5 / 2
  std::memcpy(b.sas, &aux, 4);
  const auto y = decode(GgmlType::IQ3_XXS, b, 256);
  EXPECT_EQ(y[0], -2.5f * 20);
  EXPECT_EQ(y[1], 2.5f * 4);
  EXPECT_EQ(y[4], 2.5f * 62);
  EXPECT_EQ(y[5], 2.5f * 12);
  EXPECT_EQ(y[7], -2.5f * 4);
  EXPECT_EQ(y[8], 2.5f * 4);    // entry 0, no signs
  EXPECT_EQ(y[32], 0.5f * 4);   // group 1: s = 0, db = 2 x 0.5 / 2
}

TEST(Dequantize, IQ3_S) {
  BlockIQ3_S b;
  std::memset(&b, 0, sizeof(b));
  b.d = kF16Half;
  b.scales[0] = 0x21;  // group 0: s = 1, db = 0.5 x 3; group 1: s = 2, db = 0.5 x 5
  b.qs[0] = 1;         // values 0-3: 3, 1, 1, 1
  b.qs[1] = 0xFF;      // values 4-7: entry 0xFF | 1 << 8 = 511: 1, 1, 15, 15
  b.qh[0] = 0x02;
  b.signs[0] = 0x41;   // values 0 and 6 negative
  b.qs[8] = 1;         // group 1's first entry
  const auto y = decode(GgmlType::IQ3_S, b, 256);
  EXPECT_EQ(y[0], -1.5f * 3);
  EXPECT_EQ(y[1], 1.5f * 1);
  EXPECT_EQ(y[4], 1.5f * 1);
  EXPECT_EQ(y[6], -1.5f * 15);
  EXPECT_EQ(y[7], 1.5f * 15);
  EXPECT_EQ(y[32], 2.5f * 3);
}

TEST(Dequantize, Q3_K) {
  BlockQ3_K b;
  std::memset(&b, 0, sizeof(b));
  b.d = kF16One;
  b.scales[0] = 0x01;  // scale 0 low nibble 1
  b.scales[8] = 0x02;  // scale 0 high bits 2 -> 33 - 32 = 1
  b.scales[5] = 0x30;  // scale 13 low nibble 3
  b.scales[9] = 0xC0;  // scale 13 high bits 3 -> 51 - 32 = 19
  b.qs[0] = 0x02;
  b.hmask[0] = 0x01;  // value 0: q 2, high bit set
  b.qs[1] = 0x02;     // value 1: q 2, high bit clear -> -2
  b.qs[48] = 0x30;    // value 208 (half 1, group 2 at shift 4, second 16): q 3
  b.hmask[16] = 0x40;  // its high bit (group 6)
  const auto y = decode(GgmlType::Q3_K, b, 256);
  EXPECT_EQ(y[0], 2.0f);
  EXPECT_EQ(y[1], -2.0f);
  EXPECT_EQ(y[16], 128.0f);  // scale -32, q 0 - 4
  EXPECT_EQ(y[208], 57.0f);  // 19 * 3
  EXPECT_EQ(y[209], -76.0f);  // 19 * -4
}

template <class B>
void fill_k4_scales(B* b) {
  b->d = kF16Half;
  b->dmin = kF16Quarter;
  b->scales[0] = 3;     // sc0
  b->scales[4] = 4;     // m0
  b->scales[1] = 0x80;  // sc1 = 0, top bits 2 -> high bits of sc5
  b->scales[5] = 0xC0;  // m1 = 0, top bits 3 -> high bits of m5
  b->scales[9] = 0x71;  // sc5 = 1 | 2 << 4 = 33, m5 = 7 | 3 << 4 = 55
}

TEST(Dequantize, Q4_K) {
  BlockQ4_K b;
  std::memset(&b, 0, sizeof(b));
  fill_k4_scales(&b);
  b.qs[0] = 0x2A;
  b.qs[64] = 0xF0;
  const auto y = decode(GgmlType::Q4_K, b, 256);
  EXPECT_EQ(y[0], 14.0f);  // 0.5*3*10 - 0.25*4
  EXPECT_EQ(y[1], -1.0f);
  EXPECT_EQ(y[32], 0.0f);  // sub-block 1: scale 0, min 0
  EXPECT_EQ(y[128], 0.0f);
  EXPECT_EQ(y[160], 233.75f);  // 0.5*33*15 - 0.25*55
  EXPECT_EQ(y[161], -13.75f);
}

TEST(Dequantize, Q5_K) {
  BlockQ5_K b;
  std::memset(&b, 0, sizeof(b));
  fill_k4_scales(&b);
  b.qs[0] = 0x2A;
  b.qs[64] = 0xF0;
  b.qh[0] = 0x21;  // 5th bit of sub-block 0 and 5 at l = 0
  const auto y = decode(GgmlType::Q5_K, b, 256);
  EXPECT_EQ(y[0], 38.0f);  // 0.5*3*26 - 1
  EXPECT_EQ(y[160], 497.75f);  // 0.5*33*31 - 13.75
  EXPECT_EQ(y[161], -13.75f);
}

TEST(Dequantize, Q6_K) {
  BlockQ6_K b;
  std::memset(&b, 0, sizeof(b));
  b.d = kF16Half;
  b.scales[0] = 2;
  b.scales[6] = 4;
  b.scales[15] = -3;
  b.ql[0] = 0x05;
  b.qh[0] = 0xC2;  // value 0 high bits 2, value 96 high bits 3
  b.ql[32] = 0xA0;
  const auto y = decode(GgmlType::Q6_K, b, 256);
  EXPECT_EQ(y[0], 5.0f);     // 0.5*2*(37-32)
  EXPECT_EQ(y[1], -32.0f);   // 0.5*2*(0-32)
  EXPECT_EQ(y[96], 52.0f);   // 0.5*4*(58-32)
  EXPECT_EQ(y[255], 48.0f);  // 0.5*-3*(0-32)
}

TEST(Dequantize, Q8_K) {
  BlockQ8_K b;
  std::memset(&b, 0, sizeof(b));
  b.d = 0.5f;
  b.qs[3] = -7;
  const auto y = decode(GgmlType::Q8_K, b, 256);
  EXPECT_EQ(y[3], -3.5f);
  EXPECT_EQ(y[4], 0.0f);
}

}  // namespace
}  // namespace moe
