// StreamingDecoder (never half a character, U+FFFD for bytes that cannot form one) and
// robustness of encode/decode on arbitrary bytes.
#include <random>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "tokenizer_test_util.h"

namespace moe {
namespace {

using testing::r1_tokenizer;

constexpr const char* kFffd = "\xEF\xBF\xBD";

bool is_valid_utf8(const std::string& s) {
  for (size_t pos = 0; pos < s.size();) {
    const Utf8Char c = utf8_decode(s, pos);
    if (c.cp == kInvalidCodePoint) return false;
    pos += c.len;
  }
  return true;
}

TEST(StreamingDecoder, HoldsBackSplitCharacters) {
  const Tokenizer& t = r1_tokenizer();
  const std::string text = "emoji 🚀🔥👍🏽 and 中文 and é!";
  const std::vector<TokenId> ids = t.encode(text, false);
  StreamingDecoder dec(t);
  std::string out;
  bool held_back = false;
  for (TokenId id : ids) {
    const std::string piece = dec.push(id);
    EXPECT_TRUE(is_valid_utf8(piece)) << "token " << id;
    held_back |= dec.pending_bytes() > 0;
    out += piece;
  }
  EXPECT_TRUE(held_back);  // the emoji are split across byte tokens in this vocabulary
  out += dec.flush();
  EXPECT_EQ(out, text);
}

TEST(StreamingDecoder, ByteAtATime) {
  const Tokenizer& t = r1_tokenizer();
  const std::string text = "a\xc3\xa9\xe4\xb8\xad\xf0\x9f\x9a\x80z";  // aé中🚀z
  StreamingDecoder dec(t);
  std::vector<std::string> pieces;
  for (char ch : text) {
    std::string out;
    dec.push_bytes(std::string(1, ch), out);
    pieces.push_back(out);
  }
  EXPECT_EQ(pieces, (std::vector<std::string>{"a", "", "\xc3\xa9", "", "", "\xe4\xb8\xad", "", "",
                                              "", "\xf0\x9f\x9a\x80", "z"}));
  EXPECT_EQ(dec.flush(), "");
}

TEST(StreamingDecoder, InvalidBytesBecomeReplacementCharacters) {
  const Tokenizer& t = r1_tokenizer();
  StreamingDecoder dec(t);
  std::string out;
  dec.push_bytes("\xff" "a\x80", out);
  EXPECT_EQ(out, std::string(kFffd) + "a" + kFffd);
  out.clear();
  dec.push_bytes("\xe4\xb8", out);  // incomplete: held back
  EXPECT_EQ(out, "");
  dec.push_bytes("x", out);  // cannot complete it
  EXPECT_EQ(out, std::string(kFffd) + kFffd + "x");
  out.clear();
  dec.push_bytes("\xf0\x9f", out);
  EXPECT_EQ(dec.flush(), kFffd);  // end of stream mid-character
  dec.push_bytes("\xed\xa0\x80", out);  // a surrogate is never valid
  EXPECT_EQ(out, std::string(kFffd) + kFffd + kFffd);
}

TEST(StreamingDecoder, ControlTokensHiddenUnlessRendered) {
  const Tokenizer& t = r1_tokenizer();
  StreamingDecoder hidden(t);
  EXPECT_EQ(hidden.push(t.eos_id()), "");
  EXPECT_EQ(hidden.push(128798), "<think>");  // user-defined
  StreamingDecoder shown(t, /*render_special=*/true);
  EXPECT_EQ(shown.push(t.eos_id()), "<｜end▁of▁sentence｜>");
  EXPECT_EQ(shown.push(-5), "");
}

TEST(TokenizerRobustness, RandomBytesRoundTrip) {
  const Tokenizer& t = r1_tokenizer();
  std::mt19937 rng(42);
  EncodeScratch scratch;
  for (int i = 0; i < 300; ++i) {
    std::string text(rng() % 200, '\0');
    for (char& ch : text) {
      // Mostly high bytes and ASCII punctuation/space, to hit invalid UTF-8 and edge splits.
      const uint32_t r = rng();
      ch = static_cast<char>(r % 3 == 0 ? 0x80 + (r >> 8) % 128 : (r >> 8) % 128);
    }
    std::vector<TokenId> ids;
    t.encode(text, EncodeOptions{.special = SpecialParsing::kNone}, scratch, ids);
    for (TokenId id : ids) ASSERT_TRUE(t.is_valid(id));
    ASSERT_EQ(t.decode(ids), text);
    StreamingDecoder dec(t);
    std::string streamed;
    for (TokenId id : ids) dec.push(id, streamed);
    dec.flush(streamed);
    ASSERT_TRUE(is_valid_utf8(streamed));
  }
}

TEST(TokenizerRobustness, ValidUtf8StreamsExactly) {
  const Tokenizer& t = r1_tokenizer();
  std::mt19937 rng(7);
  const std::vector<uint32_t> cps = {'a', ' ', '\n', 0xE9, 0x4E2D, 0x1F680, 0x0301, 0x3000, '1'};
  for (int i = 0; i < 200; ++i) {
    std::string text;
    for (int n = rng() % 50; n > 0; --n) utf8_append(cps[rng() % cps.size()], text);
    StreamingDecoder dec(t);
    std::string streamed;
    for (TokenId id : t.encode(text, false)) dec.push(id, streamed);
    dec.flush(streamed);
    ASSERT_EQ(streamed, text);
  }
}

}  // namespace
}  // namespace moe
