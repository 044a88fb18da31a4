// Decoders against blocks llama.cpp's quantizer really wrote: every quantized tensor of
// the r1-mini fixtures (Q8_0 and Q4_K_M files: Q4_K, Q6_K, Q8_0, ...) dequantizes to
// values close to the same tensor of the bf16 fixture. A wrong bit layout gives errors
// of the order of the values themselves; right layouts stay within the format's error.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "gguf/gguf.h"
#include "quant/dequantize.h"

namespace moe {
namespace {

std::string fixture(const char* name) {
  return std::string(MOEINFER_TEST_DATA_DIR) + "/models/" + name;
}

// Relative RMS error bound of a round trip through each format (llama.cpp's quantizer on
// these weights measured q8_0 0.0054, q6_K 0.0178, q5_0 0.043, q4_K 0.071; a wrong layout
// gives ~1).
double bound(GgmlType t) {
  switch (t) {
    case GgmlType::Q8_0: return 0.008;
    case GgmlType::Q6_K: return 0.025;
    case GgmlType::Q5_0: case GgmlType::Q5_1: case GgmlType::Q5_K: return 0.055;
    case GgmlType::Q4_0: case GgmlType::Q4_1: case GgmlType::Q4_K: return 0.09;
    case GgmlType::Q3_K: return 0.25;
    case GgmlType::Q2_K: return 0.45;
    case GgmlType::F16: return 0.001;
    default: return 0.01;
  }
}

void compare_with_bf16(const char* quant_file) {
  auto ref = GgufModel::open(fixture("r1-mini-bf16.gguf"));
  auto q = GgufModel::open(fixture(quant_file));
  if (!ref.is_ok() || !q.is_ok()) GTEST_SKIP() << "fixtures not readable: " << ref.status().message() << q.status().message();
  int checked = 0;
  for (const TensorInfo& t : q->tensors()) {
    const TensorInfo* r = ref->find_tensor(t.name);
    if (r == nullptr || t.type == r->type || !can_dequantize(t.type) || !can_dequantize(r->type)) continue;
    ASSERT_EQ(t.n_elements(), r->n_elements()) << t.name;
    const int64_t n = t.ne[0], rows = t.n_rows();
    std::vector<float> x(n), y(n);
    double err2 = 0.0, ref2 = 0.0;
    for (int64_t row = 0; row < rows; ++row) {
      dequantize_row(t.type, t.data + row * t.row_bytes(), x.data(), n);
      dequantize_row(r->type, r->data + row * r->row_bytes(), y.data(), n);
      for (int64_t i = 0; i < n; ++i) {
        err2 += (static_cast<double>(x[i]) - y[i]) * (static_cast<double>(x[i]) - y[i]);
        ref2 += static_cast<double>(y[i]) * y[i];
      }
    }
    if (ref2 == 0.0) continue;
    EXPECT_LE(std::sqrt(err2 / ref2), bound(t.type))
        << quant_file << " " << t.name << " " << type_name(t.type) << " " << t.shape_string();
    ++checked;
  }
  EXPECT_GT(checked, 0) << "no quantized tensor matched a bf16 one in " << quant_file;
}

TEST(GgufFixtures, Q8_0FileDecodesCloseToBf16) { compare_with_bf16("r1-mini-q8_0.gguf"); }
TEST(GgufFixtures, Q4_K_MFileDecodesCloseToBf16) { compare_with_bf16("r1-mini-q4_k_m.gguf"); }
TEST(GgufFixtures, V2LiteQ4_K_MFileDecodes) {
  // No bf16 twin: every tensor must at least decode to finite values.
  auto q = GgufModel::open(fixture("v2lite-mini-q4_k_m.gguf"));
  if (!q.is_ok()) GTEST_SKIP() << q.status().message();
  for (const TensorInfo& t : q->tensors()) {
    if (!can_dequantize(t.type)) continue;
    std::vector<float> x(t.ne[0]);
    for (int64_t row = 0; row < t.n_rows(); ++row) {
      dequantize_row(t.type, t.data + row * t.row_bytes(), x.data(), t.ne[0]);
      for (float v : x) ASSERT_TRUE(std::isfinite(v)) << t.name;
    }
  }
}

}  // namespace
}  // namespace moe
