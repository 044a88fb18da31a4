#include "tokenizer/jinja_parser.h"

#include <initializer_list>

namespace moe::jinja {
namespace {

ExprPtr make_expr(ExprKind kind, int line) {
  auto e = std::make_unique<Expr>();
  e->kind = kind;
  e->line = line;
  return e;
}

ExprPtr make_binary(std::string op, ExprPtr lhs, ExprPtr rhs, int line) {
  auto e = make_expr(ExprKind::kBinary, line);
  e->name = std::move(op);
  e->children.push_back(std::move(lhs));
  e->children.push_back(std::move(rhs));
  return e;
}

std::string describe(const Token& t) {
  switch (t.type) {
    case TokenType::kText: return "text";
    case TokenType::kVarBegin: return "'{{'";
    case TokenType::kVarEnd: return "'}}'";
    case TokenType::kBlockBegin: return "'{%'";
    case TokenType::kBlockEnd: return "'%}'";
    case TokenType::kString: return "string literal";
    case TokenType::kInt:
    case TokenType::kFloat: return "number " + t.text;
    case TokenType::kEof: return "end of template";
    default: return "'" + t.text + "'";
  }
}

class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : tokens_(std::move(tokens)) {}

  Result<std::shared_ptr<const Template>> run() {
    auto tmpl = std::make_shared<Template>();
    std::string end;
    MOE_ASSIGN_OR_RETURN(tmpl->body, parse_body({}, &end));
    return std::shared_ptr<const Template>(std::move(tmpl));
  }

 private:
  // Counts nesting (blocks, sub-expressions) so hostile templates cannot exhaust the stack.
  class DepthGuard {
   public:
    explicit DepthGuard(int& depth) : depth_(depth) { ++depth_; }
    ~DepthGuard() { --depth_; }
    bool exceeded() const { return depth_ > kMaxParseDepth; }

   private:
    int& depth_;
  };

  const Token& peek(size_t ahead = 0) const {
    size_t i = std::min(pos_ + ahead, tokens_.size() - 1);
    return tokens_[i];
  }
  const Token& next() {
    const Token& t = tokens_[pos_];
    if (pos_ + 1 < tokens_.size()) ++pos_;
    return t;
  }
  bool is_op(std::string_view op, size_t ahead = 0) const {
    return peek(ahead).type == TokenType::kOp && peek(ahead).text == op;
  }
  bool is_name(std::string_view word, size_t ahead = 0) const {
    return peek(ahead).type == TokenType::kName && peek(ahead).text == word;
  }
  bool skip_op(std::string_view op) {
    if (!is_op(op)) return false;
    next();
    return true;
  }
  bool skip_name(std::string_view word) {
    if (!is_name(word)) return false;
    next();
    return true;
  }
  Status error(const std::string& what) const {
    return Status::error("template line " + std::to_string(peek().line) + ": " + what);
  }
  Status unexpected(const std::string& expected) const {
    return error("expected " + expected + " but found " + describe(peek()));
  }
  Status expect_op(std::string_view op) {
    return skip_op(op) ? Status::ok() : unexpected("'" + std::string(op) + "'");
  }
  Status expect_block_end() {
    if (peek().type == TokenType::kBlockEnd) {
      next();
      return Status::ok();
    }
    return unexpected("'%}'");
  }
  Result<std::string> expect_identifier() {
    if (peek().type != TokenType::kName) return unexpected("a name");
    return next().text;
  }

  // Parses statements until `{% <one of end_words>`; leaves the position on that word.
  Result<Body> parse_body(std::initializer_list<std::string_view> end_words, std::string* found) {
    DepthGuard guard(depth_);
    if (guard.exceeded()) return error("blocks nested too deeply");
    Body body;
    while (true) {
      const Token& t = peek();
      if (t.type == TokenType::kEof) {
        if (end_words.size() == 0) return body;
        return error("missing {% " + std::string(*(end_words.end() - 1)) + " %}");
      }
      if (t.type == TokenType::kText) {
        auto s = std::make_unique<Stmt>();
        s->kind = StmtKind::kText;
        s->line = t.line;
        s->text = next().text;
        body.push_back(std::move(s));
        continue;
      }
      if (t.type == TokenType::kVarBegin) {
        auto s = std::make_unique<Stmt>();
        s->kind = StmtKind::kOutput;
        s->line = next().line;
        MOE_ASSIGN_OR_RETURN(s->expr, parse_expression(true));
        if (peek().type != TokenType::kVarEnd) return unexpected("'}}'");
        next();
        body.push_back(std::move(s));
        continue;
      }
      if (t.type != TokenType::kBlockBegin) return unexpected("text or a tag");
      next();
      if (peek().type != TokenType::kName) return unexpected("a statement name");
      for (std::string_view word : end_words) {
        if (peek().text == word) {
          *found = next().text;
          return body;
        }
      }
      MOE_ASSIGN_OR_RETURN(StmtPtr s, parse_statement());
      body.push_back(std::move(s));
    }
  }

