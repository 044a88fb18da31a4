// GgufValue / GgufMetadata / TensorInfo helpers, and GgufModel: one file or a split set.
//
// Split sets follow llama.cpp's gguf-split: `NAME-00001-of-00003.gguf` .. `-00003-of-00003`,
// every part carries `split.no` (0-based), `split.count` and `split.tensors.count` (u16,
// u16, i32 there; any integer type is accepted here), and only part 1 carries the model
// metadata. Each part is a complete GGUF file with its own data section.
#include <cinttypes>
#include <cstdio>
#include <limits>
#include <regex>

#include "gguf/gguf.h"

namespace moe {
namespace {

std::string key_error(std::string_view key, const std::string& what) {
  return "metadata key '" + std::string(key) + "': " + what;
}

std::string type_mismatch(std::string_view key, const char* expected, const GgufValue& v) {
  std::string found(gguf_type_name(v.type));
  if (v.type == GgufType::ARRAY) found += " of " + std::string(gguf_type_name(v.elem_type));
  return key_error(key, std::string("expected ") + expected + ", found " + found);
}

bool is_signed_integer(GgufType t) {
  return t == GgufType::INT8 || t == GgufType::INT16 || t == GgufType::INT32 || t == GgufType::INT64;
}

struct SplitName {
  std::string prefix;  // everything before "-00001-of-00003.gguf"
  int part = 0;        // 1-based, as in the name
  int count = 0;
};

bool parse_split_name(const std::string& path, SplitName* out) {
  static const std::regex kPattern(R"(-(\d{5})-of-(\d{5})\.gguf$)");
  std::smatch m;
  if (!std::regex_search(path, m, kPattern)) return false;
  out->prefix = path.substr(0, static_cast<size_t>(m.position(0)));
  out->part = std::stoi(m[1].str());  // five digits: cannot overflow or fail
  out->count = std::stoi(m[2].str());
  return true;
}

std::string split_part_path(const std::string& prefix, int part, int count) {
  char suffix[32];
  std::snprintf(suffix, sizeof suffix, "-%05d-of-%05d.gguf", part, count);
  return prefix + suffix;
}

// Reads an integer split.* key of one part; nullopt when absent.
Result<std::optional<uint64_t>> split_key(const GgufFile& file, std::string_view key) {
  auto r = file.metadata.get_uint(key);
  if (!r.is_ok()) return r.status().with_context(file.path);
  return r.value();
}

}  // namespace

std::string_view gguf_type_name(GgufType type) {
  switch (type) {
    case GgufType::UINT8: return "uint8";
    case GgufType::INT8: return "int8";
    case GgufType::UINT16: return "uint16";
    case GgufType::INT16: return "int16";
    case GgufType::UINT32: return "uint32";
    case GgufType::INT32: return "int32";
    case GgufType::FLOAT32: return "float32";
    case GgufType::BOOL: return "bool";
    case GgufType::STRING: return "string";
    case GgufType::ARRAY: return "array";
    case GgufType::UINT64: return "uint64";
    case GgufType::INT64: return "int64";
    case GgufType::FLOAT64: return "float64";
  }
  return "unknown";
}

bool GgufValue::is_integer() const {
  switch (type) {
    case GgufType::UINT8:
    case GgufType::INT8:
    case GgufType::UINT16:
    case GgufType::INT16:
    case GgufType::UINT32:
    case GgufType::INT32:
    case GgufType::UINT64:
    case GgufType::INT64:
      return true;
    default:
      return false;
  }
}

std::string TensorInfo::shape_string() const {
  std::string s = "[";
  for (int d = 0; d < n_dims; ++d) {
    if (d > 0) s += ", ";
    s += std::to_string(ne[d]);
  }
  return s + "]";
}

const GgufValue* GgufMetadata::find(std::string_view key) const {
  auto it = kv_.find(key);
  return it == kv_.end() ? nullptr : &it->second;
}

Result<std::optional<uint64_t>> GgufMetadata::get_uint(std::string_view key) const {
  const GgufValue* v = find(key);
  if (v == nullptr) return std::optional<uint64_t>();
  if (!v->is_integer()) return Status::error(type_mismatch(key, "an unsigned integer", *v));
  if (!is_signed_integer(v->type)) return std::optional<uint64_t>(v->u);
  if (v->i < 0) {
    return Status::error(key_error(key, "expected a value >= 0, found " + std::to_string(v->i)));
  }
  return std::optional<uint64_t>(static_cast<uint64_t>(v->i));
}

Result<std::optional<int64_t>> GgufMetadata::get_int(std::string_view key) const {
  const GgufValue* v = find(key);
  if (v == nullptr) return std::optional<int64_t>();
  if (!v->is_integer()) return Status::error(type_mismatch(key, "an integer", *v));
  if (is_signed_integer(v->type)) return std::optional<int64_t>(v->i);
  if (v->u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
    return Status::error(key_error(key, "expected a value <= 2^63-1, found " + std::to_string(v->u)));
  }
  return std::optional<int64_t>(static_cast<int64_t>(v->u));
}

Result<std::optional<double>> GgufMetadata::get_float(std::string_view key) const {
  const GgufValue* v = find(key);
  if (v == nullptr) return std::optional<double>();
  if (v->is_float()) return std::optional<double>(v->f);
  if (v->is_integer()) {
    return std::optional<double>(is_signed_integer(v->type) ? static_cast<double>(v->i)
                                                            : static_cast<double>(v->u));
  }
  return Status::error(type_mismatch(key, "a number", *v));
}

Result<std::optional<bool>> GgufMetadata::get_bool(std::string_view key) const {
  const GgufValue* v = find(key);
  if (v == nullptr) return std::optional<bool>();
  if (v->type != GgufType::BOOL) return Status::error(type_mismatch(key, "bool", *v));
  return std::optional<bool>(v->u != 0);
}

Result<std::optional<std::string_view>> GgufMetadata::get_string(std::string_view key) const {
  const GgufValue* v = find(key);
  if (v == nullptr) return std::optional<std::string_view>();
  if (v->type != GgufType::STRING) return Status::error(type_mismatch(key, "string", *v));
  return std::optional<std::string_view>(v->str);
}

Result<const std::vector<GgufValue>*> GgufMetadata::get_array(std::string_view key, GgufType elem_type) const {
  const GgufValue* v = find(key);
  if (v == nullptr) return static_cast<const std::vector<GgufValue>*>(nullptr);
  if (v->type != GgufType::ARRAY || v->elem_type != elem_type) {
    const std::string expected = "array of " + std::string(gguf_type_name(elem_type));
    return Status::error(type_mismatch(key, expected.c_str(), *v));
  }
  return &v->items;
}

Result<GgufModel> GgufModel::open(const std::string& path, const GgufLimits& limits, const LoadOptions& load) {
  GgufModel model;
  SplitName split;
  const bool is_split = parse_split_name(path, &split);
  if (is_split && (split.count < 1 || split.part < 1 || split.part > split.count)) {
    return Status::error(path + ": split file name: expected part 1.." + std::to_string(split.count) +
                         " of a count >= 1, found part " + std::to_string(split.part));
  }
  // Any part of a set names the whole set; it is always opened from part 1.
  std::vector<std::string> paths;
  if (is_split) {
    for (int k = 1; k <= split.count; ++k) paths.push_back(split_part_path(split.prefix, k, split.count));
  } else {
    paths.push_back(path);
  }

  for (size_t i = 0; i < paths.size(); ++i) {
    auto mapped = FileBuffer::map(paths[i]);
    if (!mapped.is_ok()) {
      if (!is_split) return mapped.status();
      return mapped.status().with_context("split part " + std::to_string(i + 1) + " of " +
                                          std::to_string(paths.size()) + " missing or unreadable");
    }
    auto map = std::make_unique<FileBuffer>(std::move(mapped).value());
    MOE_ASSIGN_OR_RETURN(GgufFile file, parse_gguf(map->data(), map->size(), paths[i], limits));
    for (TensorInfo& t : file.tensors) t.file_index = static_cast<int>(i);
    model.maps_.push_back(std::move(map));
    model.files_.push_back(std::move(file));
  }

  // The split.* keys must agree with the file names, part by part.
  const uint64_t n_parts = paths.size();
  uint64_t n_tensors = 0;
  for (size_t i = 0; i < model.files_.size(); ++i) {
    const GgufFile& file = model.files_[i];
    n_tensors += file.tensors.size();
    MOE_ASSIGN_OR_RETURN(std::optional<uint64_t> count, split_key(file, "split.count"));
    MOE_ASSIGN_OR_RETURN(std::optional<uint64_t> no, split_key(file, "split.no"));
    if (!is_split) {
      if (count.value_or(1) != 1) {
        return Status::error(file.path + ": split.count: expected 1 for a file not named NAME-00001-of-0000N.gguf, found " +
                             std::to_string(*count));
      }
      if (no.value_or(0) != 0) {
        return Status::error(file.path + ": split.no: expected 0 for a single file, found " + std::to_string(*no));
      }
      continue;
    }
    // A set of one may come without split keys; a real set must carry them.
    if (n_parts > 1 && (!count || !no)) {
      return Status::error(file.path + ": " + (count ? "split.no" : "split.count") +
                           ": expected in every part of a split set, found absent");
    }
    if (count.value_or(n_parts) != n_parts) {
      return Status::error(file.path + ": split.count: expected " + std::to_string(n_parts) +
                           " (from the file name), found " + std::to_string(*count));
    }
    if (no.value_or(i) != i) {
      return Status::error(file.path + ": split.no: expected " + std::to_string(i) + " (0-based part index), found " +
                           std::to_string(*no));
    }
  }
  MOE_ASSIGN_OR_RETURN(std::optional<uint64_t> expected_tensors,
                       split_key(model.files_.front(), "split.tensors.count"));
  if (is_split && n_parts > 1 && !expected_tensors) {
    return Status::error(model.files_.front().path + ": split.tensors.count: expected in part 1, found absent");
  }
  if (expected_tensors && *expected_tensors != n_tensors) {
    return Status::error(model.files_.front().path + ": split.tensors.count: expected " + std::to_string(n_tensors) +
                         " (the tensors of all " + std::to_string(n_parts) + " parts), found " +
                         std::to_string(*expected_tensors));
  }

  // Validated: now bring the bytes in as asked; parts read into memory are parsed again
  // (cheap: metadata only) so every view points into the memory that stays.
  std::vector<bool> reloaded;
  MOE_ASSIGN_OR_RETURN(model.load_report_, load_parts(model.maps_, load, &reloaded));
  for (size_t i = 0; i < model.files_.size(); ++i) {
    if (!reloaded[i]) continue;
    MOE_ASSIGN_OR_RETURN(GgufFile file, parse_gguf(model.maps_[i]->data(), model.maps_[i]->size(), paths[i], limits));
    for (TensorInfo& t : file.tensors) t.file_index = static_cast<int>(i);
    model.files_[i] = std::move(file);
  }

  model.tensors_.reserve(n_tensors);
  for (const GgufFile& file : model.files_) {
    for (const TensorInfo& t : file.tensors) {
      auto [it, inserted] = model.by_name_.emplace(t.name, model.tensors_.size());
      if (!inserted) {
        const TensorInfo& first = model.tensors_[it->second];
        return Status::error(file.path + ": tensor '" + t.name + "': duplicate name, already in " +
                             model.files_[first.file_index].path);
      }
      model.tensors_.push_back(t);
    }
  }
  if (load.numa_experts) {
    MOE_ASSIGN_OR_RETURN(NumaTopology topo, read_numa_topology());
    model.load_report_.experts = expert_refs(model);
    MOE_ASSIGN_OR_RETURN(model.load_report_.placement, place_model_experts(model, topo, true, &model.load_report_));
  }
  return model;
}

const TensorInfo* GgufModel::find_tensor(std::string_view name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : &tensors_[it->second];
}

uint64_t GgufModel::file_bytes() const {
  uint64_t total = 0;
  for (const auto& map : maps_) total += map->size();
  return total;
}

}  // namespace moe
