#include "tokenizer/jinja_eval.h"

#include <cmath>
#include <ctime>
#include <unordered_map>

#include "tokenizer/jinja_builtins.h"
#include "tokenizer/jinja_parser.h"

namespace moe::jinja {
namespace {

struct Scope {
  std::unordered_map<std::string, Value> vars;
  Scope* parent = nullptr;
};

enum class Flow { kNormal, kBreak, kContinue };

class Evaluator {
 public:
  explicit Evaluator(const RenderLimits& limits) : limits_(limits), budget_{limits} {}

  // namespace() objects and lists that had a method called (append, pop) are the only
  // mutable values, so the only way to build reference cycles (through a namespace) or
  // chains deeper than kMaxValueDepth (appends into appended lists); emptying them all
  // (while holding every one) frees both without deep recursion.
  ~Evaluator() {
    std::vector<std::shared_ptr<Object>> held;
    for (const auto& weak : namespaces_) {
      if (auto ns = weak.lock()) held.push_back(std::move(ns));
    }
    std::vector<std::shared_ptr<Array>> held_lists;
    for (const auto& weak : mutated_lists_) {
      if (auto list = weak.lock()) held_lists.push_back(std::move(list));
    }
    for (const auto& ns : held) ns->clear();
    for (const auto& list : held_lists) list->clear();
  }

  Result<std::string> run(const Template& tmpl, const Value& context) {
    if (!context.is_object()) return Status::error("template context must be a dict");
    for (const auto& [k, v] : context.as_object().entries()) root_.vars[k] = v;
    install_globals();
    std::string out;
    out_ = &out;
    scope_ = &root_;
    Flow flow = Flow::kNormal;
    MOE_RETURN_IF_ERROR(exec_body(tmpl.body, flow));
    return out;
  }

 private:
  class DepthGuard {
   public:
    explicit DepthGuard(int& depth) : depth_(depth) { ++depth_; }
    ~DepthGuard() { --depth_; }

   private:
    int& depth_;
  };

  static Status at_line(int line, const Status& s) {
    if (s.is_ok() || s.message().rfind("template line ", 0) == 0) return s;
    return Status::error("template line " + std::to_string(line) + ": " + s.message());
  }

  Status depth_error(int line) const {
    return Status::error("template line " + std::to_string(line) + ": nesting deeper than " +
                         std::to_string(limits_.max_depth) + " (runaway recursion?)");
  }

  Value lookup(const std::string& name) const {
    for (Scope* s = scope_; s; s = s->parent) {
      auto it = s->vars.find(name);
      if (it != s->vars.end()) return it->second;
    }
    auto it = globals_.find(name);
    if (it != globals_.end()) return it->second;
    return Value::undefined(name);
  }

  Value make_callable(std::string name, std::function<Result<Value>(CallArgs&)> fn) {
    return Value(std::make_shared<Callable>(Callable{std::move(name), std::move(fn)}));
  }

