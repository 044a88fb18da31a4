// The table's attention row helpers (f16 -> f32, axpy) are bitwise the scalar versions
// on every ISA, including the lengths that leave a scalar tail. The weighted row sums are
// the scalar table's chain of axpy steps, and in the AVX2 and AVX-512 tables bitwise the
// same chain with every step fused.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "base/half.h"
#include "kernels/kernels.h"
#include "kernels/ops.h"

namespace moe {
namespace {

TEST(RowOps, F16RowAndAxpyAreBitwiseTheScalarOnes) {
  std::mt19937 rng(5);
  std::normal_distribution<float> g(0.0f, 3.0f);
  for (int64_t n : {1, 7, 8, 64, 513, 576}) {
    std::vector<uint16_t> h(n);
    std::vector<float> x(n), y0(n), want_f(n), want_y(n);
    for (int64_t i = 0; i < n; ++i) {
      h[i] = f32_to_f16(g(rng));
      x[i] = g(rng);
      y0[i] = g(rng);
    }
    h[0] = 0x7C00;  // +inf survives
    for (int64_t i = 0; i < n; ++i) want_f[i] = f16_to_f32(h[i]);
    want_y = y0;
    axpy(0.37f, x.data(), want_y.data(), n);
    for (Isa isa : {Isa::kScalar, Isa::kAvx2, Isa::kAvx512}) {
      if (!isa_supported(isa)) continue;
      const KernelTable& k = kernel_table(isa);
      std::vector<float> f(n), y = y0;
      k.f16_to_f32(h.data(), f.data(), n);
      k.axpy(0.37f, x.data(), y.data(), n);
      EXPECT_EQ(std::memcmp(f.data(), want_f.data(), n * sizeof(float)), 0) << isa_name(isa) << " n=" << n;
      EXPECT_EQ(std::memcmp(y.data(), want_y.data(), n * sizeof(float)), 0) << isa_name(isa) << " n=" << n;
    }
  }
}

// The same sums as calls over runs of 1, 37 and then 61 rows, each after the first resuming
// the last one's outputs (the model's blocks of cache positions): `want`'s bits exactly.
void expect_resumed_calls_match(const KernelTable& k, const std::vector<float>& s, const std::vector<float>& rows,
                                int64_t heads, int64_t n_rows, int64_t row_stride, int64_t width,
                                const std::vector<float>& want) {
  std::vector<float> got(heads * width, NAN);
  const int64_t runs[] = {1, 37, 61};
  int64_t p = 0;
  for (int i = 0; p < n_rows; ++i) {
    const int64_t run = std::min<int64_t>(n_rows - p, runs[std::min(i, 2)]);
    k.weighted_rows(s.data() + p, n_rows, heads, run, rows.data() + p * row_stride, row_stride, got.data(), width, width,
                    p > 0);
    p += run;
  }
  EXPECT_EQ(std::memcmp(got.data(), want.data(), want.size() * sizeof(float)), 0)
      << isa_name(k.isa) << " resumed, width=" << width << " heads=" << heads << " rows=" << n_rows;
}

TEST(RowOps, WeightedRowsAreBitwiseOneChainPerElement) {
  std::mt19937 rng(6);
  std::normal_distribution<float> g(0.0f, 1.0f);
  for (int64_t width : {512, 64, 40, 13}) {
    for (int64_t heads : {1, 2, 3}) {
      for (int64_t n_rows : {1, 5, 70, 300}) {
        const int64_t row_stride = width + 64;  // rows are strided (latent + rope parts)
        std::vector<float> rows(n_rows * row_stride), s(heads * n_rows), want(heads * width);
        for (auto& v : rows) v = g(rng);
        for (auto& v : s) v = std::fabs(g(rng));
        for (int64_t h = 0; h < heads; ++h) {
          for (int64_t p = 0; p < n_rows; ++p) axpy(s[h * n_rows + p], rows.data() + p * row_stride, want.data() + h * width, width);
        }
        {
          std::vector<float> got(heads * width, NAN);
          kernel_table(Isa::kScalar).weighted_rows(s.data(), n_rows, heads, n_rows, rows.data(), row_stride, got.data(),
                                                   width, width, false);
          EXPECT_EQ(std::memcmp(got.data(), want.data(), want.size() * sizeof(float)), 0)
              << "scalar width=" << width << " heads=" << heads << " rows=" << n_rows;
          expect_resumed_calls_match(kernel_table(Isa::kScalar), s, rows, heads, n_rows, row_stride, width, want);
        }
        // the SIMD tables: the same chain with each step fused, in position order (rows past
        // 128 cross the kernels' L2 chunks, which must not change a bit)
        std::vector<float> want_fma(heads * width, 0.0f);
        for (int64_t h = 0; h < heads; ++h) {
          for (int64_t j = 0; j < width; ++j) {
            float acc = 0.0f;
            for (int64_t p = 0; p < n_rows; ++p) acc = std::fma(s[h * n_rows + p], rows[p * row_stride + j], acc);
            want_fma[h * width + j] = acc;
          }
        }
        for (Isa isa : {Isa::kAvx2, Isa::kAvx512}) {
          if (!isa_supported(isa)) continue;
          std::vector<float> got(heads * width, NAN);
          kernel_table(isa).weighted_rows(s.data(), n_rows, heads, n_rows, rows.data(), row_stride, got.data(), width, width,
                                          false);
          EXPECT_EQ(std::memcmp(got.data(), want_fma.data(), want_fma.size() * sizeof(float)), 0)
              << isa_name(isa) << " width=" << width << " heads=" << heads << " rows=" << n_rows;
          expect_resumed_calls_match(kernel_table(isa), s, rows, heads, n_rows, row_stride, width, want_fma);
        }
      }
    }
  }
}

}  // namespace
}  // namespace moe
