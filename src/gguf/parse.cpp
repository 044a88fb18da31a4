// parse_gguf: the validating GGUF reader (grammar in gguf.h).
//
// Every count, length and offset is untrusted. The order of checks matters: a count is
// compared with the bytes that remain *before* anything is reserved for it, and every size
// is computed with checked arithmetic (the CVEs listed in ../shared/docs/PEERS.md were all
// a missing check of exactly this kind). Errors are built from the inside out with
// Status::with_context, so a message reads "file: kv #4 'key': element 17: what went wrong".
#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>
#include <string>
#include <unordered_set>

#include "base/checked_math.h"
#include "gguf/gguf.h"

namespace moe {
namespace {

constexpr uint32_t kMaxValueType = static_cast<uint32_t>(GgufType::FLOAT64);
constexpr uint64_t kHeaderBytes = 4 + 4 + 8 + 8;  // magic, version, n_tensors, n_kv
// The smallest possible encodings, used to bound counts by the bytes that remain.
constexpr uint64_t kMinKvBytes = 8 + 4;                      // key length + value type
constexpr uint64_t kMinTensorInfoBytes = 8 + 4 + 8 + 4 + 8;  // name len, n_dims, ne[0], type, offset
constexpr uint64_t kMinArrayBytes = 4 + 8;                   // elem type + count
constexpr uint32_t kDefaultAlignment = 32;
constexpr uint32_t kMaxAlignment = 1u << 24;  // 16 MiB: larger is surely corrupt
// Recursion is bounded whatever the caller asks for (each level is a stack frame).
constexpr int kHardMaxArrayDepth = 64;
constexpr int kMaxDims = 4;

std::string str(uint64_t v) { return std::to_string(v); }

// Bytes of one fixed-size value; 0 for strings and arrays.
uint64_t scalar_size(GgufType type) {
  switch (type) {
    case GgufType::UINT8:
    case GgufType::INT8:
    case GgufType::BOOL:
      return 1;
    case GgufType::UINT16:
    case GgufType::INT16:
      return 2;
    case GgufType::UINT32:
    case GgufType::INT32:
    case GgufType::FLOAT32:
      return 4;
    case GgufType::UINT64:
    case GgufType::INT64:
    case GgufType::FLOAT64:
      return 8;
    case GgufType::STRING:
    case GgufType::ARRAY:
      return 0;
  }
  return 0;
}

// The least bytes one element of `type` can occupy (a string is at least its length field).
uint64_t min_encoded_size(GgufType type) {
  if (type == GgufType::STRING) return 8;
  if (type == GgufType::ARRAY) return kMinArrayBytes;
  return scalar_size(type);
}

// A bounds-checked little-endian reader over the untrusted bytes.
class Cursor {
 public:
  Cursor(const uint8_t* data, size_t size) : data_(data), size_(size) {}

  uint64_t pos() const { return pos_; }
  uint64_t remaining() const { return size_ - pos_; }
  const uint8_t* here() const { return data_ + pos_; }

  Status need(uint64_t n, const char* what) const {
    if (n <= remaining()) return Status::ok();
    return Status::error(std::string("truncated reading ") + what + " at offset " + str(pos_) +
                         ": expected " + str(n) + " bytes, found " + str(remaining()));
  }

  template <typename T>
  Status read(T* out, const char* what) {
    MOE_RETURN_IF_ERROR(need(sizeof(T), what));
    std::memcpy(out, data_ + pos_, sizeof(T));  // the host is little-endian (x86-64/arm64)
    pos_ += sizeof(T);
    return Status::ok();
  }

  // A GGUF string: u64 length then the bytes. The view points into the input.
  Status read_string(std::string_view* out, const char* what, uint64_t max_bytes) {
    uint64_t len = 0;
    MOE_RETURN_IF_ERROR(read(&len, what));
    if (len > max_bytes) {
      return Status::error(std::string(what) + " length at offset " + str(pos_ - 8) +
                           ": expected at most " + str(max_bytes) + ", found " + str(len));
    }
    MOE_RETURN_IF_ERROR(need(len, what));
    *out = std::string_view(reinterpret_cast<const char*>(data_ + pos_), len);
    pos_ += len;
    return Status::ok();
  }

