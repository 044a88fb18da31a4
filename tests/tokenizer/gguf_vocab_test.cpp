// read_vocab_data / load_tokenizer on GGUF metadata: the real R1 file, and hand-built
// metadata with missing or mistyped keys.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tokenizer/byte_map.h"
#include "tokenizer/reasoning_parser.h"
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
  EXPECT_EQ(t->encode("\xe4\xb8\xad"
                      "ab",
                      false),
            (std::vector<TokenId>{0xe4, 0xb8, 0xad, 256}));
  // " ab" is one piece (the space is the word's optional first character): no merge
  // crosses into it from the left, and "ab" inside it still merges
  EXPECT_EQ(t->encode("x ab", false), (std::vector<TokenId>{'x', ' ', 256}));
  md.set("tokenizer.ggml.pre", str("kimi-k3"));
  Result<Tokenizer> unknown = load_tokenizer(md);
  ASSERT_FALSE(unknown.is_ok());
  EXPECT_NE(unknown.status().message().find("kimi-k3"), std::string::npos);
}

// The tiny vocabulary plus Kimi's control tokens [EOS] (257), <|im_end|> (258) and
// <|tool_calls_section_begin|> (259; or another `section` token), EOS naming [EOS] as Kimi's
// files may.
GgufMetadata kimi_like_metadata(std::vector<std::string>& storage,
                                const char* section = "<|tool_calls_section_begin|>") {
  GgufMetadata md = tiny_metadata(storage);
  std::vector<GgufValue> tokens = md.find("tokenizer.ggml.tokens")->items;
  std::vector<GgufValue> types = md.find("tokenizer.ggml.token_type")->items;
  for (const char* t : {"[EOS]", "<|im_end|>", section}) {
    tokens.push_back(str(t));  // literals outlive the metadata
    GgufValue control;
    control.type = GgufType::INT32;
    control.i = 3;
    types.push_back(control);
  }
  md.set("tokenizer.ggml.tokens", array(GgufType::STRING, tokens));
  md.set("tokenizer.ggml.token_type", array(GgufType::INT32, types));
  md.set("tokenizer.ggml.eos_token_id", u32(257));
  return md;
}

TEST(GgufVocab, EndOfGenerationTokens) {
  std::vector<std::string> storage;
  GgufMetadata md = kimi_like_metadata(storage);
  Result<Tokenizer> t = load_tokenizer(md);
  ASSERT_TRUE(t.is_ok()) << t.status().message();
  EXPECT_TRUE(t->ends_generation(257));  // EOS
  EXPECT_TRUE(t->ends_generation(258));  // <|im_end|>, a control token
  EXPECT_FALSE(t->ends_generation(259));
  EXPECT_FALSE(t->ends_generation('a'));
  EXPECT_EQ(tool_call_syntax_of(*t), ToolCallSyntax::kKimi);
  {  // a vocabulary with the singular section marker only is Kimi's too; another is not
    std::vector<std::string> s2, s3;
    Result<Tokenizer> singular =
        load_tokenizer(kimi_like_metadata(s2, "<|tool_call_section_begin|>"));
    Result<Tokenizer> other = load_tokenizer(kimi_like_metadata(s3, "<|tool_section|>"));
    ASSERT_TRUE(singular.is_ok() && other.is_ok());
    EXPECT_EQ(tool_call_syntax_of(*singular), ToolCallSyntax::kKimi);
    EXPECT_EQ(tool_call_syntax_of(*other), ToolCallSyntax::kDeepSeek);
  }
  // the metadata's end-of-turn token counts too; an id outside the vocabulary is an error
  md.set("tokenizer.ggml.eot_token_id", u32('z'));
  t = load_tokenizer(md);
  ASSERT_TRUE(t.is_ok()) << t.status().message();
  EXPECT_TRUE(t->ends_generation('z'));
  md.set("tokenizer.ggml.eom_token_id", u32(100000));
  EXPECT_FALSE(load_tokenizer(md).is_ok());
  // R1: EOS alone, and DeepSeek's tool-call syntax
  const Tokenizer& r1 = testing::r1_tokenizer();
  EXPECT_TRUE(r1.ends_generation(r1.eos_id()));
  int ends = 0;
  for (size_t id = 0; id < r1.n_vocab(); ++id) ends += r1.ends_generation(static_cast<TokenId>(id));
  EXPECT_EQ(ends, 1);
  EXPECT_EQ(tool_call_syntax_of(r1), ToolCallSyntax::kDeepSeek);
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
