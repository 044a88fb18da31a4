// Syntax tree of the Jinja subset, produced by jinja_parser and walked by jinja_eval.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tokenizer/jinja_value.h"

namespace moe::jinja {

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

enum class ExprKind {
  kLiteral,   // literal
  kName,      // name
  kList,      // children = items
  kTuple,     // children = items (evaluates to a list)
  kDict,      // children = key0, value0, key1, value1, ...
  kAttr,      // children[0].name
  kIndex,     // children[0][children[1]]
  kSlice,     // children[0][children[1]:children[2]:children[3]] (null parts omitted)
  kCall,      // children[0](children[1..], kwargs)
  kFilter,    // children[0] | name(children[1..], kwargs)
  kTest,      // children[0] is [not] name(children[1..])
  kUnary,     // op children[0]: "not", "-", "+"
  kBinary,    // children[0] op children[1]: and or + - * / // % ** ~ == != < <= > >= in "not in"
  kCondExpr,  // children[1] if children[0] else children[2] (children[2] may be null)
};

struct Expr {
  ExprKind kind = ExprKind::kLiteral;
  int line = 0;
  Value literal;
  std::string name;  // variable, attribute, filter or test name; operator for unary/binary
  bool negated = false;  // `is not`
  std::vector<ExprPtr> children;
  std::vector<std::pair<std::string, ExprPtr>> kwargs;
};

struct Stmt;
using StmtPtr = std::unique_ptr<Stmt>;
using Body = std::vector<StmtPtr>;

enum class StmtKind {
  kText,        // text
  kOutput,      // {{ expr }}
  kIf,          // conditions[i] -> bodies[i]; else_body
  kFor,         // for targets in expr [if cond]: body; else_body
  kSet,         // set targets = expr | set targets %}body{% endset
  kMacro,       // macro name(params) body
  kCallBlock,   // call(params) expr: body is the caller
  kFilterBlock, // filter expr (a filter chain applied to a placeholder): body
  kBreak,
  kContinue,
  kScope,       // a body rendered as is ({% generation %} from transformers)
};

struct MacroParam {
  std::string name;
  ExprPtr default_value;  // null: required (undefined when missing)
};

struct Stmt {
  StmtKind kind = StmtKind::kText;
  int line = 0;
  std::string text;  // text, or macro name
  ExprPtr expr;  // output, for iterable, set value, call, filter chain
  ExprPtr cond;  // for loop filter
  std::vector<ExprPtr> conditions;  // if/elif
  std::vector<Body> bodies;  // if/elif bodies
  Body body;
  Body else_body;
  std::vector<std::string> targets;  // for/set names; set ns.attr: {"ns", "attr"} + attr_target
  bool attr_target = false;
  std::vector<MacroParam> params;  // macro / call block
};

struct Template {
  Body body;
};

}  // namespace moe::jinja
