// Load-time repacking (model/pack_weights.h): which weights get packed, that packing in
// place (--no-mmap) and into a copy (mmap) give the same bits, and that packed logits stay
// close to the file layout's.
#include <cmath>
#include <cstring>

#include "gguf/load.h"
#include "model_test_util.h"

namespace moe::testing {
namespace {

std::unique_ptr<Model> load_with(const std::string& name, const KernelTable& k, bool repack, bool mmap) {
  LoadOptions options;
  options.repack = repack;
  options.use_mmap = mmap;
  options.show_progress = false;
  auto m = Model::load(model_path(name), k, options);
  EXPECT_TRUE(m.is_ok()) << m.status().message();
  return m.is_ok() ? std::move(m).value() : nullptr;
}

std::vector<float> prompt_logits(const Model& model) {
  ThreadPool pool(2);
  const std::vector<int32_t> prompt = {1, 17, 300, 4000, 52, 9, 77, 1024};
  auto kv = KvCache::create(model.args(), KvCacheType::kF16, static_cast<int64_t>(prompt.size()), 1);
  Forward forward(model, pool);
  std::vector<BatchToken> batch;
  for (size_t j = 0; j < prompt.size(); ++j) batch.push_back({prompt[j], static_cast<int32_t>(j), 0, true});
  Logits logits;
  EXPECT_TRUE(forward.run(batch, *kv, logits).is_ok());
  return logits.values;
}

TEST(PackWeights, Avx512PacksQ8_0MatricesAndKeepsTheRest) {
  if (!isa_supported(Isa::kAvx512)) GTEST_SKIP() << "no AVX-512 on this CPU: nothing is packed";
  const KernelTable& k = kernel_table(Isa::kAvx512);
  auto packed = load_with("r1-mini-q8_0", k, true, true);
  auto plain = load_with("r1-mini-q8_0", k, false, true);
  ASSERT_TRUE(packed && plain);
  const LayerWeights& l = packed->weights().layers[1];
  EXPECT_EQ(l.attn.wq_b.type, GgmlType::Q8_0_R16);
  EXPECT_EQ(l.attn.wo.type, GgmlType::Q8_0_R16);
  EXPECT_EQ(l.moe.w1.type, GgmlType::Q8_0_R16);
  EXPECT_EQ(l.moe.w2.type, GgmlType::Q8_0_R16);
  EXPECT_EQ(l.attn.attn_norm.type, GgmlType::F32);
  EXPECT_EQ(plain->weights().layers[1].attn.wq_b.type, GgmlType::Q8_0);
  // Rows of the embedding table are read one by one: never packed.
  EXPECT_EQ(packed->weights().token_embd.type, plain->weights().token_embd.type);
  // 4113 output rows are not whole groups of 16: left as the file has them.
  EXPECT_EQ(packed->weights().output.type, GgmlType::Q8_0);
}

TEST(PackWeights, Avx512PacksTheKQuantsOfAQ4_K_MFile) {
  if (!isa_supported(Isa::kAvx512)) GTEST_SKIP() << "no AVX-512 on this CPU: nothing is packed";
  auto packed = load_with("r1-mini-q4_k_m", kernel_table(Isa::kAvx512), true, true);
  ASSERT_TRUE(packed);
  int q4 = 0, q6 = 0;
  for (const LayerWeights& l : packed->weights().layers) {
    for (const TensorView* v : {&l.attn.wq_b, &l.attn.wo, &l.moe.w1, &l.moe.w2, &l.moe.w3, &l.ffn.w1, &l.ffn.w2}) {
      EXPECT_NE(v->type, GgmlType::Q4_K);  // every Q4_K matrix here has whole groups
      q4 += v->type == GgmlType::Q4_K_R16;
      q6 += v->type == GgmlType::Q6_K_R16;
    }
  }
  EXPECT_GT(q4, 0);
  EXPECT_GT(q6, 0);
}

TEST(PackWeights, InPlaceAndCopiedPackingGiveTheSameBits) {
  if (!isa_supported(Isa::kAvx512)) GTEST_SKIP() << "no AVX-512 on this CPU: nothing is packed";
  const KernelTable& k = kernel_table(Isa::kAvx512);
  for (const char* name : {"r1-mini-q8_0", "r1-mini-legacy-kvb-q8_0", "r1-mini-q4_k_m"}) {
    auto copied = load_with(name, k, true, /*mmap=*/true);
    auto in_place = load_with(name, k, true, /*mmap=*/false);
    ASSERT_TRUE(copied && in_place);
    const std::vector<float> a = prompt_logits(*copied), b = prompt_logits(*in_place);
    ASSERT_EQ(a.size(), b.size());
    EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)), 0) << name;
  }
}

TEST(PackWeights, PackedLogitsStayCloseToTheFileLayout) {
  if (!isa_supported(Isa::kAvx512)) GTEST_SKIP() << "no AVX-512 on this CPU: nothing is packed";
  const KernelTable& k = kernel_table(Isa::kAvx512);
  for (const std::string& name : fixture_models()) {
    auto packed = load_with(name, k, true, true);
    auto plain = load_with(name, k, false, true);
    ASSERT_TRUE(packed && plain);
    const std::vector<float> a = prompt_logits(*packed), b = prompt_logits(*plain);
    ASSERT_EQ(a.size(), b.size());
    double max_diff = 0, max_abs = 0;
    for (size_t i = 0; i < a.size(); ++i) {
      max_diff = std::max(max_diff, static_cast<double>(std::fabs(a[i] - b[i])));
      max_abs = std::max(max_abs, static_cast<double>(std::fabs(b[i])));
    }
    // Different but equally exact arithmetic (f32 activation scales, other sum order).
    EXPECT_LT(max_diff, 0.02 * max_abs) << name;
  }
}

TEST(PackWeights, TablesWithoutPackedKernelsLeaveWeightsAsTheFileHasThem) {
  for (Isa isa : {Isa::kScalar, Isa::kAvx2}) {
    if (!isa_supported(isa)) continue;
    auto m = load_with("r1-mini-q8_0", kernel_table(isa), true, true);
    ASSERT_TRUE(m);
    EXPECT_EQ(m->weights().layers[1].moe.w1.type, GgmlType::Q8_0) << isa_name(isa);
  }
}

}  // namespace
}  // namespace moe::testing