  void install_globals() {
    globals_["namespace"] = make_callable("namespace", [this](CallArgs& args) -> Result<Value> {
      auto o = std::make_shared<Object>();
      for (const Value& p : args.positional) {
        if (!p.is_object()) return Status::error("namespace() positional argument must be a dict");
        for (const auto& [k, v] : p.as_object().entries()) o->set(k, v);
      }
      for (auto& [k, v] : args.keyword) o->set(k, v);
      namespaces_.push_back(o);
      return Value(std::move(o), true);
    });
    globals_["dict"] = make_callable("dict", [](CallArgs& args) -> Result<Value> {
      auto o = std::make_shared<Object>();
      for (auto& [k, v] : args.keyword) o->set(k, v);
      return Value(std::move(o));
    });
    globals_["range"] = make_callable("range", [this](CallArgs& args) -> Result<Value> {
      int64_t start = 0, stop = 0, step = 1;
      for (const Value& v : args.positional) {
        if (!v.is_int()) return Status::error("range() arguments must be integers");
      }
      const auto& p = args.positional;
      if (p.size() == 1) {
        stop = p[0].as_int();
      } else if (p.size() == 2 || p.size() == 3) {
        start = p[0].as_int();
        stop = p[1].as_int();
        if (p.size() == 3) step = p[2].as_int();
      } else {
        return Status::error("range() takes 1 to 3 arguments");
      }
      if (step == 0) return Status::error("range() step must not be zero");
      double count = std::ceil((static_cast<double>(stop) - static_cast<double>(start)) / static_cast<double>(step));
      if (count > static_cast<double>(limits_.max_work)) return Status::error("range() too large");
      MOE_RETURN_IF_ERROR(budget_.charge(count > 0 ? static_cast<int64_t>(count) : 0));
      Array out;
      for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) out.emplace_back(i);
      return Value(std::move(out));
    });
    globals_["raise_exception"] = make_callable("raise_exception", [](CallArgs& args) -> Result<Value> {
      std::string msg = args.positional.empty() ? "raise_exception called" : to_str(args.positional[0]);
      return Status::error("template raised: " + msg);
    });
    globals_["strftime_now"] = make_callable("strftime_now", [](CallArgs& args) -> Result<Value> {
      if (args.positional.empty() || !args.positional[0].is_string()) {
        return Status::error("strftime_now needs a format string");
      }
      std::time_t now = std::time(nullptr);
      std::tm tm{};
      localtime_r(&now, &tm);
      char buf[256];
      size_t n = std::strftime(buf, sizeof(buf), args.positional[0].as_string().c_str(), &tm);
      return Value(std::string(buf, n));
    });
  }

  Status emit(const std::string& s) {
    if (out_->size() + s.size() > limits_.max_output_bytes) {
      return Status::error("template output exceeds " + std::to_string(limits_.max_output_bytes) + " bytes");
    }
    out_->append(s);
    return Status::ok();
  }

  // ---- statements ----

  Status exec_body(const Body& body, Flow& flow) {
    for (const StmtPtr& s : body) {
      MOE_RETURN_IF_ERROR(exec(*s, flow));
      if (flow != Flow::kNormal) return Status::ok();
    }
    return Status::ok();
  }

  Status exec(const Stmt& s, Flow& flow) {
    DepthGuard guard(depth_);
    if (depth_ > limits_.max_depth) return depth_error(s.line);
    switch (s.kind) {
      case StmtKind::kText: return emit(s.text);
      case StmtKind::kOutput: {
        auto v = eval(*s.expr);
        if (!v.is_ok()) return at_line(s.line, v.status());
        return at_line(s.line, emit(to_str(*v)));
      }
      case StmtKind::kIf:
        for (size_t i = 0; i < s.conditions.size(); ++i) {
          auto c = eval(*s.conditions[i]);
          if (!c.is_ok()) return at_line(s.line, c.status());
          if (c->truthy()) return exec_body(s.bodies[i], flow);
        }
        return exec_body(s.else_body, flow);
      case StmtKind::kFor: return at_line(s.line, exec_for(s));
      case StmtKind::kSet: return at_line(s.line, exec_set(s));
      case StmtKind::kMacro: {
        Value macro = make_macro(s, nullptr);
        scope_->vars[s.text] = macro;
        return Status::ok();
      }
      case StmtKind::kCallBlock: return at_line(s.line, exec_call_block(s));
      case StmtKind::kFilterBlock: {
        std::string captured;
        MOE_RETURN_IF_ERROR(capture(s.body, captured));
        Scope inner{{}, scope_};
        inner.vars[std::string(kFilterInputName)] = Value(std::move(captured));
        Scope* saved = scope_;
        scope_ = &inner;
        auto v = eval(*s.expr);
        scope_ = saved;
        if (!v.is_ok()) return at_line(s.line, v.status());
        return emit(to_str(*v));
      }
      case StmtKind::kBreak: flow = Flow::kBreak; return Status::ok();
      case StmtKind::kContinue: flow = Flow::kContinue; return Status::ok();
      case StmtKind::kScope: return exec_body(s.body, flow);
    }
    return Status::error("template line " + std::to_string(s.line) + ": unknown statement");
  }

