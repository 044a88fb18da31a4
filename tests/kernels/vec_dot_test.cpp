// vec_dot accuracy: the scalar reference against an f64 dot of the dequantized rows, and
// every ISA variant against the scalar reference, on random blocks with extreme scales.
//
// Bounds are relative to the f64 dot of absolute values, sum |w_i| |a_i|. Integer sums
// inside a block are exact everywhere; only the float scaling and the (differently
// ordered) float accumulation differ, each a few ulp of the magnitudes involved.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "kernel_test_util.h"
#include "quant/blocks.h"
#include "quant/dequantize.h"

namespace moe {
namespace {

struct Dots {
  double dot = 0.0;
  double abs_dot = 0.0;
};

// For Q4_1/Q5_1 the min term uses the activation's stored s = f16(d_a * sum q_a), not the
// sum of its dequantized values (they differ by the f16 rounding of s and of d_a), so the
// f64 dot does the same: sum (x_i - m) a_i + m s per block.
Dots f64_dot(GgmlType w, const uint8_t* wrow, const uint8_t* arow, int64_t n) {
  std::vector<float> x(n), y(n);
  dequantize_row(w, wrow, x.data(), n);
  dequantize_row(activation_type(w), arow, y.data(), n);
  const bool affine = w == GgmlType::Q4_1 || w == GgmlType::Q5_1;
  const size_t wbs = type_traits(w).type_size;
  Dots d;
  for (int64_t b = 0; b < n; b += 32) {
    double m = 0.0;
    if (affine) {
      m = f16_to_f32(reinterpret_cast<const BlockQ4_1*>(wrow + (b / 32) * wbs)->m);  // d, m lead both
      const double s = f16_to_f32(reinterpret_cast<const BlockQ8_1*>(arow)[b / 32].s);
      d.dot += m * s;
      d.abs_dot += std::fabs(m * s);
    }
    for (int64_t i = b; i < std::min(n, b + 32); ++i) {
      const double xi = static_cast<double>(x[i]) - m;
      d.dot += xi * y[i];
      d.abs_dot += std::fabs(xi * y[i]);
    }
  }
  return d;
}

std::vector<int64_t> lengths(const test::TypeCase& c) {
  std::vector<int64_t> ns = {c.block, 2 * c.block, 3 * c.block, 7 * c.block, 16 * c.block};
  if (c.block == 16) ns.insert(ns.end(), {1, 5, 16 * 9 + 7, 4096 + 3});  // float tails
  return ns;
}

// Relative bound for the K formats' min terms: d * sum(sc q a) and dmin * sum(m a) are
// formed separately and may cancel, so the magnitude they carry can exceed abs_dot.
constexpr double kRel = 2e-5;

TEST(VecDot, ReferenceMatchesDequantizedF64) {
  const KernelTable& ref = kernel_table(Isa::kScalar);
  std::mt19937 rng(1);
  for (const auto& c : test::kernel_types()) {
    for (int64_t n : lengths(c)) {
      const int rows = 24;
      const auto w = test::random_weights(c.type, rows, n, rng);
      const auto a = test::random_activations(c.type, rows, n, rng);
      const size_t wrb = row_bytes(c.type, n), arb = activation_row_bytes(c.type, n);
      for (int r = 0; r < rows; ++r) {
        const Dots d = f64_dot(c.type, &w[r * wrb], &a[r * arb], n);
        const float got = ref.for_type(c.type).vec_dot(n, &w[r * wrb], &a[r * arb]);
        ASSERT_TRUE(std::isfinite(got));
        EXPECT_NEAR(got, d.dot, kRel * d.abs_dot + 1e-30)
            << type_name(c.type) << " n=" << n << " row " << r;
      }
    }
  }
}

using VecDotIsa = test::PerIsa;

TEST_P(VecDotIsa, MatchesReference) {
  const KernelTable& ref = kernel_table(Isa::kScalar);
  const KernelTable& k = table();
  const Isa isa = k.isa;
  std::mt19937 rng(2);
  for (const auto& c : test::kernel_types()) {
    ASSERT_TRUE(has_kernel(k, c.type)) << type_name(c.type);
    for (int64_t n : lengths(c)) {
      const int rows = 24;
      const auto w = test::random_weights(c.type, rows, n, rng);
      const auto a = test::random_activations(c.type, rows, n, rng);
      const size_t wrb = row_bytes(c.type, n), arb = activation_row_bytes(c.type, n);
      for (int r = 0; r < rows; ++r) {
        const Dots d = f64_dot(c.type, &w[r * wrb], &a[r * arb], n);
        const float want = ref.for_type(c.type).vec_dot(n, &w[r * wrb], &a[r * arb]);
        const float got = k.for_type(c.type).vec_dot(n, &w[r * wrb], &a[r * arb]);
        EXPECT_NEAR(got, want, kRel * d.abs_dot + 1e-30)
            << isa_name(isa) << " " << type_name(c.type) << " n=" << n << " row " << r;
      }
    }
  }
}

// Activations of only +-127 (every value at the int8 limit) against random weights: the int16
// pair sums of vpmaddubsw are closest to saturation here (e.g. IQ3_XXS's 62 + 62 offset values
// against 127: 31,496 of 32,767), which random activations rarely reach.
TEST_P(VecDotIsa, FullScaleActivationsMatchReference) {
  const KernelTable& ref = kernel_table(Isa::kScalar);
  const KernelTable& k = table();
  std::mt19937 rng(4);
  for (const auto& c : test::kernel_types()) {
    const GgmlType at = activation_type(c.type);
    if (at == GgmlType::F32) continue;
    const int64_t n = 8 * c.block;
    const int rows = 16;
    const auto w = test::random_weights(c.type, rows, n, rng);
    const size_t wrb = row_bytes(c.type, n), arb = activation_row_bytes(c.type, n);
    std::vector<uint8_t> a(arb * rows);
    std::vector<float> x(n);
    for (int r = 0; r < rows; ++r) {
      for (auto& v : x) v = rng() & 1 ? 1.0f : -1.0f;
      quantize_row(at, x.data(), &a[r * arb], n);
    }
    for (int r = 0; r < rows; ++r) {
      const Dots d = f64_dot(c.type, &w[r * wrb], &a[r * arb], n);
      const float want = ref.for_type(c.type).vec_dot(n, &w[r * wrb], &a[r * arb]);
      const float got = k.for_type(c.type).vec_dot(n, &w[r * wrb], &a[r * arb]);
      EXPECT_NEAR(got, want, kRel * d.abs_dot + 1e-30) << isa_name(k.isa) << " " << type_name(c.type) << " row " << r;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Tables, VecDotIsa, ::testing::Values(Isa::kAvx2, Isa::kAvx512),
                         test::isa_param_name);

// A dense check at moderate size where results are nonzero: relative error of the total.
TEST(VecDot, RealisticRowsAgreeClosely) {
  std::mt19937 rng(3);
  std::normal_distribution<float> g(0.0f, 1.0f);
  const int64_t n = 7168;
  std::vector<float> xw(n), xa(n);
  for (auto& v : xw) v = g(rng);
  for (auto& v : xa) v = g(rng);
  for (const auto& c : test::kernel_types()) {
    if (!can_quantize(c.type)) continue;
    std::vector<uint8_t> w(row_bytes(c.type, n)), a(activation_row_bytes(c.type, n));
    quantize_row(c.type, xw.data(), w.data(), n);
    quantize_row(activation_type(c.type), xa.data(), a.data(), n);
    const Dots d = f64_dot(c.type, w.data(), a.data(), n);
    for (Isa isa : test::all_isas()) {
      if (!isa_supported(isa)) continue;
      const float got = kernel_table(isa).for_type(c.type).vec_dot(n, w.data(), a.data());
      EXPECT_NEAR(got, d.dot, 1e-5 * d.abs_dot) << isa_name(isa) << " " << type_name(c.type);
    }
  }
}

}  // namespace
}  // namespace moe
