#include "tokenizer/jinja_value.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

#include <nlohmann/json.hpp>

namespace moe::jinja {

const Value* Object::find(std::string_view key) const {
  auto it = index_.find(std::string(key));
  return it == index_.end() ? nullptr : &entries_[it->second].second;
}

void Object::set(std::string key, Value value) {
  auto [it, inserted] = index_.emplace(key, entries_.size());
  if (!inserted) {
    entries_[it->second].second = std::move(value);
    return;
  }
  entries_.emplace_back(std::move(key), std::move(value));
}

const Value* CallArgs::kwarg(std::string_view name) const {
  for (const auto& [k, v] : keyword) {
    if (k == name) return &v;
  }
  return nullptr;
}

size_t Object::size() const { return entries_.size(); }

void Object::clear() {
  entries_.clear();
  index_.clear();
}

namespace {
int max_child_depth(const Array& a) {
  int d = 0;
  for (const Value& v : a) d = std::max(d, v.depth());
  return d;
}
int max_child_depth(const Object& o) {
  int d = 0;
  for (const auto& [k, v] : o.entries()) d = std::max(d, v.depth());
  return d;
}
}  // namespace

Value Value::undefined(std::string name) {
  Value v;
  v.s_ = std::move(name);
  return v;
}

Value Value::none() {
  Value v;
  v.kind_ = ValueKind::kNone;
  return v;
}

Value Value::tuple(Array items) {
  Value v(std::move(items));
  v.is_namespace_ = true;
  return v;
}

Value::Value(bool b) : kind_(ValueKind::kBool), b_(b) {}
Value::Value(int64_t i) : kind_(ValueKind::kInt), i_(i) {}
Value::Value(double f) : kind_(ValueKind::kFloat), f_(f) {}
Value::Value(std::string s) : kind_(ValueKind::kString), s_(std::move(s)) {}
Value::Value(Array a) : kind_(ValueKind::kArray), a_(std::make_shared<Array>(std::move(a))) {
  depth_ = 1 + max_child_depth(*a_);
}
Value::Value(std::shared_ptr<Array> a) : kind_(ValueKind::kArray), a_(std::move(a)) {
  depth_ = 1 + max_child_depth(*a_);
}
Value::Value(std::shared_ptr<Object> o, bool is_namespace)
    : kind_(ValueKind::kObject), is_namespace_(is_namespace), o_(std::move(o)) {
  depth_ = 1 + max_child_depth(*o_);
}
Value::Value(std::shared_ptr<Callable> c) : kind_(ValueKind::kCallable), c_(std::move(c)) {}

bool Value::truthy() const {
  switch (kind_) {
    case ValueKind::kUndefined:
    case ValueKind::kNone: return false;
    case ValueKind::kBool: return b_;
    case ValueKind::kInt: return i_ != 0;
    case ValueKind::kFloat: return f_ != 0;
    case ValueKind::kString: return !s_.empty();
    case ValueKind::kArray: return !a_->empty();
    case ValueKind::kObject: return o_->size() != 0;
    case ValueKind::kCallable: return true;
  }
  return false;
}

const char* Value::type_name() const {
  switch (kind_) {
    case ValueKind::kUndefined: return "undefined";
    case ValueKind::kNone: return "none";
    case ValueKind::kBool: return "bool";
    case ValueKind::kInt: return "int";
    case ValueKind::kFloat: return "float";
    case ValueKind::kString: return "string";
    case ValueKind::kArray: return "list";
    case ValueKind::kObject: return is_namespace_ ? "namespace" : "dict";
    case ValueKind::kCallable: return "callable";
  }
  return "?";
}

static bool is_numeric(const Value& v) { return v.is_number() || v.is_bool(); }

// Lists can grow deeper than the depth recorded when they were made (list.append), so the
// recursions count their own depth; values nested deeper than kMaxValueDepth compare unequal.
static bool values_equal_at(const Value& a, const Value& b, int depth) {
  if (depth > kMaxValueDepth) return false;
  if (is_numeric(a) && is_numeric(b)) {
    if (a.is_float() || b.is_float()) return a.as_double() == b.as_double();
    int64_t x = a.is_bool() ? a.as_bool() : a.as_int();
    int64_t y = b.is_bool() ? b.as_bool() : b.as_int();
    return x == y;
  }
  if (a.kind() != b.kind()) return false;
  if (a.is_namespace() || b.is_namespace()) return &a.as_object() == &b.as_object();  // may be cyclic
  switch (a.kind()) {
    case ValueKind::kUndefined:
    case ValueKind::kNone: return true;
    case ValueKind::kString: return a.as_string() == b.as_string();
    case ValueKind::kArray: {
      const Array& x = a.as_array();
      const Array& y = b.as_array();
      if (x.size() != y.size()) return false;
      for (size_t i = 0; i < x.size(); ++i) {
        if (!values_equal_at(x[i], y[i], depth + 1)) return false;
      }
      return true;
    }
    case ValueKind::kObject: {
      const Object& x = a.as_object();
      const Object& y = b.as_object();
      if (x.size() != y.size()) return false;
      for (const auto& [k, v] : x.entries()) {
        const Value* other = y.find(k);
        if (!other || !values_equal_at(v, *other, depth + 1)) return false;
      }
      return true;
    }
    case ValueKind::kCallable: return &a.as_callable() == &b.as_callable();
    default: return false;
  }
}

bool values_equal(const Value& a, const Value& b) {
  return values_equal_at(a, b, 0);
}

static Result<int> compare_values_at(const Value& a, const Value& b, int depth) {
  if (depth > kMaxValueDepth) return Status::error("cannot compare values nested this deeply");
  if (is_numeric(a) && is_numeric(b)) {
    if (a.is_int() && b.is_int()) return a.as_int() < b.as_int() ? -1 : (a.as_int() > b.as_int() ? 1 : 0);
    double x = a.as_double(), y = b.as_double();
    return x < y ? -1 : (x > y ? 1 : 0);
  }
  if (a.is_string() && b.is_string()) {
    int c = a.as_string().compare(b.as_string());
    return c < 0 ? -1 : (c > 0 ? 1 : 0);
  }
  if (a.is_array() && b.is_array()) {
    const Array& x = a.as_array();
    const Array& y = b.as_array();
    for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
      auto c = compare_values_at(x[i], y[i], depth + 1);
      if (!c.is_ok() || *c != 0) return c;
    }
    return x.size() < y.size() ? -1 : (x.size() > y.size() ? 1 : 0);
  }
  return Status::error(std::string("cannot compare ") + a.type_name() + " with " + b.type_name());
}

