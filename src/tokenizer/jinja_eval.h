// Evaluator of the Jinja subset: walks a parsed Template with a context of variables and
// returns the rendered text. Semantics follow Jinja2 3.x as transformers configures it
// (no autoescape, default Undefined: missing variables/keys/attributes are undefined, render
// as "" and are falsy, but using an undefined value's attributes or doing arithmetic on it is
// an error). Scoping: a for-loop iteration and a macro call get their own scope; `if` does not.
//
// Templates are untrusted, so every render is bounded:
//   max_depth       nested evaluation (expressions, statements, macro calls) -> error
//   max_work        loop iterations + macro calls + list elements built by operators and
//                   filters + KiB-blocks of strings built by operators
//   max_output_bytes the rendered text, and any string built along the way
// Errors come back as Status naming the template line; nothing throws.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "base/status.h"
#include "tokenizer/jinja_ast.h"

namespace moe::jinja {

struct RenderLimits {
  int max_depth = 256;
  int64_t max_work = 1'000'000;
  size_t max_output_bytes = size_t{64} << 20;
};

// `context` must be an object (dict); its entries are the template's global variables.
Result<std::string> render(const Template& tmpl, const Value& context, const RenderLimits& limits);

}  // namespace moe::jinja
