// ReasoningParser on crafted R1 / V3.1 generations: whole, one byte at a time and in uneven
// chunks must all give the same message; no delta may end inside a UTF-8 character.
#include "tokenizer/reasoning_parser.h"

#include <gtest/gtest.h>

namespace moe {
namespace {

const std::string kCallsBegin = "<｜tool▁calls▁begin｜>";
const std::string kCallsEnd = "<｜tool▁calls▁end｜>";
const std::string kCallBegin = "<｜tool▁call▁begin｜>";
const std::string kCallEnd = "<｜tool▁call▁end｜>";
const std::string kSep = "<｜tool▁sep｜>";

std::string r1_call(const std::string& name, const std::string& args) {
  return kCallBegin + "function" + kSep + name + "\n```json\n" + args + "\n```" + kCallEnd;
}

bool valid_utf8(const std::string& s) {
  size_t i = 0;
  while (i < s.size()) {
    unsigned char c = s[i];
    size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    }
    i += n;
  }
  return true;
}

// Feeds `text` in chunks of `chunk` bytes (0: whole), checking each delta as it comes.
ParsedMessage feed_in_chunks(const std::string& text, const ReasoningParserOptions& opts, size_t chunk) {
  ReasoningParser parser(opts);
  ParsedMessage message;
  size_t step = chunk == 0 ? std::max<size_t>(text.size(), 1) : chunk;
  for (size_t i = 0; i < text.size(); i += step) {
    ReasoningDelta d = parser.feed(std::string_view(text).substr(i, step));
    EXPECT_TRUE(valid_utf8(d.content)) << "chunk " << chunk << " at " << i;
    EXPECT_TRUE(valid_utf8(d.reasoning_content)) << "chunk " << chunk << " at " << i;
    for (const ToolCallDelta& t : d.tool_calls) EXPECT_TRUE(valid_utf8(t.arguments));
    message.append(d);
  }
  message.append(parser.finish());
  return message;
}

void expect_same(const ParsedMessage& a, const ParsedMessage& b, size_t chunk) {
  EXPECT_EQ(a.reasoning_content, b.reasoning_content) << "chunk " << chunk;
  EXPECT_EQ(a.content, b.content) << "chunk " << chunk;
  ASSERT_EQ(a.tool_calls.size(), b.tool_calls.size()) << "chunk " << chunk;
  for (size_t i = 0; i < a.tool_calls.size(); ++i) {
    EXPECT_EQ(a.tool_calls[i].id, b.tool_calls[i].id);
    EXPECT_EQ(a.tool_calls[i].name, b.tool_calls[i].name);
    EXPECT_EQ(a.tool_calls[i].arguments, b.tool_calls[i].arguments) << "chunk " << chunk;
  }
}

// Parses whole and in every chunking from 1 to 7 bytes; all must agree.
ParsedMessage parse_all_ways(const std::string& text, const ReasoningParserOptions& opts) {
  ParsedMessage whole = feed_in_chunks(text, opts, 0);
  for (size_t chunk : {1, 2, 3, 5, 7}) expect_same(whole, feed_in_chunks(text, opts, chunk), chunk);
  return whole;
}

ReasoningParserOptions in_reasoning() {
  ReasoningParserOptions opts;
  opts.starts_in_reasoning = true;
  return opts;
}

TEST(ReasoningParser, PromptEndsInThink) {
  ParsedMessage m = parse_all_ways("Let me add.\n2+2=4.\n</think>\n\nThe answer is 4.", in_reasoning());
  EXPECT_EQ(m.reasoning_content, "Let me add.\n2+2=4.");
  EXPECT_EQ(m.content, "The answer is 4.");
  EXPECT_TRUE(m.tool_calls.empty());
}

TEST(ReasoningParser, ModelOpensThinkItself) {
  ParsedMessage m = parse_all_ways("<think>\nHmm, a greeting.\n</think>\n\nHello! 👋", {});
  EXPECT_EQ(m.reasoning_content, "Hmm, a greeting.");
  EXPECT_EQ(m.content, "Hello! 👋");
}

TEST(ReasoningParser, NoThinkIsAllContent) {
  ParsedMessage m = parse_all_ways("  <thing> is not a tag; </think> neither here", {});
  EXPECT_EQ(m.reasoning_content, "");
  EXPECT_EQ(m.content, "  <thing> is not a tag; </think> neither here");
}

TEST(ReasoningParser, FormatNoneKeepsEverythingInContent) {
  ReasoningParserOptions opts = in_reasoning();
  opts.format = ReasoningFormat::kNone;
  ParsedMessage m = parse_all_ways("thinking</think>\n\nanswer", opts);
  EXPECT_EQ(m.reasoning_content, "");
  EXPECT_EQ(m.content, "thinking</think>\n\nanswer");
  opts.starts_in_reasoning = false;
  EXPECT_EQ(parse_all_ways("<think>x</think>y", opts).content, "<think>x</think>y");
}

TEST(ReasoningParser, UnterminatedReasoningFlushesAtFinish) {
  ParsedMessage m = parse_all_ways("still thinking </thi", in_reasoning());
  EXPECT_EQ(m.reasoning_content, "still thinking </thi");
  EXPECT_EQ(m.content, "");
}

TEST(ReasoningParser, HoldsPartialTagsUntilDecided) {
  ReasoningParser p(in_reasoning());
  ReasoningDelta d = p.feed("abc</thi");
  EXPECT_EQ(d.reasoning_content, "abc");
  d = p.feed("nk>x");
  EXPECT_EQ(d.reasoning_content, "");
  EXPECT_EQ(d.content, "x");

  ReasoningParser q(in_reasoning());
  EXPECT_EQ(q.feed("abc</th").reasoning_content, "abc");
  EXPECT_EQ(q.feed("x").reasoning_content, "</thx");

  ReasoningParser r(ReasoningParserOptions{});
  EXPECT_TRUE(r.feed("Sure. <｜tool▁ca").content == "Sure. ");
  ReasoningDelta tail = r.finish();
  EXPECT_EQ(tail.content, "<｜tool▁ca");
}

TEST(ReasoningParser, NeverSplitsUtf8) {
  const std::string e_acute = "é";  // 2 bytes
  ReasoningParser p(ReasoningParserOptions{});
  EXPECT_EQ(p.feed(e_acute.substr(0, 1)).content, "");
  EXPECT_EQ(p.feed(e_acute.substr(1)).content, "é");
  ReasoningParser q(in_reasoning());
  const std::string emoji = "😀";  // 4 bytes
  EXPECT_EQ(q.feed(emoji.substr(0, 3)).reasoning_content, "");
  EXPECT_EQ(q.feed(emoji.substr(3) + "!").reasoning_content, "😀!");
}

TEST(ReasoningParser, R1SingleToolCall) {
  std::string text = "I should look it up.\n</think>\n\n" + kCallsBegin +
                     r1_call("get_weather", "{\"city\": \"Paris\"}") + kCallsEnd;
  ParsedMessage m = parse_all_ways(text, in_reasoning());
  EXPECT_EQ(m.reasoning_content, "I should look it up.");
  EXPECT_EQ(m.content, "");
  ASSERT_EQ(m.tool_calls.size(), 1u);
  EXPECT_EQ(m.tool_calls[0].id, "call_0");
  EXPECT_EQ(m.tool_calls[0].name, "get_weather");
  EXPECT_EQ(m.tool_calls[0].arguments, "{\"city\": \"Paris\"}");
}

TEST(ReasoningParser, R1TwoToolCallsAfterContent) {
  std::string text = "Checking both.\n\n" + kCallsBegin + r1_call("get_weather", "{\"city\": \"Paris\"}") + "\n" +
                     r1_call("get_time", "{\n  \"tz\": \"Europe/Rome\",\n  \"fmt\": \"```x```\"\n}") + kCallsEnd;
  ReasoningParserOptions opts;
  opts.tool_call_id_prefix = "req7_";
  ParsedMessage m = parse_all_ways(text, opts);
  EXPECT_EQ(m.content, "Checking both.\n\n");
  ASSERT_EQ(m.tool_calls.size(), 2u);
  EXPECT_EQ(m.tool_calls[0].id, "req7_0");
  EXPECT_EQ(m.tool_calls[1].id, "req7_1");
  EXPECT_EQ(m.tool_calls[1].name, "get_time");
  EXPECT_EQ(m.tool_calls[1].arguments, "{\n  \"tz\": \"Europe/Rome\",\n  \"fmt\": \"```x```\"\n}");
}

TEST(ReasoningParser, V31ToolCallWithoutFence) {
  std::string text = kCallsBegin + kCallBegin + "get_weather" + kSep + "{\"city\": \"Rome\"}" + kCallEnd + kCallsEnd;
  ParsedMessage m = parse_all_ways(text, {});
  ASSERT_EQ(m.tool_calls.size(), 1u);
  EXPECT_EQ(m.tool_calls[0].name, "get_weather");
  EXPECT_EQ(m.tool_calls[0].arguments, "{\"city\": \"Rome\"}");
  EXPECT_EQ(m.content, "");
}

TEST(ReasoningParser, ToolCallStreamsNameFirstThenArgumentFragments) {
  std::string args = "{\"query\": \"a fairly long argument ünïcödé string\"}";
  std::string text = kCallsBegin + r1_call("search", args) + kCallsEnd;
  ReasoningParser p(ReasoningParserOptions{});
  std::vector<ToolCallDelta> deltas;
  for (char c : text) {
    for (ToolCallDelta& t : p.feed(std::string(1, c)).tool_calls) deltas.push_back(std::move(t));
  }
  for (ToolCallDelta& t : p.finish().tool_calls) deltas.push_back(std::move(t));
  ASSERT_GT(deltas.size(), 3u);  // name, then several argument fragments
  EXPECT_EQ(deltas[0].name, "search");
  EXPECT_EQ(deltas[0].id, "call_0");
  EXPECT_EQ(deltas[0].arguments, "");
  std::string joined;
  for (size_t i = 1; i < deltas.size(); ++i) {
    EXPECT_EQ(deltas[i].index, 0);
    EXPECT_TRUE(deltas[i].name.empty());
    joined += deltas[i].arguments;
  }
  EXPECT_EQ(joined, args);
}

TEST(ReasoningParser, TruncatedToolCallFlushesArguments) {
  std::string text = kCallsBegin + kCallBegin + "function" + kSep + "f\n```json\n{\"a\": 1";
  ParsedMessage m = parse_all_ways(text, {});
  ASSERT_EQ(m.tool_calls.size(), 1u);
  EXPECT_EQ(m.tool_calls[0].name, "f");
  EXPECT_EQ(m.tool_calls[0].arguments, "{\"a\": 1");
}

TEST(ReasoningParser, ToolCallsDisabledLeavesMarkersInContent) {
  ReasoningParserOptions opts;
  opts.parse_tool_calls = false;
  std::string text = kCallsBegin + r1_call("f", "{}") + kCallsEnd;
  ParsedMessage m = parse_all_ways(text, opts);
  EXPECT_EQ(m.content, text);
  EXPECT_TRUE(m.tool_calls.empty());
}

TEST(ReasoningParser, ContentAfterToolCallsEnd) {
  std::string text = "r</think>" + kCallsBegin + r1_call("f", "{}") + kCallsEnd + "\n done";
  ParsedMessage m = parse_all_ways(text, in_reasoning());
  EXPECT_EQ(m.reasoning_content, "r");
  ASSERT_EQ(m.tool_calls.size(), 1u);
  EXPECT_EQ(m.tool_calls[0].arguments, "{}");
  EXPECT_EQ(m.content, "done");
}

// ---- Kimi-K2 (reasoning_parser.h, ToolCallSyntax::kKimi)

const std::string kKimiSectionBegin = "<|tool_calls_section_begin|>";
const std::string kKimiSectionEnd = "<|tool_calls_section_end|>";

std::string kimi_call(const std::string& header, const std::string& args) {
  return "<|tool_call_begin|>" + header + "<|tool_call_argument_begin|>" + args +
         "<|tool_call_end|>";
}

ReasoningParserOptions kimi() {
  ReasoningParserOptions opts;
  opts.tool_syntax = ToolCallSyntax::kKimi;
  return opts;
}

TEST(ReasoningParser, KimiToolCallsAfterContent) {
  std::string text =
      "Let me check both." + kKimiSectionBegin +
      kimi_call("functions.get_weather:0", "{\"city\": \"Oslo\"}") +
      kimi_call("functions.get_time:1", "{\"tz\": \"Europe/Rome\", \"s\": \"<|x|>\"}") +
      kKimiSectionEnd;
  ParsedMessage m = parse_all_ways(text, kimi());
  EXPECT_EQ(m.reasoning_content, "");
  EXPECT_EQ(m.content, "Let me check both.");
  ASSERT_EQ(m.tool_calls.size(), 2u);
  // the id is the header as the model wrote it: Kimi's template matches results by it
  EXPECT_EQ(m.tool_calls[0].id, "functions.get_weather:0");
  EXPECT_EQ(m.tool_calls[0].name, "get_weather");
  EXPECT_EQ(m.tool_calls[0].arguments, "{\"city\": \"Oslo\"}");
  EXPECT_EQ(m.tool_calls[1].id, "functions.get_time:1");
  EXPECT_EQ(m.tool_calls[1].name, "get_time");
  EXPECT_EQ(m.tool_calls[1].arguments, "{\"tz\": \"Europe/Rome\", \"s\": \"<|x|>\"}");
}

TEST(ReasoningParser, KimiThinkingThenToolCallThenContent) {
  std::string text = "<think>Need the weather.</think>" + kKimiSectionBegin +
                     kimi_call("functions.get_weather:0", "{}") + kKimiSectionEnd +
                     "\nWaiting for it.";
  ParsedMessage m = parse_all_ways(text, kimi());
  EXPECT_EQ(m.reasoning_content, "Need the weather.");
  ASSERT_EQ(m.tool_calls.size(), 1u);
  EXPECT_EQ(m.tool_calls[0].arguments, "{}");
  EXPECT_EQ(m.content, "Waiting for it.");
}

TEST(ReasoningParser, KimiToolCallsMayInterruptReasoning) {
  std::string text = "<think>I will call it now." + kKimiSectionBegin +
                     kimi_call("functions.lookup:0", "{\"q\": 1}");
  ParsedMessage m = parse_all_ways(text, kimi());
  EXPECT_EQ(m.reasoning_content, "I will call it now.");
  ASSERT_EQ(m.tool_calls.size(), 1u);
  EXPECT_EQ(m.tool_calls[0].name, "lookup");
  EXPECT_EQ(m.tool_calls[0].arguments, "{\"q\": 1}");
  // without tool parsing the section stays in the reasoning
  ReasoningParserOptions plain = kimi();
  plain.parse_tool_calls = false;
  ParsedMessage p = parse_all_ways(text, plain);
  EXPECT_EQ(p.reasoning_content, text.substr(std::string("<think>").size()));
  EXPECT_TRUE(p.tool_calls.empty());
}

TEST(ReasoningParser, KimiHeaderWithoutPrefixOrIndexAndTruncation) {
  ParsedMessage m = parse_all_ways(
      kKimiSectionBegin + kimi_call("search", "{}") + kimi_call("functions.a:b", "[1]") +
          "<|tool_call_begin|>functions.f:2<|tool_call_argument_begin|>{\"x\": ",
      kimi());
  ASSERT_EQ(m.tool_calls.size(), 3u);
  EXPECT_EQ(m.tool_calls[0].name, "search");
  EXPECT_EQ(m.tool_calls[1].name, "a:b");  // not an index: kept
  EXPECT_EQ(m.tool_calls[2].id, "functions.f:2");
  EXPECT_EQ(m.tool_calls[2].arguments, "{\"x\":");
  // DeepSeek's markers mean nothing to the Kimi syntax, and the reverse
  EXPECT_EQ(parse_all_ways(kCallsBegin + r1_call("f", "{}") + kCallsEnd, kimi()).content,
            kCallsBegin + r1_call("f", "{}") + kCallsEnd);
  EXPECT_EQ(parse_all_ways(kKimiSectionBegin + kimi_call("functions.f:0", "{}"), {}).content,
            kKimiSectionBegin + kimi_call("functions.f:0", "{}"));
}

// Some Kimi-K2 checkpoints spell the section markers in the singular; either spelling opens
// and closes a section, also inside the reasoning, whole and in pieces.
TEST(ReasoningParser, KimiSingularSectionMarkers) {
  const std::string begin = "<|tool_call_section_begin|>", end = "<|tool_call_section_end|>";
  ParsedMessage m =
      parse_all_ways("<think>Look it up.</think>Sure." + begin +
                         kimi_call("functions.lookup:0", "{\"q\": 2}") + end + "\nDone.",
                     kimi());
  EXPECT_EQ(m.reasoning_content, "Look it up.");
  EXPECT_EQ(m.content, "Sure.Done.");
  ASSERT_EQ(m.tool_calls.size(), 1u);
  EXPECT_EQ(m.tool_calls[0].name, "lookup");
  EXPECT_EQ(m.tool_calls[0].arguments, "{\"q\": 2}");
  ParsedMessage r = parse_all_ways("<think>Calling." + begin + kimi_call("functions.f:0", "{}") +
                                       kimi_call("functions.g:1", "[]") + kKimiSectionEnd + "ok",
                                   kimi());
  EXPECT_EQ(r.reasoning_content, "Calling.");
  ASSERT_EQ(r.tool_calls.size(), 2u);
  EXPECT_EQ(r.tool_calls[1].name, "g");
  EXPECT_EQ(r.content, "ok");
  // the DeepSeek syntax does not know them
  EXPECT_EQ(parse_all_ways(begin + kimi_call("functions.f:0", "{}") + end, {}).content,
            begin + kimi_call("functions.f:0", "{}") + end);
}

TEST(ReasoningParser, ParseGeneratedTextIsTheWholeFeed) {
  ParsedMessage m = parse_generated_text("a</think>b", in_reasoning());
  EXPECT_EQ(m.reasoning_content, "a");
  EXPECT_EQ(m.content, "b");
}

}  // namespace
}  // namespace moe
