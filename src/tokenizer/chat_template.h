// Chat templates: the Jinja template a model ships in tokenizer.chat_template (GGUF key
// tokenizer.chat_template), rendered with a conversation to build the prompt.
//
// The interpreter is an in-house Jinja2 subset (jinja_lexer/parser/eval/builtins); templates
// are untrusted input, so parsing and rendering are bounded (see jinja_eval.h) and every
// problem, including raise_exception('...') from the template, comes back as a Status.
//
// Rendering matches transformers' apply_chat_template: trim_blocks and lstrip_blocks on,
// no autoescape, tojson = json.dumps(ensure_ascii=False, sort_keys=False). Context variables:
// messages, tools (None when null), add_generation_prompt, bos_token, eos_token, then the
// entries of `extra` (e.g. {"thinking": true}), which may override any of them.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "base/status.h"
#include "tokenizer/jinja_eval.h"
#include "tokenizer/jinja_lexer.h"

namespace moe {

namespace jinja {
struct Template;
}

struct ChatTemplateOptions {
  bool add_generation_prompt = true;
  nlohmann::json tools;  // null: no tools
  std::string bos_token;
  std::string eos_token;
  nlohmann::json extra = nlohmann::json::object();  // merged into the context last
  jinja::RenderLimits limits;
};

class ChatTemplate {
 public:
  static Result<ChatTemplate> parse(std::string_view source, const jinja::LexOptions& lex = {});

  // messages: a JSON array of {"role": ..., "content": ..., ...} objects.
  Result<std::string> render(const nlohmann::json& messages, const ChatTemplateOptions& opts) const;

 private:
  explicit ChatTemplate(std::shared_ptr<const jinja::Template> tmpl) : tmpl_(std::move(tmpl)) {}
  std::shared_ptr<const jinja::Template> tmpl_;
};

}  // namespace moe