  Result<StmtPtr> parse_statement() {
    const Token& kw = next();
    auto s = std::make_unique<Stmt>();
    s->line = kw.line;
    const std::string& w = kw.text;
    if (w == "if") return parse_if(std::move(s));
    if (w == "for") return parse_for(std::move(s));
    if (w == "set") return parse_set(std::move(s));
    if (w == "macro") return parse_macro(std::move(s));
    if (w == "call") return parse_call_block(std::move(s));
    if (w == "filter") return parse_filter_block(std::move(s));
    if (w == "generation") {
      s->kind = StmtKind::kScope;
      MOE_RETURN_IF_ERROR(expect_block_end());
      std::string end;
      MOE_ASSIGN_OR_RETURN(s->body, parse_body({"endgeneration"}, &end));
      MOE_RETURN_IF_ERROR(expect_block_end());
      return s;
    }
    if (w == "break" || w == "continue") {
      if (loop_depth_ == 0) return error("'" + w + "' outside of a for loop");
      s->kind = w == "break" ? StmtKind::kBreak : StmtKind::kContinue;
      MOE_RETURN_IF_ERROR(expect_block_end());
      return s;
    }
    return Status::error("template line " + std::to_string(kw.line) + ": unsupported statement '" + w + "'");
  }

  Result<StmtPtr> parse_if(StmtPtr s) {
    s->kind = StmtKind::kIf;
    std::string word = "if";
    while (word == "if" || word == "elif") {
      MOE_ASSIGN_OR_RETURN(ExprPtr cond, parse_expression(true));
      MOE_RETURN_IF_ERROR(expect_block_end());
      MOE_ASSIGN_OR_RETURN(Body body, parse_body({"elif", "else", "endif"}, &word));
      s->conditions.push_back(std::move(cond));
      s->bodies.push_back(std::move(body));
    }
    if (word == "else") {
      MOE_RETURN_IF_ERROR(expect_block_end());
      MOE_ASSIGN_OR_RETURN(s->else_body, parse_body({"endif"}, &word));
    }
    MOE_RETURN_IF_ERROR(expect_block_end());
    return s;
  }

  Result<StmtPtr> parse_for(StmtPtr s) {
    s->kind = StmtKind::kFor;
    bool paren = skip_op("(");
    do {
      MOE_ASSIGN_OR_RETURN(std::string name, expect_identifier());
      s->targets.push_back(std::move(name));
    } while (skip_op(","));
    if (paren) MOE_RETURN_IF_ERROR(expect_op(")"));
    if (!skip_name("in")) return unexpected("'in'");
    MOE_ASSIGN_OR_RETURN(s->expr, parse_expression(false));
    if (skip_name("if")) {
      MOE_ASSIGN_OR_RETURN(s->cond, parse_expression(false));
    }
    if (is_name("recursive")) return error("recursive for loops are not supported");
    MOE_RETURN_IF_ERROR(expect_block_end());
    std::string word;
    ++loop_depth_;
    auto body = parse_body({"else", "endfor"}, &word);
    --loop_depth_;
    if (!body.is_ok()) return body.status();
    s->body = std::move(body).value();
    if (word == "else") {
      MOE_RETURN_IF_ERROR(expect_block_end());
      MOE_ASSIGN_OR_RETURN(s->else_body, parse_body({"endfor"}, &word));
    }
    MOE_RETURN_IF_ERROR(expect_block_end());
    return s;
  }

