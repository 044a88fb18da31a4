// Writes a small seed corpus for gguf_fuzz: tiny valid GGUF files made with GgufWriter that
// between them use every value type, nested arrays, alignment, split keys, several tensor
// types and v2. Usage: gguf_fuzz_seeds OUT_DIR
#include <cstdio>
#include <string>
#include <vector>

#include "gguf/writer.h"

namespace {

using moe::GgmlType;
using moe::GgufValue;
using moe::GgufWriter;
using moe::Status;

Status save(const std::string& path, const std::vector<uint8_t>& bytes) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return Status::error(path + ": cannot create");
  const bool ok = std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size();
  return (std::fclose(f) == 0 && ok) ? Status::ok() : Status::error(path + ": write failed");
}

Status emit(const std::string& dir, const std::string& name, const GgufWriter& w, bool as_v2 = false) {
  MOE_ASSIGN_OR_RETURN(std::vector<uint8_t> bytes, w.write_to_buffer());
  if (as_v2) bytes[4] = 2;  // v2 and v3 share the layout
  return save(dir + "/" + name, bytes);
}

GgufValue nested() {
  GgufValue leaf;
  leaf.type = moe::GgufType::INT16;
  leaf.i = -2;
  GgufValue inner;
  inner.type = moe::GgufType::ARRAY;
  inner.elem_type = moe::GgufType::INT16;
  inner.items = {leaf, leaf};
  GgufValue outer;
  outer.type = moe::GgufType::ARRAY;
  outer.elem_type = moe::GgufType::ARRAY;
  outer.items = {inner, inner};
  return outer;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s OUT_DIR\n", argv[0]);
    return 2;
  }
  const std::string dir = argv[1];
  static const uint8_t kData[4096] = {1, 2, 3, 4, 5, 6, 7, 8};

  // Every scalar type, arrays and nested arrays, three tensor types.
  GgufWriter all;
  all.add_string("general.architecture", "deepseek2");
  all.add_uint8("a.u8", 1);
  all.add_int8("a.i8", -1);
  all.add_uint16("a.u16", 2);
  all.add_int16("a.i16", -2);
  all.add_uint32("a.u32", 3);
  all.add_int32("a.i32", -3);
  all.add_uint64("a.u64", 4);
  all.add_int64("a.i64", -4);
  all.add_float32("a.f32", 0.5f);
  all.add_float64("a.f64", 0.25);
  all.add_bool("a.bool", true);
  all.add_string_array("tokenizer.ggml.tokens", {"<s>", "</s>", "a", "b", "ab"});
  all.add_int32_array("tokenizer.ggml.token_type", {3, 3, 1, 1, 1});
  all.add_float32_array("a.scores", {0.f, -1.f});
  all.add_value("a.nested", nested());
  all.add_tensor("output_norm.weight", GgmlType::F32, {32}, kData);
  all.add_tensor("blk.0.attn_k_b.weight", GgmlType::Q8_0, {32, 2, 2}, kData);
  all.add_tensor("token_embd.weight", GgmlType::Q4_K, {256, 2}, kData);

  GgufWriter aligned;
  aligned.add_uint32("general.alignment", 64);
  aligned.add_tensor("a", GgmlType::BF16, {16, 3}, kData);
  aligned.add_tensor("b", GgmlType::Q6_K, {256}, kData);

  GgufWriter part;  // a later part of a split set
  part.add_uint16("split.no", 1);
  part.add_uint16("split.count", 2);
  part.add_int32("split.tensors.count", 3);
  part.add_tensor("blk.1.ffn_down_exps.weight", GgmlType::Q4_K, {256, 2, 4}, kData);

  GgufWriter metadata_only;
  metadata_only.add_string("tokenizer.ggml.model", "gpt2");
  metadata_only.add_string_array("tokenizer.ggml.merges", {"a b", "ab c"});
  metadata_only.add_uint32("tokenizer.ggml.bos_token_id", 0);

  GgufWriter empty;

  for (Status s : {emit(dir, "all_types.gguf", all), emit(dir, "aligned.gguf", aligned),
                   emit(dir, "split_part.gguf", part), emit(dir, "metadata_only.gguf", metadata_only),
                   emit(dir, "empty_v2.gguf", empty, /*as_v2=*/true)}) {
    if (!s.is_ok()) {
      std::fprintf(stderr, "gguf_fuzz_seeds: %s\n", s.message().c_str());
      return 1;
    }
  }
  return 0;
}
