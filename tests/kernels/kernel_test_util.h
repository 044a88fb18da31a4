// Random weight rows and activation rows for the kernel tests.
//
// Weights: random bytes in ggml's layout with the f16 scale fields replaced by finite
// values drawn from {0, 6e-8 (smallest f16 subnormal), 1e-5, 0.01, 1, 60000}; one block in
// eight is all zero bytes. Q8_0 weights avoid -128 (ggml's quantizer never writes it, and
// the sign-trick dot products assume it). Activations: the reference quantizer applied to
// random floats whose blocks are scaled by {0, 1e-6, 1e-3, 1, 1000}.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "base/half.h"
#include "gguf/types.h"
#include "kernels/kernels.h"
#include "quant/quantize.h"

namespace moe::test {

inline uint16_t random_f16_scale(std::mt19937& rng) {
  static constexpr float kScales[] = {0.0f, 6e-8f, 1e-5f, 0.01f, 1.0f, 60000.0f};
  std::uniform_int_distribution<int> pick(0, 5);
  std::uniform_real_distribution<float> jitter(0.5f, 1.0f);
  float s = kScales[pick(rng)] * jitter(rng);
  if (s > 65000.0f) s = 60000.0f;
  return f32_to_f16(rng() & 1 ? s : -s);
}

// Byte offsets of the f16 scale fields inside one block of `type`.
inline std::vector<int> f16_fields(GgmlType type) {
  switch (type) {
    case GgmlType::Q4_0: case GgmlType::Q5_0: case GgmlType::Q8_0: case GgmlType::IQ4_NL: return {0};
    case GgmlType::Q4_1: case GgmlType::Q5_1: case GgmlType::Q4_K: case GgmlType::Q5_K:
      return {0, 2};
    case GgmlType::Q2_K: return {80, 82};
    case GgmlType::Q3_K: return {108};
    case GgmlType::Q6_K: return {208};
    case GgmlType::IQ2_XXS: case GgmlType::IQ1_S: case GgmlType::IQ4_XS: case GgmlType::IQ2_XS:
    case GgmlType::IQ2_S: case GgmlType::IQ3_XXS: case GgmlType::IQ3_S:
      return {0};
    default: return {};
  }
}

// IQ1_M's f16 d is the top nibbles of its 4 scale words (bytes 48-55 of a block).
inline void set_iq1_m_d(uint8_t* block, uint16_t h) {
  for (int k = 0; k < 4; ++k) {
    uint8_t& hi = block[48 + 2 * k + 1];
    hi = static_cast<uint8_t>((hi & 0x0F) | (((h >> (4 * k)) & 0xF) << 4));
  }
}

inline std::vector<uint8_t> random_weights(GgmlType type, int64_t rows, int64_t n, std::mt19937& rng) {
  const TypeTraits& tt = type_traits(type);
  const size_t bytes = static_cast<size_t>(row_bytes(type, n) * rows);
  std::vector<uint8_t> w(bytes);
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  if (type == GgmlType::F32 || type == GgmlType::F16 || type == GgmlType::BF16) {
    for (int64_t i = 0; i < rows * n; ++i) {
      const float v = u(rng);
      if (type == GgmlType::F32) std::memcpy(&w[4 * i], &v, 4);
      const uint16_t h = type == GgmlType::F16 ? f32_to_f16(v) : f32_to_bf16(v);
      if (type != GgmlType::F32) std::memcpy(&w[2 * i], &h, 2);
    }
    return w;
  }
  for (auto& b : w) b = static_cast<uint8_t>(rng());
  const std::vector<int> fields = f16_fields(type);
  for (size_t off = 0; off < bytes; off += tt.type_size) {
    if (rng() % 8 == 0) {
      std::memset(&w[off], 0, tt.type_size);
      continue;
    }
    for (int f : fields) {
      const uint16_t h = random_f16_scale(rng);
      std::memcpy(&w[off + f], &h, 2);
    }
    if (type == GgmlType::IQ1_M) set_iq1_m_d(&w[off], random_f16_scale(rng));
    if (type == GgmlType::Q8_0) {
      for (int j = 2; j < tt.type_size; ++j)
        if (w[off + j] == 0x80) w[off + j] = 0x81;
    }
  }
  return w;
}

inline std::vector<float> random_floats(int64_t n, int block, std::mt19937& rng) {
  static constexpr float kMul[] = {0.0f, 1e-6f, 1e-3f, 1.0f, 1000.0f};
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  std::uniform_int_distribution<int> pick(0, 4);
  std::vector<float> x(n);
  for (int64_t b = 0; b < n; b += block) {
    const float m = rng() % 3 == 0 ? kMul[pick(rng)] : 1.0f;
    for (int64_t i = b; i < std::min<int64_t>(n, b + block); ++i) x[i] = m * u(rng);
  }
  return x;
}

// `tokens` activation rows of n values for weights of type w (reference quantizer).
inline std::vector<uint8_t> random_activations(GgmlType w, int64_t tokens, int64_t n, std::mt19937& rng) {
  const size_t rb = activation_row_bytes(w, n);
  std::vector<uint8_t> a(rb * tokens);
  for (int64_t t = 0; t < tokens; ++t) {
    const GgmlType at = activation_type(w);
    const std::vector<float> x = random_floats(n, at == GgmlType::Q8_K ? 256 : 32, rng);
    quantize_row(at, x.data(), a.data() + t * rb, n);
  }
  return a;
}

// Every weight type with kernels, and n values per row to test it with.
struct TypeCase {
  GgmlType type;
  int64_t block;
};
inline std::vector<TypeCase> kernel_types() {
  return {{GgmlType::F32, 16},  {GgmlType::F16, 16},  {GgmlType::BF16, 16},
          {GgmlType::Q8_0, 32}, {GgmlType::Q4_0, 32}, {GgmlType::Q5_0, 32},
          {GgmlType::Q4_1, 32}, {GgmlType::Q5_1, 32}, {GgmlType::IQ4_NL, 32}, {GgmlType::Q2_K, 256},
          {GgmlType::Q3_K, 256}, {GgmlType::Q4_K, 256}, {GgmlType::Q5_K, 256},
          {GgmlType::Q6_K, 256}, {GgmlType::IQ4_XS, 256}, {GgmlType::IQ2_XXS, 256}, {GgmlType::IQ1_S, 256},
          {GgmlType::IQ1_M, 256}, {GgmlType::IQ2_XS, 256}, {GgmlType::IQ2_S, 256},
          {GgmlType::IQ3_XXS, 256}, {GgmlType::IQ3_S, 256}};
}

inline std::vector<Isa> all_isas() { return {Isa::kScalar, Isa::kAvx2, Isa::kAvx512}; }

// Parameterized over every compiled table; skips the ones this CPU cannot run.
class PerIsa : public ::testing::TestWithParam<Isa> {
 protected:
  void SetUp() override {
    if (!isa_supported(GetParam())) {
      GTEST_SKIP() << isa_name(GetParam()) << " is not supported by this CPU";
    }
  }
  const KernelTable& table() const { return kernel_table(GetParam()); }
};

inline std::string isa_param_name(const ::testing::TestParamInfo<Isa>& info) {
  return std::string(isa_name(info.param));
}

}  // namespace moe::test
