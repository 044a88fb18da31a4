// The AVX512-BF16 attention kernels (a bf16 latent cache read in place): scores and
// softmax-weighted sums against double sums of the same bf16 values, and the invariances the
// model relies on (a head's or row's result never depends on its neighbours in the tile; a
// weighted sum split into calls at even row counts gives the bits of one call). Skipped,
// visibly, on CPUs without AVX512-BF16.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "base/cpu_features.h"
#include "base/half.h"
#include "kernels/kernels.h"

namespace moe {
namespace {

const KernelTable* bf16_table() {
  if (!isa_supported(Isa::kAvx512)) return nullptr;
  const KernelTable& k = kernel_table(Isa::kAvx512);
  return k.bf16_scores != nullptr ? &k : nullptr;
}

std::vector<uint16_t> random_bf16(size_t n, std::mt19937& rng, float lo = -1.0f, float hi = 1.0f) {
  std::uniform_real_distribution<float> u(lo, hi);
  std::vector<uint16_t> v(n);
  for (uint16_t& x : v) x = f32_to_bf16(u(rng));
  return v;
}

// Sum over i < n of a[i * a_step] * b[i * b_step] in double (each product of two bf16 values
// is exact), and the sum of the products' magnitudes (the scale of the f32 rounding error).
struct ExactSum {
  double sum = 0.0, magnitude = 0.0;
};
ExactSum exact_sum(const uint16_t* a, int64_t a_step, const uint16_t* b, int64_t b_step,
                   int64_t n) {
  ExactSum e;
  for (int64_t i = 0; i < n; ++i) {
    const double p = static_cast<double>(bf16_to_f32(a[i * a_step])) * bf16_to_f32(b[i * b_step]);
    e.sum += p;
    e.magnitude += std::fabs(p);
  }
  return e;
}

TEST(Bf16Attention, TableHasTheKernelsExactlyWhereTheCpuHasBf16) {
  const bool has = isa_supported(Isa::kAvx512) && detect_cpu_features().avx512bf16;
  if (isa_supported(Isa::kAvx512)) {
    EXPECT_EQ(kernel_table(Isa::kAvx512).bf16_scores != nullptr, has);
    EXPECT_EQ(kernel_table(Isa::kAvx512).bf16_weighted_rows != nullptr, has);
  }
  // the other tables read a bf16 cache back to f32
  if (isa_supported(Isa::kAvx2)) {
    EXPECT_EQ(kernel_table(Isa::kAvx2).bf16_scores, nullptr);
  }
  EXPECT_EQ(kernel_table(Isa::kScalar).bf16_scores, nullptr);
}

TEST(Bf16Attention, ScoresAreTheSumsOfTheBf16Products) {
  const KernelTable* k = bf16_table();
  if (k == nullptr) GTEST_SKIP() << "no AVX512-BF16 on this CPU";
  std::mt19937 rng(7);
  for (int64_t n : {576, 64, 45, 7}) {
    for (int64_t heads : {1, 4, 6}) {
      const int64_t n_rows = 11, row_stride = n + 3, q_stride = n + 1, y_stride = n_rows + 2;
      const auto rows = random_bf16(static_cast<size_t>(n_rows * row_stride), rng);
      const auto q = random_bf16(static_cast<size_t>(heads * q_stride), rng, -4.0f, 4.0f);
      std::vector<float> y(static_cast<size_t>(heads * y_stride), NAN);
      k->bf16_scores(n, rows.data(), row_stride, n_rows, q.data(), q_stride, heads, y.data(),
                     y_stride);
      for (int64_t h = 0; h < heads; ++h) {
        for (int64_t r = 0; r < n_rows; ++r) {
          const ExactSum e =
              exact_sum(q.data() + h * q_stride, 1, rows.data() + r * row_stride, 1, n);
          // f32 sums of exact products: a few ulps of the magnitude per step of the chain
          EXPECT_NEAR(y[h * y_stride + r], e.sum, 1e-5 * e.magnitude + 1e-30)
              << "n=" << n << " heads=" << heads << " h=" << h << " row=" << r;
          // the same head alone and the same row alone: the same bits (no batch dependence)
          float alone = NAN;
          k->bf16_scores(n, rows.data() + r * row_stride, row_stride, 1, q.data() + h * q_stride,
                         q_stride, 1, &alone, 1);
          EXPECT_EQ(std::memcmp(&alone, &y[h * y_stride + r], sizeof(float)), 0)
              << "n=" << n << " h=" << h << " row=" << r;
        }
      }
    }
  }
}

TEST(Bf16Attention, WeightedSumsAreTheSumsOfTheBf16ProductsAndSplitAtEvenRows) {
  const KernelTable* k = bf16_table();
  if (k == nullptr) GTEST_SKIP() << "no AVX512-BF16 on this CPU";
  std::mt19937 rng(11);
  for (int64_t width : {512, 50, 16}) {
    for (int64_t heads : {1, 4, 5}) {
      for (int64_t n_rows : {1, 2, 37, 64}) {
        const int64_t row_stride = 576, s_stride = n_rows + 1, out_stride = width + 4;
        const auto rows = random_bf16(static_cast<size_t>(n_rows * row_stride), rng);
        const auto s = random_bf16(static_cast<size_t>(heads * s_stride), rng, 0.0f, 1.0f);
        std::vector<float> out(static_cast<size_t>(heads * out_stride), NAN);
        k->bf16_weighted_rows(s.data(), s_stride, heads, n_rows, rows.data(), row_stride,
                              out.data(), out_stride, width, false);
        for (int64_t h = 0; h < heads; ++h) {
          for (int64_t j = 0; j < width; ++j) {
            const ExactSum e =
                exact_sum(s.data() + h * s_stride, 1, rows.data() + j, row_stride, n_rows);
            EXPECT_NEAR(out[h * out_stride + j], e.sum, 1e-5 * e.magnitude + 1e-30)
                << "width=" << width << " heads=" << heads << " rows=" << n_rows << " h=" << h
                << " j=" << j;
          }
          // columns past width are not written
          for (int64_t j = width; j < out_stride; ++j)
            EXPECT_TRUE(std::isnan(out[h * out_stride + j]));
        }
        // Split into runs of even length (the cache's blocks) but the last, resuming: the same
        // bits.
        std::vector<float> split(out.size(), NAN);
        for (int64_t p = 0; p < n_rows;) {
          const int64_t run = std::min<int64_t>(n_rows - p, 16);
          k->bf16_weighted_rows(s.data() + p, s_stride, heads, run, rows.data() + p * row_stride,
                                row_stride, split.data(), out_stride, width, p > 0);
          p += run;
        }
        for (int64_t h = 0; h < heads; ++h) {
          EXPECT_EQ(std::memcmp(split.data() + h * out_stride, out.data() + h * out_stride,
                                width * sizeof(float)),
                    0)
              << "width=" << width << " heads=" << heads << " rows=" << n_rows << " h=" << h;
        }
      }
    }
  }
}

}  // namespace
}  // namespace moe