  Result<StmtPtr> parse_set(StmtPtr s) {
    s->kind = StmtKind::kSet;
    MOE_ASSIGN_OR_RETURN(std::string first, expect_identifier());
    s->targets.push_back(std::move(first));
    if (skip_op(".")) {
      MOE_ASSIGN_OR_RETURN(std::string attr, expect_identifier());
      s->targets.push_back(std::move(attr));
      s->attr_target = true;
    } else {
      while (skip_op(",")) {
        MOE_ASSIGN_OR_RETURN(std::string name, expect_identifier());
        s->targets.push_back(std::move(name));
      }
    }
    if (skip_op("=")) {
      MOE_ASSIGN_OR_RETURN(s->expr, parse_tuple_expression());
      MOE_RETURN_IF_ERROR(expect_block_end());
      return s;
    }
    if (is_op("|")) return error("filtered block set is not supported");
    if (s->targets.size() != 1 || s->attr_target) return error("block set needs a single name");
    MOE_RETURN_IF_ERROR(expect_block_end());
    std::string word;
    MOE_ASSIGN_OR_RETURN(s->body, parse_body({"endset"}, &word));
    MOE_RETURN_IF_ERROR(expect_block_end());
    return s;
  }

  Status parse_params(std::vector<MacroParam>& params) {
    MOE_RETURN_IF_ERROR(expect_op("("));
    while (!is_op(")")) {
      MacroParam p;
      MOE_ASSIGN_OR_RETURN(p.name, expect_identifier());
      if (skip_op("=")) {
        MOE_ASSIGN_OR_RETURN(p.default_value, parse_expression(true));
      }
      params.push_back(std::move(p));
      if (!skip_op(",")) break;
    }
    return expect_op(")");
  }

  Result<StmtPtr> parse_macro(StmtPtr s) {
    s->kind = StmtKind::kMacro;
    MOE_ASSIGN_OR_RETURN(s->text, expect_identifier());
    MOE_RETURN_IF_ERROR(parse_params(s->params));
    MOE_RETURN_IF_ERROR(expect_block_end());
    std::string word;
    int saved_loop_depth = loop_depth_;
    loop_depth_ = 0;
    auto body = parse_body({"endmacro"}, &word);
    loop_depth_ = saved_loop_depth;
    if (!body.is_ok()) return body.status();
    s->body = std::move(body).value();
    skip_name(s->text);
    MOE_RETURN_IF_ERROR(expect_block_end());
    return s;
  }

  Result<StmtPtr> parse_call_block(StmtPtr s) {
    s->kind = StmtKind::kCallBlock;
    if (is_op("(")) MOE_RETURN_IF_ERROR(parse_params(s->params));
    MOE_ASSIGN_OR_RETURN(s->expr, parse_expression(true));
    if (s->expr->kind != ExprKind::kCall) return error("{% call %} needs a macro call");
    MOE_RETURN_IF_ERROR(expect_block_end());
    std::string word;
    MOE_ASSIGN_OR_RETURN(s->body, parse_body({"endcall"}, &word));
    MOE_RETURN_IF_ERROR(expect_block_end());
    return s;
  }

  Result<StmtPtr> parse_filter_block(StmtPtr s) {
    s->kind = StmtKind::kFilterBlock;
    ExprPtr chain = make_expr(ExprKind::kName, s->line);
    chain->name = std::string(kFilterInputName);
    do {
      MOE_ASSIGN_OR_RETURN(chain, parse_filter(std::move(chain)));
    } while (skip_op("|"));
    s->expr = std::move(chain);
    MOE_RETURN_IF_ERROR(expect_block_end());
    std::string word;
    MOE_ASSIGN_OR_RETURN(s->body, parse_body({"endfilter"}, &word));
    MOE_RETURN_IF_ERROR(expect_block_end());
    return s;
  }

  // `a, b` without parentheses (set values): a tuple.
  Result<ExprPtr> parse_tuple_expression() {
    int line = peek().line;
    MOE_ASSIGN_OR_RETURN(ExprPtr first, parse_expression(true));
    if (!is_op(",")) return first;
    auto tuple = make_expr(ExprKind::kTuple, line);
    tuple->children.push_back(std::move(first));
    while (skip_op(",")) {
      if (peek().type == TokenType::kBlockEnd) break;
      MOE_ASSIGN_OR_RETURN(ExprPtr item, parse_expression(true));
      tuple->children.push_back(std::move(item));
    }
    return tuple;
  }

