// libFuzzer target: chat templates are untrusted input (any GGUF's tokenizer.chat_template).
// The input is a template source. It is parsed and, when it parses, rendered against a fixed
// conversation (system, user, an assistant turn with reasoning and a tool call, a tool
// result) and a tool list, under small limits. Errors are fine; a crash, a sanitizer
// report, a hang or an output above its limit is a finding.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include <nlohmann/json.hpp>

#include "tokenizer/chat_template.h"

namespace {

const nlohmann::json& conversation() {
  static const nlohmann::json m = nlohmann::json::parse(R"([
    {"role": "system", "content": "You are terse."},
    {"role": "user", "content": "Weather in Paris? \u00e9\u4e2d"},
    {"role": "assistant", "content": "<think>\nlook it up\n</think>\n\n", "reasoning_content": "look it up",
     "tool_calls": [{"id": "call_0", "type": "function",
                     "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}}]},
    {"role": "tool", "tool_call_id": "call_0", "content": "{\"c\": 21}"},
    {"role": "user", "content": ""}
  ])");
  return m;
}

const nlohmann::json& tools() {
  static const nlohmann::json t = nlohmann::json::parse(R"([
    {"type": "function", "function": {"name": "get_weather", "description": "Current weather",
     "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}}
  ])");
  return t;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view source(reinterpret_cast<const char*>(data), size);
  auto tmpl = moe::ChatTemplate::parse(source);
  if (!tmpl.is_ok()) return 0;
  moe::ChatTemplateOptions options;
  options.tools = tools();
  options.bos_token = "<bos>";
  options.eos_token = "<eos>";
  options.extra = {{"thinking", true}};
  options.limits.max_depth = 64;
  options.limits.max_work = 20'000;
  options.limits.max_output_bytes = 1 << 16;
  auto text = tmpl.value().render(conversation(), options);
  if (text.is_ok() && text.value().size() > options.limits.max_output_bytes) __builtin_trap();
  return 0;
}
