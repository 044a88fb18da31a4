#include <gtest/gtest.h>

#include <vector>

#include "base/cpu_features.h"
#include "kernels/kernels.h"
#include "kernel_test_util.h"

namespace moe {
namespace {

TEST(Dispatch, ActivationFormats) {
  EXPECT_EQ(activation_type(GgmlType::BF16), GgmlType::F32);
  EXPECT_EQ(activation_type(GgmlType::F16), GgmlType::F32);
  EXPECT_EQ(activation_type(GgmlType::Q4_0), GgmlType::Q8_0);
  EXPECT_EQ(activation_type(GgmlType::Q8_0), GgmlType::Q8_0);
  EXPECT_EQ(activation_type(GgmlType::Q5_1), GgmlType::Q8_1);
  EXPECT_EQ(activation_type(GgmlType::Q6_K), GgmlType::Q8_K);
  EXPECT_EQ(activation_row_bytes(GgmlType::Q4_K, 7168), 28u * 292u);
  EXPECT_EQ(activation_row_bytes(GgmlType::Q8_0, 64), 2u * 34u);
  EXPECT_EQ(activation_row_bytes(GgmlType::BF16, 10), 40u);
}

TEST(Dispatch, TablesCoverTheSameTypes) {
  EXPECT_TRUE(isa_supported(Isa::kScalar));
  const KernelTable& ref = kernel_table(Isa::kScalar);
  for (const auto& c : test::kernel_types()) EXPECT_TRUE(has_kernel(ref, c.type)) << type_name(c.type);
  EXPECT_FALSE(has_kernel(ref, GgmlType::TQ1_0));
  EXPECT_FALSE(has_kernel(ref, GgmlType::Q8_K));
  for (Isa isa : {Isa::kAvx2, Isa::kAvx512}) {
    if (!isa_supported(isa)) continue;
    const KernelTable& k = kernel_table(isa);
    EXPECT_EQ(k.isa, isa);
    for (uint32_t id = 0; id < kMaxTypeId; ++id) {
      if (find_type_traits(id) == nullptr) continue;  // packed layouts: below
      EXPECT_EQ(k.weights[id].vec_dot != nullptr, ref.weights[id].vec_dot != nullptr) << id;
      EXPECT_EQ(k.weights[id].gemm != nullptr, ref.weights[id].vec_dot != nullptr) << id;
    }
    // A table that repacks a type multiplies the packed layout, and so does the reference.
    for (uint32_t id = 0; id < kMaxTypeId; ++id) {
      const PackedLayout& p = k.packing[id];
      if (p.repack == nullptr) continue;
      EXPECT_NE(k.for_type(p.packed).gemm, nullptr) << id;
      EXPECT_NE(ref.for_type(p.packed).gemm, nullptr) << id;
      EXPECT_EQ(p.group_rows, gemm_row_grain(p.packed)) << id;
    }
    EXPECT_NE(k.quantize_q8_0, nullptr);
    EXPECT_NE(k.quantize_q8_1, nullptr);
    EXPECT_NE(k.quantize_q8_K, nullptr);
  }
}

// The planner's view of the load-time repacking (simd_packed_type) is the SIMD tables' own,
// on any CPU: the conversions it sizes are the ones the loader makes.
TEST(Dispatch, SimdPackedTypeIsTheTablesPacking) {
  EXPECT_EQ(simd_packed_type(GgmlType::IQ1_M), GgmlType::IQ1_M_R16);
  EXPECT_EQ(simd_packed_type(GgmlType::Q5_0), GgmlType::Q8_0_R16);
  EXPECT_EQ(simd_packed_type(GgmlType::BF16), GgmlType::F32);  // used as stored
  EXPECT_EQ(simd_packed_type(static_cast<GgmlType>(kMaxTypeId + 5)), GgmlType::F32);
  for (Isa isa : {Isa::kAvx2, Isa::kAvx512}) {
    if (!isa_supported(isa)) continue;
    for (uint32_t id = 0; id < kMaxTypeId; ++id) {
      EXPECT_EQ(simd_packed_type(static_cast<GgmlType>(id)), kernel_table(isa).packing[id].packed)
          << isa_name(isa) << " type " << id;
    }
  }
}

TEST(Dispatch, BestTableFollowsCpuFeatures) {
  const CpuFeatures f = detect_cpu_features();
  EXPECT_EQ(isa_supported(Isa::kAvx2), f.has_avx2_set());
  EXPECT_EQ(isa_supported(Isa::kAvx512), f.has_avx512_set());
  const Isa want = f.has_avx512_set() ? Isa::kAvx512 : f.has_avx2_set() ? Isa::kAvx2 : Isa::kScalar;
  EXPECT_EQ(best_kernel_table().isa, want);
}

// The AVX2 table needs every extension its files are compiled with; AVX-512 needs AVX2's too.
TEST(Dispatch, IsaSetsNeedEveryCompiledExtension) {
  CpuFeatures f;
  f.avx2 = f.fma = f.f16c = true;
  EXPECT_FALSE(f.has_avx2_set());  // no BMI2
  f.bmi2 = true;
  EXPECT_TRUE(f.has_avx2_set());
  f.avx512f = f.avx512bw = f.avx512vl = f.avx512dq = f.avx512vnni = true;
  EXPECT_TRUE(f.has_avx512_set());
  f.bmi2 = false;
  EXPECT_FALSE(f.has_avx512_set());
  f.bmi2 = true;
  f.avx512vnni = false;
  EXPECT_FALSE(f.has_avx512_set());
  EXPECT_NE(detect_cpu_features().describe().find(isa_supported(Isa::kAvx2) ? "bmi2" : ""), std::string::npos);
}

TEST(Dispatch, QuantizeActivationF32Copies) {
  const std::vector<float> x = {1.0f, -2.0f, 3.5f};
  std::vector<float> y(3);
  quantize_activation(best_kernel_table(), GgmlType::BF16, x.data(), y.data(), 3);
  EXPECT_EQ(x, y);
}

}  // namespace
}  // namespace moe
