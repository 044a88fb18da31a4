// Every table on weight rows llama.cpp really wrote (the Q4_K_M and Q8_0 r1-mini
// fixtures: q4_K, q6_K, q5_0, q8_0 tensors), with Gaussian activations: vec_dot against
// the scalar reference, and gemm bitwise against vec_dot.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "gguf/gguf.h"
#include "kernel_test_util.h"
#include "quant/dequantize.h"

namespace moe {
namespace {

using FixtureRows = test::PerIsa;

TEST_P(FixtureRows, VecDotAndGemmOnRealBlocks) {
  const KernelTable& ref = kernel_table(Isa::kScalar);
  const KernelTable& k = table();
  int checked = 0;
  for (const char* name : {"r1-mini-q4_k_m.gguf", "r1-mini-q8_0.gguf"}) {
    auto model = GgufModel::open(std::string(MOEINFER_TEST_DATA_DIR) + "/models/" + name);
    if (!model.is_ok()) GTEST_SKIP() << "fixture not readable: " << model.status().message();
    std::mt19937 rng(9);
    std::normal_distribution<float> g(0.0f, 1.0f);
    for (const TensorInfo& t : model->tensors()) {
      if (!has_kernel(k, t.type) || t.type == GgmlType::F32) continue;
      const int64_t n = t.ne[0], rows = std::min<int64_t>(t.n_rows(), 9), tokens = 5;
      const size_t arb = activation_row_bytes(t.type, n);
      std::vector<uint8_t> a(arb * tokens);
      std::vector<float> x(n);
      for (int64_t tok = 0; tok < tokens; ++tok) {
        for (auto& v : x) v = g(rng);
        quantize_activation(ref, t.type, x.data(), a.data() + tok * arb, n);
      }
      std::vector<float> y(rows * tokens), w(n), av(n);
      k.for_type(t.type).gemm(n, t.data, t.row_bytes(), rows, a.data(), arb, tokens, y.data(), rows);
      for (int64_t r = 0; r < rows; ++r) {
        const uint8_t* wrow = t.data + r * t.row_bytes();
        dequantize_row(t.type, wrow, w.data(), n);
        for (int64_t tok = 0; tok < tokens; ++tok) {
          const uint8_t* arow = a.data() + tok * arb;
          dequantize_row(activation_type(t.type), arow, av.data(), n);
          double abs_dot = 0.0;
          for (int64_t i = 0; i < n; ++i) abs_dot += std::fabs(static_cast<double>(w[i]) * av[i]);
          const float got = k.for_type(t.type).vec_dot(n, wrow, arow);
          const float want = ref.for_type(t.type).vec_dot(n, wrow, arow);
          EXPECT_NEAR(got, want, 1e-5 * abs_dot) << name << " " << t.name << " row " << r;
          const float g_elem = y[tok * rows + r];
          ASSERT_EQ(std::memcmp(&got, &g_elem, 4), 0) << name << " " << t.name << " gemm != vec_dot";
        }
      }
      ++checked;
    }
  }
  EXPECT_GT(checked, 0);
}

INSTANTIATE_TEST_SUITE_P(Tables, FixtureRows,
                         ::testing::Values(Isa::kScalar, Isa::kAvx2, Isa::kAvx512),
                         test::isa_param_name);

}  // namespace
}  // namespace moe
