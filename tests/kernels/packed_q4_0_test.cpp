// Q4_0_R16: the repacking keeps each row's bytes in its group, the reference product is
// bitwise Q8_0_R16's on the same values (and close to the f64 product), the AVX2 and AVX-512
// products are bitwise the reference and batch invariant, also at the int16 sums' limits, and
// the tail product (Q4_0 file-layout rows x Q8_0_S) is bitwise the packed product.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "base/half.h"
#include "kernel_test_util.h"
#include "kernels/kernels.h"
#include "kernels/packed.h"
#include "quant/blocks.h"
#include "quant/dequantize.h"
#include "quant/quantize.h"

namespace moe {
namespace {

struct Q40Case {
  int64_t rows, n;
  size_t wrb, arb;
  std::vector<uint8_t> w, packed, act;
};

// Rows from the quantizer (or, `random_blocks`, random bytes with extreme f16 scales) and
// `tokens` Q8_0_S activation rows.
Q40Case make_q40_case(int64_t rows, int64_t n, int64_t tokens, bool random_blocks, uint32_t seed) {
  std::mt19937 rng(seed);
  Q40Case c{rows, n, row_bytes(GgmlType::Q4_0, n), row_bytes(GgmlType::Q8_0_S, n), {}, {}, {}};
  if (random_blocks) {
    c.w = test::random_weights(GgmlType::Q4_0, rows, n, rng);
  } else {
    c.w.resize(rows * c.wrb);
    for (int64_t r = 0; r < rows; ++r) {
      const std::vector<float> x = test::random_floats(n, 32, rng);
      quantize_row(GgmlType::Q4_0, x.data(), c.w.data() + r * c.wrb, n);
    }
  }
  c.packed.resize(c.w.size());
  packed::repack_q4_0_r16(c.w.data(), rows, n, c.packed.data());
  c.act.resize(tokens * c.arb);
  for (int64_t t = 0; t < tokens; ++t) {
    const std::vector<float> x = test::random_floats(n, 32, rng);
    ref::quantize_q8_0_s(x.data(), c.act.data() + t * c.arb, n);
  }
  return c;
}

std::vector<float> q40_packed_gemm(const KernelTable& k, const Q40Case& c, int64_t tokens,
                                   const uint8_t* act = nullptr) {
  std::vector<float> y(tokens * c.rows, NAN);
  k.for_type(GgmlType::Q4_0_R16)
      .gemm(c.n, c.packed.data(), c.wrb, c.rows, act != nullptr ? act : c.act.data(), c.arb, tokens,
            y.data(), c.rows);
  return y;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

TEST(PackedQ4_0, RepackKeepsEachRowsBytesInItsGroup) {
  const Q40Case c = make_q40_case(32, 96, 1, true, 1);
  ASSERT_EQ(c.packed.size(), c.w.size());
  for (int64_t r = 0; r < 32; ++r) {
    const auto* row = reinterpret_cast<const BlockQ4_0*>(c.w.data() + r * c.wrb);
    const uint8_t* group = c.packed.data() + (r / 16) * 16 * c.wrb;
    for (int b = 0; b < 3; ++b) {
      const uint8_t* col = group + b * 16 * 18;
      uint16_t d;
      std::memcpy(&d, col + (r % 16) * 2, 2);
      EXPECT_EQ(d, row[b].d);
      for (int j = 0; j < 16; ++j)
        EXPECT_EQ(col[32 + (j / 4) * 64 + (r % 16) * 4 + j % 4], row[b].qs[j]);
    }
  }
}

// The same values as Q8_0 blocks (q = nibble - 8, the same f16 scale) repacked into Q8_0_R16:
// the two reference products compute the same integers and floats, so the same bits.
TEST(PackedQ4_0, ReferenceIsBitwiseQ8_0R16OfTheSameValues) {
  for (const bool random_blocks : {false, true}) {
    const int64_t n = 512, tokens = 3;
    const Q40Case c = make_q40_case(48, n, tokens, random_blocks, 5);
    std::vector<uint8_t> q8(c.rows * row_bytes(GgmlType::Q8_0, n)), q8_packed(q8.size());
    const auto* src = reinterpret_cast<const BlockQ4_0*>(c.w.data());
    auto* dst = reinterpret_cast<BlockQ8_0*>(q8.data());
    for (int64_t b = 0; b < c.rows * n / 32; ++b) {
      dst[b].d = src[b].d;
      for (int j = 0; j < 16; ++j) {
        dst[b].qs[j] = static_cast<int8_t>((src[b].qs[j] & 15) - 8);
        dst[b].qs[j + 16] = static_cast<int8_t>((src[b].qs[j] >> 4) - 8);
      }
    }
    packed::repack_q8_0_r16(q8.data(), c.rows, n, q8_packed.data());
    std::vector<float> want(tokens * c.rows, NAN);
    ref::gemm_q8_0_r16(n, q8_packed.data(), row_bytes(GgmlType::Q8_0, n), c.rows, c.act.data(),
                       c.arb, tokens, want.data(), c.rows);
    const std::vector<float> got = q40_packed_gemm(kernel_table(Isa::kScalar), c, tokens);
    EXPECT_TRUE(same_bits(want, got)) << "random blocks: " << random_blocks;
  }
}

// Against the f64 dot of the dequantized weights and activations (d_a * q).
TEST(PackedQ4_0, ReferenceAgreesWithTheF64Product) {
  const int64_t n = 2048, tokens = 2;
  const Q40Case c = make_q40_case(32, n, tokens, false, 7);
  const std::vector<float> y = q40_packed_gemm(kernel_table(Isa::kScalar), c, tokens);
  std::vector<float> w(n);
  for (int64_t r = 0; r < c.rows; ++r) {
    dequantize_row(GgmlType::Q4_0, c.w.data() + r * c.wrb, w.data(), n);
    for (int64_t t = 0; t < tokens; ++t) {
      const auto* a = reinterpret_cast<const BlockQ8_0S*>(c.act.data() + t * c.arb);
      double dot = 0.0, magnitude = 0.0;
      for (int64_t i = 0; i < n; ++i) {
        const double ai = static_cast<double>(a[i / 32].d) * a[i / 32].qs[i % 32];
        dot += w[i] * ai;
        magnitude += std::fabs(w[i] * ai);
      }
      EXPECT_NEAR(y[t * c.rows + r], dot, 1e-5 * magnitude + 1e-30) << "r=" << r << " t=" << t;
    }
  }
}

class PackedQ4_0Simd : public test::PerIsa {};

TEST_P(PackedQ4_0Simd, BitwiseTheReferenceAndBatchInvariant) {
  if (GetParam() == Isa::kScalar) GTEST_SKIP() << "the scalar table is the reference";
  const KernelTable& k = table();
  const PackedLayout& layout = k.packing[static_cast<uint32_t>(GgmlType::Q4_0)];
  ASSERT_EQ(layout.packed, GgmlType::Q4_0_R16);
  ASSERT_EQ(layout.repack, &packed::repack_q4_0_r16);
  EXPECT_EQ(activation_type(GgmlType::Q4_0_R16), GgmlType::Q8_0_S);
  EXPECT_EQ(gemm_row_grain(GgmlType::Q4_0_R16), kPackRows);
  for (int64_t tokens : {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 31, 33}) {
    const Q40Case c =
        make_q40_case(64, 512, tokens, tokens % 2 == 0, static_cast<uint32_t>(100 + tokens));
    const std::vector<float> want = q40_packed_gemm(kernel_table(Isa::kScalar), c, tokens);
    const std::vector<float> got = q40_packed_gemm(k, c, tokens);
    ASSERT_TRUE(same_bits(want, got)) << "tokens=" << tokens;
    for (int64_t t = 0; t < tokens; ++t) {  // one token at a time: the batch's bits
      const std::vector<float> one = q40_packed_gemm(k, c, 1, c.act.data() + t * c.arb);
      EXPECT_EQ(std::memcmp(one.data(), got.data() + t * c.rows, c.rows * sizeof(float)), 0) << t;
    }
  }
}

// Where the AVX2 int16 sums come closest to their limit (8 chunks of 2 x 15 x 128 = 30720):
// nibbles of 15 (and 0) against activations of -128, +127 and every other value, one token,
// three (AVX2's one-pass tile) and 17 (a whole AVX-512 tile and one more).
TEST_P(PackedQ4_0Simd, ExtremeValuesStayExact) {
  if (GetParam() == Isa::kScalar) GTEST_SKIP() << "the scalar table is the reference";
  const int64_t n = 4096 + 96, tokens = 17;
  Q40Case c = make_q40_case(32, n, tokens, false, 9);
  const uint8_t row_bytes_of[4] = {0xFF, 0x00, 0xF0, 0x0F};
  for (int r = 0; r < 4; ++r) {
    auto* row = reinterpret_cast<BlockQ4_0*>(c.w.data() + (r + 3) * c.wrb);
    for (int64_t b = 0; b < n / 32; ++b) {
      row[b].d = 0x3c00;  // 1.0
      std::memset(row[b].qs, row_bytes_of[r], sizeof(row[b].qs));
    }
  }
  packed::repack_q4_0_r16(c.w.data(), c.rows, n, c.packed.data());
  for (int64_t t = 0; t < tokens; ++t) {
    auto* act = reinterpret_cast<BlockQ8_0S*>(c.act.data() + t * c.arb);
    for (int64_t b = 0; b < n / 32; ++b) {
      int sum = 0;
      for (int j = 0; j < 32; ++j) {
        const int v = t == 0   ? -128
                      : t == 1 ? 127
                               : static_cast<int>(((b * 32 + j) * 7 + t) % 256) - 128;
        act[b].qs[j] = static_cast<int8_t>(v);
        sum += v;
      }
      act[b].neg_sum128 = -128 * sum;
    }
  }
  const std::vector<float> want = q40_packed_gemm(kernel_table(Isa::kScalar), c, tokens);
  EXPECT_TRUE(same_bits(want, q40_packed_gemm(table(), c, tokens)));
  const std::vector<float> three = q40_packed_gemm(table(), c, 3);
  EXPECT_EQ(std::memcmp(want.data(), three.data(), three.size() * sizeof(float)), 0);
  for (int64_t t = 0; t < tokens; ++t) {
    const std::vector<float> one = q40_packed_gemm(table(), c, 1, c.act.data() + t * c.arb);
    EXPECT_EQ(std::memcmp(one.data(), want.data() + t * c.rows, c.rows * sizeof(float)), 0)
        << "token " << t;
  }
}

// Tail rows (a matrix packed in whole groups only) stay in the file layout: their product is
// the packed product's bits, for any row count from any row.
TEST_P(PackedQ4_0Simd, TailProductIsBitwiseThePackedProduct) {
  const KernelTable& k = table();
  const GemmFn tail = k.for_type(GgmlType::Q4_0_R16).tail_gemm;
  ASSERT_NE(tail, nullptr);
  for (int64_t n : {32, 512, 2048}) {
    const int64_t tokens = 3;
    const Q40Case c = make_q40_case(16, n, tokens, true, static_cast<uint32_t>(3 * n + 1));
    const std::vector<float> want = q40_packed_gemm(k, c, tokens);
    std::vector<float> got(tokens * c.rows, NAN);
    tail(n, c.w.data(), c.wrb, c.rows, c.act.data(), c.arb, tokens, got.data(), c.rows);
    EXPECT_TRUE(same_bits(want, got)) << "n=" << n;
    std::vector<float> part(tokens * 3, NAN);
    tail(n, c.w.data() + 5 * c.wrb, c.wrb, 3, c.act.data(), c.arb, tokens, part.data(), 3);
    for (int64_t t = 0; t < tokens; ++t) {
      EXPECT_EQ(std::memcmp(part.data() + t * 3, want.data() + t * c.rows + 5, 3 * sizeof(float)),
                0)
          << t;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Tables, PackedQ4_0Simd, ::testing::ValuesIn(test::all_isas()),
                         test::isa_param_name);

}  // namespace
}  // namespace moe
