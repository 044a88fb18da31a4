// Every table's activation quantizers write bitwise the reference quantizers' bytes, so
// results never depend on which ISA quantized the layer input.
#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

#include "kernel_test_util.h"
#include "quant/blocks.h"

namespace moe {
namespace {

// Random blocks, scaled blocks, zero blocks, exact .5 ties and +-max ties.
std::vector<float> tricky_floats(int64_t n, std::mt19937& rng) {
  std::vector<float> x = test::random_floats(n, 32, rng);
  std::uniform_int_distribution<int> small(-126, 126);
  for (int64_t b = 0; b + 256 <= n; b += 256) {
    switch ((b / 256) % 4) {
      case 0:  // d = 1 (Q8_0) and iscale = +-1 (Q8_K): halves are exact ties
        for (int64_t i = b; i < b + 256; ++i) x[i] = static_cast<float>(small(rng)) + 0.5f;
        for (int64_t i = b; i < b + 256; i += 32) x[i] = (i / 32) % 2 ? 127.0f : -127.0f;
        break;
      case 1:  // +max and -max both present: the first one decides Q8_K's sign
        x[b + 5] = 50.0f;
        x[b + 9] = -50.0f;
        break;
      case 2:
        for (int64_t i = b; i < b + 256; ++i) x[i] = 0.0f;
        break;
      default:
        break;
    }
  }
  return x;
}

using QuantizeIsa = test::PerIsa;

TEST_P(QuantizeIsa, BitwiseEqualToReference) {
  const KernelTable& ref = kernel_table(Isa::kScalar);
  const KernelTable& k = table();
  const Isa isa = k.isa;
  std::mt19937 rng(5);
  for (int rep = 0; rep < 20; ++rep) {
    const int64_t n = 256 * (1 + rep % 9);
    const std::vector<float> x = tricky_floats(n, rng);
    struct Case {
      QuantizeFn want, got;
      GgmlType type;
    };
    const Case cases[] = {{ref.quantize_q8_0, k.quantize_q8_0, GgmlType::Q8_0},
                          {ref.quantize_q8_1, k.quantize_q8_1, GgmlType::Q8_1},
                          {ref.quantize_q8_K, k.quantize_q8_K, GgmlType::Q8_K}};
    for (const Case& c : cases) {
      std::vector<uint8_t> want(row_bytes(c.type, n), 0x11), got(row_bytes(c.type, n), 0x22);
      c.want(x.data(), want.data(), n);
      c.got(x.data(), got.data(), n);
      ASSERT_EQ(want, got) << isa_name(isa) << " " << type_name(c.type) << " n=" << n;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Tables, QuantizeIsa, ::testing::Values(Isa::kAvx2, Isa::kAvx512),
                         test::isa_param_name);

}  // namespace
}  // namespace moe
