// Pre-tokenizer splits, each derived by hand from the regex steps in pretokenizer.h, and
// kimi-k2's against its pattern run by another regex engine (tests/data).
#include "tokenizer/pretokenizer.h"

#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tokenizer_test_util.h"

namespace moe {
namespace {

using Pieces = std::vector<std::string>;

Pieces v3(const std::string& text) { return pre_tokenize(PreTokenizerKind::kDeepSeekV3, text); }
Pieces llm(const std::string& text) { return pre_tokenize(PreTokenizerKind::kDeepSeekLlm, text); }
Pieces coder(const std::string& text) {
  return pre_tokenize(PreTokenizerKind::kDeepSeekCoder, text);
}
Pieces kimi(const std::string& text) {
  return pre_tokenize(PreTokenizerKind::kKimiK2, text);
}

// Overlong, surrogate and out-of-range sequences: the pieces must give back every byte.
const std::string kNastyUtf8 = "\xc0\x80 \xed\xa0\x80 \xf4\x90\x80\x80 ok";
std::string joined(const Pieces& pieces) {
  std::string out;
  for (const std::string& p : pieces) out += p;
  return out;
}

TEST(PreTokenizerNames, FromGguf) {
  EXPECT_EQ(*pre_tokenizer_from_name("deepseek-v3"), PreTokenizerKind::kDeepSeekV3);
  EXPECT_EQ(*pre_tokenizer_from_name("deepseek-llm"), PreTokenizerKind::kDeepSeekLlm);
  EXPECT_EQ(*pre_tokenizer_from_name("deepseek-coder"), PreTokenizerKind::kDeepSeekCoder);
  EXPECT_EQ(*pre_tokenizer_from_name("kimi-k2"), PreTokenizerKind::kKimiK2);
  EXPECT_EQ(pre_tokenizer_name(PreTokenizerKind::kKimiK2), "kimi-k2");
  EXPECT_FALSE(pre_tokenizer_from_name("llama3").is_ok());
  EXPECT_EQ(pre_tokenizer_name(PreTokenizerKind::kDeepSeekLlm), "deepseek-llm");
}

TEST(PreTokenizerV3, Words) {
  EXPECT_EQ(v3(""), Pieces{});
  EXPECT_EQ(v3("Hello, world!"), (Pieces{"Hello", ",", " world", "!"}));
  EXPECT_EQ(v3("The capital"), (Pieces{"The", " capital"}));
  // ASCII punctuation glued to following ASCII letters (first alternative).
  EXPECT_EQ(v3("don't I've"), (Pieces{"don", "'t", " I", "'ve"}));
  EXPECT_EQ(v3("#hashtag @mention"), (Pieces{"#hashtag", " @", "mention"}));
  EXPECT_EQ(v3("a.b@c.de"), (Pieces{"a", ".b", "@c", ".de"}));
  // Marks continue a letter run; a leading mark may also prefix one.
  EXPECT_EQ(v3("e\u0301t\u00e9"), (Pieces{"e\u0301t\u00e9"}));
  EXPECT_EQ(v3("\u0301abc"), (Pieces{"\u0301abc"}));
  // Any non-letter, non-punctuation, non-symbol character (tab, NBSP) prefixes a word.
  EXPECT_EQ(v3("a\tb\u00a0c"), (Pieces{"a", "\tb", "\u00a0c"}));
  EXPECT_EQ(v3("안녕하세요 세계"), (Pieces{"안녕하세요", " 세계"}));
}

TEST(PreTokenizerV3, Numbers) {
  EXPECT_EQ(v3("1234567890"), (Pieces{"123", "456", "789", "0"}));
  EXPECT_EQ(v3("year 2025-07"), (Pieces{"year", " ", "202", "5", "-", "07"}));
  EXPECT_EQ(v3("abc123def"), (Pieces{"abc", "123", "def"}));
  EXPECT_EQ(v3("$100 50%"), (Pieces{"$", "100", " ", "50", "%"}));
  EXPECT_EQ(v3("x=1+2"), (Pieces{"x", "=", "1", "+", "2"}));
  // Any \p{N}: Arabic-Indic digits, superscripts, vulgar fractions.
  EXPECT_EQ(v3("\u0663\u0664\u0665\u0666"), (Pieces{"\u0663\u0664\u0665", "\u0666"}));
  EXPECT_EQ(v3("\u00bd\u00b2"), (Pieces{"\u00bd\u00b2"}));
}

TEST(PreTokenizerV3, Cjk) {
  EXPECT_EQ(v3("你好，世界！"), (Pieces{"你好", "，", "世界", "！"}));
  EXPECT_EQ(v3("Mixed中文English混合123数字"),
            (Pieces{"Mixed", "中文", "English", "混合", "123", "数字"}));
  EXPECT_EQ(v3("カタカナとひらがな。"), (Pieces{"カタカナとひらがな", "。"}));
  // U+9FA6.. is outside step 2's range: an ordinary letter run there.
  EXPECT_EQ(v3("\u9fa5\u9fa6"), (Pieces{"\u9fa5", "\u9fa6"}));
}

TEST(PreTokenizerV3, Punctuation) {
  EXPECT_EQ(v3("i++; j--;"), (Pieces{"i", "++;", " j", "--;"}));
  EXPECT_EQ(v3("!!! ???"), (Pieces{"!!!", " ???"}));
  EXPECT_EQ(v3("foo.\n\nbar"), (Pieces{"foo", ".\n\n", "bar"}));
  EXPECT_EQ(v3("<div>"), (Pieces{"<div", ">"}));
  EXPECT_EQ(v3("a -> b"), (Pieces{"a", " ->", " b"}));
}

TEST(PreTokenizerV3, Whitespace) {
  EXPECT_EQ(v3(" "), (Pieces{" "}));
  EXPECT_EQ(v3("   "), (Pieces{"   "}));
  EXPECT_EQ(v3("  two"), (Pieces{" ", " two"}));
  EXPECT_EQ(v3("trailing   "), (Pieces{"trailing", "   "}));
  EXPECT_EQ(v3("\n\n\n"), (Pieces{"\n\n\n"}));
  EXPECT_EQ(v3("a\nb"), (Pieces{"a", "\n", "b"}));
  // \s*[\r\n]+ ends after the last newline of a whitespace run.
  EXPECT_EQ(v3("a  \n  x"), (Pieces{"a", "  \n", " ", " x"}));
  EXPECT_EQ(v3("a \n \n\t"), (Pieces{"a", " \n \n", "\t"}));
  EXPECT_EQ(v3("\r\n"), (Pieces{"\r\n"}));
  // \s+(?!\S) leaves the last space for the next word.
  EXPECT_EQ(v3("a \t x"), (Pieces{"a", " \t", " x"}));
  EXPECT_EQ(v3("    if"), (Pieces{"   ", " if"}));
  EXPECT_EQ(v3("x \u3000y"), (Pieces{"x", " ", "\u3000y"}));
  // A single space before punctuation joins it; before a digit it stands alone.
  EXPECT_EQ(v3(" (1)"), (Pieces{" (", "1", ")"}));
}

TEST(PreTokenizerV3, InvalidUtf8IsKeptByteForByte) {
  EXPECT_EQ(v3("a\xff" "b"), (Pieces{"a", "\xff" "b"}));
  EXPECT_EQ(v3("\xe4\xbd"), (Pieces{"\xe4\xbd"}));
  EXPECT_EQ(v3("\x80"), (Pieces{"\x80"}));
  EXPECT_EQ(joined(v3(kNastyUtf8)), kNastyUtf8);
}

TEST(PreTokenizerLlm, Steps) {
  EXPECT_EQ(llm("Hello world\n"), (Pieces{"Hello", " world", "\n"}));
  EXPECT_EQ(llm("x = 12;"), (Pieces{"x", " =", " ", "12", ";"}));
  EXPECT_EQ(llm("hi   "), (Pieces{"hi", "   "}));
  EXPECT_EQ(llm("ab  cd"), (Pieces{"ab", " ", " cd"}));
  EXPECT_EQ(llm("中文abc"), (Pieces{"中文", "abc"}));
  EXPECT_EQ(llm("1234567"), (Pieces{"1234567"}));
  EXPECT_EQ(llm("Ελληνικά"), (Pieces{"Ελληνικά"}));
  EXPECT_EQ(llm("你好，世界"), (Pieces{"你好", "，", "世界"}));
}

TEST(PreTokenizerCoder, Steps) {
  EXPECT_EQ(coder("def f(x):\n  return 1"),
            (Pieces{"def", " f", "(", "x", "):", "\n", " ", " return", " ", "1"}));
  EXPECT_EQ(coder("123"), (Pieces{"1", "2", "3"}));
  EXPECT_EQ(coder("a\r\nb"), (Pieces{"a", "\r", "\n", "b"}));
}

// By hand from the pattern in pretokenizer.h.
TEST(PreTokenizerKimi, Words) {
  EXPECT_EQ(kimi(""), Pieces{});
  EXPECT_EQ(kimi("Hello world's"), (Pieces{"Hello", " world's"}));
  // U*L+: an upper-case run followed by lower case starts a new word at its last capital
  EXPECT_EQ(kimi("HTTPRequest"), (Pieces{"HTTPRequest"}));
  EXPECT_EQ(kimi("parseJSON x"), (Pieces{"parse", "JSON", " x"}));
  EXPECT_EQ(kimi("I'M don'T"), (Pieces{"I'M", " don'T"}));
  // Han is split off letters; kana and hangul are letters like any other
  EXPECT_EQ(kimi("中文abc"), (Pieces{"中文", "abc"}));
  EXPECT_EQ(kimi("ひらがな中"), (Pieces{"ひらがな", "中"}));
  EXPECT_EQ(kimi(" 中"), (Pieces{" ", "中"}));
  EXPECT_EQ(kimi("12345"), (Pieces{"123", "45"}));
  EXPECT_EQ(kimi("a, b"), (Pieces{"a", ",", " b"}));
  EXPECT_EQ(kimi("x  \n\n y"), (Pieces{"x", "  \n\n", " y"}));
}

TEST(PreTokenizerKimi, InvalidUtf8IsKeptByteForByte) {
  // an invalid byte is a character of no class: the optional leading character of a word
  EXPECT_EQ(kimi("a\xff"
                 "b"),
            (Pieces{"a",
                    "\xff"
                    "b"}));
  EXPECT_EQ(kimi("\xe4\xbd"), (Pieces{"\xe4\xbd"}));
  EXPECT_EQ(joined(kimi(kNastyUtf8)), kNastyUtf8);
}

// 622 texts (hand-picked, and random strings over characters of every class the pattern
// tells apart) split by the Python regex package running Kimi's pat_str verbatim
// (tests/data/gen_kimi_k2_pretokenizer.py).
TEST(PreTokenizerKimi, MatchesTheRegexEngine) {
  std::ifstream in(testing::test_data_path("kimi-k2-pretokenizer.json"));
  ASSERT_TRUE(in.good());
  const nlohmann::json doc = nlohmann::json::parse(in);
  ASSERT_GE(doc["cases"].size(), 600u);
  for (const nlohmann::json& c : doc["cases"]) {
    const std::string text = c["text"];
    EXPECT_EQ(kimi(text), c["pieces"].get<Pieces>()) << text;
  }
}

}  // namespace
}  // namespace moe