  Result<ExprPtr> parse_expression(bool with_condexpr) {
    DepthGuard guard(depth_);
    if (guard.exceeded()) return error("expression nested too deeply");
    MOE_ASSIGN_OR_RETURN(ExprPtr e, parse_or());
    while (with_condexpr && is_name("if")) {
      int line = next().line;
      auto cond = make_expr(ExprKind::kCondExpr, line);
      MOE_ASSIGN_OR_RETURN(ExprPtr test, parse_or());
      ExprPtr otherwise;
      if (skip_name("else")) {
        MOE_ASSIGN_OR_RETURN(otherwise, parse_expression(true));
      }
      cond->children.push_back(std::move(test));
      cond->children.push_back(std::move(e));
      cond->children.push_back(std::move(otherwise));
      e = std::move(cond);
    }
    return e;
  }

  Result<ExprPtr> parse_or() {
    MOE_ASSIGN_OR_RETURN(ExprPtr e, parse_and());
    while (is_name("or")) {
      int line = next().line;
      MOE_ASSIGN_OR_RETURN(ExprPtr rhs, parse_and());
      e = make_binary("or", std::move(e), std::move(rhs), line);
    }
    return e;
  }

  Result<ExprPtr> parse_and() {
    MOE_ASSIGN_OR_RETURN(ExprPtr e, parse_not());
    while (is_name("and")) {
      int line = next().line;
      MOE_ASSIGN_OR_RETURN(ExprPtr rhs, parse_not());
      e = make_binary("and", std::move(e), std::move(rhs), line);
    }
    return e;
  }

  Result<ExprPtr> parse_not() {
    if (!is_name("not")) return parse_compare();
    DepthGuard guard(depth_);
    if (guard.exceeded()) return error("expression nested too deeply");
    auto e = make_expr(ExprKind::kUnary, next().line);
    e->name = "not";
    MOE_ASSIGN_OR_RETURN(ExprPtr operand, parse_not());
    e->children.push_back(std::move(operand));
    return e;
  }

  Result<ExprPtr> parse_compare() {
    MOE_ASSIGN_OR_RETURN(ExprPtr e, parse_math1());
    bool compared = false;
    while (true) {
      std::string op;
      const Token& t = peek();
      if (t.type == TokenType::kOp &&
          (t.text == "==" || t.text == "!=" || t.text == "<" || t.text == "<=" || t.text == ">" || t.text == ">=")) {
        op = t.text;
        next();
      } else if (is_name("in")) {
        op = "in";
        next();
      } else if (is_name("not") && is_name("in", 1)) {
        op = "not in";
        next();
        next();
      } else {
        return e;
      }
      if (compared) return error("chained comparisons are not supported");
      compared = true;
      MOE_ASSIGN_OR_RETURN(ExprPtr rhs, parse_math1());
      e = make_binary(op, std::move(e), std::move(rhs), t.line);
    }
  }

  template <typename Next>
  Result<ExprPtr> parse_binary_level(std::initializer_list<std::string_view> ops, Next next_level) {
    MOE_ASSIGN_OR_RETURN(ExprPtr e, (this->*next_level)());
    while (true) {
      std::string op;
      for (std::string_view candidate : ops) {
        if (is_op(candidate)) op = std::string(candidate);
      }
      if (op.empty()) return e;
      int line = next().line;
      MOE_ASSIGN_OR_RETURN(ExprPtr rhs, (this->*next_level)());
      e = make_binary(op, std::move(e), std::move(rhs), line);
    }
  }

  Result<ExprPtr> parse_math1() { return parse_binary_level({"+", "-"}, &Parser::parse_concat); }
  Result<ExprPtr> parse_concat() { return parse_binary_level({"~"}, &Parser::parse_math2); }
  Result<ExprPtr> parse_math2() { return parse_binary_level({"*", "/", "//", "%"}, &Parser::parse_pow); }
  Result<ExprPtr> parse_pow() { return parse_binary_level({"**"}, &Parser::parse_unary_filtered); }
  Result<ExprPtr> parse_unary_filtered() { return parse_unary(true); }