 private:
  const uint8_t* data_;
  uint64_t size_;
  uint64_t pos_ = 0;
};

static_assert(std::endian::native == std::endian::little, "GGUF reader assumes a little-endian host");

Status read_value(Cursor& c, GgufType type, int depth, const GgufLimits& limits, GgufValue* out);

Status read_array(Cursor& c, int depth, const GgufLimits& limits, GgufValue* out) {
  const int max_depth = std::min(limits.max_array_depth, kHardMaxArrayDepth);
  if (depth >= max_depth) {
    return Status::error("array nesting: expected at most " + std::to_string(max_depth) +
                         " levels, found deeper at offset " + str(c.pos()));
  }
  uint32_t elem_type = 0;
  MOE_RETURN_IF_ERROR(c.read(&elem_type, "array element type"));
  if (elem_type > kMaxValueType) {
    return Status::error("array element type at offset " + str(c.pos() - 4) + ": expected 0.." +
                         str(kMaxValueType) + ", found " + str(elem_type));
  }
  uint64_t count = 0;
  MOE_RETURN_IF_ERROR(c.read(&count, "array count"));
  if (count > limits.max_array_count) {
    return Status::error("array count at offset " + str(c.pos() - 8) + ": expected at most " +
                         str(limits.max_array_count) + ", found " + str(count));
  }
  out->elem_type = static_cast<GgufType>(elem_type);
  // Before reserving anything: N elements need at least N * (smallest encoding) bytes.
  uint64_t min_bytes = 0;
  const bool overflow = !checked_mul(count, min_encoded_size(out->elem_type), &min_bytes);
  if (overflow || min_bytes > c.remaining()) {
    return Status::error("array of " + str(count) + " " + std::string(gguf_type_name(out->elem_type)) +
                         " at offset " + str(c.pos()) + ": expected at least " +
                         (overflow ? std::string("2^64") : str(min_bytes)) + " bytes, found " +
                         str(c.remaining()) + " remaining");
  }
  out->items.resize(count);
  for (uint64_t i = 0; i < count; ++i) {
    Status s = read_value(c, out->elem_type, depth + 1, limits, &out->items[i]);
    if (!s.is_ok()) return s.with_context("element " + str(i));
  }
  return Status::ok();
}

Status read_value(Cursor& c, GgufType type, int depth, const GgufLimits& limits, GgufValue* out) {
  out->type = type;
  switch (type) {
    case GgufType::UINT8: {
      uint8_t v = 0;
      MOE_RETURN_IF_ERROR(c.read(&v, "uint8 value"));
      out->u = v;
      return Status::ok();
    }
    case GgufType::INT8: {
      int8_t v = 0;
      MOE_RETURN_IF_ERROR(c.read(&v, "int8 value"));
      out->i = v;
      return Status::ok();
    }
    case GgufType::UINT16: {
      uint16_t v = 0;
      MOE_RETURN_IF_ERROR(c.read(&v, "uint16 value"));
      out->u = v;
      return Status::ok();
    }
    case GgufType::INT16: {
      int16_t v = 0;
      MOE_RETURN_IF_ERROR(c.read(&v, "int16 value"));
      out->i = v;
      return Status::ok();
    }
    case GgufType::UINT32: {
      uint32_t v = 0;
      MOE_RETURN_IF_ERROR(c.read(&v, "uint32 value"));
      out->u = v;
      return Status::ok();
    }
    case GgufType::INT32: {
      int32_t v = 0;
      MOE_RETURN_IF_ERROR(c.read(&v, "int32 value"));
      out->i = v;
      return Status::ok();
    }
    case GgufType::UINT64:
      return c.read(&out->u, "uint64 value");
    case GgufType::INT64:
      return c.read(&out->i, "int64 value");
    case GgufType::FLOAT32: {
      float v = 0;
      MOE_RETURN_IF_ERROR(c.read(&v, "float32 value"));
      out->f = v;
      return Status::ok();
    }
    case GgufType::FLOAT64:
      return c.read(&out->f, "float64 value");
    case GgufType::BOOL: {
      uint8_t v = 0;
      MOE_RETURN_IF_ERROR(c.read(&v, "bool value"));
      if (v > 1) {
        return Status::error("bool value at offset " + str(c.pos() - 1) + ": expected 0 or 1, found " + str(v));
      }
      out->u = v;
      return Status::ok();
    }
    case GgufType::STRING:
      return c.read_string(&out->str, "string", limits.max_string_bytes);
    case GgufType::ARRAY:
      return read_array(c, depth, limits, out);
  }
  return Status::error("value type: expected 0.." + str(kMaxValueType) + ", found " +
                       str(static_cast<uint32_t>(type)));
}

Status read_header(Cursor& c, uint32_t* version, uint64_t* n_tensors, uint64_t* n_kv) {
  MOE_RETURN_IF_ERROR(c.need(kHeaderBytes, "the header"));
  char magic[4];
  std::memcpy(magic, c.here(), 4);
  uint32_t raw_magic = 0;
  MOE_RETURN_IF_ERROR(c.read(&raw_magic, "magic"));
  if (std::memcmp(magic, "FUGG", 4) == 0) {
    return Status::error("magic: found \"FUGG\", a byte-swapped (big-endian) GGUF file; only "
                         "little-endian files are supported");
  }
  if (std::memcmp(magic, "GGUF", 4) != 0) {
    char hex[64];
    std::snprintf(hex, sizeof hex, "%02x %02x %02x %02x", static_cast<uint8_t>(magic[0]),
                  static_cast<uint8_t>(magic[1]), static_cast<uint8_t>(magic[2]),
                  static_cast<uint8_t>(magic[3]));
    return Status::error(std::string("magic: expected \"GGUF\" (47 47 55 46), found ") + hex +
                         "; not a GGUF file");
  }
  MOE_RETURN_IF_ERROR(c.read(version, "version"));
  if (*version != 2 && *version != 3) {
    const uint32_t swapped = __builtin_bswap32(*version);
    if (swapped >= 1 && swapped <= 3) {
      return Status::error("version: found " + str(*version) + ", which is version " + str(swapped) +
                           " byte-swapped: a big-endian GGUF file; only little-endian files are "
                           "supported");
    }
    std::string why = *version <= 1 ? " (GGUF v0/v1 is obsolete; re-convert the model)"
                                    : " (a newer GGUF version than this reader knows)";
    return Status::error("version: expected 2 or 3, found " + str(*version) + why);
  }
  MOE_RETURN_IF_ERROR(c.read(n_tensors, "n_tensors"));
  MOE_RETURN_IF_ERROR(c.read(n_kv, "n_kv"));
  // Bound both counts by what the rest of the file could possibly hold.
  const uint64_t rest = c.remaining();
  if (*n_kv > rest / kMinKvBytes) {
    return Status::error("n_kv: expected at most " + str(rest / kMinKvBytes) + " (each key/value takes >= " +
                         str(kMinKvBytes) + " bytes and " + str(rest) + " remain), found " + str(*n_kv));
  }
  if (*n_tensors > rest / kMinTensorInfoBytes) {
    return Status::error("n_tensors: expected at most " + str(rest / kMinTensorInfoBytes) +
                         " (each tensor info takes >= " + str(kMinTensorInfoBytes) + " bytes and " +
                         str(rest) + " remain), found " + str(*n_tensors));
  }
  // Both are now small enough that this cannot overflow.
  if (*n_kv * kMinKvBytes + *n_tensors * kMinTensorInfoBytes > rest) {
    return Status::error("n_kv and n_tensors: " + str(*n_kv) + " key/values and " + str(*n_tensors) +
                         " tensor infos need at least " +
                         str(*n_kv * kMinKvBytes + *n_tensors * kMinTensorInfoBytes) + " bytes, found " +
                         str(rest));
  }
  return Status::ok();
}

Status read_kvs(Cursor& c, uint64_t n_kv, const GgufLimits& limits, GgufMetadata* metadata) {
  for (uint64_t i = 0; i < n_kv; ++i) {
    std::string_view key;
    Status s = c.read_string(&key, "key", limits.max_string_bytes);
    if (!s.is_ok()) return s.with_context("kv #" + str(i));
    if (key.empty()) return Status::error("kv #" + str(i) + ": key: expected a non-empty key, found length 0");
    const std::string context = "kv #" + str(i) + " '" + std::string(key) + "'";
    if (metadata->has(key)) return Status::error(context + ": duplicate key");
    uint32_t type = 0;
    MOE_RETURN_IF_ERROR(c.read(&type, "value type").with_context(context));
    if (type > kMaxValueType) {
      return Status::error(context + ": value type: expected 0.." + str(kMaxValueType) + ", found " + str(type));
    }
    GgufValue value;
    MOE_RETURN_IF_ERROR(read_value(c, static_cast<GgufType>(type), 0, limits, &value).with_context(context));
    metadata->set(std::string(key), std::move(value));
  }
  return Status::ok();
}

Status read_alignment(const GgufMetadata& metadata, uint32_t* alignment) {
  *alignment = kDefaultAlignment;
  const GgufValue* v = metadata.find("general.alignment");
  if (v == nullptr) return Status::ok();
  if (v->type != GgufType::UINT32) {
    return Status::error("general.alignment: expected type uint32, found " + std::string(gguf_type_name(v->type)));
  }
  if (v->u == 0 || v->u > kMaxAlignment || !std::has_single_bit(v->u)) {
    return Status::error("general.alignment: expected a power of two in 1.." + str(kMaxAlignment) + ", found " +
                         str(v->u));
  }
  *alignment = static_cast<uint32_t>(v->u);
  return Status::ok();
}

// One tensor info, validated on its own (layout checks need the data offset, see below).
Status read_tensor_info(Cursor& c, const GgufLimits& limits, TensorInfo* t) {
  std::string_view name;
  MOE_RETURN_IF_ERROR(c.read_string(&name, "tensor name", limits.max_string_bytes));
  if (name.empty()) return Status::error("tensor name: expected a non-empty name, found length 0");
  t->name = std::string(name);
  const std::string context = "tensor '" + t->name + "'";
  uint32_t n_dims = 0;
  MOE_RETURN_IF_ERROR(c.read(&n_dims, "n_dims").with_context(context));
  if (n_dims < 1 || n_dims > kMaxDims) {
    return Status::error(context + ": n_dims: expected 1.." + str(kMaxDims) + ", found " + str(n_dims));
  }
  t->n_dims = static_cast<int>(n_dims);
  uint64_t n_elements = 1;
  for (uint32_t d = 0; d < n_dims; ++d) {
    uint64_t ne = 0;
    MOE_RETURN_IF_ERROR(c.read(&ne, "ne").with_context(context));
    if (ne == 0 || ne > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return Status::error(context + ": ne[" + str(d) + "]: expected 1..2^63-1, found " + str(ne));
    }
    t->ne[d] = static_cast<int64_t>(ne);
    if (!checked_mul(n_elements, ne, &n_elements) ||
        n_elements > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      return Status::error(context + ": element count: the product of ne[0.." + str(d) +
                           "] overflows 63 bits");
    }
  }
  uint32_t type_id = 0;
  MOE_RETURN_IF_ERROR(c.read(&type_id, "tensor type").with_context(context));
  const TypeTraits* traits = find_type_traits(type_id);
  if (traits == nullptr) {
    return Status::error(context + ": type: unknown ggml type id " + str(type_id));
  }
  t->type = traits->type;
  if (t->ne[0] % traits->block_size != 0) {
    return Status::error(context + ": ne[0]: expected a multiple of the " + std::string(traits->name) +
                         " block size " + str(traits->block_size) + ", found " + str(t->ne[0]));
  }
  // ne[0] is a multiple of the block size, so n_elements is too.
  if (!checked_mul(n_elements / traits->block_size, traits->type_size, &t->n_bytes)) {
    return Status::error(context + ": byte size: " + str(n_elements) + " " + std::string(traits->name) +
                         " elements overflow 64 bits");
  }
  MOE_RETURN_IF_ERROR(c.read(&t->offset, "tensor offset").with_context(context));
  return Status::ok();
}

// Places every tensor in the data section: aligned, inside the file, no overlaps.
Status place_tensors(const uint8_t* bytes, uint64_t size, GgufFile* file) {
  const uint64_t alignment = file->alignment;
  for (TensorInfo& t : file->tensors) {
    const std::string context = "tensor '" + t.name + "'";
    if (t.offset % alignment != 0) {
      return Status::error(context + ": offset: expected a multiple of the alignment " + str(alignment) +
                           ", found " + str(t.offset));
    }
    uint64_t begin = 0;
    uint64_t end = 0;
    if (!checked_add(file->data_offset, t.offset, &begin) || !checked_add(begin, t.n_bytes, &end) || end > size) {
      return Status::error(context + ": data: offset " + str(t.offset) + " + " + str(t.n_bytes) +
                           " bytes in the data section at " + str(file->data_offset) +
                           " extends past the end of the file (" + str(size) + " bytes)");
    }
    t.data = bytes + begin;
  }
  std::vector<const TensorInfo*> by_offset;
  by_offset.reserve(file->tensors.size());
  for (const TensorInfo& t : file->tensors) by_offset.push_back(&t);
  std::sort(by_offset.begin(), by_offset.end(),
            [](const TensorInfo* a, const TensorInfo* b) { return a->offset < b->offset; });
  for (size_t i = 1; i < by_offset.size(); ++i) {
    const TensorInfo& prev = *by_offset[i - 1];
    const TensorInfo& cur = *by_offset[i];
    // prev.offset + prev.n_bytes cannot overflow: both were checked against the file size.
    if (prev.offset + prev.n_bytes > cur.offset) {
      return Status::error("tensor '" + cur.name + "': data at offset " + str(cur.offset) +
                           " overlaps tensor '" + prev.name + "' at [" + str(prev.offset) + ", " +
                           str(prev.offset + prev.n_bytes) + ")");
    }
  }
  return Status::ok();
}

Status parse_into(const uint8_t* bytes, size_t size, const GgufLimits& limits, GgufFile* file) {
  Cursor c(bytes, size);
  uint64_t n_tensors = 0;
  uint64_t n_kv = 0;
  MOE_RETURN_IF_ERROR(read_header(c, &file->version, &n_tensors, &n_kv));
  MOE_RETURN_IF_ERROR(read_kvs(c, n_kv, limits, &file->metadata));
  MOE_RETURN_IF_ERROR(read_alignment(file->metadata, &file->alignment));

  file->tensors.resize(n_tensors);  // bounded by the header check above
  std::unordered_set<std::string_view> names;
  names.reserve(n_tensors);
  for (uint64_t i = 0; i < n_tensors; ++i) {
    TensorInfo& t = file->tensors[i];
    MOE_RETURN_IF_ERROR(read_tensor_info(c, limits, &t).with_context("tensor info #" + str(i)));
    if (!names.insert(t.name).second) {
      return Status::error("tensor info #" + str(i) + ": duplicate tensor name '" + t.name + "'");
    }
  }

  // The data section starts at the end of the header rounded up to the alignment.
  const uint64_t header_end = c.pos();
  uint64_t padded = 0;
  if (!checked_add(header_end, file->alignment - 1, &padded)) {
    return Status::error("data section: header end " + str(header_end) + " overflows when aligned");
  }
  file->data_offset = padded / file->alignment * file->alignment;
  if (n_tensors > 0 && file->data_offset > size) {
    return Status::error("data section: starts at " + str(file->data_offset) + " (header end " + str(header_end) +
                         " aligned to " + str(file->alignment) + "), past the end of the file (" + str(size) +
                         " bytes)");
  }
  // Without tensors a writer need not pad the file; keep data_offset <= size regardless.
  if (n_tensors == 0) file->data_offset = std::min<uint64_t>(file->data_offset, size);
  return place_tensors(bytes, size, file);
}

}  // namespace

Result<GgufFile> parse_gguf(const uint8_t* bytes, size_t size, const std::string& name, const GgufLimits& limits) {
  GgufFile file;
  file.path = name;
  if (bytes == nullptr && size > 0) return Status::error(name + ": no data");
  Status s = parse_into(bytes, size, limits, &file);
  if (!s.is_ok()) return s.with_context(name);
  return file;
}

}  // namespace moe
