// Splits DeepSeek-R1 / V3.1 and Kimi-K2 generated text, as it streams, into OpenAI message
// parts: reasoning_content (between <think> and </think>), content, and tool_calls.
//
// Input grammar, ToolCallSyntax::kDeepSeek (R1; V3.1 omits "function", the newline and the
// ```json fence):
//   [<think>] reasoning </think> content
//   <｜tool▁calls▁begin｜>
//     <｜tool▁call▁begin｜>function<｜tool▁sep｜>NAME\n```json\n{ARGS}\n```<｜tool▁call▁end｜>
//     ... more calls ...
//   <｜tool▁calls▁end｜>
// ToolCallSyntax::kKimi (Kimi-K2, Kimi-K2-Thinking; the call's id is the header as written,
// e.g. functions.get_weather:0, which Kimi's template expects back):
//   [<think>] reasoning </think> content
//   <|tool_calls_section_begin|>
//     <|tool_call_begin|>functions.NAME:INDEX<|tool_call_argument_begin|>{ARGS}<|tool_call_end|>
//     ... more calls ...
//   <|tool_calls_section_end|>
// where the section may also begin inside the reasoning, which it then ends, and may be
// spelled <|tool_call_section_begin|> ... <|tool_call_section_end|> (some checkpoints).
// The prompt of R1 ends with "<think>\n", so the model starts inside reasoning
// (starts_in_reasoning); a model that opens <think> itself is recognised at the start.
//
// Streaming rules: text that may be the start of a tag ("</thi", "<｜tool▁") is held back
// until the next piece decides it; no delta ends inside a UTF-8 character. Leading and trailing
// whitespace of the reasoning and leading whitespace of the content after </think> are
// dropped (R1 writes "<think>\n...\n</think>\n\n"). Feeding a text whole or one byte at a time
// gives the same concatenated result.
// ReasoningFormat::kNone keeps everything, think tags included, in content.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "tokenizer/tokenizer.h"

namespace moe {

enum class ReasoningFormat { kNone, kDeepSeek };
enum class ToolCallSyntax { kDeepSeek, kKimi };

// The syntax a model's vocabulary speaks: Kimi when it has <|tool_calls_section_begin|> (or
// <|tool_call_section_begin|>).
ToolCallSyntax tool_call_syntax_of(const Tokenizer& tokenizer);

struct ToolCallDelta {
  int index = 0;
  std::string id;         // on the call's first delta only
  std::string name;       // on the call's first delta only
  std::string arguments;  // a fragment of the JSON arguments text
};

struct ReasoningDelta {
  std::string reasoning_content;
  std::string content;
  std::vector<ToolCallDelta> tool_calls;
  bool empty() const { return reasoning_content.empty() && content.empty() && tool_calls.empty(); }
};

struct ReasoningParserOptions {
  ReasoningFormat format = ReasoningFormat::kDeepSeek;
  bool starts_in_reasoning = false;  // the prompt ended with "<think>\n"
  bool parse_tool_calls = true;
  ToolCallSyntax tool_syntax = ToolCallSyntax::kDeepSeek;
  std::string tool_call_id_prefix =
      "call_";  // DeepSeek ids are prefix + index; make it unique per request
};

class ReasoningParser {
 public:
  explicit ReasoningParser(ReasoningParserOptions opts = {});

  ReasoningDelta feed(std::string_view piece);
  // Flushes whatever was held back (end of generation). The parser is spent afterwards.
  ReasoningDelta finish();

 private:
  enum class State { kStart, kReasoning, kContent, kToolCalls, kToolCallHeader, kToolCallName, kToolCallArgs };

  bool step(bool final, ReasoningDelta& d);
  bool step_start(bool final, ReasoningDelta& d);
  bool step_reasoning(bool final, ReasoningDelta& d);
  bool step_content(bool final, ReasoningDelta& d);
  bool step_tool_calls(bool final, ReasoningDelta& d);
  bool step_tool_call_header(bool final, ReasoningDelta& d);
  bool step_tool_call_name(bool final, ReasoningDelta& d);
  bool step_tool_call_args(bool final, ReasoningDelta& d);

  void emit_reasoning(std::string_view text, ReasoningDelta& d);
  void emit_content(std::string_view text, ReasoningDelta& d);
  void start_tool_call(std::string header, ReasoningDelta& d);
  void emit_arguments(std::string_view text, ReasoningDelta& d);

  ReasoningParserOptions opts_;
  State state_;
  std::string buf_;  // received, not yet consumed
  bool reasoning_started_ = false;  // leading whitespace of reasoning dropped
  std::string reasoning_ws_;  // trailing whitespace of reasoning, held until more text comes
  bool trim_content_ = false;  // drop leading whitespace of content (after </think>)
  bool args_start_ = false;  // at the start of a call's arguments (fence not yet checked)
  int tool_index_ = -1;
};

// A whole message, accumulated from deltas (non-streaming responses, tests).
struct ParsedToolCall {
  std::string id;
  std::string name;
  std::string arguments;
};

struct ParsedMessage {
  std::string reasoning_content;
  std::string content;
  std::vector<ParsedToolCall> tool_calls;
  void append(const ReasoningDelta& d);
};

ParsedMessage parse_generated_text(std::string_view text, const ReasoningParserOptions& opts);

}  // namespace moe
