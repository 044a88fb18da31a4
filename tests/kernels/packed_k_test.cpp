// Q4_K_R16 / Q5_K_R16 / Q6_K_R16 / Q2_K_R16 / Q3_K_R16 / IQ4_XS_R16 and the conversions IQ1_S_R16,
// IQ2_XXS_R16, IQ2_XS_R16, IQ2_S_R16, IQ1_M_R16, IQ3_XXS_R16, IQ3_S_R16 (1.24x to 1.96x the
// bytes): the repacking keeps each group in its own bytes, the reference product agrees with the
// file layout's vec_dot, and the AVX2 and AVX-512 products are bitwise the reference and batch
// invariant.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ostream>
#include <random>
#include <vector>

#include "base/half.h"
#include "kernel_test_util.h"
#include "kernels/kernels.h"
#include "kernels/packed.h"
#include "kernels/ref/ref_kernels.h"
#include "quant/block_scales.h"
#include "quant/blocks.h"
#include "quant/dequantize.h"
#include "quant/iq_grids.h"
#include "quant/quantize.h"

namespace moe {
namespace {

struct Format {
  const char* name;
  GgmlType type;
  RepackFn repack;
  GgmlType packed;
  GemmFn ref_gemm;
  VecDotFn file_vec_dot;  // the unpacked reference product
};

void PrintTo(const Format& f, std::ostream* os) { *os << f.name; }

const Format kQ4K = {"q4_K", GgmlType::Q4_K, packed::repack_q4_K_r16, GgmlType::Q4_K_R16,
                     ref::gemm_q4_K_r16, ref::vec_dot_q4_K_q8_K};
const Format kQ6K = {"q6_K", GgmlType::Q6_K, packed::repack_q6_K_r16, GgmlType::Q6_K_R16,
                     ref::gemm_q6_K_r16, ref::vec_dot_q6_K_q8_K};
const Format kQ2K = {"q2_K", GgmlType::Q2_K, packed::repack_q2_K_r16, GgmlType::Q2_K_R16,
                     ref::gemm_q2_K_r16, ref::vec_dot_q2_K_q8_K};
const Format kQ5K = {"q5_K", GgmlType::Q5_K, packed::repack_q5_K_r16, GgmlType::Q5_K_R16,
                     ref::gemm_q5_K_r16, ref::vec_dot_q5_K_q8_K};
const Format kQ3K = {"q3_K", GgmlType::Q3_K, packed::repack_q3_K_r16, GgmlType::Q3_K_R16,
                     ref::gemm_q3_K_r16, ref::vec_dot_q3_K_q8_K};
const Format kIQ1S = {"iq1_s",
                      GgmlType::IQ1_S,
                      packed::repack_iq1_s_r16,
                      GgmlType::IQ1_S_R16,
                      ref::gemm_iq1_s_r16,
                      ref::vec_dot_iq1_s_q8_K};
const Format kIQ2XXS = {"iq2_xxs",
                        GgmlType::IQ2_XXS,
                        packed::repack_iq2_xxs_r16,
                        GgmlType::IQ2_XXS_R16,
                        ref::gemm_iq2_xxs_r16,
                        ref::vec_dot_iq2_xxs_q8_K};
const Format kIQ1M = {"iq1_m",
                      GgmlType::IQ1_M,
                      packed::repack_iq1_m_r16,
                      GgmlType::IQ1_M_R16,
                      ref::gemm_iq1_m_r16,
                      ref::vec_dot_iq1_m_q8_K};
const Format kIQ4XS = {"iq4_xs",
                       GgmlType::IQ4_XS,
                       packed::repack_iq4_xs_r16,
                       GgmlType::IQ4_XS_R16,
                       ref::gemm_iq4_xs_r16,
                       ref::vec_dot_iq4_xs_q8_K};
const Format kIQ3XXS = {"iq3_xxs",
                        GgmlType::IQ3_XXS,
                        packed::repack_iq3_xxs_r16,
                        GgmlType::IQ3_XXS_R16,
                        ref::gemm_iq3_xxs_r16,
                        ref::vec_dot_iq3_xxs_q8_K};
const Format kIQ3S = {"iq3_s",
                      GgmlType::IQ3_S,
                      packed::repack_iq3_s_r16,
                      GgmlType::IQ3_S_R16,
                      ref::gemm_iq3_s_r16,
                      ref::vec_dot_iq3_s_q8_K};
const Format kIQ2XS = {"iq2_xs",
                       GgmlType::IQ2_XS,
                       packed::repack_iq2_xs_r16,
                       GgmlType::IQ2_XS_R16,
                       ref::gemm_iq2_xs_r16,
                       ref::vec_dot_iq2_xs_q8_K};
const Format kIQ2S = {"iq2_s",
                      GgmlType::IQ2_S,
                      packed::repack_iq2_s_r16,
                      GgmlType::IQ2_S_R16,
                      ref::gemm_iq2_s_r16,
                      ref::vec_dot_iq2_s_q8_K};

// IQ4_XS blocks of its largest products: every other block all nibbles 0 (level -127) under
// ls = 0 (scale -32), the others as set (all bits: level 113, scale 31).
void fill_largest_iq4_xs(std::vector<uint8_t>* w) {
  for (size_t off = 0; off < w->size(); off += 2 * sizeof(BlockIQ4_XS)) {
    auto* x = reinterpret_cast<BlockIQ4_XS*>(w->data() + off);
    x->scales_h = 0;
    std::memset(x->scales_l, 0, sizeof(x->scales_l));
    std::memset(x->qs, 0, sizeof(x->qs));
  }
}

// IQ1_M blocks of its largest values: the grid entry of eight +1 with shift +1 (q = 9) and
// the largest scales (sc = 15), d = 1/16.
void fill_largest_iq1_m(std::vector<uint8_t>* w) {
  int all_plus = -1;
  for (int i = 0; i < kIq1sGridSize && all_plus < 0; ++i) {
    if (kIq1sGrid.v[i] == 0x0101010101010101ull) all_plus = i;
  }
  ASSERT_GE(all_plus, 0);
  for (size_t off = 0; off < w->size(); off += sizeof(BlockIQ1_M)) {
    auto* x = reinterpret_cast<BlockIQ1_M*>(w->data() + off);
    std::memset(x->qs, all_plus & 0xFF, sizeof(x->qs));
    const int nib = (all_plus >> 8) & 7;  // bit 3 clear: shift +1
    std::memset(x->qh, nib | nib << 4, sizeof(x->qh));
    std::memset(x->scales, 0xFF, sizeof(x->scales));
    test::set_iq1_m_d(w->data() + off, f32_to_f16(1.0f / 16));
  }
}
// The SIMD tables this CPU runs (their tests are skipped, visibly, where it runs none).
std::vector<Isa> simd_isas() {
  std::vector<Isa> out;
  for (Isa isa : {Isa::kAvx2, Isa::kAvx512}) {
    if (isa_supported(isa)) out.push_back(isa);
  }
  return out;
}

struct KCase {
  int64_t rows, n;
  size_t wrb, arb;
  std::vector<uint8_t> w, packed, act;
  size_t prb = 0;  // the packed layout's row bytes (wrb but for a conversion)
};

// c.packed from c.w.
void repack(const Format& f, KCase* c) {
  c->prb = row_bytes(f.packed, c->n);
  c->packed.resize(c->rows * c->prb);
  f.repack(c->w.data(), c->rows, c->n, c->packed.data());
}

// Rows from the repo's quantizer (`extreme`, or a type it cannot write: random blocks with
// extreme f16 scales instead) and `tokens` Q8_K activation rows.
KCase make_k_case(const Format& f, int64_t rows, int64_t n, int64_t tokens, bool extreme,
                  uint32_t seed) {
  std::mt19937 rng(seed);
  KCase c{rows, n, row_bytes(f.type, n), row_bytes(GgmlType::Q8_K, n), {}, {}, {}};
  if (extreme || !can_quantize(f.type)) {
    c.w = test::random_weights(f.type, rows, n, rng);
  } else {
    c.w.resize(rows * c.wrb);
    for (int64_t r = 0; r < rows; ++r) {
      const std::vector<float> x = test::random_floats(n, 256, rng);
      quantize_row(f.type, x.data(), c.w.data() + r * c.wrb, n);
    }
  }
  repack(f, &c);
  c.act = test::random_activations(f.type, tokens, n, rng);
  return c;
}

// y[t * y_stride + r] from `gemm` over every row; entries past `rows` must stay untouched.
std::vector<float> run(GemmFn gemm, const KCase& c, int64_t tokens, int64_t y_stride) {
  std::vector<float> y(tokens * y_stride, -7.0f);
  gemm(c.n, c.packed.data(), c.prb, c.rows, c.act.data(), c.arb, tokens, y.data(), y_stride);
  for (int64_t t = 0; t < tokens; ++t) {
    for (int64_t r = c.rows; r < y_stride; ++r) EXPECT_EQ(y[t * y_stride + r], -7.0f) << "wrote past rows";
  }
  return y;
}

// The magnitude the float roundings scale with: sum over super-blocks of
// |d_a| (|d| sum |sc q a| + |dmin| sum |m a|), q as the integer product uses it.
double magnitude(const Format& f, const uint8_t* w, const uint8_t* a_row, int64_t n) {
  const auto* a = reinterpret_cast<const BlockQ8_K*>(a_row);
  double total = 0.0;
  for (int64_t b = 0; b < n / kQK_K; ++b) {
    double sq = 0.0, sm = 0.0, d = 0.0, dmin = 0.0;
    auto affine_k = [&](const auto& x, auto fifth_bit) {
      d = f16_to_f32(x.d);
      dmin = f16_to_f32(x.dmin);
      for (int i = 0; i < kQK_K; ++i) {
        uint8_t sc, m;
        k4_scale_min(i / 32, x.scales, &sc, &m);
        const int byte = x.qs[32 * (i / 64) + i % 32];
        const int q = ((i % 64) < 32 ? byte & 15 : byte >> 4) | fifth_bit(x, i) << 4;
        sq += sc * q * std::abs(a[b].qs[i]);
        sm += m * std::abs(a[b].qs[i]);
      }
    };
    if (f.type == GgmlType::Q4_K) {
      affine_k(reinterpret_cast<const BlockQ4_K*>(w)[b], [](const BlockQ4_K&, int) { return 0; });
    } else if (f.type == GgmlType::Q5_K) {
      affine_k(reinterpret_cast<const BlockQ5_K*>(w)[b],
               [](const BlockQ5_K& x, int i) { return (x.qh[i % 32] >> (i / 32)) & 1; });
    } else if (f.type == GgmlType::Q2_K) {
      const auto& x = reinterpret_cast<const BlockQ2_K*>(w)[b];
      d = f16_to_f32(x.d);
      dmin = f16_to_f32(x.dmin);
      for (int i = 0; i < kQK_K; ++i) {
        const int q = (x.qs[32 * (i / 128) + i % 32] >> (2 * (i % 128 / 32))) & 3;
        sq += (x.scales[i / 16] & 15) * q * std::abs(a[b].qs[i]);
        sm += (x.scales[i / 16] >> 4) * std::abs(a[b].qs[i]);
      }
    } else {
      std::vector<float> x(kQK_K);
      dequantize_row(f.type, w + b * row_bytes(f.type, kQK_K), x.data(), kQK_K);  // Q6_K, Q3_K (no mins)
      for (int i = 0; i < kQK_K; ++i) sq += std::fabs(x[i]) * std::abs(a[b].qs[i]);
      d = 1.0;
    }
    total += std::fabs(a[b].d) * (std::fabs(d) * sq + std::fabs(dmin) * sm);
  }
  return total;
}

class PackedK : public ::testing::TestWithParam<Format> {};

TEST_P(PackedK, RepackKeepsSizeAndEachGroupInItsBytes) {
  const Format& f = GetParam();
  for (int64_t n : {256, 768}) {
    const KCase c = make_k_case(f, 32, n, 1, true, 5);
    // a second group repacked alone: the same bytes as the second half of the whole
    std::vector<uint8_t> one(c.packed.size() / 2 + 128, 0xA5);
    f.repack(c.w.data() + 16 * c.wrb, 16, n, one.data() + 64);
    ASSERT_EQ(std::memcmp(one.data() + 64, c.packed.data() + 16 * c.prb, 16 * c.prb), 0)
        << f.name << n;
    for (size_t i = 0; i < 64; ++i) {
      ASSERT_EQ(one[i], 0xA5) << "wrote before dst";
      ASSERT_EQ(one[64 + 16 * c.prb + i], 0xA5) << "wrote past dst";
    }
    // every group differs from its source (the layout does move bytes)
    EXPECT_NE(std::memcmp(c.w.data(), c.packed.data(), 16 * std::min(c.wrb, c.prb)), 0);
  }
}

TEST_P(PackedK, ReferenceAgreesWithTheFileLayoutProduct) {
  const Format& f = GetParam();
  for (int64_t n : {256, 512, 2048}) {
    const int64_t tokens = 3;
    const KCase c = make_k_case(f, 48, n, tokens, false, static_cast<uint32_t>(n));
    const std::vector<float> y = run(f.ref_gemm, c, tokens, c.rows);
    for (int64_t t = 0; t < tokens; ++t) {
      for (int64_t r = 0; r < c.rows; ++r) {
        const uint8_t* wr = c.w.data() + r * c.wrb;
        const uint8_t* ar = c.act.data() + t * c.arb;
        const float want = f.file_vec_dot(n, wr, ar);
        const double tol = 1e-5 * magnitude(f, wr, ar, n) + 1e-30;
        ASSERT_NEAR(y[t * c.rows + r], want, tol) << f.name << " n=" << n << " t=" << t << " r=" << r;
      }
    }
  }
}

TEST_P(PackedK, SimdIsBitwiseTheReference) {
  if (simd_isas().empty()) GTEST_SKIP() << "no AVX2 on this CPU";
  const Format& f = GetParam();
  for (Isa isa : simd_isas()) {
    const KernelTable& k = kernel_table(isa);
    ASSERT_EQ(k.packing[static_cast<uint32_t>(f.type)].packed, f.packed) << isa_name(isa);
    const GemmFn gemm = k.for_type(f.packed).gemm;
    for (bool extreme : {false, true}) {
      for (int64_t n : {256, 768}) {
        // AVX2: 2-4 tokens pass once over both halves; 10-12 leave those counts to half
        // passes. Both: several passes of whole tiles and a remainder (17, 31, 33).
        for (int64_t tokens : {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 15, 16, 17, 31, 33}) {
          const KCase c =
              make_k_case(f, 48, n, tokens, extreme, static_cast<uint32_t>(10 * n + tokens));
          const std::vector<float> want = run(f.ref_gemm, c, tokens, c.rows + 5);
          const std::vector<float> got = run(gemm, c, tokens, c.rows + 5);
          for (size_t i = 0; i < want.size(); ++i) {
            ASSERT_EQ(std::memcmp(&want[i], &got[i], 4), 0)
                << f.name << " " << isa_name(isa) << " extreme=" << extreme << " n=" << n << " tokens=" << tokens
                << " at " << i << ": " << got[i] << " vs " << want[i];
          }
        }
      }
    }
  }
}

// Every weight bit set (each format's largest values and scales) against activations of
// -127: the AVX2 tiles' int16 pair sums at their bounds (Q5_K's 5-bit sums, for one, would
// overflow over a sub-block's 8 chunks without their scaling every 4).
TEST_P(PackedK, LargestValuesStayExact) {
  if (simd_isas().empty()) GTEST_SKIP() << "no AVX2 on this CPU";
  const Format& f = GetParam();
  const int64_t rows = 32, n = 512;
  KCase c{rows, n, row_bytes(f.type, n), row_bytes(GgmlType::Q8_K, n), {}, {}, {}};
  c.w.assign(rows * c.wrb, 0xFF);
  const uint16_t scale = f32_to_f16(1.0f / 16);
  for (size_t off = 0; off < c.w.size(); off += type_traits(f.type).type_size) {
    for (int field : test::f16_fields(f.type)) std::memcpy(&c.w[off + field], &scale, 2);
  }
  if (f.type == GgmlType::IQ1_M) fill_largest_iq1_m(&c.w);
  if (f.type == GgmlType::IQ4_XS) fill_largest_iq4_xs(&c.w);
  repack(f, &c);
  for (int64_t tokens : {1, 2, 3, 8, 9}) {
    const std::vector<float> ones(n, 1.0f);  // Q8_K: every value -127
    c.act.resize(tokens * c.arb);
    for (int64_t t = 0; t < tokens; ++t) quantize_row(GgmlType::Q8_K, ones.data(), c.act.data() + t * c.arb, n);
    ASSERT_EQ(reinterpret_cast<const BlockQ8_K*>(c.act.data())->qs[0], -127);
    const std::vector<float> want = run(f.ref_gemm, c, tokens, rows);
    for (Isa isa : simd_isas()) {
      const std::vector<float> got = run(kernel_table(isa).for_type(f.packed).gemm, c, tokens, rows);
      ASSERT_EQ(std::memcmp(want.data(), got.data(), want.size() * sizeof(float)), 0)
          << f.name << " " << isa_name(isa) << " tokens=" << tokens;
    }
  }
}

TEST_P(PackedK, BatchInvariant) {
  const Format& f = GetParam();
  const int64_t tokens = 20;
  std::vector<GemmFn> gemms = {f.ref_gemm};
  for (Isa isa : simd_isas()) gemms.push_back(kernel_table(isa).for_type(f.packed).gemm);
  for (size_t i = 0; i < gemms.size(); ++i) {
    const GemmFn gemm = gemms[i];
    const KCase c = make_k_case(f, 32, 1024, tokens, true, 77);
    const std::vector<float> batch = run(gemm, c, tokens, c.rows);
    for (int64_t t = 0; t < tokens; ++t) {
      std::vector<float> one(c.rows);
      gemm(c.n, c.packed.data(), c.prb, c.rows, c.act.data() + t * c.arb, 0, 1, one.data(), c.rows);
      ASSERT_EQ(std::memcmp(one.data(), batch.data() + t * c.rows, c.rows * sizeof(float)), 0)
          << f.name << " gemm " << i << " token " << t;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Formats, PackedK,
                         ::testing::Values(kQ4K, kQ6K, kQ2K, kQ3K, kQ5K, kIQ1S, kIQ2XXS, kIQ1M,
                                           kIQ4XS, kIQ3XXS, kIQ3S, kIQ2XS, kIQ2S),
                         [](const ::testing::TestParamInfo<Format>& info) {
                           return std::string(info.param.name);
                         });

}  // namespace
}  // namespace moe
