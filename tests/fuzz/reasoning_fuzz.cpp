// libFuzzer target: the parser of generated text (reasoning, content, tool calls) sees
// whatever a model writes. Besides not crashing, it must keep its streaming promise
// (reasoning_parser.h): the text fed whole, one byte at a time, or in the pieces the input
// chooses gives the same message. The first input byte picks the options and the split.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "tokenizer/reasoning_parser.h"

namespace {

bool same(const moe::ParsedMessage& a, const moe::ParsedMessage& b) {
  if (a.reasoning_content != b.reasoning_content || a.content != b.content) return false;
  if (a.tool_calls.size() != b.tool_calls.size()) return false;
  for (size_t i = 0; i < a.tool_calls.size(); ++i) {
    const auto &x = a.tool_calls[i], &y = b.tool_calls[i];
    if (x.id != y.id || x.name != y.name || x.arguments != y.arguments) return false;
  }
  return true;
}

// Feeds `text` in pieces: every `step` bytes, or 1 byte at a time when step is 0.
moe::ParsedMessage feed(std::string_view text, const moe::ReasoningParserOptions& o, size_t step) {
  moe::ReasoningParser parser(o);
  moe::ParsedMessage m;
  const size_t n = step == 0 ? 1 : step;
  for (size_t i = 0; i < text.size(); i += n) m.append(parser.feed(text.substr(i, n)));
  m.append(parser.finish());
  return m;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t mode = data[0];
  const std::string_view text(reinterpret_cast<const char*>(data + 1), size - 1);
  moe::ReasoningParserOptions o;
  o.format = (mode & 1) != 0 ? moe::ReasoningFormat::kNone : moe::ReasoningFormat::kDeepSeek;
  o.starts_in_reasoning = (mode & 2) != 0;
  o.parse_tool_calls = (mode & 4) != 0;
  o.tool_syntax = (mode & 8) != 0 ? moe::ToolCallSyntax::kKimi : moe::ToolCallSyntax::kDeepSeek;
  const moe::ParsedMessage whole = moe::parse_generated_text(text, o);
  if (!same(whole, feed(text, o, 0))) __builtin_trap();
  if (!same(whole, feed(text, o, 2 + (mode >> 4)))) __builtin_trap();
  // Without reasoning or tool-call parsing the text is all content, as it came.
  if (o.format == moe::ReasoningFormat::kNone && !o.parse_tool_calls && whole.content != text) __builtin_trap();
  return 0;
}
