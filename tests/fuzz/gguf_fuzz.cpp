// libFuzzer target: parse_gguf on arbitrary bytes, then touch everything it returned.
// Whatever parses must be safe to use: every getter, every string view, every tensor byte
// (ASan reports any read outside the input).
#include <cstddef>
#include <cstdint>

#include "gguf/gguf.h"

namespace {

uint64_t touch_value(const moe::GgufValue& v) {
  uint64_t h = static_cast<uint64_t>(v.type) + v.u + static_cast<uint64_t>(v.i) + v.str.size();
  if (!v.str.empty()) h += static_cast<uint8_t>(v.str.front()) + static_cast<uint8_t>(v.str.back());
  for (const moe::GgufValue& item : v.items) h = h * 31 + touch_value(item);
  return h;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Small limits keep each input's memory bounded while still reaching every check.
  moe::GgufLimits limits;
  limits.max_string_bytes = 1 << 16;
  limits.max_array_count = 1 << 16;
  limits.max_array_depth = 4;
  auto result = moe::parse_gguf(data, size, "fuzz.gguf", limits);
  if (!result.is_ok()) {
    if (result.status().message().empty()) __builtin_trap();  // errors always say why
    return 0;
  }
  const moe::GgufFile& file = result.value();
  if (file.data_offset > size) __builtin_trap();
  volatile uint64_t sink = 0;
  const moe::GgufMetadata& md = file.metadata;
  for (const auto& [key, value] : md.entries()) {
    sink = sink + touch_value(value);
    // Each getter either succeeds or explains; none may misbehave on any stored type.
    if (auto r = md.get_uint(key); r.is_ok() && r.value()) sink = sink + *r.value();
    if (auto r = md.get_int(key); r.is_ok() && r.value()) sink = sink + static_cast<uint64_t>(*r.value());
    if (auto r = md.get_float(key); r.is_ok() && r.value()) sink = sink + (*r.value() > 0);
    if (auto r = md.get_bool(key); r.is_ok() && r.value()) sink = sink + *r.value();
    if (auto r = md.get_string(key); r.is_ok() && r.value()) sink = sink + r.value()->size();
    if (auto r = md.get_array(key, value.elem_type); r.is_ok() && r.value()) sink = sink + r.value()->size();
  }
  for (const moe::TensorInfo& t : file.tensors) {
    sink = sink + t.shape_string().size() + static_cast<uint64_t>(t.n_elements()) + t.row_bytes();
    if (t.n_bytes == 0 || t.data < data || t.data + t.n_bytes > data + size) __builtin_trap();
    sink = sink + t.data[0] + t.data[t.n_bytes - 1];
  }
  return 0;
}