  Status capture(const Body& body, std::string& into) {
    std::string* saved = out_;
    out_ = &into;
    Flow flow = Flow::kNormal;
    Status st = exec_body(body, flow);
    out_ = saved;
    return st;
  }

  Status bind_targets(Scope& scope, const std::vector<std::string>& targets, const Value& v) {
    if (targets.size() == 1) {
      scope.vars[targets[0]] = v;
      return Status::ok();
    }
    if (!v.is_array() || v.as_array().size() != targets.size()) {
      return Status::error("cannot unpack " + std::string(v.type_name()) + " into " + std::to_string(targets.size()) +
                           " names");
    }
    for (size_t i = 0; i < targets.size(); ++i) scope.vars[targets[i]] = v.as_array()[i];
    return Status::ok();
  }

  Status exec_for(const Stmt& s) {
    MOE_ASSIGN_OR_RETURN(Value iterable, eval(*s.expr));
    if (iterable.is_none()) return Status::error("'NoneType' object is not iterable");
    MOE_ASSIGN_OR_RETURN(Array items, iterate(iterable));
    if (s.cond) {  // the loop filter runs before loop.length is known
      Array kept;
      for (const Value& item : items) {
        MOE_RETURN_IF_ERROR(budget_.charge(1));
        Scope probe{{}, scope_};
        MOE_RETURN_IF_ERROR(bind_targets(probe, s.targets, item));
        Scope* saved = scope_;
        scope_ = &probe;
        auto keep = eval(*s.cond);
        scope_ = saved;
        if (!keep.is_ok()) return keep.status();
        if (keep->truthy()) kept.push_back(item);
      }
      items = std::move(kept);
    }
    Flow flow = Flow::kNormal;
    if (items.empty()) return exec_body(s.else_body, flow);
    const int64_t n = static_cast<int64_t>(items.size());
    auto index = std::make_shared<int64_t>(0);
    Value cycle = make_callable("loop.cycle", [index](CallArgs& args) -> Result<Value> {
      if (args.positional.empty()) return Status::error("loop.cycle needs arguments");
      return args.positional[static_cast<size_t>(*index) % args.positional.size()];
    });
    for (int64_t i = 0; i < n; ++i) {
      MOE_RETURN_IF_ERROR(budget_.charge(1));
      *index = i;
      auto loop = std::make_shared<Object>();
      loop->set("index", Value(i + 1));
      loop->set("index0", Value(i));
      loop->set("revindex", Value(n - i));
      loop->set("revindex0", Value(n - i - 1));
      loop->set("first", Value(i == 0));
      loop->set("last", Value(i == n - 1));
      loop->set("length", Value(n));
      loop->set("depth", Value(int64_t{1}));
      loop->set("depth0", Value(int64_t{0}));
      if (i > 0) loop->set("previtem", items[i - 1]);
      if (i + 1 < n) loop->set("nextitem", items[i + 1]);
      loop->set("cycle", cycle);
      Scope iteration{{}, scope_};
      iteration.vars["loop"] = Value(std::move(loop));
      MOE_RETURN_IF_ERROR(bind_targets(iteration, s.targets, items[i]));
      Scope* saved = scope_;
      scope_ = &iteration;
      flow = Flow::kNormal;
      Status st = exec_body(s.body, flow);
      scope_ = saved;
      MOE_RETURN_IF_ERROR(st);
      if (flow == Flow::kBreak) break;
    }
    return Status::ok();
  }

  Status exec_set(const Stmt& s) {
    Value v;
    if (s.expr) {
      MOE_ASSIGN_OR_RETURN(v, eval(*s.expr));
    } else {
      std::string captured;
      MOE_RETURN_IF_ERROR(capture(s.body, captured));
      v = Value(std::move(captured));
    }
    if (s.attr_target) {
      Value ns = lookup(s.targets[0]);
      if (!ns.is_namespace()) {
        return Status::error("cannot assign attribute '" + s.targets[1] + "' on " + ns.type_name() + " '" +
                             s.targets[0] + "' (only namespace() objects)");
      }
      ns.mutable_object().set(s.targets[1], std::move(v));
      return Status::ok();
    }
    return bind_targets(*scope_, s.targets, v);
  }