Result<int> compare_values(const Value& a, const Value& b) {
  return compare_values_at(a, b, 0);
}

std::string format_float(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d < 0 ? "-inf" : "inf";
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof(buf), d, std::chars_format::scientific);
  std::string sci(buf, res.ptr);  // "-1.2345e+02"
  bool negative = sci[0] == '-';
  if (negative) sci.erase(0, 1);
  size_t e_pos = sci.find('e');
  std::string digits = sci.substr(0, e_pos);
  digits.erase(std::remove(digits.begin(), digits.end(), '.'), digits.end());
  int exp = std::stoi(sci.substr(e_pos + 1));
  std::string out = negative ? "-" : "";
  if (exp >= -4 && exp < 16) {  // Python repr: fixed when -4 <= exp < 16
    if (exp >= 0) {
      std::string int_part = digits.substr(0, std::min<size_t>(digits.size(), exp + 1));
      while (static_cast<int>(int_part.size()) < exp + 1) int_part += '0';
      std::string frac = digits.size() > static_cast<size_t>(exp + 1) ? digits.substr(exp + 1) : "0";
      out += int_part;
      out += '.';
      out += frac;
    } else {
      out += "0.";
      out.append(static_cast<size_t>(-exp - 1), '0');
      out += digits;
    }
    return out;
  }
  out += digits.substr(0, 1);
  if (digits.size() > 1) {
    out += '.';
    out.append(digits, 1, std::string::npos);
  }
  char exp_buf[16];
  std::snprintf(exp_buf, sizeof(exp_buf), "e%c%02d", exp < 0 ? '-' : '+', std::abs(exp));
  return out + exp_buf;
}

static void append_repr_string(const std::string& s, std::string& out) {
  char quote = (s.find('\'') != std::string::npos && s.find('"') == std::string::npos) ? '"' : '\'';
  out += quote;
  for (unsigned char c : s) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == static_cast<unsigned char>(quote)) {
      out += '\\';
      out += quote;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  out += quote;
}

