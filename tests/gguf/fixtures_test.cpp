// The fixture models in tests/data/models parse, and carry what the converter wrote.
#include <gtest/gtest.h>

#include <cctype>
#include <cmath>
#include <cstring>
#include <filesystem>

#include "gguf_test_util.h"

namespace moe {
namespace {

using gguf_test::model_path;

struct Fixture {
  const char* file;
  size_t n_tensors;
  size_t n_kv;
};

// Counts read from the headers with an independent script when the fixtures were added.
constexpr Fixture kFixtures[] = {
    {"deepseek-r1-vocab.gguf", 0, 13},
    {"r1-mini-bf16.gguf", 52, 44},
    {"r1-mini-legacy-kvb-q4_k_m.gguf", 49, 43},
    {"r1-mini-legacy-kvb-q8_0.gguf", 49, 43},
    {"r1-mini-q4_k_m.gguf", 52, 45},
    {"r1-mini-q8_0.gguf", 52, 45},
    {"v2lite-mini-q4_k_m.gguf", 44, 37},
    {"v2lite-mini-q8_0.gguf", 44, 37},
};

class GgufFixtureTest : public ::testing::TestWithParam<Fixture> {};

TEST_P(GgufFixtureTest, ParsesAndValidates) {
  const Fixture& f = GetParam();
  const std::string path = model_path(f.file);
  auto r = GgufModel::open(path);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  const GgufModel& m = r.value();
  EXPECT_EQ(m.version(), 3u);
  EXPECT_EQ(m.files().size(), 1u);
  EXPECT_EQ(m.tensors().size(), f.n_tensors);
  EXPECT_EQ(m.metadata().entries().size(), f.n_kv);
  EXPECT_EQ(m.file_bytes(), std::filesystem::file_size(path));
  EXPECT_EQ(*m.metadata().get_string("general.architecture").value(), "deepseek2");
  EXPECT_EQ(*m.metadata().get_string("tokenizer.ggml.model").value(), "gpt2");

  // Every tensor lies in the data section, is findable by name, and sizes add up.
  const GgufFile& file = m.files().front();
  EXPECT_LE(file.data_offset, m.file_bytes());
  if (!m.tensors().empty()) {
    EXPECT_EQ(file.data_offset % file.alignment, 0u);
  }
  uint64_t total = 0;
  const uint8_t* data_section = m.tensors().empty() ? nullptr : m.tensors()[0].data - m.tensors()[0].offset;
  for (const TensorInfo& t : m.tensors()) {
    EXPECT_EQ(t.data, data_section + t.offset) << t.name;
    EXPECT_EQ(m.find_tensor(t.name), &t);
    EXPECT_EQ(t.file_index, 0);
    EXPECT_EQ(t.n_bytes, t.row_bytes() * static_cast<uint64_t>(t.n_rows())) << t.name;
    total += t.n_bytes;
  }
  EXPECT_LE(total + file.data_offset, m.file_bytes());
  EXPECT_EQ(m.find_tensor("no.such.tensor"), nullptr);
}

INSTANTIATE_TEST_SUITE_P(AllModels, GgufFixtureTest, ::testing::ValuesIn(kFixtures),
                         [](const ::testing::TestParamInfo<Fixture>& info) {
                           std::string name = info.param.file;
                           for (char& c : name) {
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return name;
                         });

TEST(GgufFixtures, R1MiniQ8Shapes) {
  auto r = GgufModel::open(model_path("r1-mini-q8_0.gguf"));
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  const GgufModel& m = r.value();

  const TensorInfo* norm = m.find_tensor("blk.0.attn_norm.weight");
  ASSERT_NE(norm, nullptr);
  EXPECT_EQ(norm->type, GgmlType::F32);
  EXPECT_EQ(norm->shape_string(), "[256]");
  EXPECT_EQ(norm->n_bytes, 256u * 4);
  // RMSNorm weights of a randomly initialized model: finite, and not all zero. A misplaced
  // data pointer would read quantized bytes or padding here.
  std::vector<float> w(256);
  std::memcpy(w.data(), norm->data, norm->n_bytes);
  bool any_nonzero = false;
  for (float x : w) {
    EXPECT_TRUE(std::isfinite(x));
    any_nonzero |= x != 0.0f;
  }
  EXPECT_TRUE(any_nonzero);

  const TensorInfo* k_b = m.find_tensor("blk.0.attn_k_b.weight");
  ASSERT_NE(k_b, nullptr);
  EXPECT_EQ(k_b->type, GgmlType::Q8_0);
  EXPECT_EQ(k_b->shape_string(), "[64, 256, 8]");
  EXPECT_EQ(k_b->n_bytes, 64u / 32 * 34 * 256 * 8);

  const TensorInfo* embd = m.find_tensor("token_embd.weight");
  ASSERT_NE(embd, nullptr);
  EXPECT_EQ(embd->shape_string(), "[256, 4113]");
  EXPECT_EQ(embd->offset, 1119776u);

  EXPECT_EQ(*m.metadata().get_uint("deepseek2.block_count").value(), 3u);
  EXPECT_EQ(*m.metadata().get_uint("deepseek2.expert_count").value(), 16u);
  EXPECT_EQ(*m.metadata().get_float("deepseek2.rope.freq_base").value(), 10000.0);
  EXPECT_EQ(*m.metadata().get_string("deepseek2.rope.scaling.type").value(), "yarn");
  EXPECT_TRUE(*m.metadata().get_bool("deepseek2.expert_weights_norm").value());
}

TEST(GgufFixtures, V2LiteQ4KMTypes) {
  auto r = GgufModel::open(model_path("v2lite-mini-q4_k_m.gguf"));
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  const GgufModel& m = r.value();
  EXPECT_EQ(m.find_tensor("output.weight")->type, GgmlType::Q6_K);
  EXPECT_EQ(m.find_tensor("token_embd.weight")->type, GgmlType::Q4_K);
  EXPECT_EQ(m.find_tensor("blk.0.attn_k_b.weight")->type, GgmlType::Q5_0);
  EXPECT_EQ(m.find_tensor("blk.0.attn_k_b.weight")->shape_string(), "[64, 256, 4]");
  EXPECT_EQ(*m.metadata().get_uint("deepseek2.attention.q_lora_rank").value(), 0u);
}

TEST(GgufFixtures, VocabTokens) {
  auto r = GgufModel::open(model_path("deepseek-r1-vocab.gguf"));
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  const GgufMetadata& md = r->metadata();
  auto tokens = md.get_array("tokenizer.ggml.tokens", GgufType::STRING);
  ASSERT_TRUE(tokens.is_ok()) << tokens.status().message();
  ASSERT_NE(tokens.value(), nullptr);
  ASSERT_EQ(tokens.value()->size(), 129280u);
  EXPECT_EQ((*tokens.value())[0].str, "<｜begin▁of▁sentence｜>");
  EXPECT_EQ((*tokens.value())[1].str, "<｜end▁of▁sentence｜>");
  auto types = md.get_array("tokenizer.ggml.token_type", GgufType::INT32);
  ASSERT_TRUE(types.is_ok()) << types.status().message();
  EXPECT_EQ(types.value()->size(), 129280u);
  EXPECT_EQ((*types.value())[0].i, 3);
  auto merges = md.get_array("tokenizer.ggml.merges", GgufType::STRING);
  ASSERT_TRUE(merges.is_ok());
  EXPECT_EQ(merges.value()->size(), 127741u);
  EXPECT_EQ((*merges.value())[0].str, "Ġ t");
  EXPECT_EQ(*md.get_uint("tokenizer.ggml.bos_token_id").value(), 0u);
  EXPECT_EQ(*md.get_uint("tokenizer.ggml.eos_token_id").value(), 1u);
  EXPECT_TRUE(*md.get_bool("tokenizer.ggml.add_bos_token").value());
  EXPECT_FALSE(*md.get_bool("tokenizer.ggml.add_eos_token").value());
  EXPECT_EQ(md.get_string("tokenizer.chat_template").value()->substr(0, 6), "{% if ");
}

TEST(GgufFixtures, MissingFileNamesThePath) {
  const std::string path = model_path("no-such-model.gguf");
  auto r = GgufModel::open(path);
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find(path), std::string::npos) << r.status().message();
}

}  // namespace
}  // namespace moe
