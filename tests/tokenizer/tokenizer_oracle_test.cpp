// Encoding against the oracle (tests/data/oracle/tokenizer.json: llama.cpp with
// parse_special=true on the R1 vocabulary), round trips, and special tokens.
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tokenizer_test_util.h"

namespace moe {
namespace {

using testing::r1_tokenizer;
using testing::test_data_path;

struct OracleCase {
  std::string text;
  std::vector<TokenId> tokens_with_bos;
};

std::vector<OracleCase> oracle_cases() {
  std::ifstream in(test_data_path("oracle/tokenizer.json"));
  EXPECT_TRUE(in.good());
  const nlohmann::json j = nlohmann::json::parse(in);
  std::vector<OracleCase> cases;
  for (const auto& c : j.at("cases")) {
    cases.push_back({c.at("text").get<std::string>(), c.at("tokens_with_bos").get<std::vector<TokenId>>()});
  }
  return cases;
}

TEST(TokenizerOracle, LoadsR1Vocabulary) {
  const Tokenizer& t = r1_tokenizer();
  EXPECT_EQ(t.n_vocab(), 129280u);
  EXPECT_EQ(t.bos_id(), 0);
  EXPECT_EQ(t.eos_id(), 1);
  EXPECT_TRUE(t.add_bos_token());
  EXPECT_FALSE(t.add_eos_token());
  EXPECT_EQ(t.pre_tokenizer(), PreTokenizerKind::kDeepSeekV3);
  EXPECT_EQ(t.token_text(0), "<｜begin▁of▁sentence｜>");
  EXPECT_EQ(t.token_type(0), TokenType::kControl);
  EXPECT_EQ(t.token_type(128803), TokenType::kUserDefined);
  EXPECT_EQ(t.find_token("<｜User｜>"), std::optional<TokenId>(128803));
  EXPECT_EQ(t.find_token("no such token"), std::nullopt);
}

TEST(TokenizerOracle, EveryCaseMatches) {
  const Tokenizer& t = r1_tokenizer();
  const std::vector<OracleCase> cases = oracle_cases();
  ASSERT_GE(cases.size(), 40u);
  for (const OracleCase& c : cases) {
    EXPECT_EQ(t.encode(c.text, /*add_bos=*/true), c.tokens_with_bos) << "text: " << c.text;
  }
}

TEST(TokenizerOracle, ScratchReuseGivesTheSameIds) {
  const Tokenizer& t = r1_tokenizer();
  EncodeScratch scratch;
  for (int round = 0; round < 2; ++round) {  // the second round hits the word cache
    for (const OracleCase& c : oracle_cases()) {
      std::vector<TokenId> ids;
      t.encode(c.text, EncodeOptions{.add_bos = true}, scratch, ids);
      EXPECT_EQ(ids, c.tokens_with_bos) << "round " << round << " text: " << c.text;
    }
  }
  EXPECT_GT(scratch.cache.size(), 0u);
}

TEST(TokenizerOracle, DecodeRoundTrips) {
  const Tokenizer& t = r1_tokenizer();
  for (const OracleCase& c : oracle_cases()) {
    const std::vector<TokenId> ids = t.encode(c.text, /*add_bos=*/false);
    EXPECT_EQ(t.decode(ids), c.text);
    // With BOS, rendering specials shows its text; without, it disappears.
    EXPECT_EQ(t.decode(c.tokens_with_bos), "<｜begin▁of▁sentence｜>" + c.text);
    std::vector<TokenId> without_control;
    for (TokenId id : c.tokens_with_bos) {
      if (t.token_type(id) != TokenType::kControl) without_control.push_back(id);
    }
    EXPECT_EQ(t.decode(c.tokens_with_bos, /*render_special=*/false), t.decode(without_control));
  }
}

// The model oracles store the prompts llama.cpp tokenized for the small test models (their
// own 4k vocabularies): decoding one of the first three (text; later ones are random ids)
// and encoding the text again must give it back.
TEST(TokenizerOracle, MiniModelPromptsReencode) {
  for (const char* name : {"r1-mini-q8_0", "v2lite-mini-q8_0"}) {
    Result<GgufModel> model = GgufModel::open(test_data_path(std::string("models/") + name + ".gguf"));
    ASSERT_TRUE(model.is_ok()) << model.status().message();
    Result<Tokenizer> t = load_tokenizer(*model);
    ASSERT_TRUE(t.is_ok()) << t.status().message();
    std::ifstream in(test_data_path(std::string("oracle/") + name + ".json"));
    const nlohmann::json j = nlohmann::json::parse(in);
    int n_prompts = 0;
    for (const auto& g : j.at("greedy")) {
      if (n_prompts == 3) break;
      const std::vector<TokenId> prompt = g.at("prompt").get<std::vector<TokenId>>();
      const std::string text = t->decode(std::span(prompt).subspan(1));
      EXPECT_EQ(t->encode(text, /*add_bos=*/true), prompt) << name << ": " << text;
      ++n_prompts;
    }
    EXPECT_EQ(n_prompts, 3) << name;
  }
}

TEST(TokenizerSpecial, ChatMarkersAreSingleTokens) {
  const Tokenizer& t = r1_tokenizer();
  EXPECT_EQ(t.encode("<｜User｜>", false), std::vector<TokenId>{128803});
  EXPECT_EQ(t.encode("<｜Assistant｜>", false), std::vector<TokenId>{128804});
  EXPECT_EQ(t.encode("<think>", false), std::vector<TokenId>{128798});
  EXPECT_EQ(t.encode("</think>", false), std::vector<TokenId>{128799});
  EXPECT_EQ(t.encode("<｜tool▁calls▁begin｜><｜tool▁sep｜>", false),
            (std::vector<TokenId>{128806, 128814}));
  EXPECT_EQ(t.encode("<｜end▁of▁sentence｜>", false), std::vector<TokenId>{1});
  // Unused placeholders ([PAD...]) are not special.
  EXPECT_GT(t.encode("[PAD128815]", false).size(), 1u);
}

TEST(TokenizerSpecial, ParsingModes) {
  const Tokenizer& t = r1_tokenizer();
  const std::string text = "<｜begin▁of▁sentence｜>hi<｜User｜>";
  const std::vector<TokenId> all = t.encode(text, false, SpecialParsing::kAll);
  EXPECT_EQ(all, (std::vector<TokenId>{0, 6366, 128803}));
  // llama.cpp's parse_special=false: user-defined tokens still match, control tokens do not.
  const std::vector<TokenId> user = t.encode(text, false, SpecialParsing::kUserDefinedOnly);
  EXPECT_EQ(user.back(), 128803);
  EXPECT_GT(user.size(), 3u);
  EXPECT_EQ(t.decode(user), text);
  // No special parsing: plain text, and it still round-trips.
  const std::vector<TokenId> none = t.encode(text, false, SpecialParsing::kNone);
  for (TokenId id : none) EXPECT_EQ(t.token_type(id), TokenType::kNormal);
  EXPECT_EQ(t.decode(none), text);
}

TEST(TokenizerSpecial, BosAndEosOptions) {
  const Tokenizer& t = r1_tokenizer();
  EncodeScratch scratch;
  std::vector<TokenId> ids;
  t.encode("a", EncodeOptions{.add_bos = true, .add_eos = true}, scratch, ids);
  EXPECT_EQ(ids, (std::vector<TokenId>{0, 67, 1}));
  EXPECT_EQ(t.encode("", true), std::vector<TokenId>{0});
  EXPECT_TRUE(t.encode("", false).empty());
}

TEST(TokenizerSpecial, PartialMarkersAreText) {
  const Tokenizer& t = r1_tokenizer();
  for (const char* text : {"<｜User", "<think", "<", "<｜", "</think", "<<think>>"}) {
    const std::vector<TokenId> ids = t.encode(text, false);
    EXPECT_EQ(t.decode(ids), text);
  }
  const std::vector<TokenId> ids = t.encode("<<think>>", false);
  EXPECT_NE(std::find(ids.begin(), ids.end(), 128798), ids.end());
}

TEST(TokenizerDecode, TokenToPiece) {
  const Tokenizer& t = r1_tokenizer();
  EXPECT_EQ(t.token_to_piece(223), " ");          // "Ġ"
  EXPECT_EQ(t.token_to_piece(201), "\n");         // "Ċ"
  EXPECT_EQ(t.token_to_piece(0), "<｜begin▁of▁sentence｜>");
  EXPECT_EQ(t.token_to_piece(0, /*render_special=*/false), "");
  EXPECT_EQ(t.token_to_piece(128798, false), "<think>");  // user-defined: always text
  EXPECT_EQ(t.token_to_piece(128900), "");        // unused
  EXPECT_EQ(t.token_to_piece(-1), "");
  EXPECT_EQ(t.token_to_piece(1 << 30), "");
}

}  // namespace
}  // namespace moe
