// Load-time repacking (model/pack_weights.h): which weights get packed, that packing in
// place (--no-mmap) and into a copy (mmap) give the same bits, that packed logits stay
// close to the file layout's, and the output matrix packed with a tail of file-layout rows.
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

std::vector<float> prompt_logits(const Model& model, int threads = 2) {
  ThreadPool pool(threads);
  const std::vector<int32_t> prompt = {1, 17, 300, 4000, 52, 9, 77, 1024};
  auto kv = KvCache::create(model.args(), KvCacheType::kF16, static_cast<int64_t>(prompt.size()), 1);
  Forward forward(model, pool);
  std::vector<BatchToken> batch;
  for (size_t j = 0; j < prompt.size(); ++j) batch.push_back({prompt[j], static_cast<int32_t>(j), 0, true});
  Logits logits;
  EXPECT_TRUE(forward.run(batch, *kv, logits).is_ok());
  return logits.values;
}

// The SIMD tables (AVX2, AVX-512) repack into the same layouts; each runs where the CPU has it.
class PackWeightsSimd : public ::testing::TestWithParam<Isa> {
 protected:
  void SetUp() override {
    if (!isa_supported(GetParam())) GTEST_SKIP() << isa_name(GetParam()) << " is not supported by this CPU";
  }
  const KernelTable& table() const { return kernel_table(GetParam()); }
};

TEST_P(PackWeightsSimd, PacksQ8_0MatricesAndKeepsTheRest) {
  const KernelTable& k = table();
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
  // 4113 output rows: 257 whole groups packed, the last row left as the file has it.
  const TensorView& out = packed->weights().output;
  const TensorView& file_out = plain->weights().output;
  EXPECT_EQ(out.type, GgmlType::Q8_0_R16);
  EXPECT_EQ(out.rows(), 4113);
  EXPECT_EQ(out.packed_rows(), 4112);
  EXPECT_EQ(out.tail_rows, 1);
  EXPECT_EQ(file_out.type, GgmlType::Q8_0);
  EXPECT_EQ(file_out.tail_rows, 0);
  EXPECT_EQ(l.attn.wq_b.tail_rows, 0);
  EXPECT_EQ(std::memcmp(out.row(4112), file_out.row(4112), out.row_stride), 0);
  EXPECT_NE(std::memcmp(out.row(0), file_out.row(0), out.row_stride), 0);
}

TEST_P(PackWeightsSimd, TheOutputTailRowsKeepTheirBytesInPlaceAndInTheCopy) {
  const KernelTable& k = table();
  for (const char* name : {"r1-mini-q8_0", "r1-mini-q4_k_m"}) {
    auto plain = load_with(name, k, false, true);
    auto copied = load_with(name, k, true, /*mmap=*/true);
    auto in_place = load_with(name, k, true, /*mmap=*/false);
    ASSERT_TRUE(plain && copied && in_place);
    const TensorView& file_out = plain->weights().output;
    for (const Model* m : {copied.get(), in_place.get()}) {
      const TensorView& out = m->weights().output;
      EXPECT_EQ(out.type, k.packing[static_cast<uint32_t>(file_out.type)].packed) << name;
      ASSERT_EQ(out.tail_rows, file_out.rows() % 16) << name;
      ASSERT_GT(out.tail_rows, 0) << name;
      const size_t tail_bytes = out.row_stride * static_cast<size_t>(out.tail_rows);
      EXPECT_EQ(std::memcmp(out.row(out.packed_rows()), file_out.row(out.packed_rows()), tail_bytes), 0) << name;
    }
  }
}

TEST_P(PackWeightsSimd, PackedLogitsDoNotDependOnTheThreadCount) {
  const KernelTable& k = table();
  for (const char* name : {"r1-mini-q8_0", "r1-mini-q4_k_m"}) {
    auto packed = load_with(name, k, true, true);
    ASSERT_TRUE(packed);
    ASSERT_GT(packed->weights().output.tail_rows, 0) << name;
    const std::vector<float> one = prompt_logits(*packed, 1);
    for (int threads : {2, 3}) {
      const std::vector<float> many = prompt_logits(*packed, threads);
      ASSERT_EQ(one.size(), many.size());
      EXPECT_EQ(std::memcmp(one.data(), many.data(), one.size() * sizeof(float)), 0) << name << " " << threads;
    }
  }
}

TEST_P(PackWeightsSimd, PacksTheKQuantsOfAQ4_K_MFile) {
  auto packed = load_with("r1-mini-q4_k_m", table(), true, true);
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
  // The Q6_K output: whole groups packed, one tail row in the file layout.
  EXPECT_EQ(packed->weights().output.type, GgmlType::Q6_K_R16);
  EXPECT_EQ(packed->weights().output.tail_rows, 1);
  // attn_k_b is Q5_0 in this mix (rows of 128): converted to Q8_0_R16, with its larger rows.
  auto plain = load_with("r1-mini-q4_k_m", table(), false, true);
  ASSERT_TRUE(plain);
  const TensorView& kb = packed->weights().layers[1].attn.wk_b;
  const TensorView& kb_file = plain->weights().layers[1].attn.wk_b;
  ASSERT_EQ(kb_file.type, GgmlType::Q5_0);
  EXPECT_EQ(kb.type, GgmlType::Q8_0_R16);
  EXPECT_EQ(kb.row_stride, row_bytes(GgmlType::Q8_0, kb.cols()));
  EXPECT_EQ(kb.matrix_stride, kb.row_stride * static_cast<size_t>(kb.rows()));
  EXPECT_EQ(kb.ne[2], kb_file.ne[2]);
}

TEST_P(PackWeightsSimd, InPlaceAndCopiedPackingGiveTheSameBits) {
  const KernelTable& k = table();
  for (const char* name : {"r1-mini-q8_0", "r1-mini-legacy-kvb-q8_0", "r1-mini-q4_k_m"}) {
    auto copied = load_with(name, k, true, /*mmap=*/true);
    auto in_place = load_with(name, k, true, /*mmap=*/false);
    ASSERT_TRUE(copied && in_place);
    const std::vector<float> a = prompt_logits(*copied), b = prompt_logits(*in_place);
    ASSERT_EQ(a.size(), b.size());
    EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)), 0) << name;
  }
}

TEST_P(PackWeightsSimd, PackedLogitsStayCloseToTheFileLayout) {
  const KernelTable& k = table();
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

TEST(PackWeights, TheScalarTableLeavesWeightsAsTheFileHasThem) {
  auto m = load_with("r1-mini-q8_0", kernel_table(Isa::kScalar), true, true);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->weights().layers[1].moe.w1.type, GgmlType::Q8_0);
}

INSTANTIATE_TEST_SUITE_P(Tables, PackWeightsSimd, ::testing::Values(Isa::kAvx2, Isa::kAvx512),
                         [](const ::testing::TestParamInfo<Isa>& info) { return std::string(isa_name(info.param)); });

}  // namespace
}  // namespace moe::testing
