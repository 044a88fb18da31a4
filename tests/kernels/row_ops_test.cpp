// The table's attention row helpers (f16 -> f32, axpy) are bitwise the scalar versions
// on every ISA, including the lengths that leave a scalar tail.
#include <gtest/gtest.h>

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

}  // namespace
}  // namespace moe
