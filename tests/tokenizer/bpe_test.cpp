// BPE merge order, vocabulary validation, the byte map and the Unicode classes, on small
// hand-made vocabularies.
#include <chrono>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tokenizer/byte_map.h"
#include "tokenizer/tokenizer.h"
#include "tokenizer/unicode.h"

namespace moe {
namespace {

// 256 byte tokens (ids 0..255, spelled through the byte map), then `extra` tokens, with
// `merges` in rank order, plus a control token "<s>" and a user-defined token "<u>".
VocabData tiny_vocab(const std::vector<std::string>& extra, const std::vector<std::string>& merges) {
  const ByteMap map;
  VocabData d;
  for (int b = 0; b < 256; ++b) d.tokens.push_back(map.encode(std::string(1, char(b))));
  for (const std::string& t : extra) d.tokens.push_back(t);
  d.token_types.assign(d.tokens.size(), 1);
  d.tokens.push_back("<s>");
  d.token_types.push_back(3);
  d.tokens.push_back("<u>");
  d.token_types.push_back(4);
  d.merges = merges;
  d.bos_id = static_cast<TokenId>(d.tokens.size()) - 2;
  d.add_bos = true;
  return d;
}

Tokenizer make(const VocabData& d) {
  Result<Tokenizer> t = Tokenizer::create(d);
  EXPECT_TRUE(t.is_ok()) << t.status().message();
  return std::move(t).value();
}

TEST(Bpe, LowestRankMergesFirst) {
  // ids: 256 "ab", 257 "bc", 258 "abc"
  const Tokenizer t = make(tiny_vocab({"ab", "bc", "abc"}, {"a b", "b c", "ab c"}));
  EXPECT_EQ(t.encode("abc", false), std::vector<TokenId>{258});
  const Tokenizer u = make(tiny_vocab({"ab", "bc", "abc"}, {"b c", "a b", "ab c"}));
  EXPECT_EQ(u.encode("abc", false), (std::vector<TokenId>{'a', 257}));
}

TEST(Bpe, ScratchMovesBetweenTokenizers) {
  const Tokenizer t = make(tiny_vocab({"ab", "bc", "abc"}, {"a b", "b c", "ab c"}));
  const Tokenizer u = make(tiny_vocab({"ab", "bc", "abc"}, {"b c", "a b", "ab c"}));
  EncodeScratch scratch;
  std::vector<TokenId> a, b;
  t.encode("abc", EncodeOptions{}, scratch, a);
  u.encode("abc", EncodeOptions{}, scratch, b);  // must not reuse t's cached "abc"
  EXPECT_EQ(a, std::vector<TokenId>{258});
  EXPECT_EQ(b, (std::vector<TokenId>{'a', 257}));
}

TEST(Bpe, EqualRanksMergeLeftmostFirst) {
  const Tokenizer t = make(tiny_vocab({"aa", "aaaa"}, {"a a", "aa aa"}));
  EXPECT_EQ(t.encode("aaa", false), (std::vector<TokenId>{256, 'a'}));
  EXPECT_EQ(t.encode("aaaa", false), std::vector<TokenId>{257});
  EXPECT_EQ(t.encode("aaaaa", false), (std::vector<TokenId>{257, 'a'}));
}

TEST(Bpe, SpaceIsSpelledThroughTheByteMap) {
  const Tokenizer t = make(tiny_vocab({"Ġa", "Ġab"}, {"Ġ a", "Ġa b"}));
  EXPECT_EQ(t.encode(" ab", false), std::vector<TokenId>{257});
  EXPECT_EQ(t.decode(std::vector<TokenId>{257}), " ab");
  EXPECT_EQ(t.encode("x ab", true), (std::vector<TokenId>{t.bos_id(), 'x', 257}));
}

TEST(Bpe, LongWordIsFastAndExact) {
  const Tokenizer t = make(tiny_vocab({"aa", "aaaa"}, {"a a", "aa aa"}));
  const std::string word(1 << 18, 'a');  // one 256 KiB piece: no caching, heap merging
  const auto t0 = std::chrono::steady_clock::now();
  const std::vector<TokenId> ids = t.encode(word, false);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(ids.size(), size_t(1 << 16));
  for (TokenId id : ids) ASSERT_EQ(id, 257);
  // A generous bound (sanitizer builds included): quadratic merging would take hours.
  EXPECT_LT(seconds, 60.0);
}

TEST(Bpe, CacheIsBounded) {
  BpeCache cache(64);
  const TokenId ids[2] = {1, 2};
  for (int i = 0; i < 1000; ++i) {
    const std::string w = std::string("w").append(std::to_string(i));
    cache.insert(w, std::hash<std::string_view>()(w), ids, 2);
    EXPECT_LE(cache.size(), 64u);
  }
  std::vector<TokenId> out;
  const std::string last = "w999";
  EXPECT_TRUE(cache.lookup(last, std::hash<std::string_view>()(last), out));
  EXPECT_EQ(out, (std::vector<TokenId>{1, 2}));
  const std::string gone = "w0";
  EXPECT_FALSE(cache.lookup(gone, std::hash<std::string_view>()(gone), out));
}

TEST(Bpe, SpecialTokensInATinyVocab) {
  const Tokenizer t = make(tiny_vocab({}, {}));
  const TokenId s = 256, u = 257;
  EXPECT_EQ(t.encode("x<s>y<u>", false), (std::vector<TokenId>{'x', s, 'y', u}));
  EXPECT_EQ(t.encode("<s>", false, SpecialParsing::kUserDefinedOnly),
            (std::vector<TokenId>{'<', 's', '>'}));
  EXPECT_EQ(t.encode("<u>", false, SpecialParsing::kUserDefinedOnly), std::vector<TokenId>{u});
  EXPECT_EQ(t.encode("<u>", false, SpecialParsing::kNone), (std::vector<TokenId>{'<', 'u', '>'}));
}

TEST(VocabValidation, RejectsBadData) {
  const VocabData good = tiny_vocab({"ab"}, {"a b"});
  ASSERT_TRUE(Tokenizer::create(good).is_ok());
  auto expect_error = [](VocabData d, const std::string& needle) {
    Result<Tokenizer> t = Tokenizer::create(d);
    ASSERT_FALSE(t.is_ok()) << needle;
    EXPECT_NE(t.status().message().find(needle), std::string::npos) << t.status().message();
  };
  VocabData d = good;
  d.model = "llama";
  expect_error(d, "tokenizer.ggml.model");
  d = good;
  d.pre = "qwen2";
  expect_error(d, "tokenizer.ggml.pre");
  d = good;
  d.tokens.clear();
  d.token_types.clear();
  d.merges.clear();
  expect_error(d, "empty");
  d = good;
  d.bos_id = 1 << 20;
  expect_error(d, "bos_token_id");
  d = good;
  d.eos_id = -7;
  expect_error(d, "eos_token_id");
  d = good;
  d.token_types.pop_back();
  expect_error(d, "token_type");
  d = good;
  d.token_types[3] = 9;
  expect_error(d, "token_type[3]");
  d = good;
  d.merges = {"ab"};
  expect_error(d, "merges[0]");
  d = good;
  d.merges = {"a zz"};
  expect_error(d, "not in the vocabulary");
  d = good;
  d.merges = {"a c"};
  expect_error(d, "merged token");
  d = good;
  d.add_bos = true;
  d.bos_id = kNoToken;
  expect_error(d, "add_bos_token");
}

TEST(ByteMap, Gpt2Mapping) {
  const ByteMap map;
  EXPECT_EQ(map.to_code_point(' '), 0x120u);   // Ġ
  EXPECT_EQ(map.to_code_point('\n'), 0x10Au);  // Ċ
  EXPECT_EQ(map.to_code_point('a'), uint32_t('a'));
  EXPECT_EQ(map.to_code_point(0xAD), 0x143u);  // the last remapped byte
  for (int b = 0; b < 256; ++b) EXPECT_EQ(map.to_byte(map.to_code_point(uint8_t(b))), b);
  EXPECT_EQ(map.to_byte(0x20), -1);
  std::string all;
  for (int b = 0; b < 256; ++b) all.push_back(char(b));
  std::string back;
  EXPECT_TRUE(map.decode(map.encode(all), back));
  EXPECT_EQ(back, all);
  back.clear();
  EXPECT_FALSE(map.decode("x\xe4\xb8\xad", back));  // 中 spells no byte: copied through
  EXPECT_EQ(back, "x\xe4\xb8\xad");
}

TEST(Unicode, Classes) {
  EXPECT_EQ(unicode_class('a'), UnicodeClass::kLetter);
  EXPECT_EQ(unicode_class(0x4E2D), UnicodeClass::kLetter);     // 中
  EXPECT_EQ(unicode_class(0x0301), UnicodeClass::kMark);       // combining acute
  EXPECT_EQ(unicode_class(0x0663), UnicodeClass::kNumber);     // Arabic-Indic 3
  EXPECT_EQ(unicode_class(0x00BD), UnicodeClass::kNumber);     // ½
  EXPECT_EQ(unicode_class(0x3002), UnicodeClass::kPunctuation);  // 。
  EXPECT_EQ(unicode_class(0x20AC), UnicodeClass::kSymbol);     // €
  EXPECT_EQ(unicode_class(0x1F680), UnicodeClass::kSymbol);    // 🚀
  EXPECT_EQ(unicode_class(0x00A0), UnicodeClass::kSeparator);
  EXPECT_EQ(unicode_class(0x200D), UnicodeClass::kOther);      // ZWJ (Cf)
  EXPECT_EQ(unicode_class(0x10FFFF), UnicodeClass::kOther);
  EXPECT_EQ(unicode_class(0x110000), UnicodeClass::kNone);
  EXPECT_TRUE(unicode_is_space(0x3000));
  EXPECT_TRUE(unicode_is_space(0x85));
  EXPECT_FALSE(unicode_is_space(0x200B));  // zero width space is not White_Space
  EXPECT_EQ(unicode_flags('\n'), kCharSpace | kCharNewline);
  EXPECT_EQ(unicode_flags('$'), kCharSymbol);
  EXPECT_EQ(unicode_flags('_'), kCharPunctuation);
}

TEST(Unicode, Utf8Decode) {
  EXPECT_EQ(utf8_decode("\xe4\xb8\xad", 0).cp, 0x4E2Du);
  EXPECT_EQ(utf8_decode("\xf0\x9f\x9a\x80", 0).len, 4u);
  for (const char* bad : {"\x80", "\xc0\x80", "\xe0\x80\x80", "\xed\xa0\x80", "\xf4\x90\x80\x80",
                          "\xf8\x88\x80\x80\x80", "\xe4\xb8"}) {
    const Utf8Char c = utf8_decode(bad, 0);
    EXPECT_EQ(c.cp, kInvalidCodePoint) << bad;
    EXPECT_EQ(c.len, 1u);
  }
}

}  // namespace
}  // namespace moe
