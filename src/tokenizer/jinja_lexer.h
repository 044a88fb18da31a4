// Lexer of the Jinja subset: splits a template into text and tag tokens, applying Jinja2's
// whitespace rules on the way so the parser never sees them:
//   {%- / {{- / {#-   strip all whitespace (newlines included) before the tag
//   -%} / -}} / -#}   strip all whitespace after the tag
//   trim_blocks       drop the first newline after a block or comment tag
//   lstrip_blocks     drop spaces/tabs from the start of a line up to a block or comment tag
//                     ({%+ disables it for one tag)
//   keep_trailing_newline=false drops one newline at the end of the template.
// {# comments #} vanish; {% raw %}...{% endraw %} becomes one text token.
// Inside tags: names, ints, floats, 'strings' / "strings" (Python escapes), operators.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace moe::jinja {

enum class TokenType {
  kText,
  kVarBegin,    // {{
  kVarEnd,      // }}
  kBlockBegin,  // {%
  kBlockEnd,    // %}
  kName,
  kString,
  kInt,
  kFloat,
  kOp,  // text holds the operator: "+", "//", "==", "(", ...
  kEof,
};

struct Token {
  TokenType type = TokenType::kEof;
  std::string text;  // text, name, decoded string literal, or operator
  int64_t int_value = 0;
  double float_value = 0;
  int line = 1;
};

struct LexOptions {
  bool trim_blocks = true;  // transformers' apply_chat_template uses trim_blocks and
  bool lstrip_blocks = true;  // lstrip_blocks; Jinja2's own defaults are false.
  bool keep_trailing_newline = false;
};

Result<std::vector<Token>> lex(std::string_view source, const LexOptions& opts);

}  // namespace moe::jinja
