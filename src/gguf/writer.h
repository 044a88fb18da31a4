// GgufWriter: writes GGUF v3 files (little-endian), streaming tensor data.
//
// Keys and tensors are written in the order they are added. Tensor data comes either from
// a pointer that stays valid until write() returns, or from a callback that fills one chunk
// at a time, so a generator can write multi-GB tensors without holding them in memory.
// Mistakes (duplicate key or tensor, shape not matching the type, bad general.alignment)
// are remembered and returned by write(): the add_* calls themselves never fail.
//
//   GgufWriter w;
//   w.add_string("general.architecture", "deepseek2");
//   w.add_tensor("output_norm.weight", GgmlType::F32, {256}, norm.data());
//   MOE_RETURN_IF_ERROR(w.write("model.gguf"));
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "gguf/gguf.h"

namespace moe {

// Fills dst[0, n) with bytes [offset, offset + n) of one tensor's data.
using TensorDataFn = std::function<Status(uint64_t offset, uint8_t* dst, size_t n)>;

class GgufWriter {
 public:
  // Scalars (names as in gguf-py's GGUFWriter).
  void add_uint8(std::string_view key, uint8_t v);
  void add_int8(std::string_view key, int8_t v);
  void add_uint16(std::string_view key, uint16_t v);
  void add_int16(std::string_view key, int16_t v);
  void add_uint32(std::string_view key, uint32_t v);  // "general.alignment" also sets the alignment
  void add_int32(std::string_view key, int32_t v);
  void add_uint64(std::string_view key, uint64_t v);
  void add_int64(std::string_view key, int64_t v);
  void add_float32(std::string_view key, float v);
  void add_float64(std::string_view key, double v);
  void add_bool(std::string_view key, bool v);
  void add_string(std::string_view key, std::string_view v);
  // Arrays.
  void add_string_array(std::string_view key, const std::vector<std::string>& v);
  void add_int32_array(std::string_view key, const std::vector<int32_t>& v);
  void add_float32_array(std::string_view key, const std::vector<float>& v);
  // Any value, including nested arrays (e.g. copied from a parsed file's metadata).
  void add_value(std::string_view key, const GgufValue& v);

  // `ne` in ggml order (ne[0] = row length), 1 to 4 dims; n_bytes follows from type and shape.
  void add_tensor(std::string_view name, GgmlType type, const std::vector<int64_t>& ne, const void* data);
  void add_tensor(std::string_view name, GgmlType type, const std::vector<int64_t>& ne, TensorDataFn fill);

  uint32_t alignment() const { return alignment_; }
  size_t n_tensors() const { return tensors_.size(); }

  Status write(const std::string& path) const;
  Result<std::vector<uint8_t>> write_to_buffer() const;

 private:
  struct Tensor {
    std::string name;
    GgmlType type = GgmlType::F32;
    std::vector<int64_t> ne;
    uint64_t n_bytes = 0;
    const void* data = nullptr;
    TensorDataFn fill;
  };
  using Sink = std::function<Status(const uint8_t* bytes, size_t n)>;

  bool begin_kv(std::string_view key, GgufType type);
  void fail(std::string message);
  void add_tensor_impl(std::string_view name, GgmlType type, const std::vector<int64_t>& ne, Tensor t);
  Status write_to(const Sink& sink) const;

  std::vector<uint8_t> kv_bytes_;  // the key/value section, already encoded
  uint64_t n_kv_ = 0;
  std::vector<std::string> keys_;
  std::vector<Tensor> tensors_;
  uint32_t alignment_ = 32;
  Status error_;  // the first mistake, returned by write()
};

// Splits one GGUF file into `n_parts` files `out_prefix-0000k-of-0000N.gguf` as llama.cpp's
// gguf-split does: tensors in file order divided evenly; part 1 holds the metadata, and
// every part holds split.no (u16, 0-based), split.count (u16), split.tensors.count (i32).
Status split_gguf(const std::string& in_path, const std::string& out_prefix, int n_parts);

}  // namespace moe
