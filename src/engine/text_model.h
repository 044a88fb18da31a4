// The text side of a model: its tokenizer and chat template (from the GGUF, or a template
// file that overrides it), and the helpers that turn a conversation into prompt tokens.
// Shared by `run`, `chat`, `tokenize`, `template` and the server.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "gguf/gguf.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/reasoning_parser.h"
#include "tokenizer/tokenizer.h"

namespace moe {

struct TextModel {
  Tokenizer tokenizer;
  std::optional<ChatTemplate> chat_template;  // absent when the file has none
  std::string bos_text;  // the spelling of BOS/EOS the template receives
  std::string eos_text;
  ToolCallSyntax tool_syntax = ToolCallSyntax::kDeepSeek;  // how its tool calls are written

  // Loads the tokenizer; the template from `template_file` when given, else the GGUF's.
  static Result<TextModel> load(const GgufModel& file, const std::string& template_file = "");

  // Renders OpenAI-style messages with the chat template.
  Result<std::string> render(const nlohmann::json& messages, bool add_generation_prompt,
                             const nlohmann::json& tools = nullptr,
                             const nlohmann::json& extra = nlohmann::json::object()) const;
  // Tokens of a rendered chat prompt: the template writes BOS itself, so none is added.
  std::vector<TokenId> encode_rendered(const std::string& rendered) const;
  // Tokens of plain text: BOS as the model's metadata asks.
  std::vector<TokenId> encode_text(const std::string& text) const;
};

// True when a rendered prompt leaves the model inside its reasoning (R1: ends "<think>\n").
bool prompt_opens_reasoning(const std::string& rendered);

// Reads a whole file (templates, message lists); errors name the path.
Result<std::string> read_text_file(const std::string& path);

}  // namespace moe
