#include "gguf/writer.h"

#include <algorithm>
#include <bit>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>

#include "base/checked_math.h"

namespace moe {
namespace {

constexpr uint32_t kVersion = 3;
constexpr size_t kChunkBytes = 4u << 20;  // callback tensors are streamed in 4 MiB chunks
constexpr uint32_t kMaxAlignment = 1u << 24;

template <typename T>
void put(std::vector<uint8_t>* out, T v) {
  const size_t at = out->size();
  out->resize(at + sizeof(T));
  std::memcpy(out->data() + at, &v, sizeof(T));  // little-endian host, as the reader assumes
}

void put_string(std::vector<uint8_t>* out, std::string_view s) {
  put<uint64_t>(out, s.size());
  out->insert(out->end(), s.begin(), s.end());
}

// Encodes the payload of `v` (without its type tag); false if the value is malformed.
bool put_value(std::vector<uint8_t>* out, const GgufValue& v) {
  switch (v.type) {
    case GgufType::UINT8: put<uint8_t>(out, static_cast<uint8_t>(v.u)); return true;
    case GgufType::INT8: put<int8_t>(out, static_cast<int8_t>(v.i)); return true;
    case GgufType::UINT16: put<uint16_t>(out, static_cast<uint16_t>(v.u)); return true;
    case GgufType::INT16: put<int16_t>(out, static_cast<int16_t>(v.i)); return true;
    case GgufType::UINT32: put<uint32_t>(out, static_cast<uint32_t>(v.u)); return true;
    case GgufType::INT32: put<int32_t>(out, static_cast<int32_t>(v.i)); return true;
    case GgufType::UINT64: put<uint64_t>(out, v.u); return true;
    case GgufType::INT64: put<int64_t>(out, v.i); return true;
    case GgufType::FLOAT32: put<float>(out, static_cast<float>(v.f)); return true;
    case GgufType::FLOAT64: put<double>(out, v.f); return true;
    case GgufType::BOOL: put<uint8_t>(out, v.u != 0 ? 1 : 0); return true;
    case GgufType::STRING: put_string(out, v.str); return true;
    case GgufType::ARRAY:
      put<uint32_t>(out, static_cast<uint32_t>(v.elem_type));
      put<uint64_t>(out, v.items.size());
      for (const GgufValue& item : v.items) {
        if (item.type != v.elem_type || !put_value(out, item)) return false;
      }
      return true;
  }
  return false;
}

uint64_t align_up(uint64_t x, uint64_t alignment) { return (x + alignment - 1) / alignment * alignment; }

std::string part_path(const std::string& prefix, int part, int count) {
  char suffix[32];
  std::snprintf(suffix, sizeof suffix, "-%05d-of-%05d.gguf", part, count);
  return prefix + suffix;
}

}  // namespace

void GgufWriter::fail(std::string message) {
  if (error_.is_ok()) error_ = Status::error("GgufWriter: " + std::move(message));
}

bool GgufWriter::begin_kv(std::string_view key, GgufType type) {
  if (key.empty()) {
    fail("empty key");
    return false;
  }
  if (std::find(keys_.begin(), keys_.end(), key) != keys_.end()) {
    fail("duplicate key '" + std::string(key) + "'");
    return false;
  }
  if (key == "general.alignment" && type != GgufType::UINT32) {
    fail("general.alignment: expected uint32, found " + std::string(gguf_type_name(type)));
    return false;
  }
  keys_.emplace_back(key);
  put_string(&kv_bytes_, key);
  put<uint32_t>(&kv_bytes_, static_cast<uint32_t>(type));
  ++n_kv_;
  return true;
}

void GgufWriter::add_uint8(std::string_view key, uint8_t v) {
  if (begin_kv(key, GgufType::UINT8)) put(&kv_bytes_, v);
}
void GgufWriter::add_int8(std::string_view key, int8_t v) {
  if (begin_kv(key, GgufType::INT8)) put(&kv_bytes_, v);
}
void GgufWriter::add_uint16(std::string_view key, uint16_t v) {
  if (begin_kv(key, GgufType::UINT16)) put(&kv_bytes_, v);
}
void GgufWriter::add_int16(std::string_view key, int16_t v) {
  if (begin_kv(key, GgufType::INT16)) put(&kv_bytes_, v);
}
void GgufWriter::add_uint32(std::string_view key, uint32_t v) {
  if (key == "general.alignment") {
    if (v == 0 || v > kMaxAlignment || !std::has_single_bit(v)) {
      fail("general.alignment: expected a power of two in 1.." + std::to_string(kMaxAlignment) + ", found " +
           std::to_string(v));
      return;
    }
    if (!tensors_.empty()) {
      fail("general.alignment must be set before the first tensor is added");
      return;
    }
  }
  if (!begin_kv(key, GgufType::UINT32)) return;
  put(&kv_bytes_, v);
  if (key == "general.alignment") alignment_ = v;
}
void GgufWriter::add_int32(std::string_view key, int32_t v) {
  if (begin_kv(key, GgufType::INT32)) put(&kv_bytes_, v);
}
void GgufWriter::add_uint64(std::string_view key, uint64_t v) {
  if (begin_kv(key, GgufType::UINT64)) put(&kv_bytes_, v);
}
void GgufWriter::add_int64(std::string_view key, int64_t v) {
  if (begin_kv(key, GgufType::INT64)) put(&kv_bytes_, v);
}
void GgufWriter::add_float32(std::string_view key, float v) {
  if (begin_kv(key, GgufType::FLOAT32)) put(&kv_bytes_, v);
}
void GgufWriter::add_float64(std::string_view key, double v) {
  if (begin_kv(key, GgufType::FLOAT64)) put(&kv_bytes_, v);
}
void GgufWriter::add_bool(std::string_view key, bool v) {
  if (begin_kv(key, GgufType::BOOL)) put<uint8_t>(&kv_bytes_, v ? 1 : 0);
}
void GgufWriter::add_string(std::string_view key, std::string_view v) {
  if (begin_kv(key, GgufType::STRING)) put_string(&kv_bytes_, v);
}

void GgufWriter::add_string_array(std::string_view key, const std::vector<std::string>& v) {
  if (!begin_kv(key, GgufType::ARRAY)) return;
  put<uint32_t>(&kv_bytes_, static_cast<uint32_t>(GgufType::STRING));
  put<uint64_t>(&kv_bytes_, v.size());
  for (const std::string& s : v) put_string(&kv_bytes_, s);
}

void GgufWriter::add_int32_array(std::string_view key, const std::vector<int32_t>& v) {
  if (!begin_kv(key, GgufType::ARRAY)) return;
  put<uint32_t>(&kv_bytes_, static_cast<uint32_t>(GgufType::INT32));
  put<uint64_t>(&kv_bytes_, v.size());
  for (int32_t x : v) put(&kv_bytes_, x);
}

void GgufWriter::add_float32_array(std::string_view key, const std::vector<float>& v) {
  if (!begin_kv(key, GgufType::ARRAY)) return;
  put<uint32_t>(&kv_bytes_, static_cast<uint32_t>(GgufType::FLOAT32));
  put<uint64_t>(&kv_bytes_, v.size());
  for (float x : v) put(&kv_bytes_, x);
}

void GgufWriter::add_value(std::string_view key, const GgufValue& v) {
  if (v.type == GgufType::UINT32) {  // keeps the alignment bookkeeping in one place
    add_uint32(key, static_cast<uint32_t>(v.u));
    return;
  }
  if (!begin_kv(key, v.type)) return;
  if (!put_value(&kv_bytes_, v)) fail("key '" + std::string(key) + "': malformed value (array item type mismatch)");
}

void GgufWriter::add_tensor_impl(std::string_view name, GgmlType type, const std::vector<int64_t>& ne, Tensor t) {
  const std::string context = "tensor '" + std::string(name) + "'";
  if (name.empty()) return fail("tensor with an empty name");
  for (const Tensor& other : tensors_) {
    if (other.name == name) return fail(context + ": duplicate name");
  }
  if (ne.empty() || ne.size() > 4) return fail(context + ": expected 1..4 dims, found " + std::to_string(ne.size()));
  const TypeTraits* traits = find_type_traits(static_cast<uint32_t>(type));
  if (traits == nullptr) return fail(context + ": unknown type");
  uint64_t n_elements = 1;
  for (int64_t d : ne) {
    if (d <= 0 || !checked_mul(n_elements, static_cast<uint64_t>(d), &n_elements)) {
      return fail(context + ": bad shape");
    }
  }
  if (ne[0] % traits->block_size != 0) {
    return fail(context + ": ne[0] = " + std::to_string(ne[0]) + " is not a multiple of the block size " +
                std::to_string(traits->block_size));
  }
  if (!checked_mul(n_elements / traits->block_size, traits->type_size, &t.n_bytes)) {
    return fail(context + ": byte size overflows");
  }
  t.name = std::string(name);
  t.type = type;
  t.ne = ne;
  tensors_.push_back(std::move(t));
}

void GgufWriter::add_tensor(std::string_view name, GgmlType type, const std::vector<int64_t>& ne, const void* data) {
  if (data == nullptr) return fail("tensor '" + std::string(name) + "': null data");
  Tensor t;
  t.data = data;
  add_tensor_impl(name, type, ne, std::move(t));
}

void GgufWriter::add_tensor(std::string_view name, GgmlType type, const std::vector<int64_t>& ne, TensorDataFn fill) {
  if (!fill) return fail("tensor '" + std::string(name) + "': empty data callback");
  Tensor t;
  t.fill = std::move(fill);
  add_tensor_impl(name, type, ne, std::move(t));
}

Status GgufWriter::write_to(const Sink& sink) const {
  MOE_RETURN_IF_ERROR(error_);
  std::vector<uint8_t> header;
  header.insert(header.end(), {'G', 'G', 'U', 'F'});
  put<uint32_t>(&header, kVersion);
  put<uint64_t>(&header, tensors_.size());
  put<uint64_t>(&header, n_kv_);
  header.insert(header.end(), kv_bytes_.begin(), kv_bytes_.end());
  uint64_t offset = 0;  // within the data section
  for (const Tensor& t : tensors_) {
    put_string(&header, t.name);
    put<uint32_t>(&header, static_cast<uint32_t>(t.ne.size()));
    for (int64_t d : t.ne) put<uint64_t>(&header, static_cast<uint64_t>(d));
    put<uint32_t>(&header, static_cast<uint32_t>(t.type));
    put<uint64_t>(&header, offset);
    offset = align_up(offset + t.n_bytes, alignment_);
  }
  header.resize(align_up(header.size(), alignment_), 0);
  MOE_RETURN_IF_ERROR(sink(header.data(), header.size()));

  const std::vector<uint8_t> zeros(alignment_, 0);
  std::vector<uint8_t> chunk;
  for (const Tensor& t : tensors_) {
    if (t.data != nullptr) {
      MOE_RETURN_IF_ERROR(sink(static_cast<const uint8_t*>(t.data), t.n_bytes));
    } else {
      chunk.resize(static_cast<size_t>(std::min<uint64_t>(t.n_bytes, kChunkBytes)));
      for (uint64_t done = 0; done < t.n_bytes;) {
        const size_t n = static_cast<size_t>(std::min<uint64_t>(t.n_bytes - done, kChunkBytes));
        MOE_RETURN_IF_ERROR(t.fill(done, chunk.data(), n).with_context("tensor '" + t.name + "'"));
        MOE_RETURN_IF_ERROR(sink(chunk.data(), n));
        done += n;
      }
    }
    const uint64_t pad = align_up(t.n_bytes, alignment_) - t.n_bytes;
    if (pad > 0) MOE_RETURN_IF_ERROR(sink(zeros.data(), pad));
  }
  return Status::ok();
}

Status GgufWriter::write(const std::string& path) const {
  MOE_RETURN_IF_ERROR(error_.with_context(path));
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return Status::error(path + ": cannot create: " + std::strerror(errno));
  Status s = write_to([&](const uint8_t* bytes, size_t n) {
    if (n > 0 && std::fwrite(bytes, 1, n, f) != n) {
      return Status::error(path + ": write failed: " + std::strerror(errno));
    }
    return Status::ok();
  });
  const bool closed = std::fclose(f) == 0;
  if (s.is_ok() && !closed) s = Status::error(path + ": close failed: " + std::strerror(errno));
  if (!s.is_ok()) std::remove(path.c_str());  // never leave a truncated file behind
  return s;
}

Result<std::vector<uint8_t>> GgufWriter::write_to_buffer() const {
  std::vector<uint8_t> out;
  MOE_RETURN_IF_ERROR(write_to([&](const uint8_t* bytes, size_t n) {
    out.insert(out.end(), bytes, bytes + n);
    return Status::ok();
  }));
  return out;
}

Status split_gguf(const std::string& in_path, const std::string& out_prefix, int n_parts) {
  if (n_parts < 1 || n_parts > 65535) {
    return Status::error("split_gguf: n_parts: expected 1..65535 (split.count is a u16), found " + std::to_string(n_parts));
  }
  MOE_ASSIGN_OR_RETURN(GgufModel model, GgufModel::open(in_path));
  const std::vector<TensorInfo>& tensors = model.tensors();
  const size_t n = tensors.size();
  if (n > static_cast<size_t>(INT32_MAX)) return Status::error("split_gguf: too many tensors");
  for (int p = 0; p < n_parts; ++p) {
    GgufWriter w;
    if (p == 0) {
      for (const auto& [key, value] : model.metadata().entries()) {
        if (key.rfind("split.", 0) == 0) continue;  // replaced below
        w.add_value(key, value);
      }
    }
    w.add_uint16("split.no", static_cast<uint16_t>(p));
    w.add_uint16("split.count", static_cast<uint16_t>(n_parts));
    w.add_int32("split.tensors.count", static_cast<int32_t>(n));
    const size_t begin = n * static_cast<size_t>(p) / static_cast<size_t>(n_parts);
    const size_t end = n * static_cast<size_t>(p + 1) / static_cast<size_t>(n_parts);
    for (size_t i = begin; i < end; ++i) {
      const TensorInfo& t = tensors[i];
      w.add_tensor(t.name, t.type, std::vector<int64_t>(t.ne.begin(), t.ne.begin() + t.n_dims), t.data);
    }
    MOE_RETURN_IF_ERROR(w.write(part_path(out_prefix, p + 1, n_parts)));
  }
  return Status::ok();
}

}  // namespace moe
