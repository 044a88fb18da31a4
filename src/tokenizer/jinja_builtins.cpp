#include "tokenizer/jinja_builtins.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <optional>
#include <unordered_set>

namespace moe::jinja {

Status Budget::charge(int64_t units) {
  work += units;
  if (work > limits.max_work) {
    return Status::error("template exceeded its work limit of " + std::to_string(limits.max_work) +
                         " (loop iterations, macro calls, built elements)");
  }
  return Status::ok();
}

Status Budget::check_string(size_t bytes) {
  if (bytes > limits.max_output_bytes) {
    return Status::error("template built a string over the " + std::to_string(limits.max_output_bytes) +
                         "-byte output limit");
  }
  return charge(static_cast<int64_t>(bytes >> 10));
}

namespace {

const Value* arg(const CallArgs& args, size_t i, std::string_view name) {
  if (i < args.positional.size()) return &args.positional[i];
  return args.kwarg(name);
}

bool is_py_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

std::string ascii_lower(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

std::string ascii_upper(std::string s) {
  for (char& c : s) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return s;
}

std::string capitalize(const std::string& s) {
  std::string out = ascii_lower(s);
  if (!out.empty() && out[0] >= 'a' && out[0] <= 'z') out[0] = static_cast<char>(out[0] - 'a' + 'A');
  return out;
}

std::string title(const std::string& s) {
  std::string out = s;
  bool start = true;
  for (char& c : out) {
    bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (alpha) {
      c = start ? ascii_upper(std::string(1, c))[0] : ascii_lower(std::string(1, c))[0];
    }
    start = !alpha && !(c >= '0' && c <= '9') && c != '\'';
  }
  return out;
}

// str.strip family: chars == nullptr strips whitespace.
std::string py_strip(const std::string& s, const Value* chars, bool left, bool right) {
  auto strip_char = [&](char c) {
    if (!chars || chars->is_none() || chars->is_undefined()) return is_py_space(c);
    return chars->as_string().find(c) != std::string::npos;
  };
  size_t b = 0, e = s.size();
  if (left) {
    while (b < e && strip_char(s[b])) ++b;
  }
  if (right) {
    while (e > b && strip_char(s[e - 1])) --e;
  }
  return s.substr(b, e - b);
}

Result<std::string> py_replace(const std::string& s, const std::string& from, const std::string& to, int64_t count,
                               Budget& budget) {
  std::string out;
  if (from.empty()) {  // Python inserts `to` at each of the n + 1 positions
    std::vector<size_t> offsets = utf8_char_offsets(s);
    for (size_t i = 0; i <= offsets.size(); ++i) {
      if (count < 0 || static_cast<int64_t>(i) < count) out += to;
      if (i == offsets.size()) break;
      size_t end = i + 1 < offsets.size() ? offsets[i + 1] : s.size();
      out.append(s, offsets[i], end - offsets[i]);
      MOE_RETURN_IF_ERROR(budget.check_string(out.size()));
    }
  } else {
    size_t pos = 0;
    int64_t n = 0;
    while (count < 0 || n < count) {
      size_t hit = s.find(from, pos);
      if (hit == std::string::npos) break;
      out.append(s, pos, hit - pos);
      out += to;
      pos = hit + from.size();
      ++n;
      MOE_RETURN_IF_ERROR(budget.check_string(out.size()));
    }
    out.append(s, pos, std::string::npos);
  }
  MOE_RETURN_IF_ERROR(budget.check_string(out.size()));
  return out;
}

Array py_split(const std::string& s, const Value* sep, int64_t maxsplit) {
  Array parts;
  if (!sep || sep->is_none() || sep->is_undefined()) {
    size_t i = 0;
    while (true) {
      while (i < s.size() && is_py_space(s[i])) ++i;
      if (i >= s.size()) break;
      if (maxsplit >= 0 && static_cast<int64_t>(parts.size()) >= maxsplit) {
        size_t e = s.size();
        while (e > i && is_py_space(s[e - 1])) --e;
        parts.emplace_back(s.substr(i, e - i));
        break;
      }
      size_t j = i;
      while (j < s.size() && !is_py_space(s[j])) ++j;
      parts.emplace_back(s.substr(i, j - i));
      i = j;
    }
    return parts;
  }
  const std::string& d = sep->as_string();
  size_t pos = 0;
  while (maxsplit < 0 || static_cast<int64_t>(parts.size()) < maxsplit) {
    size_t hit = s.find(d, pos);
    if (hit == std::string::npos) break;
    parts.emplace_back(s.substr(pos, hit - pos));
    pos = hit + d.size();
  }
  parts.emplace_back(s.substr(pos));
  return parts;
}

Result<int64_t> to_int_arg(const Value* v, int64_t fallback, const char* what) {
  if (!v || v->is_none() || v->is_undefined()) return fallback;
  if (v->is_int()) return v->as_int();
  if (v->is_bool()) return static_cast<int64_t>(v->as_bool());
  return Status::error(std::string(what) + " must be an integer, got " + v->type_name());
}

Status need_string(const Value* v, const char* what) {
  if (!v || !v->is_string()) return Status::error(std::string(what) + " must be a string");
  return Status::ok();
}

Result<Value> tojson(const Value& input, const CallArgs& args) {
  JsonDumpOptions opts;
  const Value* indent = args.kwarg("indent");
  const Value* ensure_ascii = args.kwarg("ensure_ascii");
  for (const Value& p : args.positional) {  // Jinja2: tojson(indent); HF: tojson(ensure_ascii, indent)
    if (p.is_bool()) {
      ensure_ascii = &p;
    } else {
      indent = &p;
    }
  }
  if (ensure_ascii) opts.ensure_ascii = ensure_ascii->truthy();
  if (const Value* sort_keys = args.kwarg("sort_keys")) opts.sort_keys = sort_keys->truthy();
  if (indent && !indent->is_none() && !indent->is_undefined()) {
    opts.has_indent = true;
    opts.item_separator = ",";
    if (indent->is_int()) {
      opts.indent = std::string(static_cast<size_t>(std::clamp<int64_t>(indent->as_int(), 0, 64)), ' ');
    } else if (indent->is_string()) {
      opts.indent = indent->as_string();
    } else {
      return Status::error("tojson: indent must be an integer or a string");
    }
  }
  if (const Value* seps = args.kwarg("separators"); seps && !seps->is_none()) {
    if (!seps->is_array() || seps->as_array().size() != 2 || !seps->as_array()[0].is_string() ||
        !seps->as_array()[1].is_string()) {
      return Status::error("tojson: separators must be a pair of strings");
    }
    opts.item_separator = seps->as_array()[0].as_string();
    opts.key_separator = seps->as_array()[1].as_string();
  }
  MOE_ASSIGN_OR_RETURN(std::string s, to_json_string(input, opts));
  return Value(std::move(s));
}

std::string html_escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&#34;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

// Looks up a dotted attribute path ("function.name") as Jinja2's attribute= arguments do.
Value attribute_path(const Value& item, const std::string& path) {
  Value v = item;
  size_t pos = 0;
  while (true) {
    size_t dot = path.find('.', pos);
    std::string part = path.substr(pos, dot == std::string::npos ? std::string::npos : dot - pos);
    if (v.is_undefined()) return v;
    if (v.is_array() && !part.empty() && std::all_of(part.begin(), part.end(), ::isdigit)) {
      size_t i = std::strtoull(part.c_str(), nullptr, 10);
      v = i < v.as_array().size() ? v.as_array()[i] : Value::undefined(part);
    } else {
      v = get_attr(v, part);
    }
    if (dot == std::string::npos) return v;
    pos = dot + 1;
  }
}

// select/reject/selectattr/rejectattr: keeps items whose (attribute's) test result == keep.
Result<Value> select_items(const Value& input, const CallArgs& args, bool by_attr, bool keep, Budget& budget) {
  MOE_ASSIGN_OR_RETURN(Array items, iterate(input));
  size_t first_test_arg = by_attr ? 1 : 0;
  std::string attr;
  if (by_attr) {
    if (args.positional.empty() || !args.positional[0].is_string()) {
      return Status::error("selectattr/rejectattr need an attribute name");
    }
    attr = args.positional[0].as_string();
  }
  std::string test;
  CallArgs test_args;
  if (args.positional.size() > first_test_arg) {
    if (!args.positional[first_test_arg].is_string()) return Status::error("select: test name must be a string");
    test = args.positional[first_test_arg].as_string();
    test_args.positional.assign(args.positional.begin() + first_test_arg + 1, args.positional.end());
  }
  MOE_RETURN_IF_ERROR(budget.charge(static_cast<int64_t>(items.size())));
  Array out;
  for (const Value& item : items) {
    Value v = by_attr ? attribute_path(item, attr) : item;
    bool pass = v.truthy();
    if (!test.empty()) {
      MOE_ASSIGN_OR_RETURN(pass, apply_test(test, v, test_args));
    }
    if (pass == keep) out.push_back(item);
  }
  return Value(std::move(out));
}

Result<Value> sort_items(const Value& input, const CallArgs& args, Budget& budget) {
  MOE_ASSIGN_OR_RETURN(Array items, iterate(input));
  MOE_RETURN_IF_ERROR(budget.charge(static_cast<int64_t>(items.size())));
  const Value* reverse = arg(args, 0, "reverse");
  const Value* case_sensitive = arg(args, 1, "case_sensitive");
  const Value* attribute = arg(args, 2, "attribute");
  bool fold = !(case_sensitive && case_sensitive->truthy());
  auto key = [&](const Value& v) {
    Value k = (attribute && attribute->is_string()) ? attribute_path(v, attribute->as_string()) : v;
    return (fold && k.is_string()) ? Value(ascii_lower(k.as_string())) : k;
  };
  Status failed;
  std::stable_sort(items.begin(), items.end(), [&](const Value& a, const Value& b) {
    auto c = compare_values(key(a), key(b));
    if (!c.is_ok()) {
      failed = c.status();
      return false;
    }
    return *c < 0;
  });
  MOE_RETURN_IF_ERROR(failed);
  if (reverse && reverse->truthy()) std::reverse(items.begin(), items.end());
  return Value(std::move(items));
}

Result<Value> min_max(const Value& input, bool want_max) {
  MOE_ASSIGN_OR_RETURN(Array items, iterate(input));
  if (items.empty()) return Value::undefined("min/max of an empty sequence");
  Value best = items[0];
  for (size_t i = 1; i < items.size(); ++i) {
    MOE_ASSIGN_OR_RETURN(int c, compare_values(items[i], best));
    if (want_max ? c > 0 : c < 0) best = items[i];
  }
  return best;
}

Result<Value> number_of(const Value& input, bool want_int, const Value* fallback) {
  if (input.is_int()) return want_int ? input : Value(static_cast<double>(input.as_int()));
  if (input.is_bool()) return want_int ? Value(static_cast<int64_t>(input.as_bool())) : Value(input.as_double());
  if (input.is_float()) {
    double d = input.as_double();
    if (!want_int) return input;
    if (std::isfinite(d) && std::fabs(d) < 9.2e18) return Value(static_cast<int64_t>(d));
  } else if (input.is_string()) {
    const std::string& s = input.as_string();
    char* end = nullptr;
    if (want_int) {
      errno = 0;
      long long i = std::strtoll(s.c_str(), &end, 10);
      if (!s.empty() && end && *end == '\0' && errno != ERANGE) return Value(static_cast<int64_t>(i));
    }
    double d = std::strtod(s.c_str(), &end);
    if (!s.empty() && end && *end == '\0') {
      if (!want_int) return Value(d);
      if (std::isfinite(d) && std::fabs(d) < 9.2e18) return Value(static_cast<int64_t>(d));
    }
  }
  if (fallback) return *fallback;
  return want_int ? Value(int64_t{0}) : Value(0.0);
}

Result<Value> indent_filter(const Value& input, const CallArgs& args) {
  std::string pad = "    ";
  if (const Value* w = arg(args, 0, "width")) {
    if (w->is_int()) {
      pad = std::string(static_cast<size_t>(std::clamp<int64_t>(w->as_int(), 0, 1024)), ' ');
    } else if (w->is_string()) {
      pad = w->as_string();
    }
  }
  const Value* first = arg(args, 1, "first");
  const Value* blank = arg(args, 2, "blank");
  std::string s = to_str(input);
  std::string out;
  size_t pos = 0;
  bool first_line = true;
  while (pos <= s.size()) {
    size_t nl = s.find('\n', pos);
    std::string line = s.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos);
    bool indent = first_line ? (first && first->truthy()) : (!line.empty() || (blank && blank->truthy()));
    if (indent) out += pad;
    out += line;
    if (nl == std::string::npos) break;
    out += '\n';
    pos = nl + 1;
    first_line = false;
  }
  return Value(std::move(out));
}

}  // namespace

Result<Array> iterate(const Value& v) {
  switch (v.kind()) {
    case ValueKind::kUndefined: return Array{};
    case ValueKind::kArray: return v.as_array();
    case ValueKind::kObject: {
      Array keys;
      for (const auto& [k, item] : v.as_object().entries()) keys.emplace_back(k);
      return keys;
    }
    case ValueKind::kString: {
      Array chars;
      const std::string& s = v.as_string();
      std::vector<size_t> offsets = utf8_char_offsets(s);
      for (size_t i = 0; i < offsets.size(); ++i) {
        size_t end = i + 1 < offsets.size() ? offsets[i + 1] : s.size();
        chars.emplace_back(s.substr(offsets[i], end - offsets[i]));
      }
      return chars;
    }
    default: return Status::error(std::string("'") + v.type_name() + "' object is not iterable");
  }
}

Value get_attr(const Value& object, const std::string& name) {
  if (object.is_object()) {
    if (const Value* v = object.as_object().find(name)) return *v;
  }
  return Value::undefined(name);
}

Result<Value> get_item(const Value& object, const Value& key) {
  if (object.is_object()) {
    if (!key.is_string()) return Value::undefined(to_str(key));
    if (const Value* v = object.as_object().find(key.as_string())) return *v;
    return Value::undefined(key.as_string());
  }
  if (object.is_array() || object.is_string()) {
    if (!key.is_int() && !key.is_bool()) return Value::undefined(to_str(key));
    int64_t i = key.is_int() ? key.as_int() : key.as_bool();
    if (object.is_array()) {
      int64_t n = static_cast<int64_t>(object.as_array().size());
      if (i < 0) i += n;
      if (i < 0 || i >= n) return Value::undefined("index " + std::to_string(i));
      return object.as_array()[static_cast<size_t>(i)];
    }
    const std::string& s = object.as_string();
    std::vector<size_t> offsets = utf8_char_offsets(s);
    int64_t n = static_cast<int64_t>(offsets.size());
    if (i < 0) i += n;
    if (i < 0 || i >= n) return Value::undefined("index " + std::to_string(i));
    size_t end = i + 1 < n ? offsets[i + 1] : s.size();
    return Value(s.substr(offsets[i], end - offsets[i]));
  }
  return Value::undefined(to_str(key));
}

Result<Value> get_slice(const Value& object, const Value& start_v, const Value& stop_v, const Value& step_v) {
  auto opt_int = [](const Value& v, const char* what) -> Result<std::optional<int64_t>> {
    if (v.is_undefined() || v.is_none()) return std::optional<int64_t>();
    if (v.is_int()) return std::optional<int64_t>(v.as_int());
    return Status::error(std::string("slice ") + what + " must be an integer");
  };
  MOE_ASSIGN_OR_RETURN(auto start, opt_int(start_v, "start"));
  MOE_ASSIGN_OR_RETURN(auto stop, opt_int(stop_v, "stop"));
  MOE_ASSIGN_OR_RETURN(auto step_opt, opt_int(step_v, "step"));
  int64_t step = step_opt.value_or(1);
  if (step == 0) return Status::error("slice step cannot be zero");
  std::vector<size_t> offsets;
  int64_t n = 0;
  if (object.is_array()) {
    n = static_cast<int64_t>(object.as_array().size());
  } else if (object.is_string()) {
    offsets = utf8_char_offsets(object.as_string());
    n = static_cast<int64_t>(offsets.size());
  } else {
    return Status::error(std::string("cannot slice a ") + object.type_name());
  }
  auto clamp_index = [&](std::optional<int64_t> v, int64_t dflt, int64_t lo, int64_t hi) {
    if (!v) return dflt;
    int64_t i = *v < 0 ? *v + n : *v;
    return std::clamp(i, lo, hi);
  };
  int64_t b, e;
  if (step > 0) {
    b = clamp_index(start, 0, 0, n);
    e = clamp_index(stop, n, 0, n);
  } else {
    b = clamp_index(start, n - 1, -1, n - 1);
    e = clamp_index(stop, -1, -1, n - 1);
  }
  Array items;
  std::string chars;
  for (int64_t i = b; step > 0 ? i < e : i > e; i += step) {
    if (object.is_array()) {
      items.push_back(object.as_array()[static_cast<size_t>(i)]);
    } else {
      size_t end = i + 1 < n ? offsets[i + 1] : object.as_string().size();
      chars.append(object.as_string(), offsets[i], end - offsets[i]);
    }
  }
  return object.is_array() ? Value(std::move(items)) : Value(std::move(chars));
}

Result<Value> apply_filter(std::string_view name, const Value& input, const CallArgs& args, Budget& budget) {
  const std::string in_str = input.is_string() ? input.as_string() : std::string();
  if (name == "safe") return input;
  if (name == "string") return Value(to_str(input));
  if (name == "tojson") return tojson(input, args);
  if (name == "trim") return Value(py_strip(to_str(input), arg(args, 0, "chars"), true, true));
  if (name == "lower") return Value(ascii_lower(to_str(input)));
  if (name == "upper") return Value(ascii_upper(to_str(input)));
  if (name == "capitalize") return Value(capitalize(to_str(input)));
  if (name == "title") return Value(title(to_str(input)));
  if (name == "escape" || name == "e") return Value(html_escape(to_str(input)));
  if (name == "indent") return indent_filter(input, args);
  if (name == "int") return number_of(input, true, arg(args, 0, "default"));
  if (name == "float") return number_of(input, false, arg(args, 0, "default"));
  if (name == "wordcount") return Value(static_cast<int64_t>(py_split(to_str(input), nullptr, -1).size()));
  if (name == "length" || name == "count") {
    if (input.is_string()) return Value(static_cast<int64_t>(utf8_length(input.as_string())));
    if (input.is_array()) return Value(static_cast<int64_t>(input.as_array().size()));
    if (input.is_object()) return Value(static_cast<int64_t>(input.as_object().size()));
    if (input.is_undefined()) return Value(int64_t{0});
    return Status::error(std::string("object of type '") + input.type_name() + "' has no len()");
  }
  if (name == "default" || name == "d") {
    const Value* dflt = arg(args, 0, "default_value");
    const Value* boolean = arg(args, 1, "boolean");
    bool use_default = input.is_undefined() || (boolean && boolean->truthy() && !input.truthy());
    if (!use_default) return input;
    return dflt ? *dflt : Value(std::string());
  }
  if (name == "abs") {
    if (input.is_int()) return Value(input.as_int() == INT64_MIN ? input.as_int() : static_cast<int64_t>(std::llabs(input.as_int())));
    if (input.is_float()) return Value(std::fabs(input.as_double()));
    return Status::error("abs: not a number");
  }
  if (name == "round") {
    MOE_ASSIGN_OR_RETURN(int64_t precision, to_int_arg(arg(args, 0, "precision"), 0, "round precision"));
    const Value* method = arg(args, 1, "method");
    if (!input.is_number()) return Status::error("round: not a number");
    double scale = std::pow(10.0, static_cast<double>(std::clamp<int64_t>(precision, -300, 300)));
    double x = input.as_double() * scale;
    std::string m = method && method->is_string() ? method->as_string() : "common";
    double r = m == "floor" ? std::floor(x) : m == "ceil" ? std::ceil(x) : std::round(x);
    return Value(r / scale);
  }
  if (name == "attr") {
    const Value* a = arg(args, 0, "name");
    MOE_RETURN_IF_ERROR(need_string(a, "attr name"));
    return get_attr(input, a->as_string());
  }
  if (name == "first" || name == "last") {
    MOE_ASSIGN_OR_RETURN(Array items, iterate(input));
    if (items.empty()) return Value::undefined(std::string(name) + " of an empty sequence");
    return name == "first" ? items.front() : items.back();
  }
  if (name == "list") {
    MOE_ASSIGN_OR_RETURN(Array items, iterate(input));
    MOE_RETURN_IF_ERROR(budget.charge(static_cast<int64_t>(items.size())));
    return Value(std::move(items));
  }
  if (name == "reverse") {
    MOE_ASSIGN_OR_RETURN(Array items, iterate(input));
    std::reverse(items.begin(), items.end());
    if (!input.is_string()) return Value(std::move(items));
    std::string out;
    for (const Value& c : items) out += c.as_string();
    return Value(std::move(out));
  }
  if (name == "items" || name == "dictsort") {
    if (input.is_undefined()) return Value(Array{});
    if (!input.is_object()) return Status::error(std::string(name) + ": expected a dict, got " + input.type_name());
    Array pairs;
    for (const auto& [k, v] : input.as_object().entries()) pairs.push_back(Value::tuple(Array{Value(k), v}));
    if (name == "dictsort") {
      std::stable_sort(pairs.begin(), pairs.end(), [](const Value& a, const Value& b) {
        return ascii_lower(a.as_array()[0].as_string()) < ascii_lower(b.as_array()[0].as_string());
      });
    }
    return Value(std::move(pairs));
  }
  if (name == "join") {
    MOE_ASSIGN_OR_RETURN(Array items, iterate(input));
    const Value* sep = arg(args, 0, "d");
    const Value* attribute = arg(args, 1, "attribute");
    std::string out;
    for (size_t i = 0; i < items.size(); ++i) {
      if (i && sep) out += to_str(*sep);
      out += to_str(attribute && attribute->is_string() ? attribute_path(items[i], attribute->as_string()) : items[i]);
      MOE_RETURN_IF_ERROR(budget.check_string(out.size()));
    }
    return Value(std::move(out));
  }
  if (name == "replace") {
    const Value* from = arg(args, 0, "old");
    const Value* to = arg(args, 1, "new");
    MOE_RETURN_IF_ERROR(need_string(from, "replace: old"));
    MOE_RETURN_IF_ERROR(need_string(to, "replace: new"));
    MOE_ASSIGN_OR_RETURN(int64_t count, to_int_arg(arg(args, 2, "count"), -1, "replace count"));
    MOE_ASSIGN_OR_RETURN(std::string out, py_replace(to_str(input), from->as_string(), to->as_string(), count, budget));
    return Value(std::move(out));
  }
  if (name == "map") {
    MOE_ASSIGN_OR_RETURN(Array items, iterate(input));
    MOE_RETURN_IF_ERROR(budget.charge(static_cast<int64_t>(items.size())));
    Array out;
    if (const Value* attribute = args.kwarg("attribute")) {
      MOE_RETURN_IF_ERROR(need_string(attribute, "map attribute"));
      const Value* dflt = args.kwarg("default");
      for (const Value& item : items) {
        Value v = attribute_path(item, attribute->as_string());
        out.push_back(v.is_undefined() && dflt ? *dflt : v);
      }
      return Value(std::move(out));
    }
    if (args.positional.empty() || !args.positional[0].is_string()) {
      return Status::error("map needs attribute= or a filter name");
    }
    CallArgs filter_args;
    filter_args.positional.assign(args.positional.begin() + 1, args.positional.end());
    filter_args.keyword = args.keyword;
    for (const Value& item : items) {
      MOE_ASSIGN_OR_RETURN(Value v, apply_filter(args.positional[0].as_string(), item, filter_args, budget));
      out.push_back(std::move(v));
    }
    return Value(std::move(out));
  }
  if (name == "select") return select_items(input, args, false, true, budget);
  if (name == "reject") return select_items(input, args, false, false, budget);
  if (name == "selectattr") return select_items(input, args, true, true, budget);
  if (name == "rejectattr") return select_items(input, args, true, false, budget);
  if (name == "sort") return sort_items(input, args, budget);
  if (name == "max") return min_max(input, true);
  if (name == "min") return min_max(input, false);
  if (name == "unique") {
    MOE_ASSIGN_OR_RETURN(Array items, iterate(input));
    MOE_RETURN_IF_ERROR(budget.charge(static_cast<int64_t>(items.size() * items.size() / 64 + items.size())));
    Array out;
    for (const Value& item : items) {
      bool seen = std::any_of(out.begin(), out.end(), [&](const Value& o) { return values_equal(o, item); });
      if (!seen) out.push_back(item);
    }
    return Value(std::move(out));
  }
  if (name == "sum") {
    MOE_ASSIGN_OR_RETURN(Array items, iterate(input));
    const Value* attribute = arg(args, 0, "attribute");
    const Value* start = arg(args, 1, "start");
    bool is_float = start && start->is_float();
    int64_t isum = start && start->is_int() ? start->as_int() : 0;
    double fsum = start ? start->as_double() : 0;
    for (const Value& item : items) {
      Value v = attribute && attribute->is_string() ? attribute_path(item, attribute->as_string()) : item;
      if (!v.is_number() && !v.is_bool()) return Status::error("sum: not a number");
      is_float = is_float || v.is_float();
      fsum += v.as_double();
      if (!is_float && __builtin_add_overflow(isum, v.is_int() ? v.as_int() : v.as_bool(), &isum)) {
        return Status::error("sum: integer overflow");
      }
    }
    return is_float ? Value(fsum) : Value(isum);
  }
  return Status::error("unknown filter '" + std::string(name) + "'");
}

Result<bool> apply_test(std::string_view name, const Value& input, const CallArgs& args) {
  const Value* a = arg(args, 0, "value");
  if (name == "defined") return !input.is_undefined();
  if (name == "undefined") return input.is_undefined();
  if (name == "none") return input.is_none();
  if (name == "boolean") return input.is_bool();
  if (name == "true") return input.is_bool() && input.as_bool();
  if (name == "false") return input.is_bool() && !input.as_bool();
  if (name == "integer") return input.is_int();
  if (name == "float") return input.is_float();
  if (name == "number") return input.is_number() || input.is_bool();
  if (name == "string") return input.is_string();
  if (name == "mapping") return input.is_object();
  if (name == "iterable") return input.is_array() || input.is_object() || input.is_string() || input.is_undefined();
  if (name == "sequence") return input.is_array() || input.is_object() || input.is_string();
  if (name == "callable") return input.is_callable();
  if (name == "lower") return input.is_string() && ascii_lower(input.as_string()) == input.as_string();
  if (name == "upper") return input.is_string() && ascii_upper(input.as_string()) == input.as_string();
  if (name == "odd" || name == "even" || name == "divisibleby") {
    if (!input.is_int()) return Status::error("test '" + std::string(name) + "' needs an integer");
    if (name == "odd") return input.as_int() % 2 != 0;
    if (name == "even") return input.as_int() % 2 == 0;
    MOE_ASSIGN_OR_RETURN(int64_t d, to_int_arg(a, 0, "divisibleby argument"));
    if (d == 0) return Status::error("divisibleby 0");
    return input.as_int() % d == 0;
  }
  static constexpr std::string_view kBinaryTests[] = {"eq", "equalto", "==", "ne", "!=", "sameas", "in", "lt", "<",
                                                      "le", "<=", "gt", ">", "ge", ">="};
  if (std::find(std::begin(kBinaryTests), std::end(kBinaryTests), name) == std::end(kBinaryTests)) {
    return Status::error("unknown test '" + std::string(name) + "'");
  }
  if (!a) return Status::error("test '" + std::string(name) + "' needs an argument");
  if (name == "eq" || name == "equalto" || name == "==") return values_equal(input, *a);
  if (name == "ne" || name == "!=") return !values_equal(input, *a);
  if (name == "sameas") {
    if (input.kind() != a->kind()) return false;
    if (input.is_array()) return input.array_ptr() == a->array_ptr();
    if (input.is_object()) return &input.as_object() == &a->as_object();
    return values_equal(input, *a);
  }
  if (name == "in") {
    if (a->is_string()) return input.is_string() && a->as_string().find(input.as_string()) != std::string::npos;
    if (a->is_object()) return input.is_string() && a->as_object().find(input.as_string()) != nullptr;
    MOE_ASSIGN_OR_RETURN(Array items, iterate(*a));
    return std::any_of(items.begin(), items.end(), [&](const Value& v) { return values_equal(v, input); });
  }
  if (name == "lt" || name == "<" || name == "le" || name == "<=" || name == "gt" || name == ">" || name == "ge" ||
      name == ">=") {
    MOE_ASSIGN_OR_RETURN(int c, compare_values(input, *a));
    if (name == "lt" || name == "<") return c < 0;
    if (name == "le" || name == "<=") return c <= 0;
    if (name == "gt" || name == ">") return c > 0;
    return c >= 0;
  }
  return Status::error("unknown test '" + std::string(name) + "'");
}

namespace {

// Whether `v` is or holds (through lists and dicts) the list `target`; every container looked
// at is charged to the budget. Namespaces are not entered: they print and compare opaquely.
Result<bool> holds_list(const Value& v, const Array* target, Budget& budget,
                        std::unordered_set<const void*>& seen) {
  if (v.is_array()) {
    if (&v.as_array() == target) return true;
    if (!seen.insert(&v.as_array()).second) return false;
    MOE_RETURN_IF_ERROR(budget.charge(1));
    for (const Value& item : v.as_array()) {
      MOE_ASSIGN_OR_RETURN(bool held, holds_list(item, target, budget, seen));
      if (held) return true;
    }
  } else if (v.is_object() && !v.is_namespace()) {
    if (!seen.insert(&v.as_object()).second) return false;
    MOE_RETURN_IF_ERROR(budget.charge(1));
    for (const auto& [k, item] : v.as_object().entries()) {
      MOE_ASSIGN_OR_RETURN(bool held, holds_list(item, target, budget, seen));
      if (held) return true;
    }
  }
  return false;
}

// list.append(x) and list.pop([index]), as Python's.
Result<Value> call_list_method(const Value& list, std::string_view name, const CallArgs& args,
                               Budget& budget, bool* found) {
  Array& items = *list.array_ptr();
  if (name == "append") {
    if (args.positional.size() != 1 || !args.keyword.empty()) {
      return Status::error("list.append takes one argument");
    }
    std::unordered_set<const void*> seen;
    MOE_ASSIGN_OR_RETURN(bool cyclic, holds_list(args.positional[0], &items, budget, seen));
    if (cyclic) return Status::error("list.append: a list cannot contain itself");
    MOE_RETURN_IF_ERROR(budget.charge(1));
    items.push_back(args.positional[0]);
    return Value::none();
  }
  if (name == "pop") {
    if (items.empty()) return Status::error("pop from empty list");
    MOE_ASSIGN_OR_RETURN(int64_t i, to_int_arg(arg(args, 0, "index"), -1, "pop index"));
    const auto n = static_cast<int64_t>(items.size());
    if (i < 0) i += n;
    if (i < 0 || i >= n) return Status::error("pop index out of range");
    Value v = std::move(items[static_cast<size_t>(i)]);
    items.erase(items.begin() + i);
    return v;
  }
  *found = false;
  return Value::none();
}

}  // namespace

Result<Value> call_method(const Value& object, std::string_view name, const CallArgs& args, Budget& budget,
                          bool* found) {
  *found = true;
  if (object.is_array() && !object.is_tuple()) {
    return call_list_method(object, name, args, budget, found);
  }
  if (object.is_object() && !object.is_namespace()) {
    const Object& o = object.as_object();
    if (name == "items") return apply_filter("items", object, {}, budget);
    if (name == "keys" || name == "values") {
      Array out;
      for (const auto& [k, v] : o.entries()) out.push_back(name == "keys" ? Value(k) : v);
      return Value(std::move(out));
    }
    if (name == "get") {
      const Value* key = arg(args, 0, "key");
      const Value* dflt = arg(args, 1, "default");
      if (!key) return Status::error("dict.get needs a key");
      const Value* v = key->is_string() ? o.find(key->as_string()) : nullptr;
      return v ? *v : (dflt ? *dflt : Value::none());
    }
  }
  if (object.is_string()) {
    const std::string& s = object.as_string();
    if (name == "strip") return Value(py_strip(s, arg(args, 0, "chars"), true, true));
    if (name == "lstrip") return Value(py_strip(s, arg(args, 0, "chars"), true, false));
    if (name == "rstrip") return Value(py_strip(s, arg(args, 0, "chars"), false, true));
    if (name == "upper") return Value(ascii_upper(s));
    if (name == "lower") return Value(ascii_lower(s));
    if (name == "title") return Value(title(s));
    if (name == "capitalize") return Value(capitalize(s));
    if (name == "split") {
      const Value* sep = arg(args, 0, "sep");
      if (sep && !sep->is_none() && !sep->is_string()) return Status::error("split separator must be a string");
      if (sep && sep->is_string() && sep->as_string().empty()) return Status::error("split: empty separator");
      MOE_ASSIGN_OR_RETURN(int64_t maxsplit, to_int_arg(arg(args, 1, "maxsplit"), -1, "maxsplit"));
      Array parts = py_split(s, sep, maxsplit);
      MOE_RETURN_IF_ERROR(budget.charge(static_cast<int64_t>(parts.size())));
      return Value(std::move(parts));
    }
    if (name == "startswith" || name == "endswith") {
      const Value* affix = arg(args, 0, "prefix");
      if (!affix) return Status::error(std::string(name) + " needs an argument");
      Array options = affix->is_array() ? affix->as_array() : Array{*affix};
      for (const Value& opt : options) {
        if (!opt.is_string()) return Status::error(std::string(name) + " argument must be a string");
        const std::string& p = opt.as_string();
        bool hit = name == "startswith" ? s.compare(0, p.size(), p) == 0
                                        : (s.size() >= p.size() && s.compare(s.size() - p.size(), p.size(), p) == 0);
        if (hit) return Value(true);
      }
      return Value(false);
    }
    if (name == "replace") return apply_filter("replace", object, args, budget);
    if (name == "find" || name == "count") {
      const Value* sub = arg(args, 0, "sub");
      MOE_RETURN_IF_ERROR(need_string(sub, "find/count argument"));
      if (name == "find") {
        size_t hit = s.find(sub->as_string());
        return Value(hit == std::string::npos ? int64_t{-1} : static_cast<int64_t>(utf8_length(s.substr(0, hit))));
      }
      if (sub->as_string().empty()) return Value(static_cast<int64_t>(utf8_length(s) + 1));
      int64_t n = 0;
      for (size_t p = s.find(sub->as_string()); p != std::string::npos; p = s.find(sub->as_string(), p + sub->as_string().size())) ++n;
      return Value(n);
    }
    if (name == "join") {
      const Value* items = arg(args, 0, "iterable");
      if (!items) return Status::error("join needs an iterable");
      CallArgs join_args;
      join_args.positional.push_back(object);
      return apply_filter("join", *items, join_args, budget);
    }
  }
  *found = false;
  return Value::none();
}

}  // namespace moe::jinja
