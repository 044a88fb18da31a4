// Batch invariance: every table's gemm equals its own vec_dot bit for bit, per output
// element, for any number of tokens and rows (tile remainders, strides, row panels).
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

#include "kernel_test_util.h"

namespace moe {
namespace {

void check_gemm(const KernelTable& k, GgmlType type, int64_t n, int64_t rows, int64_t tokens,
                std::mt19937& rng) {
  const auto w = test::random_weights(type, rows, n, rng);
  const auto a = test::random_activations(type, tokens, n, rng);
  const size_t wrb = row_bytes(type, n), arb = activation_row_bytes(type, n);
  const int64_t ys = rows + 3;
  std::vector<float> y(tokens * ys, -7.0f);
  k.for_type(type).gemm(n, w.data(), wrb, rows, a.data(), arb, tokens, y.data(), ys);
  for (int64_t t = 0; t < tokens; ++t) {
    for (int64_t r = 0; r < rows; ++r) {
      const float want = k.for_type(type).vec_dot(n, &w[r * wrb], &a[t * arb]);
      const float got = y[t * ys + r];
      ASSERT_EQ(std::memcmp(&want, &got, 4), 0)
          << isa_name(k.isa) << " " << type_name(type) << " n=" << n << " rows=" << rows
          << " tokens=" << tokens << " at r=" << r << " t=" << t << ": " << got << " vs " << want;
    }
    for (int64_t r = rows; r < ys; ++r) ASSERT_EQ(y[t * ys + r], -7.0f) << "wrote past rows";
  }
}

using Gemm = test::PerIsa;

TEST_P(Gemm, BitwiseEqualToVecDot) {
  const KernelTable& k = table();
  std::mt19937 rng(11);
  for (const auto& c : test::kernel_types()) {
    for (int64_t n : {c.block, 3 * c.block}) {
      for (int64_t rows : {1, 3, 7}) {
        for (int64_t tokens : {1, 2, 3, 5, 7, 8, 10, 17}) check_gemm(k, c.type, n, rows, tokens, rng);
      }
    }
    if (c.block == 16) check_gemm(k, c.type, 16 * 5 + 9, 5, 7, rng);  // float tail
  }
}

// Rows long enough that the 256 KB row panels split the matrix, with odd counts.
TEST_P(Gemm, BitwiseAcrossRowPanels) {
  const KernelTable& k = table();
  std::mt19937 rng(12);
  check_gemm(k, GgmlType::Q8_0, 16384, 33, 5, rng);
  check_gemm(k, GgmlType::Q4_K, 16384, 37, 6, rng);
  check_gemm(k, GgmlType::BF16, 8192, 19, 3, rng);
}

INSTANTIATE_TEST_SUITE_P(Tables, Gemm,
                         ::testing::Values(Isa::kScalar, Isa::kAvx2, Isa::kAvx512),
                         test::isa_param_name);

}  // namespace
}  // namespace moe