static void append_py(const Value& v, bool repr, int depth, std::string& out) {
  if (depth > kMaxValueDepth) {
    out += "...";
    return;
  }
  switch (v.kind()) {
    case ValueKind::kUndefined: break;
    case ValueKind::kNone: out += "None"; break;
    case ValueKind::kBool: out += v.as_bool() ? "True" : "False"; break;
    case ValueKind::kInt: out += std::to_string(v.as_int()); break;
    case ValueKind::kFloat: out += format_float(v.as_double()); break;
    case ValueKind::kString:
      if (repr) {
        append_repr_string(v.as_string(), out);
      } else {
        out += v.as_string();
      }
      break;
    case ValueKind::kArray: {
      out += v.is_tuple() ? '(' : '[';
      bool first = true;
      for (const Value& item : v.as_array()) {
        if (!first) out += ", ";
        first = false;
        append_py(item, true, depth + 1, out);
      }
      if (v.is_tuple() && v.as_array().size() == 1) out += ',';
      out += v.is_tuple() ? ')' : ']';
      break;
    }
    case ValueKind::kObject: {
      if (v.is_namespace()) {
        out += "<Namespace>";
        break;
      }
      out += '{';
      bool first = true;
      for (const auto& [k, item] : v.as_object().entries()) {
        if (!first) out += ", ";
        first = false;
        append_repr_string(k, out);
        out += ": ";
        append_py(item, true, depth + 1, out);
      }
      out += '}';
      break;
    }
    case ValueKind::kCallable: out += "<function " + v.as_callable().name + ">"; break;
  }
}

std::string to_str(const Value& v) {
  if (v.is_string()) return v.as_string();
  std::string out;
  append_py(v, false, 0, out);
  return out;
}

std::string to_repr(const Value& v) {
  std::string out;
  append_py(v, true, 0, out);
  return out;
}

// Decodes one code point at s[i] (advancing i); invalid bytes decode as U+FFFD.
static uint32_t decode_utf8(std::string_view s, size_t& i) {
  unsigned char c = s[i];
  int len = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
  if (len == 0 || i + len > s.size()) {
    ++i;
    return 0xFFFD;
  }
  uint32_t cp = len == 1 ? c : (c & (0x7F >> len));
  for (int k = 1; k < len; ++k) {
    unsigned char cc = s[i + k];
    if ((cc & 0xC0) != 0x80) {
      ++i;
      return 0xFFFD;
    }
    cp = (cp << 6) | (cc & 0x3F);
  }
  i += len;
  return cp;
}

static void append_json_string(const std::string& s, bool ensure_ascii, std::string& out) {
  out += '"';
  size_t i = 0;
  char buf[16];
  while (i < s.size()) {
    unsigned char c = s[i];
    if (c == '"') {
      out += "\\\"";
    } else if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\b') {
      out += "\\b";
    } else if (c == '\f') {
      out += "\\f";
    } else if (c < 0x20 || (ensure_ascii && c == 0x7f)) {
      std::snprintf(buf, sizeof(buf), "\\u%04x", c);
      out += buf;
    } else if (c >= 0x80 && ensure_ascii) {
      uint32_t cp = decode_utf8(s, i);
      if (cp >= 0x10000) {
        cp -= 0x10000;
        std::snprintf(buf, sizeof(buf), "\\u%04x\\u%04x", 0xD800 + (cp >> 10), 0xDC00 + (cp & 0x3FF));
      } else {
        std::snprintf(buf, sizeof(buf), "\\u%04x", cp);
      }
      out += buf;
      continue;
    } else {
      out += static_cast<char>(c);
    }
    ++i;
  }
  out += '"';
}

