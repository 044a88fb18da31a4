// Parser of the Jinja subset: tokens (jinja_lexer.h) -> syntax tree (jinja_ast.h).
// Grammar (Jinja2's precedence, loosest first):
//   expr     := or_expr ['if' or_expr ['else' expr]]
//   or_expr  := and_expr ('or' and_expr)*      and_expr := not_expr ('and' not_expr)*
//   not_expr := 'not' not_expr | compare      compare  := math1 [(== != < <= > >= in, not in) math1]
//   math1    := concat (('+'|'-') concat)*     concat   := math2 ('~' math2)*
//   math2    := pow (('*'|'/'|'//'|'%') pow)*  pow      := unary ('**' unary)*
//   unary    := ('-'|'+') unary | primary postfix* ('|' filter | 'is' ['not'] test | call)*
//   postfix  := '.' name | '[' expr ']' | '[' [expr] ':' [expr] [':' [expr]] ']' | '(' args ')'
// Statements: if/elif/else, for (targets, loop filter `if`, else), set (name, ns.attr, tuple,
// block set), macro, call, filter, break/continue, raw (in the lexer), generation.
// Anything else (include, import, extends, block, with, recursive loops, ...) is an error
// naming the construct and line. Nesting deeper than kMaxParseDepth is an error too.
#pragma once

#include <memory>
#include <string_view>

#include "base/status.h"
#include "tokenizer/jinja_ast.h"
#include "tokenizer/jinja_lexer.h"

namespace moe::jinja {

inline constexpr int kMaxParseDepth = 200;

// The name the innermost operand of a {% filter %} block's chain refers to.
inline constexpr std::string_view kFilterInputName = "__filter_block_input__";

Result<std::shared_ptr<const Template>> parse_template(std::string_view source, const LexOptions& opts);

}  // namespace moe::jinja