  // A macro (or a call block's `caller`) as a callable; `alive` guards captured scopes.
  Value make_macro(const Stmt& s, std::shared_ptr<bool> alive) {
    Scope* parent = alive ? scope_ : &root_;
    return make_callable(s.kind == StmtKind::kMacro ? s.text : "caller",
                         [this, &s, parent, alive](CallArgs& args) -> Result<Value> {
                           if (alive && !*alive) return Status::error("caller() used outside its call block");
                           return call_macro(s, parent, args);
                         });
  }

  Result<Value> call_macro(const Stmt& s, Scope* parent, CallArgs& args) {
    MOE_RETURN_IF_ERROR(budget_.charge(1));
    Scope frame{{}, parent};
    auto varargs = std::make_shared<Array>();
    auto kwargs = std::make_shared<Object>();
    for (size_t i = 0; i < args.positional.size(); ++i) {
      if (i < s.params.size()) {
        frame.vars[s.params[i].name] = args.positional[i];
      } else {
        varargs->push_back(args.positional[i]);
      }
    }
    for (auto& [k, v] : args.keyword) {
      bool is_param = k == "caller";
      for (const MacroParam& p : s.params) is_param = is_param || p.name == k;
      if (is_param) {
        frame.vars[k] = v;
      } else {
        kwargs->set(k, v);
      }
    }
    Scope* saved = scope_;
    scope_ = &frame;
    for (const MacroParam& p : s.params) {
      if (frame.vars.count(p.name)) continue;
      if (!p.default_value) {
        frame.vars[p.name] = Value::undefined(p.name);
        continue;
      }
      auto v = eval(*p.default_value);
      if (!v.is_ok()) {
        scope_ = saved;
        return v.status();
      }
      frame.vars[p.name] = *v;
    }
    frame.vars["varargs"] = Value::tuple(*varargs);
    frame.vars["kwargs"] = Value(kwargs);
    std::string out;
    Status st = capture(s.body, out);
    scope_ = saved;
    MOE_RETURN_IF_ERROR(st);
    return Value(std::move(out));
  }

  Status exec_call_block(const Stmt& s) {
    auto alive = std::make_shared<bool>(true);
    Value caller = make_macro(s, alive);
    const Expr& call = *s.expr;
    MOE_ASSIGN_OR_RETURN(Value callee, eval(*call.children[0]));
    MOE_ASSIGN_OR_RETURN(CallArgs args, eval_args(call));
    args.keyword.emplace_back("caller", caller);
    auto result = invoke(callee, args);
    *alive = false;
    if (!result.is_ok()) return result.status();
    return emit(to_str(*result));
  }

  // ---- expressions ----

  Result<CallArgs> eval_args(const Expr& e) {
    CallArgs args;
    for (size_t i = 1; i < e.children.size(); ++i) {
      MOE_ASSIGN_OR_RETURN(Value v, eval(*e.children[i]));
      args.positional.push_back(std::move(v));
    }
    for (const auto& [k, ex] : e.kwargs) {
      MOE_ASSIGN_OR_RETURN(Value v, eval(*ex));
      args.keyword.emplace_back(k, std::move(v));
    }
    return args;
  }

  Result<Value> invoke(const Value& callee, CallArgs& args) {
    if (callee.is_undefined()) return Status::error("'" + callee.undefined_name() + "' is undefined");
    if (!callee.is_callable()) return Status::error(std::string("'") + callee.type_name() + "' object is not callable");
    return callee.as_callable().fn(args);
  }

  static Status undefined_error(const Value& v) {
    return Status::error("'" + v.undefined_name() + "' is undefined");
  }