static Status append_json(const Value& v, const JsonDumpOptions& opts, int depth, std::string& out) {
  if (depth > kMaxValueDepth) return Status::error("tojson: value nested too deeply");
  auto newline = [&](int level) {
    if (!opts.has_indent) return;
    out += '\n';
    for (int k = 0; k < level; ++k) out += opts.indent;
  };
  switch (v.kind()) {
    case ValueKind::kUndefined: return Status::error("tojson: value is undefined");
    case ValueKind::kNone: out += "null"; break;
    case ValueKind::kBool: out += v.as_bool() ? "true" : "false"; break;
    case ValueKind::kInt: out += std::to_string(v.as_int()); break;
    case ValueKind::kFloat: {
      double d = v.as_double();
      out += std::isnan(d) ? "NaN" : std::isinf(d) ? (d < 0 ? "-Infinity" : "Infinity") : format_float(d);
      break;
    }
    case ValueKind::kString: append_json_string(v.as_string(), opts.ensure_ascii, out); break;
    case ValueKind::kArray: {
      const Array& a = v.as_array();
      if (a.empty()) {
        out += "[]";
        break;
      }
      out += '[';
      for (size_t i = 0; i < a.size(); ++i) {
        if (i) out += opts.item_separator;
        newline(depth + 1);
        MOE_RETURN_IF_ERROR(append_json(a[i], opts, depth + 1, out));
      }
      newline(depth);
      out += ']';
      break;
    }
    case ValueKind::kObject: {
      std::vector<const std::pair<std::string, Value>*> entries;
      for (const auto& e : v.as_object().entries()) entries.push_back(&e);
      if (opts.sort_keys) {
        std::stable_sort(entries.begin(), entries.end(), [](auto* x, auto* y) { return x->first < y->first; });
      }
      if (entries.empty()) {
        out += "{}";
        break;
      }
      out += '{';
      for (size_t i = 0; i < entries.size(); ++i) {
        if (i) out += opts.item_separator;
        newline(depth + 1);
        append_json_string(entries[i]->first, opts.ensure_ascii, out);
        out += opts.key_separator;
        MOE_RETURN_IF_ERROR(append_json(entries[i]->second, opts, depth + 1, out));
      }
      newline(depth);
      out += '}';
      break;
    }
    case ValueKind::kCallable: return Status::error("tojson: a callable is not JSON serializable");
  }
  return Status::ok();
}

Result<std::string> to_json_string(const Value& v, const JsonDumpOptions& opts) {
  std::string out;
  MOE_RETURN_IF_ERROR(append_json(v, opts, 0, out));
  return out;
}

static Result<Value> from_json_at(const nlohmann::json& j, int depth) {
  if (depth > kMaxValueDepth) return Status::error("JSON value nested deeper than " + std::to_string(kMaxValueDepth));
  switch (j.type()) {
    case nlohmann::json::value_t::null: return Value::none();
    case nlohmann::json::value_t::boolean: return Value(j.get<bool>());
    case nlohmann::json::value_t::number_integer: return Value(j.get<int64_t>());
    case nlohmann::json::value_t::number_unsigned: {
      uint64_t u = j.get<uint64_t>();
      if (u <= static_cast<uint64_t>(INT64_MAX)) return Value(static_cast<int64_t>(u));
      return Value(static_cast<double>(u));
    }
    case nlohmann::json::value_t::number_float: return Value(j.get<double>());
    case nlohmann::json::value_t::string: return Value(j.get<std::string>());
    case nlohmann::json::value_t::array: {
      Array a;
      a.reserve(j.size());
      for (const auto& item : j) {
        MOE_ASSIGN_OR_RETURN(Value v, from_json_at(item, depth + 1));
        a.push_back(std::move(v));
      }
      return Value(std::move(a));
    }
    case nlohmann::json::value_t::object: {
      auto o = std::make_shared<Object>();
      for (auto it = j.begin(); it != j.end(); ++it) {
        MOE_ASSIGN_OR_RETURN(Value v, from_json_at(it.value(), depth + 1));
        o->set(it.key(), std::move(v));
      }
      return Value(std::move(o));
    }
    default: return Value::none();  // binary, discarded
  }
}

Result<Value> from_json(const nlohmann::json& j) { return from_json_at(j, 0); }

std::vector<size_t> utf8_char_offsets(std::string_view s) {
  std::vector<size_t> offsets;
  size_t i = 0;
  while (i < s.size()) {
    offsets.push_back(i);
    decode_utf8(s, i);
  }
  return offsets;
}

size_t utf8_length(std::string_view s) {
  size_t n = 0;
  size_t i = 0;
  while (i < s.size()) {
    decode_utf8(s, i);
    ++n;
  }
  return n;
}

}  // namespace moe::jinja
