// Runtime values of the Jinja subset interpreter (see chat_template.h).
// A Value mirrors the Python object a Jinja2 template would see: Undefined, None, bool, int,
// float, str, list, dict (insertion-ordered, string keys only), and callables (macros and
// builtins). Lists and dicts are shared by reference like Python objects; only namespace()
// objects (`set ns.x = ...`) and lists (`list.append(x)`, `list.pop()`) are ever mutated.
// A list never contains itself (append refuses), so no value is cyclic except through a
// namespace, which prints as <Namespace> and compares by identity.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "base/status.h"

namespace moe::jinja {

class Value;
using Array = std::vector<Value>;

// An insertion-ordered dict with string keys (Python dicts keep insertion order).
class Object {
 public:
  const Value* find(std::string_view key) const;
  void set(std::string key, Value value);
  const std::vector<std::pair<std::string, Value>>& entries() const { return entries_; }
  size_t size() const;  // out of line: Value is incomplete here (clang instantiates eagerly)
  void clear();

 private:
  std::vector<std::pair<std::string, Value>> entries_;
  std::unordered_map<std::string, size_t> index_;  // key -> position in entries_
};

// Arguments of a call: positional, then keyword (in call order).
struct CallArgs {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> keyword;
  const Value* kwarg(std::string_view name) const;
};

// A builtin function or macro bound to the render that created it.
struct Callable {
  std::string name;
  std::function<Result<Value>(CallArgs&)> fn;
};

enum class ValueKind { kUndefined, kNone, kBool, kInt, kFloat, kString, kArray, kObject, kCallable };

class Value {
 public:
  Value() = default;  // Undefined
  static Value undefined(std::string name = {});
  static Value none();
  static Value tuple(Array items);  // a list that prints as (a, b)
  Value(bool b);  // NOLINT: implicit like Python literals
  Value(int64_t i);  // NOLINT
  Value(int i) : Value(static_cast<int64_t>(i)) {}  // NOLINT
  Value(double f);  // NOLINT
  Value(std::string s);  // NOLINT
  Value(const char* s) : Value(std::string(s)) {}  // NOLINT
  Value(Array a);  // NOLINT
  Value(std::shared_ptr<Array> a);  // NOLINT
  Value(std::shared_ptr<Object> o, bool is_namespace = false);
  Value(std::shared_ptr<Callable> c);  // NOLINT

  ValueKind kind() const { return kind_; }
  bool is_undefined() const { return kind_ == ValueKind::kUndefined; }
  bool is_none() const { return kind_ == ValueKind::kNone; }
  bool is_bool() const { return kind_ == ValueKind::kBool; }
  bool is_int() const { return kind_ == ValueKind::kInt; }
  bool is_float() const { return kind_ == ValueKind::kFloat; }
  bool is_number() const { return is_int() || is_float(); }
  bool is_string() const { return kind_ == ValueKind::kString; }
  bool is_array() const { return kind_ == ValueKind::kArray; }
  bool is_object() const { return kind_ == ValueKind::kObject; }
  bool is_callable() const { return kind_ == ValueKind::kCallable; }
  bool is_namespace() const { return is_object() && is_namespace_; }
  bool is_tuple() const { return is_array() && is_namespace_; }

  bool as_bool() const { return b_; }
  int64_t as_int() const { return i_; }
  double as_double() const { return is_int() ? static_cast<double>(i_) : (is_bool() ? b_ : f_); }
  const std::string& as_string() const { return s_; }
  const Array& as_array() const { return *a_; }
  const std::shared_ptr<Array>& array_ptr() const { return a_; }
  const Object& as_object() const { return *o_; }
  Object& mutable_object() const { return *o_; }
  const Callable& as_callable() const { return *c_; }
  // The name an Undefined came from ("messages", "message.content"), for error messages.
  const std::string& undefined_name() const { return s_; }

  bool truthy() const;
  // Nesting of lists/dicts (0 for scalars), computed when the container Value is made;
  // a namespace's later assignments and a list's later appends are not counted (the
  // recursions over values count their own depth).
  int depth() const { return depth_; }
  const char* type_name() const;

 private:
  ValueKind kind_ = ValueKind::kUndefined;
  bool is_namespace_ = false;  // namespace() object, or tuple for arrays
  int depth_ = 0;
  bool b_ = false;
  int64_t i_ = 0;
  double f_ = 0;
  std::string s_;
  std::shared_ptr<Array> a_;
  std::shared_ptr<Object> o_;
  std::shared_ptr<Callable> c_;
};

// Limits on nesting when converting/printing values (cycles are impossible, depth is not).
inline constexpr int kMaxValueDepth = 256;

// Python equality (1 == 1.0 == True; lists and dicts compare deeply).
bool values_equal(const Value& a, const Value& b);
// Python ordering for <, >, sort: numbers with numbers, strings with strings, lists
// lexicographically; anything else is an error.
Result<int> compare_values(const Value& a, const Value& b);

// str(x) as Python prints it (None, True, 1.5, [1, 'a'], {'k': 'v'}); Undefined is "".
std::string to_str(const Value& v);
// repr(x) of a Python value ('a', None, [1, 2]).
std::string to_repr(const Value& v);
// Python float repr: shortest round-trip digits, 1e-05, 1e+16, inf, nan.
std::string format_float(double d);

// json.dumps(x, ensure_ascii, indent, separators, sort_keys) as HF transformers' tojson filter
// calls it (ensure_ascii=False, sort_keys=False by default; no HTML escaping).
struct JsonDumpOptions {
  bool ensure_ascii = false;
  bool sort_keys = false;
  bool has_indent = false;
  std::string indent;  // the string put per level when has_indent
  std::string item_separator = ", ";  // "," by default when has_indent
  std::string key_separator = ": ";
};
Result<std::string> to_json_string(const Value& v, const JsonDumpOptions& opts);

// JSON -> Value. nlohmann::json objects iterate in key order, which becomes dict order.
// Fails only on nesting deeper than kMaxValueDepth.
Result<Value> from_json(const nlohmann::json& j);

// UTF-8 helpers used by string indexing, slicing and length (Python counts code points).
std::vector<size_t> utf8_char_offsets(std::string_view s);  // offsets of each code point start
size_t utf8_length(std::string_view s);

}  // namespace moe::jinja