  Result<Value> eval(const Expr& e) {
    DepthGuard guard(depth_);
    if (depth_ > limits_.max_depth) return depth_error(e.line);
    Result<Value> v = eval_inner(e);
    if (v.is_ok() && v->depth() > kMaxValueDepth) {
      return Status::error("template line " + std::to_string(e.line) + ": value nested deeper than " +
                           std::to_string(kMaxValueDepth));
    }
    return v;
  }

  Result<Value> eval_inner(const Expr& e) {
    switch (e.kind) {
      case ExprKind::kLiteral: return e.literal;
      case ExprKind::kName: return lookup(e.name);
      case ExprKind::kList:
      case ExprKind::kTuple: {
        Array items;
        for (const ExprPtr& c : e.children) {
          MOE_ASSIGN_OR_RETURN(Value v, eval(*c));
          items.push_back(std::move(v));
        }
        return e.kind == ExprKind::kTuple ? Value::tuple(std::move(items)) : Value(std::move(items));
      }
      case ExprKind::kDict: {
        auto o = std::make_shared<Object>();
        for (size_t i = 0; i + 1 < e.children.size(); i += 2) {
          MOE_ASSIGN_OR_RETURN(Value k, eval(*e.children[i]));
          if (!k.is_string()) return Status::error("dict keys must be strings (only those are supported)");
          MOE_ASSIGN_OR_RETURN(Value v, eval(*e.children[i + 1]));
          o->set(k.as_string(), std::move(v));
        }
        return Value(std::move(o));
      }
      case ExprKind::kAttr: {
        MOE_ASSIGN_OR_RETURN(Value obj, eval(*e.children[0]));
        if (obj.is_undefined()) return undefined_error(obj);
        return get_attr(obj, e.name);
      }
      case ExprKind::kIndex: {
        MOE_ASSIGN_OR_RETURN(Value obj, eval(*e.children[0]));
        if (obj.is_undefined()) return undefined_error(obj);
        MOE_ASSIGN_OR_RETURN(Value key, eval(*e.children[1]));
        return get_item(obj, key);
      }
      case ExprKind::kSlice: {
        MOE_ASSIGN_OR_RETURN(Value obj, eval(*e.children[0]));
        if (obj.is_undefined()) return undefined_error(obj);
        Value parts[3];
        for (int i = 0; i < 3; ++i) {
          if (e.children[i + 1]) {
            MOE_ASSIGN_OR_RETURN(parts[i], eval(*e.children[i + 1]));
          }
        }
        return get_slice(obj, parts[0], parts[1], parts[2]);
      }
      case ExprKind::kCall: return eval_call(e);
      case ExprKind::kFilter: {
        MOE_ASSIGN_OR_RETURN(Value input, eval(*e.children[0]));
        MOE_ASSIGN_OR_RETURN(CallArgs args, eval_args(e));
        return apply_filter(e.name, input, args, budget_);
      }
      case ExprKind::kTest: {
        MOE_ASSIGN_OR_RETURN(Value input, eval(*e.children[0]));
        MOE_ASSIGN_OR_RETURN(CallArgs args, eval_args(e));
        MOE_ASSIGN_OR_RETURN(bool r, apply_test(e.name, input, args));
        return Value(r != e.negated);
      }
      case ExprKind::kUnary: {
        MOE_ASSIGN_OR_RETURN(Value v, eval(*e.children[0]));
        if (e.name == "not") return Value(!v.truthy());
        if (v.is_bool()) v = Value(static_cast<int64_t>(v.as_bool()));
        if (!v.is_number()) return Status::error("bad operand type for unary " + e.name + ": " + v.type_name());
        if (e.name == "+") return v;
        if (v.is_float()) return Value(-v.as_double());
        if (v.as_int() == INT64_MIN) return Status::error("integer overflow");
        return Value(-v.as_int());
      }
      case ExprKind::kBinary: return eval_binary(e);
      case ExprKind::kCondExpr: {
        MOE_ASSIGN_OR_RETURN(Value c, eval(*e.children[0]));
        if (c.truthy()) return eval(*e.children[1]);
        if (!e.children[2]) return Value::undefined("conditional expression without else");
        return eval(*e.children[2]);
      }
    }
    return Status::error("unknown expression");
  }