  Result<ExprPtr> parse_unary(bool with_filter) {
    DepthGuard guard(depth_);
    if (guard.exceeded()) return error("expression nested too deeply");
    ExprPtr e;
    if (is_op("-") || is_op("+")) {
      const Token& t = next();
      e = make_expr(ExprKind::kUnary, t.line);
      e->name = t.text;
      MOE_ASSIGN_OR_RETURN(ExprPtr operand, parse_unary(false));
      e->children.push_back(std::move(operand));
    } else {
      MOE_ASSIGN_OR_RETURN(e, parse_primary());
      MOE_ASSIGN_OR_RETURN(e, parse_postfix(std::move(e)));
    }
    if (!with_filter) return e;
    while (true) {
      if (skip_op("|")) {
        MOE_ASSIGN_OR_RETURN(e, parse_filter(std::move(e)));
      } else if (is_name("is")) {
        MOE_ASSIGN_OR_RETURN(e, parse_test(std::move(e)));
      } else if (is_op("(")) {
        MOE_ASSIGN_OR_RETURN(e, parse_call(std::move(e)));
      } else {
        return e;
      }
    }
  }

  Result<ExprPtr> parse_primary() {
    const Token& t = peek();
    switch (t.type) {
      case TokenType::kName: {
        next();
        auto e = make_expr(ExprKind::kLiteral, t.line);
        if (t.text == "true" || t.text == "True") {
          e->literal = Value(true);
        } else if (t.text == "false" || t.text == "False") {
          e->literal = Value(false);
        } else if (t.text == "none" || t.text == "None") {
          e->literal = Value::none();
        } else {
          e->kind = ExprKind::kName;
          e->name = t.text;
        }
        return e;
      }
      case TokenType::kString: {
        auto e = make_expr(ExprKind::kLiteral, t.line);
        std::string s;
        while (peek().type == TokenType::kString) s += next().text;
        e->literal = Value(std::move(s));
        return e;
      }
      case TokenType::kInt:
      case TokenType::kFloat: {
        next();
        auto e = make_expr(ExprKind::kLiteral, t.line);
        e->literal = t.type == TokenType::kInt ? Value(t.int_value) : Value(t.float_value);
        return e;
      }
      case TokenType::kOp:
        if (t.text == "(") return parse_paren();
        if (t.text == "[") return parse_list();
        if (t.text == "{") return parse_dict();
        break;
      default: break;
    }
    return unexpected("an expression");
  }

  Result<ExprPtr> parse_paren() {
    int line = next().line;
    if (skip_op(")")) return make_expr(ExprKind::kTuple, line);
    MOE_ASSIGN_OR_RETURN(ExprPtr first, parse_expression(true));
    if (skip_op(")")) return first;
    auto tuple = make_expr(ExprKind::kTuple, line);
    tuple->children.push_back(std::move(first));
    while (skip_op(",")) {
      if (is_op(")")) break;
      MOE_ASSIGN_OR_RETURN(ExprPtr item, parse_expression(true));
      tuple->children.push_back(std::move(item));
    }
    MOE_RETURN_IF_ERROR(expect_op(")"));
    return tuple;
  }

  Result<ExprPtr> parse_list() {
    auto list = make_expr(ExprKind::kList, next().line);
    while (!is_op("]")) {
      MOE_ASSIGN_OR_RETURN(ExprPtr item, parse_expression(true));
      list->children.push_back(std::move(item));
      if (!skip_op(",")) break;
    }
    MOE_RETURN_IF_ERROR(expect_op("]"));
    return list;
  }

  Result<ExprPtr> parse_dict() {
    auto dict = make_expr(ExprKind::kDict, next().line);
    while (!is_op("}")) {
      MOE_ASSIGN_OR_RETURN(ExprPtr key, parse_expression(true));
      MOE_RETURN_IF_ERROR(expect_op(":"));
      MOE_ASSIGN_OR_RETURN(ExprPtr value, parse_expression(true));
      dict->children.push_back(std::move(key));
      dict->children.push_back(std::move(value));
      if (!skip_op(",")) break;
    }
    MOE_RETURN_IF_ERROR(expect_op("}"));
    return dict;
  }

  Result<ExprPtr> parse_postfix(ExprPtr e) {
    while (true) {
      if (is_op(".")) {
        int line = next().line;
        auto attr = make_expr(ExprKind::kAttr, line);
        if (peek().type == TokenType::kInt) {  // x.0 is x[0]
          attr->kind = ExprKind::kIndex;
          auto index = make_expr(ExprKind::kLiteral, line);
          index->literal = Value(next().int_value);
          attr->children.push_back(std::move(e));
          attr->children.push_back(std::move(index));
        } else {
          MOE_ASSIGN_OR_RETURN(attr->name, expect_identifier());
          attr->children.push_back(std::move(e));
        }
        e = std::move(attr);
      } else if (is_op("[")) {
        MOE_ASSIGN_OR_RETURN(e, parse_subscript(std::move(e)));
      } else if (is_op("(")) {
        MOE_ASSIGN_OR_RETURN(e, parse_call(std::move(e)));
      } else {
        return e;
      }
    }
  }

