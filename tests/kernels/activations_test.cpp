// The table's element-wise activations against their definitions computed in double: the
// ISA versions evaluate e^x as a polynomial (not libm's expf), so they are checked to a few
// ulp, over the whole range where the result is a normal float, with every tail length.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "kernels/kernels.h"

namespace moe {
namespace {

std::vector<Isa> tables() {
  std::vector<Isa> out;
  for (Isa isa : {Isa::kScalar, Isa::kAvx2, Isa::kAvx512}) {
    if (isa_supported(isa)) out.push_back(isa);
  }
  return out;
}

// |got - want| within `rel` of want, or below `abs_floor` where want is (near) denormal.
::testing::AssertionResult close(double got, double want, double rel, double abs_floor) {
  const double err = std::fabs(got - want);
  if (err <= rel * std::fabs(want) || err <= abs_floor) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "got " << got << ", want " << want << " (relative error "
                                       << err / std::fabs(want) << ")";
}

TEST(Activations, SiluMulIsWithinAFewUlpOverTheWholeRange) {
  // g from -90 to 90 in steps of 1/1024 (e^-g from overflow to underflow), n = 1..32 at a time
  std::vector<float> gs;
  for (int64_t i = -90 * 1024; i <= 90 * 1024; ++i) gs.push_back(static_cast<float>(i) / 1024.0f);
  std::mt19937 rng(1);
  std::uniform_real_distribution<float> ud(-3.0f, 3.0f);
  std::vector<float> up(gs.size());
  for (float& u : up) u = ud(rng);
  for (Isa isa : tables()) {
    std::vector<float> got = gs;
    int64_t len = 1;
    for (size_t i = 0; i < got.size(); i += static_cast<size_t>(len), len = len % 32 + 1) {
      const int64_t n = std::min<int64_t>(len, static_cast<int64_t>(got.size() - i));
      kernel_table(isa).silu_mul(got.data() + i, up.data() + i, n);
    }
    int bad = 0;
    for (size_t i = 0; i < gs.size() && bad < 5; ++i) {
      const double g = gs[i];
      const double want = g / (1.0 + std::exp(-g)) * up[i];
      const auto ok = close(got[i], want, 5e-7, 1e-35);
      if (!ok) ++bad;
      EXPECT_TRUE(ok) << isa_name(isa) << " g=" << g << " up=" << up[i];
    }
  }
}

TEST(Activations, SiluMulKeepsNaNAndInfinities) {
  for (Isa isa : tables()) {
    std::vector<float> g = {std::numeric_limits<float>::quiet_NaN(), 200.0f, -200.0f, 0.0f, 1.0f};
    const std::vector<float> u = {1.0f, 2.0f, 1.0f, 5.0f, std::numeric_limits<float>::infinity()};
    kernel_table(isa).silu_mul(g.data(), u.data(), static_cast<int64_t>(g.size()));
    EXPECT_TRUE(std::isnan(g[0])) << isa_name(isa);
    EXPECT_EQ(g[1], 400.0f) << isa_name(isa);
    EXPECT_NEAR(g[2], 0.0f, 1e-30) << isa_name(isa);
    EXPECT_EQ(g[3], 0.0f) << isa_name(isa);
    EXPECT_TRUE(std::isinf(g[4])) << isa_name(isa);
  }
}

TEST(Activations, SoftmaxIsWithinAFewUlpOfTheDefinition) {
  std::mt19937 rng(2);
  std::normal_distribution<float> nd(0.0f, 40.0f);
  const float scale = 0.1147f;
  for (int64_t n : {1, 2, 7, 15, 16, 17, 31, 100, 2049}) {
    std::vector<float> x(n);
    for (float& v : x) v = nd(rng);
    // the definition: x * scale rounded to float, then e^(v - max) / sum in double
    std::vector<double> want(n);
    double mx = -INFINITY, sum = 0;
    for (int64_t i = 0; i < n; ++i) mx = std::max(mx, static_cast<double>(x[i] * scale));
    for (int64_t i = 0; i < n; ++i) sum += want[i] = std::exp(static_cast<double>(x[i] * scale) - mx);
    for (double& w : want) w /= sum;
    for (Isa isa : tables()) {
      std::vector<float> got = x;
      kernel_table(isa).softmax(got.data(), n, scale);
      double total = 0;
      for (int64_t i = 0; i < n; ++i) {
        total += got[i];
        // v - max is rounded to float first (as the scalar version does): half an ulp of
        // |v - max| in the exponent is that much relative error in the result
        const double arg = std::fabs(static_cast<double>(x[i] * scale) - mx);
        EXPECT_TRUE(close(got[i], want[i], 4e-7 + arg * 0x1p-24, 1e-37)) << isa_name(isa) << " n=" << n << " i=" << i;
      }
      EXPECT_NEAR(total, 1.0, 1e-5) << isa_name(isa) << " n=" << n;
    }
  }
}

TEST(Activations, SoftmaxGivesMaskedPositionsExactlyZero) {
  const float inf = std::numeric_limits<float>::infinity();
  for (Isa isa : tables()) {
    for (int64_t n : {3, 16, 19, 40}) {
      std::vector<float> x(n, 2.0f);
      x[1] = -inf;
      x[n - 1] = -inf;
      kernel_table(isa).softmax(x.data(), n, 0.5f);
      EXPECT_EQ(x[1], 0.0f) << isa_name(isa) << " n=" << n;
      EXPECT_EQ(x[n - 1], 0.0f) << isa_name(isa) << " n=" << n;
      EXPECT_NEAR(x[0], 1.0 / static_cast<double>(n - 2), 1e-7) << isa_name(isa) << " n=" << n;
    }
  }
}

}  // namespace
}  // namespace moe