  Result<Value> eval_call(const Expr& e) {
    const Expr& callee_expr = *e.children[0];
    if (callee_expr.kind == ExprKind::kAttr) {
      MOE_ASSIGN_OR_RETURN(Value obj, eval(*callee_expr.children[0]));
      if (obj.is_undefined()) return undefined_error(obj);
      MOE_ASSIGN_OR_RETURN(CallArgs args, eval_args(e));
      bool found = false;
      if (obj.is_array() &&
          (mutated_lists_.empty() || mutated_lists_.back().lock() != obj.array_ptr())) {
        mutated_lists_.push_back(obj.array_ptr());
      }
      MOE_ASSIGN_OR_RETURN(Value r, call_method(obj, callee_expr.name, args, budget_, &found));
      if (found) return r;
      Value member = get_attr(obj, callee_expr.name);
      if (member.is_callable()) return invoke(member, args);
      return Status::error(std::string("'") + obj.type_name() + "' object has no method '" + callee_expr.name +
                           "' (unsupported)");
    }
    MOE_ASSIGN_OR_RETURN(Value callee, eval(callee_expr));
    MOE_ASSIGN_OR_RETURN(CallArgs args, eval_args(e));
    return invoke(callee, args);
  }

  Result<Value> eval_binary(const Expr& e) {
    const std::string& op = e.name;
    MOE_ASSIGN_OR_RETURN(Value a, eval(*e.children[0]));
    if (op == "and") return a.truthy() ? eval(*e.children[1]) : a;
    if (op == "or") return a.truthy() ? a : eval(*e.children[1]);
    MOE_ASSIGN_OR_RETURN(Value b, eval(*e.children[1]));
    if (op == "==") return Value(values_equal(a, b));
    if (op == "!=") return Value(!values_equal(a, b));
    if (op == "<" || op == "<=" || op == ">" || op == ">=") {
      MOE_ASSIGN_OR_RETURN(int c, compare_values(a, b));
      return Value(op == "<" ? c < 0 : op == "<=" ? c <= 0 : op == ">" ? c > 0 : c >= 0);
    }
    if (op == "in" || op == "not in") {
      if (b.is_none() || b.is_number() || b.is_bool()) {
        return Status::error(std::string("argument of type '") + b.type_name() + "' is not iterable");
      }
      if (b.is_string() && !a.is_string()) return Status::error("'in <string>' requires a string on the left");
      CallArgs args;
      args.positional.push_back(b);
      MOE_ASSIGN_OR_RETURN(bool r, apply_test("in", a, args));
      return Value(r == (op == "in"));
    }
    if (op == "~") {
      std::string s = to_str(a) + to_str(b);
      MOE_RETURN_IF_ERROR(budget_.check_string(s.size()));
      return Value(std::move(s));
    }
    return arithmetic(op, a, b);
  }

