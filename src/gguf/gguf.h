// GGUF model files: metadata and tensor views over read-only mappings.
//
// Grammar (little-endian; v2 and v3; v1 and byte-swapped files are rejected):
//   file    := magic "GGUF" | u32 version | u64 n_tensors | u64 n_kv | kv[n_kv]
//              | tensor_info[n_tensors] | padding to alignment | data
//   kv      := string key | u32 value_type | value
//   value   := scalar | string | array
//   string  := u64 length | bytes[length]             (UTF-8, not NUL-terminated)
//   array   := u32 elem_type | u64 count | value[count] (elements may be arrays)
//   tensor_info := string name | u32 n_dims | u64 ne[n_dims] | u32 ggml_type | u64 offset
// `general.alignment` (u32, power of two; default 32) aligns the data section start and
// every tensor offset (offsets are relative to the data section).
//
// Everything read is untrusted: every count, length, offset and size is checked against
// the bytes that remain before use (see ../shared/docs/PEERS.md for the CVEs behind it).
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "gguf/load.h"
#include "gguf/types.h"

namespace moe {

enum class GgufType : uint32_t {
  UINT8 = 0,
  INT8 = 1,
  UINT16 = 2,
  INT16 = 3,
  UINT32 = 4,
  INT32 = 5,
  FLOAT32 = 6,
  BOOL = 7,
  STRING = 8,
  ARRAY = 9,
  UINT64 = 10,
  INT64 = 11,
  FLOAT64 = 12,
};
std::string_view gguf_type_name(GgufType type);

// One metadata value. Strings are views into the mapping (valid while the file is open).
struct GgufValue {
  GgufType type = GgufType::UINT8;
  // Scalars: integers in `i` (signed) / `u` (unsigned), floats in `f`, bools in `u`.
  int64_t i = 0;
  uint64_t u = 0;
  double f = 0.0;
  std::string_view str;
  // Arrays: element type and the elements (each a scalar, string or nested array).
  GgufType elem_type = GgufType::UINT8;
  std::vector<GgufValue> items;

  bool is_integer() const;
  bool is_float() const { return type == GgufType::FLOAT32 || type == GgufType::FLOAT64; }
  bool is_array() const { return type == GgufType::ARRAY; }
};

struct TensorInfo {
  std::string name;
  GgmlType type = GgmlType::F32;
  int n_dims = 0;
  std::array<int64_t, 4> ne = {1, 1, 1, 1};  // ggml order: ne[0] is the contiguous row length
  uint64_t offset = 0;                       // within its file's data section
  uint64_t n_bytes = 0;
  const uint8_t* data = nullptr;             // into the mapping of part `file_index`
  int file_index = 0;

  int64_t n_elements() const { return ne[0] * ne[1] * ne[2] * ne[3]; }
  int64_t n_rows() const { return ne[1] * ne[2] * ne[3]; }
  uint64_t row_bytes() const { return moe::row_bytes(type, ne[0]); }
  std::string shape_string() const;  // "[256, 512, 16]"
};

// The metadata of one model: the key/value pairs of its first (or only) file.
class GgufMetadata {
 public:
  const GgufValue* find(std::string_view key) const;
  bool has(std::string_view key) const { return find(key) != nullptr; }

  // Typed getters: nullopt when absent; an error Status when present with a type that
  // cannot represent the request (e.g. a string where a number is expected, a negative
  // value for an unsigned request, or a value out of range).
  Result<std::optional<uint64_t>> get_uint(std::string_view key) const;
  Result<std::optional<int64_t>> get_int(std::string_view key) const;
  Result<std::optional<double>> get_float(std::string_view key) const;  // ints accepted
  Result<std::optional<bool>> get_bool(std::string_view key) const;
  Result<std::optional<std::string_view>> get_string(std::string_view key) const;
  // Arrays (nullptr when absent; error when present but of another element type).
  Result<const std::vector<GgufValue>*> get_array(std::string_view key, GgufType elem_type) const;

  const std::map<std::string, GgufValue, std::less<>>& entries() const { return kv_; }
  void set(std::string key, GgufValue value) { kv_[std::move(key)] = std::move(value); }

 private:
  std::map<std::string, GgufValue, std::less<>> kv_;
};

// Parse limits: anything larger is rejected as corrupt before it is allocated.
struct GgufLimits {
  uint64_t max_string_bytes = 1ull << 30;
  uint64_t max_array_count = 1ull << 30;
  int max_array_depth = 8;
};

// One parsed GGUF file (a single file, or one part of a split set).
struct GgufFile {
  std::string path;
  uint32_t version = 0;
  uint32_t alignment = 32;
  uint64_t data_offset = 0;  // start of the data section in the file (<= its size)
  GgufMetadata metadata;
  std::vector<TensorInfo> tensors;
};

// Parses bytes already in memory (the mapping, or a fuzzer's buffer). `name` is used in
// error messages. Tensor `data` pointers point into `bytes`.
Result<GgufFile> parse_gguf(const uint8_t* bytes, size_t size, const std::string& name,
                            const GgufLimits& limits = {});

// A whole model: one file, or every part of a split set `NAME-00001-of-000NN.gguf`.
// Metadata comes from the first part; tensors from all parts (names unique across parts).
class GgufModel {
 public:
  // Given a single file or any part of a split set, maps and validates every part (a set is
  // always opened from part 1; split.no/split.count/split.tensors.count must agree), then
  // applies `load` (read into memory, huge pages, mlock, warm-up, NUMA: see load.h).
  static Result<GgufModel> open(const std::string& path, const GgufLimits& limits = {},
                                const LoadOptions& load = {});

  const GgufMetadata& metadata() const { return files_.front().metadata; }
  const std::vector<GgufFile>& files() const { return files_; }
  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  const TensorInfo* find_tensor(std::string_view name) const;
  uint64_t file_bytes() const;  // all parts together
  uint32_t version() const { return files_.front().version; }
  const LoadReport& load_report() const { return load_report_; }

 private:
  std::vector<std::unique_ptr<FileBuffer>> maps_;  // one per part: mapping or memory
  LoadReport load_report_;
  std::vector<GgufFile> files_;
  std::vector<TensorInfo> tensors_;
  std::map<std::string, size_t, std::less<>> by_name_;
};

}  // namespace moe
