// Builtin filters, tests and methods of the Jinja subset (what chat templates use).
//
// Filters: abs, attr, capitalize, count, d/default, dictsort, e/escape, first, float, indent,
//   int, items, join, last, length, list, lower, map (attribute= or a filter name), max, min,
//   reject, rejectattr, replace, reverse, round, safe, select, selectattr, sort, string,
//   sum, title, tojson (indent, ensure_ascii, sort_keys, separators), trim, unique, upper,
//   wordcount.
// Tests: boolean, callable, defined, divisibleby, eq/equalto/==, even, false, float, ge/gt/le/lt,
//   in, integer, iterable, lower, mapping, ne, none, number, odd, sameas, sequence, string,
//   true, undefined, upper.
// Methods: str.split/strip/lstrip/rstrip/startswith/endswith/replace/upper/lower/title/
//   capitalize/find/count/join; dict.items/keys/values/get. (No str.format, no % formatting,
//   no list methods: lists are immutable here.)
#pragma once

#include <cstdint>
#include <string_view>

#include "base/status.h"
#include "tokenizer/jinja_eval.h"
#include "tokenizer/jinja_value.h"

namespace moe::jinja {

// The render's budget, charged by builtins that build lists or strings.
struct Budget {
  const RenderLimits& limits;
  int64_t work = 0;
  Status charge(int64_t units);
  Status check_string(size_t bytes);  // a built string's size against max_output_bytes
};

Result<Value> apply_filter(std::string_view name, const Value& input, const CallArgs& args, Budget& budget);
Result<bool> apply_test(std::string_view name, const Value& input, const CallArgs& args);
// Calls `object.name(args)`; sets *found = false (and returns none) when there is no such method.
Result<Value> call_method(const Value& object, std::string_view name, const CallArgs& args, Budget& budget,
                          bool* found);

// Python-style iteration: list items, dict keys, string code points; undefined is empty.
Result<Array> iterate(const Value& v);
// Python getattr/getitem as Jinja2 does it for attribute/subscript syntax.
Value get_attr(const Value& object, const std::string& name);
Result<Value> get_item(const Value& object, const Value& key);
Result<Value> get_slice(const Value& object, const Value& start, const Value& stop, const Value& step);

}  // namespace moe::jinja