  Result<Value> arithmetic(const std::string& op, Value a, Value b) {
    if (a.is_undefined()) return undefined_error(a);
    if (b.is_undefined()) return undefined_error(b);
    if (op == "+" && a.is_string() && b.is_string()) {
      MOE_RETURN_IF_ERROR(budget_.check_string(a.as_string().size() + b.as_string().size()));
      return Value(a.as_string() + b.as_string());
    }
    if (op == "+" && a.is_array() && b.is_array()) {
      MOE_RETURN_IF_ERROR(budget_.charge(static_cast<int64_t>(a.as_array().size() + b.as_array().size())));
      Array out = a.as_array();
      out.insert(out.end(), b.as_array().begin(), b.as_array().end());
      return Value(std::move(out));
    }
    if (op == "*" && (a.is_string() || a.is_array() || b.is_string() || b.is_array())) {
      if (a.is_int()) std::swap(a, b);
      if (!b.is_int()) return Status::error("can't multiply sequence by non-int");
      int64_t n = std::max<int64_t>(b.as_int(), 0);
      if (a.is_string()) {
        if (n > 0 && a.as_string().size() > limits_.max_output_bytes / static_cast<uint64_t>(n)) {
          return budget_.check_string(limits_.max_output_bytes + 1);
        }
        MOE_RETURN_IF_ERROR(budget_.check_string(a.as_string().size() * n));
        std::string out;
        for (int64_t i = 0; i < n; ++i) out += a.as_string();
        return Value(std::move(out));
      }
      if (a.is_array()) {
        if (n > 0 && a.as_array().size() > static_cast<uint64_t>(limits_.max_work) / static_cast<uint64_t>(n)) {
          return budget_.charge(limits_.max_work + 1);
        }
        MOE_RETURN_IF_ERROR(budget_.charge(static_cast<int64_t>(a.as_array().size()) * n));
        Array out;
        for (int64_t i = 0; i < n; ++i) out.insert(out.end(), a.as_array().begin(), a.as_array().end());
        return Value(std::move(out));
      }
      return Status::error("can't multiply sequence by non-int");
    }
    if (a.is_bool()) a = Value(static_cast<int64_t>(a.as_bool()));
    if (b.is_bool()) b = Value(static_cast<int64_t>(b.as_bool()));
    if (!a.is_number() || !b.is_number()) {
      return Status::error("unsupported operand types for " + op + ": '" + a.type_name() + "' and '" + b.type_name() +
                           "'");
    }
    if (a.is_int() && b.is_int() && op != "/") return int_arithmetic(op, a.as_int(), b.as_int());
    double x = a.as_double(), y = b.as_double();
    if (op == "+") return Value(x + y);
    if (op == "-") return Value(x - y);
    if (op == "*") return Value(x * y);
    if (op == "**") return Value(std::pow(x, y));
    if (y == 0) return Status::error("division by zero");
    if (op == "/") return Value(x / y);
    if (op == "//") return Value(std::floor(x / y));
    if (op == "%") {
      double r = std::fmod(x, y);
      if (r != 0 && ((r < 0) != (y < 0))) r += y;
      return Value(r);
    }
    return Status::error("unsupported operator " + op);
  }

  static Result<Value> int_arithmetic(const std::string& op, int64_t x, int64_t y) {
    int64_t r = 0;
    const Status overflow = Status::error("integer overflow in " + op);
    if (op == "+") return __builtin_add_overflow(x, y, &r) ? Result<Value>(overflow) : Value(r);
    if (op == "-") return __builtin_sub_overflow(x, y, &r) ? Result<Value>(overflow) : Value(r);
    if (op == "*") return __builtin_mul_overflow(x, y, &r) ? Result<Value>(overflow) : Value(r);
    if (op == "**") {
      if (y < 0) return Value(std::pow(static_cast<double>(x), static_cast<double>(y)));
      r = 1;
      for (int64_t i = 0; i < y; ++i) {
        if (__builtin_mul_overflow(r, x, &r)) return overflow;
        if (r == 0 || r == 1) break;
      }
      return Value(r);
    }
    if (y == 0) return Status::error("integer division or modulo by zero");
    if (x == INT64_MIN && y == -1) return overflow;
    int64_t q = x / y, m = x % y;
    if (m != 0 && ((m < 0) != (y < 0))) {
      --q;
      m += y;
    }
    if (op == "//") return Value(q);
    if (op == "%") return Value(m);
    return Status::error("unsupported operator " + op);
  }

  const RenderLimits& limits_;
  Budget budget_;
  Scope root_;
  Scope* scope_ = nullptr;
  std::unordered_map<std::string, Value> globals_;
  std::string* out_ = nullptr;
  int depth_ = 0;
  std::vector<std::weak_ptr<Object>> namespaces_;
  std::vector<std::weak_ptr<Array>> mutated_lists_;  // lists a method was called on
};

}  // namespace

Result<std::string> render(const Template& tmpl, const Value& context, const RenderLimits& limits) {
  Evaluator evaluator(limits);
  return evaluator.run(tmpl, context);
}

}  // namespace moe::jinja
