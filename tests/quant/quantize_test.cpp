// Reference quantizers: ggml semantics on hand-made inputs, and quantize -> dequantize
// error bounds for every format.
#include "quant/quantize.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "base/half.h"
#include "quant/blocks.h"
#include "quant/dequantize.h"

namespace moe {
namespace {

TEST(Quantize, Q8_0RoundsHalfAwayFromZero) {
  // amax 127 -> d = 1, so q = roundf(x).
  std::vector<float> x(32, 0.0f);
  x[0] = 127.0f;
  x[1] = 2.5f;
  x[2] = -2.5f;
  x[3] = 0.49f;
  x[4] = -126.6f;
  BlockQ8_0 b;
  quantize_row_q8_0_ref(x.data(), &b, 32);
  EXPECT_EQ(b.d, 0x3C00);
  EXPECT_EQ(b.qs[0], 127);
  EXPECT_EQ(b.qs[1], 3);
  EXPECT_EQ(b.qs[2], -3);
  EXPECT_EQ(b.qs[3], 0);
  EXPECT_EQ(b.qs[4], -127);
}

TEST(Quantize, Q8_1StoresScaledSum) {
  std::vector<float> x(32, 0.0f);
  x[0] = 127.0f;
  x[1] = -27.0f;
  x[2] = 4.0f;
  BlockQ8_1 b;
  quantize_row_q8_1_ref(x.data(), &b, 32);
  EXPECT_EQ(f16_to_f32(b.d), 1.0f);
  EXPECT_EQ(f16_to_f32(b.s), 104.0f);  // 127 - 27 + 4
}

TEST(Quantize, Q8_KUsesSignedMaxAndBsums) {
  // max = -127 (largest magnitude, first on ties with +127) -> iscale = 1: nearest-even.
  std::vector<float> x(256, 0.0f);
  x[0] = -127.0f;
  x[1] = 127.0f;
  x[2] = 2.5f;
  x[3] = 3.5f;
  x[17] = -1.0f;
  BlockQ8_K b;
  quantize_row_q8_K_ref(x.data(), &b, 256);
  EXPECT_EQ(b.d, 1.0f);
  EXPECT_EQ(b.qs[0], -127);
  EXPECT_EQ(b.qs[1], 127);
  EXPECT_EQ(b.qs[2], 2);
  EXPECT_EQ(b.qs[3], 4);
  EXPECT_EQ(b.bsums[0], -127 + 127 + 2 + 4);
  EXPECT_EQ(b.bsums[1], -1);
  // A positive max gives a negative d (ggml's convention).
  x[0] = 127.0f;
  x[1] = -127.0f;
  quantize_row_q8_K_ref(x.data(), &b, 256);
  EXPECT_EQ(b.d, -1.0f);
  EXPECT_EQ(b.qs[0], -127);
  EXPECT_EQ(b.qs[2], -2);
}

TEST(Quantize, ZeroBlocks) {
  std::vector<float> x(256, 0.0f);
  for (GgmlType t :
       {GgmlType::Q8_0,  GgmlType::Q8_1,    GgmlType::Q8_K,   GgmlType::Q4_0,    GgmlType::Q5_0,
        GgmlType::Q4_K,  GgmlType::Q6_K,    GgmlType::Q2_K,   GgmlType::Q3_K,    GgmlType::Q5_K,
        GgmlType::Q5_1,  GgmlType::IQ4_NL,  GgmlType::IQ4_XS, GgmlType::IQ2_XXS, GgmlType::IQ1_S,
        GgmlType::IQ1_M, GgmlType::IQ3_XXS, GgmlType::IQ3_S,  GgmlType::IQ2_XS,  GgmlType::IQ2_S}) {
    std::vector<uint8_t> q(row_bytes(t, 256), 0xAB);
    quantize_row(t, x.data(), q.data(), 256);
    std::vector<float> y(256, 1.0f);
    dequantize_row(t, q.data(), y.data(), 256);
    for (float v : y) ASSERT_EQ(v, 0.0f) << type_name(t);
  }
}

// Max abs error of a round trip relative to the block's max |x|, per format.
struct RoundTrip {
  GgmlType type;
  double bound;  // of max|x - y| / max|x| per block of 256
};

TEST(Quantize, RoundTripErrorBounds) {
  // Half a quantization step of the scale grid, plus slack for the scale's own rounding:
  // 8-bit: 1/254; 4-bit affine (range up to 2 max, 15 steps, 6-bit scale and min
  // rounding): 0.12; 6-bit: 1/62 plus the int8 scale. Q4_0/Q5_0 map -max to the end of
  // the grid, so +max clamps one full step short: 1/8 and 1/16. 2-bit affine (Q2_K): half
  // of 3 steps over a range up to 2 max is 1/3, plus the 4-bit scale and min roundings
  // (each up to half their grid step, the scale's times q <= 3, and a top value clamped by a
  // scale rounded down): 0.4 (these normals reach 0.25). Q3_K maps each sub-block's largest
  // magnitude to -4, so the other side clamps at 3, up to one step (1/4 of the sub-block's
  // max) short, plus the 6-bit scales' rounding (a scale of the other sign as large as the
  // largest clamps at 31 of 32: 1 - 3 x 31 / 128): 0.28 (these normals reach 0.24). 5-bit
  // affine (Q5_K): Q4_K's rule with 31 steps, half a step 1/31 plus the same roundings: 0.06
  // (these normals reach 0.032). Q5_1 (min and range, 31 steps): half a step 1/31 plus the
  // f16 roundings of d and m, each below 2^-10 of the range: 0.036 (these reach 0.032).
  // IQ4_NL maps -max to its widest level, -127: +max clamps at 113 (14 / 127), and the
  // levels are at most 24 / 127 apart (half: 12 / 127): 0.12 (these normals reach 0.10).
  // IQ4_XS is IQ4_NL per 32 with the scale rounded to d (ls - 32), d putting the largest
  // scale on -32: a scale of the other sign clamps at 31 of 32 (+1 / 32 of the block max)
  // and the others round by up to 1 / 64 of it: 0.16 (these normals reach 0.10).
  // (Scales stay where the f16 block scale is a normal number; subnormal d loses bits.)
  const RoundTrip cases[] = {
      {GgmlType::Q8_0, 0.0045}, {GgmlType::Q8_1, 0.0045}, {GgmlType::Q8_K, 0.0045},
      {GgmlType::Q5_0, 0.0626}, {GgmlType::Q4_0, 0.1251},   {GgmlType::Q4_K, 0.12},
      {GgmlType::Q6_K, 0.025},  {GgmlType::Q2_K, 0.4},     {GgmlType::Q3_K, 0.28},
      {GgmlType::Q5_K, 0.06},   {GgmlType::Q5_1, 0.036},  {GgmlType::IQ4_NL, 0.12},
      {GgmlType::IQ4_XS, 0.16},
  };
  std::mt19937 rng(7);
  std::normal_distribution<float> g(0.0f, 1.0f);
  for (const auto& c : cases) {
    for (float scale : {0.01f, 1.0f, 300.0f}) {
      const int n = 4096;
      std::vector<float> x(n), y(n);
      for (auto& v : x) v = scale * g(rng);
      std::vector<uint8_t> q(row_bytes(c.type, n));
      quantize_row(c.type, x.data(), q.data(), n);
      dequantize_row(c.type, q.data(), y.data(), n);
      for (int b = 0; b < n; b += 256) {
        double amax = 0.0, err = 0.0;
        for (int i = b; i < b + 256; ++i) {
          amax = std::max(amax, std::fabs(static_cast<double>(x[i])));
          err = std::max(err, std::fabs(static_cast<double>(x[i]) - y[i]));
        }
        EXPECT_LE(err / amax, c.bound) << type_name(c.type) << " scale " << scale;
      }
    }
  }
}

// The codebook formats have too few levels for a useful per-value bound, so their round
// trip is held to an RMS error relative to the RMS of normal values. Best possible
// (Lloyd-Max) quantizers of a normal variable reach 0.44 with 3 levels and 0.24 with 6; the
// IQ formats have those level counts (IQ1: -1, 0, 1 plus a shift of 1/8; IQ2_XXS: +-8, 25,
// 43) but only a few of the 3^8 patterns per 8 values, an even count of minus signs
// (IQ2_XXS), and scales shared by 16-32 values on a 3-4 bit grid: bounds 0.55 and 0.40. The
// IQ3 formats have 8 magnitudes of either sign (16 levels: 0.10 at best) in 1/16 (IQ3_XXS: 256
// of 8^4 patterns per 4 values, and IQ3_XXS's even count of minus signs) or 1/8 (IQ3_S) of the
// patterns, under 4-bit scales per 32: bound 0.25. IQ2_XS and IQ2_S have IQ2_XXS's 6 levels with
// more patterns (512, 1024 of 3^8) and a scale per 16: IQ2_XXS's bound, 0.40.
TEST(Quantize, CodebookFormatsRoundTripRms) {
  const std::pair<GgmlType, double> cases[] = {{GgmlType::IQ2_XXS, 0.40}, {GgmlType::IQ1_S, 0.55},
                                               {GgmlType::IQ1_M, 0.55},   {GgmlType::IQ3_XXS, 0.25},
                                               {GgmlType::IQ3_S, 0.25},   {GgmlType::IQ2_XS, 0.40},
                                               {GgmlType::IQ2_S, 0.40}};
  std::mt19937 rng(11);
  std::normal_distribution<float> g(0.0f, 1.0f);
  for (const auto& [type, bound] : cases) {
    for (float scale : {0.01f, 1.0f, 300.0f}) {
      const int n = 8192;
      std::vector<float> x(n), y(n);
      for (auto& v : x) v = scale * g(rng);
      std::vector<uint8_t> q(row_bytes(type, n));
      quantize_row(type, x.data(), q.data(), n);
      dequantize_row(type, q.data(), y.data(), n);
      double ee = 0.0, xx = 0.0;
      for (int i = 0; i < n; ++i) {
        ee += (static_cast<double>(x[i]) - y[i]) * (static_cast<double>(x[i]) - y[i]);
        xx += static_cast<double>(x[i]) * x[i];
      }
      const double rel = std::sqrt(ee / xx);
      EXPECT_LE(rel, bound) << type_name(type) << " scale " << scale;
      EXPECT_GT(rel, 0.0) << type_name(type);  // not a lossless copy: the search ran
    }
  }
}

TEST(Quantize, FloatConversions) {
  const float x[3] = {1.0f, -2.5f, 0.1f};
  uint16_t h[3];
  float y[3];
  quantize_row(GgmlType::F16, x, h, 3);
  dequantize_row(GgmlType::F16, h, y, 3);
  EXPECT_EQ(y[0], 1.0f);
  EXPECT_EQ(y[1], -2.5f);
  EXPECT_NEAR(y[2], 0.1f, 1e-4f);
  quantize_row(GgmlType::BF16, x, h, 3);
  dequantize_row(GgmlType::BF16, h, y, 3);
  EXPECT_EQ(y[1], -2.5f);
  EXPECT_NEAR(y[2], 0.1f, 1e-3f);
}

}  // namespace
}  // namespace moe
