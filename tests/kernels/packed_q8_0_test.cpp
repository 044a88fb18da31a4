// Q8_0_R16: the repacking, the reference product against the file layout's product, the
// AVX2 and AVX-512 products bitwise against the reference, batch invariance, the Q8_0_S quantizer,
// and the tail product (file-layout rows x Q8_0_S) bitwise against the packed product.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "base/half.h"
#include "kernel_test_util.h"
#include "kernels/kernels.h"
#include "kernels/packed.h"
#include "kernels/ref/ref_kernels.h"
#include "quant/blocks.h"
#include "quant/dequantize.h"
#include "quant/quantize.h"

namespace moe {
namespace {

struct Case {
  int64_t rows, n, tokens;
  std::vector<uint8_t> w, packed, act_q8_0, act_s;
};

Case make_case(int64_t rows, int64_t n, int64_t tokens, uint32_t seed) {
  Case c{rows, n, tokens, {}, {}, {}, {}};
  std::mt19937 rng(seed);
  std::normal_distribution<float> g(0.0f, 1.0f);
  std::vector<float> x(n);
  const size_t wrb = row_bytes(GgmlType::Q8_0, n);
  c.w.resize(rows * wrb);
  for (int64_t r = 0; r < rows; ++r) {
    for (auto& v : x) v = g(rng) * (1.0f + r % 5);
    quantize_row(GgmlType::Q8_0, x.data(), c.w.data() + r * wrb, n);
  }
  c.packed.resize(c.w.size());
  packed::repack_q8_0_r16(c.w.data(), rows, n, c.packed.data());
  c.act_q8_0.resize(tokens * row_bytes(GgmlType::Q8_0, n));
  c.act_s.resize(tokens * row_bytes(GgmlType::Q8_0_S, n));
  for (int64_t t = 0; t < tokens; ++t) {
    for (auto& v : x) v = g(rng);
    quantize_row(GgmlType::Q8_0, x.data(), c.act_q8_0.data() + t * row_bytes(GgmlType::Q8_0, n), n);
    ref::quantize_q8_0_s(x.data(), c.act_s.data() + t * row_bytes(GgmlType::Q8_0_S, n), n);
  }
  return c;
}

std::vector<float> packed_gemm(const KernelTable& k, const Case& c, int64_t tokens) {
  std::vector<float> y(tokens * c.rows, NAN);
  k.for_type(GgmlType::Q8_0_R16)
      .gemm(c.n, c.packed.data(), row_bytes(GgmlType::Q8_0, c.n), c.rows, c.act_s.data(),
            row_bytes(GgmlType::Q8_0_S, c.n), tokens, y.data(), c.rows);
  return y;
}

TEST(PackedQ8_0, RepackKeepsEveryValueAndScaleOfItsGroup) {
  const Case c = make_case(32, 64, 1, 1);
  const size_t wrb = row_bytes(GgmlType::Q8_0, 64);
  ASSERT_EQ(c.packed.size(), c.w.size());
  for (int64_t r = 0; r < 32; ++r) {
    const auto* row = reinterpret_cast<const BlockQ8_0*>(c.w.data() + r * wrb);
    const uint8_t* group = c.packed.data() + (r / 16) * 16 * wrb;
    for (int b = 0; b < 2; ++b) {
      const uint8_t* col = group + b * 16 * 34;
      uint16_t d;
      std::memcpy(&d, col + (r % 16) * 2, 2);
      EXPECT_EQ(d, row[b].d);
      for (int j = 0; j < 32; ++j) {
        EXPECT_EQ(col[32 + (j / 4) * 64 + (r % 16) * 4 + j % 4], static_cast<uint8_t>(row[b].qs[j] + 128));
      }
    }
  }
}

// The q8_0 KV cache's rows: a row read back from its group, as blocks or dequantized in one
// pass, is the source row, and its floats are exactly the file-layout dequantization's.
TEST(PackedQ8_0, RowsReadBackFromTheirGroup) {
  const int64_t n = 96;
  const Case c = make_case(32, n, 1, 3);
  const size_t wrb = row_bytes(GgmlType::Q8_0, n);
  for (int64_t r = 0; r < 32; ++r) {
    const uint8_t* group = c.packed.data() + (r / 16) * 16 * wrb;
    std::vector<uint8_t> blocks(wrb);
    packed::read_q8_0_r16_row(group, n / 32, static_cast<int>(r % 16),
                              reinterpret_cast<BlockQ8_0*>(blocks.data()));
    EXPECT_EQ(0, std::memcmp(blocks.data(), c.w.data() + r * wrb, wrb)) << r;
    std::vector<float> want(n), got(n, NAN);
    dequantize_row(GgmlType::Q8_0, c.w.data() + r * wrb, want.data(), n);
    packed::dequantize_q8_0_r16_row(group, n / 32, static_cast<int>(r % 16), got.data());
    EXPECT_EQ(0, std::memcmp(want.data(), got.data(), n * sizeof(float))) << r;
  }
}

TEST(PackedQ8_0, QuantizerMatchesQ8_0ValuesWithExactScaleAndSum) {
  std::mt19937 rng(3);
  std::normal_distribution<float> g(0.0f, 2.0f);
  std::vector<float> x(256);
  for (auto& v : x) v = g(rng);
  x[40] = 0;  // a block with zeros still has a scale
  std::vector<BlockQ8_0> q8(8);
  std::vector<BlockQ8_0S> qs(8), qs_simd(8);
  quantize_row(GgmlType::Q8_0, x.data(), q8.data(), 256);
  ref::quantize_q8_0_s(x.data(), qs.data(), 256);
  for (int b = 0; b < 8; ++b) {
    int sum = 0;
    for (int j = 0; j < 32; ++j) {
      EXPECT_EQ(qs[b].qs[j], q8[b].qs[j]);
      sum += qs[b].qs[j];
    }
    EXPECT_EQ(qs[b].neg_sum128, -128 * sum);
    EXPECT_NEAR(qs[b].d, f16_to_f32(q8[b].d), f16_to_f32(q8[b].d) * 1e-3);
  }
  for (Isa isa : {Isa::kAvx2, Isa::kAvx512}) {
    if (!isa_supported(isa)) continue;
    kernel_table(isa).quantize_q8_0_s(x.data(), qs_simd.data(), 256);
    EXPECT_EQ(std::memcmp(qs.data(), qs_simd.data(), sizeof(BlockQ8_0S) * 8), 0) << isa_name(isa);
  }
}

TEST(PackedQ8_0, ReferenceAgreesWithTheFileLayoutProduct) {
  for (int64_t n : {32, 256, 2048}) {
    const Case c = make_case(48, n, 3, static_cast<uint32_t>(n));
    const std::vector<float> y = packed_gemm(kernel_table(Isa::kScalar), c, 3);
    for (int64_t t = 0; t < 3; ++t) {
      for (int64_t r = 0; r < c.rows; ++r) {
        const float want = ref::vec_dot_q8_0_q8_0(n, c.w.data() + r * row_bytes(GgmlType::Q8_0, n),
                                                   c.act_q8_0.data() + t * row_bytes(GgmlType::Q8_0, n));
        // The activation scale is exact here and f16 there: allow that rounding.
        EXPECT_NEAR(y[t * c.rows + r], want, 2e-3 * (std::fabs(want) + std::sqrt(static_cast<float>(n)) * 10))
            << "n=" << n << " t=" << t << " r=" << r;
      }
    }
  }
}

class PackedQ8_0Simd : public test::PerIsa {};

TEST_P(PackedQ8_0Simd, BitwiseTheReferenceAndBatchInvariant) {
  if (GetParam() == Isa::kScalar) GTEST_SKIP() << "the scalar table is the reference";
  const KernelTable& k = kernel_table(GetParam());
  ASSERT_EQ(k.packing[static_cast<uint32_t>(GgmlType::Q8_0)].packed, GgmlType::Q8_0_R16);
  for (int64_t tokens : {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 31, 33}) {
    const Case c = make_case(64, 512, tokens, static_cast<uint32_t>(100 + tokens));
    const std::vector<float> want = packed_gemm(kernel_table(Isa::kScalar), c, tokens);
    const std::vector<float> got = packed_gemm(k, c, tokens);
    ASSERT_EQ(std::memcmp(want.data(), got.data(), want.size() * sizeof(float)), 0) << "tokens=" << tokens;
    // One token at a time gives the same bits as the batch.
    for (int64_t t = 0; t < tokens; ++t) {
      std::vector<float> one(c.rows);
      k.for_type(GgmlType::Q8_0_R16)
          .gemm(c.n, c.packed.data(), row_bytes(GgmlType::Q8_0, c.n), c.rows,
                c.act_s.data() + t * row_bytes(GgmlType::Q8_0_S, c.n), 0, 1, one.data(), c.rows);
      EXPECT_EQ(std::memcmp(one.data(), got.data() + t * c.rows, c.rows * sizeof(float)), 0) << t;
    }
  }
}

// The integer sums are exact where the SIMD kernels' int16 partial sums come closest to
// their limits: weights of +127, -127 and -128 against activations of +-127 and of every
// other value, over rows long enough (16384 + 96 values) that the one-token AVX2 path
// splits its activations in two passes. One token alone, three together (AVX2's one-pass
// tile) and 17 (a whole 16-token AVX-512 tile and one more), bit for bit the reference.
TEST_P(PackedQ8_0Simd, ExtremeValuesAndLongRowsStayExact) {
  if (GetParam() == Isa::kScalar) GTEST_SKIP() << "the scalar table is the reference";
  const KernelTable& k = kernel_table(GetParam());
  const int64_t n = 16384 + 96, tokens = 17;
  Case c = make_case(32, n, tokens, 5);
  const size_t wrb = row_bytes(GgmlType::Q8_0, n);
  const int8_t row_values[4][2] = {{127, 127}, {-128, -128}, {-127, -127}, {127, -128}};
  for (int r = 0; r < 4; ++r) {
    auto* row = reinterpret_cast<BlockQ8_0*>(c.w.data() + (r + 9) * wrb);
    for (int64_t b = 0; b < n / 32; ++b) {
      row[b].d = 0x3c00;  // 1.0
      for (int j = 0; j < 32; ++j) row[b].qs[j] = row_values[r][j % 2];
    }
  }
  packed::repack_q8_0_r16(c.w.data(), c.rows, n, c.packed.data());
  const size_t arb = row_bytes(GgmlType::Q8_0_S, n);
  for (int64_t t = 0; t < tokens; ++t) {
    auto* act = reinterpret_cast<BlockQ8_0S*>(c.act_s.data() + t * arb);
    for (int64_t b = 0; b < n / 32; ++b) {
      int sum = 0;
      for (int j = 0; j < 32; ++j) {
        // -127 everywhere (the most negative high nibble, -8), +127 everywhere (low nibble
        // 15), then every value of [-127, 127] in turn
        const int v = t == 0 ? -127 : t == 1 ? 127 : static_cast<int>(((b * 32 + j) * 7 + t) % 255) - 127;
        act[b].qs[j] = static_cast<int8_t>(v);
        sum += act[b].qs[j];
      }
      act[b].neg_sum128 = -128 * sum;
    }
  }
  const std::vector<float> want = packed_gemm(kernel_table(Isa::kScalar), c, tokens);
  EXPECT_EQ(std::memcmp(want.data(), packed_gemm(k, c, tokens).data(), want.size() * sizeof(float)),
            0);
  // The first 3 alone: AVX2's one-pass tile for 2-4 tokens
  EXPECT_EQ(std::memcmp(want.data(), packed_gemm(k, c, 3).data(), 3 * c.rows * sizeof(float)), 0);
  for (int64_t t = 0; t < tokens; ++t) {
    std::vector<float> one(c.rows, NAN);
    k.for_type(GgmlType::Q8_0_R16)
        .gemm(n, c.packed.data(), wrb, c.rows, c.act_s.data() + t * arb, 0, 1, one.data(), c.rows);
    EXPECT_EQ(std::memcmp(one.data(), want.data() + t * c.rows, c.rows * sizeof(float)), 0)
        << "token " << t;
  }
}

// Every table reads a row back from its group as the scalar function does, bit for bit (the
// scalar table uses that function itself).
TEST_P(PackedQ8_0Simd, RowToFloatsIsTheScalarConversion) {
  const KernelTable& k = kernel_table(GetParam());
  if (GetParam() == Isa::kScalar) {
    EXPECT_EQ(k.q8_0_r16_to_f32, &packed::dequantize_q8_0_r16_row);
    return;
  }
  ASSERT_NE(k.q8_0_r16_to_f32, nullptr);
  const int64_t n = 576;  // the latent cache's width: 18 blocks
  const Case c = make_case(16, n, 1, 11);
  for (int r = 0; r < 16; ++r) {
    for (int64_t b0 : {0, 1, 16}) {
      const int64_t nb = n / 32 - b0;
      const uint8_t* group = c.packed.data() + b0 * 16 * 34;
      std::vector<float> want(nb * 32), got(nb * 32, NAN);
      packed::dequantize_q8_0_r16_row(group, nb, r, want.data());
      k.q8_0_r16_to_f32(group, nb, r, got.data());
      EXPECT_EQ(0, std::memcmp(want.data(), got.data(), want.size() * sizeof(float)))
          << "r=" << r << " b0=" << b0;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Tables, PackedQ8_0Simd, ::testing::ValuesIn(test::all_isas()), test::isa_param_name);

// Tail rows of a matrix packed in whole groups only stay in the file layout; their product
// must give exactly the packed product's bits (a row's result does not depend on whether it
// fell in the tail).
TEST(PackedQ8_0, TailProductIsBitwiseThePackedProduct) {
  for (Isa isa : test::all_isas()) {
    if (!isa_supported(isa)) continue;
    const KernelTable& k = kernel_table(isa);
    const GemmFn tail = k.for_type(GgmlType::Q8_0_R16).tail_gemm;
    ASSERT_NE(tail, nullptr) << isa_name(isa);
    for (int64_t n : {32, 512, 2048}) {
      const int64_t tokens = 3;
      Case c = make_case(16, n, tokens, static_cast<uint32_t>(7 * n + 1));
      // Extreme scales and values: the largest f16 scale, a zero scale, +-127 and -128.
      auto* row0 = reinterpret_cast<BlockQ8_0*>(c.w.data());
      row0[0].d = 0x7bff;
      row0[0].qs[0] = -128;
      row0[0].qs[1] = 127;
      if (n > 32) row0[1].d = 0;
      packed::repack_q8_0_r16(c.w.data(), c.rows, n, c.packed.data());
      const std::vector<float> want = packed_gemm(k, c, tokens);
      std::vector<float> got(tokens * c.rows, NAN);
      tail(n, c.w.data(), row_bytes(GgmlType::Q8_0, n), c.rows, c.act_s.data(), row_bytes(GgmlType::Q8_0_S, n),
           tokens, got.data(), c.rows);
      EXPECT_EQ(std::memcmp(want.data(), got.data(), want.size() * sizeof(float)), 0)
          << isa_name(isa) << " n=" << n;
      // Any row count, from any row: rows 5..7 alone.
      std::vector<float> part(tokens * 3, NAN);
      tail(n, c.w.data() + 5 * row_bytes(GgmlType::Q8_0, n), row_bytes(GgmlType::Q8_0, n), 3, c.act_s.data(),
           row_bytes(GgmlType::Q8_0_S, n), tokens, part.data(), 3);
      for (int64_t t = 0; t < tokens; ++t) {
        EXPECT_EQ(std::memcmp(part.data() + t * 3, want.data() + t * c.rows + 5, 3 * sizeof(float)), 0) << t;
      }
    }
  }
}

TEST(PackedQ8_0, KLayoutTailsAreTheSourceGemms) {
  for (Isa isa : test::all_isas()) {
    if (!isa_supported(isa)) continue;
    const KernelTable& k = kernel_table(isa);
    EXPECT_EQ(k.for_type(GgmlType::Q4_K_R16).tail_gemm, k.for_type(GgmlType::Q4_K).gemm) << isa_name(isa);
    EXPECT_EQ(k.for_type(GgmlType::Q6_K_R16).tail_gemm, k.for_type(GgmlType::Q6_K).gemm) << isa_name(isa);
    EXPECT_EQ(activation_type(GgmlType::Q4_K_R16), activation_type(GgmlType::Q4_K));
    EXPECT_EQ(activation_type(GgmlType::Q6_K_R16), activation_type(GgmlType::Q6_K));
    EXPECT_EQ(k.for_type(GgmlType::IQ4_XS_R16).tail_gemm, k.for_type(GgmlType::IQ4_XS).gemm)
        << isa_name(isa);
    EXPECT_EQ(activation_type(GgmlType::IQ4_XS_R16), activation_type(GgmlType::IQ4_XS));
  }
}

// Q5_0 / IQ4_NL values are d times small integers: converted into Q8_0_R16 they must
// be the bytes the Q8_0 repacking makes of the same integers (recovered here from the
// dequantized values: d * k is exact in f32 for an f16 d and |k| <= 127, so is (d * k) / d).
TEST(PackedQ8_0, Q5_0AndIQ4_NLConvertLosslessly) {
  const int64_t rows = 32, n = 128;
  std::mt19937 rng(11);
  std::normal_distribution<float> g(0.0f, 1.0f);
  std::vector<float> x(n), deq(n);
  for (GgmlType type : {GgmlType::Q5_0, GgmlType::IQ4_NL}) {
    const size_t src_rb = row_bytes(type, n), q8_rb = row_bytes(GgmlType::Q8_0, n);
    std::vector<uint8_t> src(rows * src_rb), q8(rows * q8_rb);
    for (int64_t r = 0; r < rows; ++r) {
      for (auto& v : x) v = g(rng) * (1.0f + r % 3);
      quantize_row(type, x.data(), src.data() + r * src_rb, n);
      dequantize_row(type, src.data() + r * src_rb, deq.data(), n);
      auto* blocks = reinterpret_cast<BlockQ8_0*>(q8.data() + r * q8_rb);
      for (int64_t b = 0; b < n / 32; ++b) {
        uint16_t d;  // every symmetric block starts with its f16 scale
        std::memcpy(&d, src.data() + r * src_rb + b * type_traits(type).type_size, 2);
        blocks[b].d = d;
        const float df = f16_to_f32(d);
        for (int j = 0; j < 32; ++j) {
          blocks[b].qs[j] = static_cast<int8_t>(df == 0.0f ? 0.0f : deq[b * 32 + j] / df);
        }
      }
    }
    std::vector<uint8_t> want(rows * q8_rb), got(rows * q8_rb);
    packed::repack_q8_0_r16(q8.data(), rows, n, want.data());
    if (type == GgmlType::Q5_0) packed::repack_q5_0_to_q8_0_r16(src.data(), rows, n, got.data());
    if (type == GgmlType::IQ4_NL) packed::repack_iq4_nl_to_q8_0_r16(src.data(), rows, n, got.data());
    EXPECT_EQ(want, got) << type_name(type);
  }
}

}  // namespace
}  // namespace moe