  Result<ExprPtr> parse_subscript(ExprPtr object) {
    int line = next().line;  // '['
    ExprPtr parts[3];
    int colons = 0;
    if (!is_op(":")) {
      MOE_ASSIGN_OR_RETURN(parts[0], parse_expression(true));
    }
    while (colons < 2 && skip_op(":")) {
      ++colons;
      if (!is_op(":") && !is_op("]")) {
        MOE_ASSIGN_OR_RETURN(parts[colons], parse_expression(true));
      }
    }
    MOE_RETURN_IF_ERROR(expect_op("]"));
    auto e = make_expr(colons == 0 ? ExprKind::kIndex : ExprKind::kSlice, line);
    e->children.push_back(std::move(object));
    if (colons == 0) {
      e->children.push_back(std::move(parts[0]));
    } else {
      for (auto& part : parts) e->children.push_back(std::move(part));
    }
    return e;
  }

  // Parses `(args)` into e's children[1..] and kwargs.
  Status parse_args(Expr& e) {
    MOE_RETURN_IF_ERROR(expect_op("("));
    while (!is_op(")")) {
      if (is_op("*") || is_op("**")) return error("*args / **kwargs in calls are not supported");
      if (peek().type == TokenType::kName && is_op("=", 1)) {
        std::string name = next().text;
        next();
        MOE_ASSIGN_OR_RETURN(ExprPtr value, parse_expression(true));
        e.kwargs.emplace_back(std::move(name), std::move(value));
      } else {
        if (!e.kwargs.empty()) return error("positional argument after keyword argument");
        MOE_ASSIGN_OR_RETURN(ExprPtr value, parse_expression(true));
        e.children.push_back(std::move(value));
      }
      if (!skip_op(",")) break;
    }
    return expect_op(")");
  }

  Result<ExprPtr> parse_call(ExprPtr callee) {
    auto call = make_expr(ExprKind::kCall, peek().line);
    call->children.push_back(std::move(callee));
    MOE_RETURN_IF_ERROR(parse_args(*call));
    return call;
  }

  Result<ExprPtr> parse_filter(ExprPtr operand) {
    auto f = make_expr(ExprKind::kFilter, peek().line);
    MOE_ASSIGN_OR_RETURN(f->name, expect_identifier());
    f->children.push_back(std::move(operand));
    if (is_op("(")) MOE_RETURN_IF_ERROR(parse_args(*f));
    return f;
  }

  Result<ExprPtr> parse_test(ExprPtr operand) {
    auto t = make_expr(ExprKind::kTest, next().line);  // 'is'
    t->negated = skip_name("not");
    // `is none`/`is true`/`is false` arrive as names here, not literals.
    MOE_ASSIGN_OR_RETURN(t->name, expect_identifier());
    t->children.push_back(std::move(operand));
    if (is_op("(")) {
      MOE_RETURN_IF_ERROR(parse_args(*t));
    } else {
      const Token& a = peek();
      bool arg_follows = a.type == TokenType::kString || a.type == TokenType::kInt || a.type == TokenType::kFloat ||
                         (a.type == TokenType::kName && a.text != "else" && a.text != "or" && a.text != "and" &&
                          a.text != "if" && a.text != "is" && a.text != "in" && a.text != "not");
      if (arg_follows) {
        MOE_ASSIGN_OR_RETURN(ExprPtr arg, parse_primary());
        MOE_ASSIGN_OR_RETURN(arg, parse_postfix(std::move(arg)));
        t->children.push_back(std::move(arg));
      }
    }
    return t;
  }

  std::vector<Token> tokens_;
  size_t pos_ = 0;
  int depth_ = 0;
  int loop_depth_ = 0;
};

}  // namespace

Result<std::shared_ptr<const Template>> parse_template(std::string_view source, const LexOptions& opts) {
  MOE_ASSIGN_OR_RETURN(std::vector<Token> tokens, lex(source, opts));
  return Parser(std::move(tokens)).run();
}

}  // namespace moe::jinja
