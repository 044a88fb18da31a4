// read_vocab_data / load_tokenizer on GGUF metadata: the real R1 file, and hand-built
// metadata with missing or mistyped keys.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tokenizer/byte_map.h"
#include "tokenizer_test_util.h"

namespace moe {
namespace {

GgufValue str(std::string_view s) {
  GgufValue v;
  v.type = GgufType::STRING;
  v.str = s;
  return v;
}

GgufValue u32(uint64_t x) {
  GgufValue v;
  v.type = GgufType::UINT32;
  v.u = x;
  return v;
}

GgufValue boolean(bool b) {
  GgufValue v;
  v.type = GgufType::BOOL;
  v.u = b;
  return v;
}

GgufValue array(GgufType elem, std::vector<GgufValue> items) {
  GgufValue v;
  v.type = GgufType::ARRAY;
  v.elem_type = elem;
  v.items = std::move(items);
  return v;
}

// A byte-level vocabulary of the 256 byte tokens plus "ab", as GGUF metadata. The strings
// live in `storage` (GgufValue holds views).
GgufMetadata tiny_metadata(std::vector<std::string>& storage) {
  const ByteMap map;
  storage.clear();
  for (int b = 0; b < 256; ++b) storage.push_back(map.encode(std::string(1, char(b))));
  storage.push_back("ab");
  storage.push_back("a b");
  std::vector<GgufValue> tokens, types;
  for (size_t i = 0; i + 1 < storage.size(); ++i) {
    tokens.push_back(str(storage[i]));
    GgufValue t;
    t.type = GgufType::INT32;
    t.i = 1;
    types.push_back(t);
  }
  GgufMetadata md;
  md.set("tokenizer.ggml.model", str("gpt2"));
  md.set("tokenizer.ggml.pre", str("deepseek-llm"));
  md.set("tokenizer.ggml.tokens", array(GgufType::STRING, tokens));
  md.set("tokenizer.ggml.token_type", array(GgufType::INT32, types));
  md.set("tokenizer.ggml.merges", array(GgufType::STRING, {str(storage.back())}));
  md.set("tokenizer.ggml.bos_token_id", u32(0));
  md.set("tokenizer.ggml.add_bos_token", boolean(false));
  return md;
}

TEST(GgufVocab, ReadsR1Metadata) {
  Result<GgufModel> model = GgufModel::open(testing::test_data_path("models/deepseek-r1-vocab.gguf"));
  ASSERT_TRUE(model.is_ok()) << model.status().message();
  Result<VocabData> data = read_vocab_data(model->metadata());
  ASSERT_TRUE(data.is_ok()) << data.status().message();
  EXPECT_EQ(data->model, "gpt2");
  EXPECT_EQ(data->pre, "deepseek-v3");
  EXPECT_EQ(data->tokens.size(), 129280u);
  EXPECT_EQ(data->token_types.size(), 129280u);
  EXPECT_EQ(data->merges.size(), 127741u);
  EXPECT_EQ(data->merges[0], "Ġ t");
  EXPECT_EQ(data->bos_id, 0);
  EXPECT_EQ(data->eos_id, 1);
  EXPECT_EQ(data->pad_id, 1);
  EXPECT_TRUE(data->add_bos);
  EXPECT_FALSE(data->add_eos);
}

TEST(GgufVocab, TinyMetadataLoads) {
  std::vector<std::string> storage;
  const GgufMetadata md = tiny_metadata(storage);
  Result<Tokenizer> t = load_tokenizer(md);
  ASSERT_TRUE(t.is_ok()) << t.status().message();
  EXPECT_EQ(t->pre_tokenizer(), PreTokenizerKind::kDeepSeekLlm);
  EXPECT_FALSE(t->add_bos_token());
  EXPECT_EQ(t->encode("ab", false), std::vector<TokenId>{256});
}

// Kimi-K2 and Moonlight files name the kimi-k2 pre-tokenizer.
TEST(GgufVocab, KimiPreTokenizerLoads) {
  std::vector<std::string> storage;
  GgufMetadata md = tiny_metadata(storage);
  md.set("tokenizer.ggml.pre", str("kimi-k2"));
  Result<Tokenizer> t = load_tokenizer(md);
  ASSERT_TRUE(t.is_ok()) << t.status().message();
  EXPECT_EQ(t->pre_tokenizer(), PreTokenizerKind::kKimiK2);
  // "中" (e4 b8 ad) is a piece of its own; "ab" after it merges
  EXPECT_EQ(t->encode("\xe4\xb8\xad" "ab", false), (std::vector<TokenId>{0xe4, 0xb8, 0xad, 256}));
  // " ab" is one piece (the space is the word's optional first character): no merge
  // crosses into it from the left, and "ab" inside it still merges
  EXPECT_EQ(t->encode("x ab", false), (std::vector<TokenId>{'x', ' ', 256}));
  md.set("tokenizer.ggml.pre", str("kimi-k3"));
  Result<Tokenizer> unknown = load_tokenizer(md);
  ASSERT_FALSE(unknown.is_ok());
  EXPECT_NE(unknown.status().message().find("kimi-k3"), std::string::npos);
}

TEST(GgufVocab, MissingOrMistypedKeysAreErrors) {
  std::vector<std::string> storage;
  auto expect_error = [](const GgufMetadata& md, const std::string& needle) {
    Result<Tokenizer> t = load_tokenizer(md);
    ASSERT_FALSE(t.is_ok()) << needle;
    EXPECT_NE(t.status().message().find(needle), std::string::npos) << t.status().message();
  };
  for (const char* key : {"tokenizer.ggml.model", "tokenizer.ggml.pre", "tokenizer.ggml.tokens",
                          "tokenizer.ggml.merges"}) {
    GgufMetadata md = tiny_metadata(storage);
    md.set(key, u32(3));  // wrong type
    expect_error(md, key);
  }
  GgufMetadata md = tiny_metadata(storage);
  md.set("tokenizer.ggml.bos_token_id", str("zero"));
  expect_error(md, "bos_token_id");
  md = tiny_metadata(storage);
  md.set("tokenizer.ggml.bos_token_id", u32(1u << 31));
  expect_error(md, "bos_token_id");
  md = tiny_metadata(storage);
  md.set("tokenizer.ggml.token_type", array(GgufType::UINT32, {u32(1), u32(99)}));
  expect_error(md, "token_type");
  md = tiny_metadata(storage);
  md.set("tokenizer.ggml.add_bos_token", u32(1));
  expect_error(md, "add_bos_token");
  md = tiny_metadata(storage);
  md.set("tokenizer.ggml.pre", str("falcon"));
  expect_error(md, "falcon");
}

}  // namespace
}  // namespace moe
