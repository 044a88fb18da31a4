// The text commands end to end through the real binary: tokenize against the tokenizer
// oracle, template against the Jinja2-rendered oracle, run -p / --chat and chat over stdin.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "cli_test_util.h"

namespace moe::testing {
namespace {

using nlohmann::json;

json load_json(const std::string& rel) {
  std::ifstream in(data_path(rel));
  return json::parse(in);
}

std::string write_temp(const std::string& name, const std::string& content) {
  const std::string path = ::testing::TempDir() + "/" + name;
  std::ofstream(path, std::ios::binary) << content;
  return path;
}

// Single-quotes a string for the shell.
std::string quoted(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

TEST(TokenizeCommand, MatchesTheTokenizerOracle) {
  const json oracle = load_json("oracle/tokenizer.json");
  int checked = 0;
  for (const json& c : oracle["cases"]) {
    const std::string text = c["text"].get<std::string>();
    const std::string file = write_temp("tokenize_input.txt", text);
    const ProcessResult r =
        run_moeinfer("tokenize -m " + model_path("deepseek-r1-vocab") + " --stdin < " + file);
    ASSERT_EQ(r.exit_code, 0) << text;
    EXPECT_EQ(json::parse(r.out), c["tokens_with_bos"]) << text;
    ++checked;
  }
  EXPECT_GT(checked, 10);
}

TEST(TokenizeCommand, NoBosAndPieces) {
  const ProcessResult plain = run_moeinfer("tokenize -m " + model_path("deepseek-r1-vocab") + " --no-bos 'Hello'");
  ASSERT_EQ(plain.exit_code, 0);
  const json ids = json::parse(plain.out);
  ASSERT_FALSE(ids.empty());
  EXPECT_NE(ids[0], 0);  // no BOS
  const ProcessResult pieces =
      run_moeinfer("tokenize -m " + model_path("deepseek-r1-vocab") + " --pieces '<｜User｜>Hello'");
  ASSERT_EQ(pieces.exit_code, 0);
  const json p = json::parse(pieces.out);
  EXPECT_EQ(p[0][0], 0);
  EXPECT_EQ(p[1][1], "<｜User｜>");  // special tokens are recognized in the text
  EXPECT_EQ(p[2][1], "Hello");
}

TEST(TemplateCommand, RendersTheOracleCasesByteIdentical) {
  const json oracle = load_json("oracle/chat_template.json");
  int checked = 0;
  for (const json& c : oracle["cases"]) {
    const std::string messages = write_temp("messages.json", c["messages"].dump());
    std::string cmd = "template -m " + model_path("r1-mini-q8_0") + " --messages " + messages;
    if (c.value("add_generation_prompt", false)) cmd += " --add-generation-prompt";
    const ProcessResult r = run_moeinfer(cmd);
    ASSERT_EQ(r.exit_code, 0);
    EXPECT_EQ(r.out, c["prompt"].get<std::string>()) << c["messages"].dump();
    ++checked;
  }
  EXPECT_GE(checked, 5);
}

TEST(TemplateCommand, TemplateFileAndVariables) {
  const std::string messages = write_temp("m31.json", R"([{"role":"user","content":"Hi"}])");
  const std::string base = "template -m " + model_path("r1-mini-q8_0") + " --messages " + messages +
                           " --add-generation-prompt --chat-template-file " + data_path("templates/deepseek-v3.1.jinja");
  const ProcessResult thinking = run_moeinfer(base + " --var thinking=true");
  const ProcessResult plain = run_moeinfer(base + " --var thinking=false");
  ASSERT_EQ(thinking.exit_code, 0);
  ASSERT_EQ(plain.exit_code, 0);
  // V3.1's generation prompt opens <think> in thinking mode and writes an empty
  // "<think></think>" otherwise (template lines 66-69).
  EXPECT_TRUE(thinking.out.ends_with("<｜Assistant｜><think>")) << thinking.out;
  EXPECT_TRUE(plain.out.ends_with("<｜Assistant｜><think></think>")) << plain.out;
  EXPECT_EQ(run_moeinfer("template -m " + model_path("r1-mini-q8_0") + " --messages /nonexistent 2>/dev/null").exit_code, 1);
}

TEST(RunCommand, TextPromptMatchesTheSameIds) {
  // -p tokenizes with BOS (the model asks for it); the ids printed by tokenize fed through
  // --prompt-ids must give the same greedy continuation.
  const std::string text = "The capital of France is";
  const ProcessResult ids = run_moeinfer("tokenize -m " + model_path("r1-mini-q8_0") + " " + quoted(text));
  ASSERT_EQ(ids.exit_code, 0);
  std::string list;
  for (const json& id : json::parse(ids.out)) list.append(list.empty() ? "" : ",").append(std::to_string(id.get<int>()));
  const std::string common = " -m " + model_path("r1-mini-q8_0") + " -n 6 --greedy --ignore-eos --jsonl 2>/dev/null";
  const ProcessResult by_text = run_moeinfer("run -p " + quoted(text) + common);
  const ProcessResult by_ids = run_moeinfer("run --prompt-ids " + list + common);
  ASSERT_EQ(by_text.exit_code, 0);
  EXPECT_EQ(by_text.out, by_ids.out);
  EXPECT_EQ(std::count(by_text.out.begin(), by_text.out.end(), '\n'), 6);
}

TEST(RunCommand, ErrorsAreClear) {
  const std::string m = " -m " + model_path("r1-mini-q8_0");
  EXPECT_EQ(run_moeinfer("run" + m + " --prompt-ids 0,999999 -n 2 2>/dev/null").exit_code, 1);  // outside the vocabulary
  EXPECT_EQ(run_moeinfer("run" + m + " --prompt-ids 0,1 -n 100 -c 16 2>/dev/null").exit_code, 1);  // context
  EXPECT_EQ(run_moeinfer("run" + m + " --prompt-ids 0,x 2>/dev/null").exit_code, 1);
  EXPECT_EQ(run_moeinfer("run" + m + " --prompt-ids 0 --bogus 2>/dev/null").exit_code, 2);
  EXPECT_EQ(run_moeinfer("run" + m + " --prompt-ids 0 --cache-type q4 2>/dev/null").exit_code, 1);
}

TEST(ChatCommand, TwoTurnsResetAndExitOverStdin) {
  const std::string input = write_temp("chat_input.txt", "hello there\nand again\n/reset\nthird\n/exit\n");
  const std::string log = ::testing::TempDir() + "/chat_log.txt";
  const ProcessResult r = run_moeinfer("chat -m " + model_path("r1-mini-q4_k_m") + " -n 8 --temp 0 < " + input +
                                       " 2>" + log);
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("(conversation cleared)"), std::string::npos);
  std::ifstream in(log);
  const std::string err((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  // Three answers with statistics "[N prompt tokens (M reused) ...]": the second turn
  // reuses the first turn's cached prompt; the turn after /reset starts from nothing.
  std::vector<int> reused;
  for (size_t pos = 0; (pos = err.find(" reused)", pos)) != std::string::npos; ++pos) {
    const size_t open = err.rfind('(', pos);
    reused.push_back(std::stoi(err.substr(open + 1, pos - open - 1)));
  }
  ASSERT_EQ(reused.size(), 3u) << err;
  EXPECT_EQ(reused[0], 0);
  EXPECT_GT(reused[1], 0);
  EXPECT_EQ(reused[2], 0);
}

}  // namespace
}  // namespace moe::testing
