// Helpers for the GGUF tests: fixture paths, per-test temp dirs, a tiny writer-made model
// and byte patching for hand-corrupted files.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "gguf/gguf.h"
#include "gguf/writer.h"

namespace moe::gguf_test {

inline std::string model_path(const std::string& name) {
  return std::string(MOEINFER_TEST_DATA_DIR) + "/models/" + name;
}

// A fresh directory per test (ctest runs tests in parallel processes), removed afterwards.
class TempDir {
 public:
  TempDir() {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    path_ = std::filesystem::temp_directory_path() /
            ("moe_gguf_" + std::to_string(::getpid()) + "_" + info->test_suite_name() + "_" + info->name());
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

// A small valid model: a few kvs (one u32 at a known place for patching, a string array),
// two f32 vectors and one q8_0 matrix. The data outlives the writer use.
struct TinyModel {
  std::vector<float> norm_a = std::vector<float>(64);
  std::vector<float> norm_b = std::vector<float>(64);
  std::vector<uint8_t> mat = std::vector<uint8_t>(4 * 2 * 34);  // q8_0 [64, 4]: 2 blocks a row

  TinyModel() {
    for (size_t i = 0; i < norm_a.size(); ++i) norm_a[i] = 1.0f + static_cast<float>(i);
    for (size_t i = 0; i < norm_b.size(); ++i) norm_b[i] = -static_cast<float>(i);
    for (size_t i = 0; i < mat.size(); ++i) mat[i] = static_cast<uint8_t>(i * 7 + 3);
  }

  // `alignment` 0 leaves general.alignment out (default 32).
  void fill(GgufWriter* w, uint32_t alignment = 0) const {
    w->add_string("general.architecture", "deepseek2");
    if (alignment != 0) w->add_uint32("general.alignment", alignment);
    w->add_uint32("deepseek2.block_count", 3);
    w->add_bool("tokenizer.ggml.add_bos_token", true);
    w->add_string_array("tokenizer.ggml.tokens", {"<s>", "</s>", "hello"});
    w->add_tensor("norm_a.weight", GgmlType::F32, {64}, norm_a.data());
    w->add_tensor("norm_b.weight", GgmlType::F32, {64}, norm_b.data());
    w->add_tensor("mat.weight", GgmlType::Q8_0, {64, 4}, mat.data());
  }

  std::vector<uint8_t> bytes(uint32_t alignment = 0) const {
    GgufWriter w;
    fill(&w, alignment);
    auto r = w.write_to_buffer();
    EXPECT_TRUE(r.is_ok()) << r.status().message();
    return r.is_ok() ? std::move(r).value() : std::vector<uint8_t>();
  }
};

// Position of the first occurrence of `needle` in `buf` (fails the test when absent).
inline size_t find_bytes(const std::vector<uint8_t>& buf, std::string_view needle) {
  auto it = std::search(buf.begin(), buf.end(), needle.begin(), needle.end());
  EXPECT_NE(it, buf.end()) << "'" << needle << "' not found";
  return it == buf.end() ? 0 : static_cast<size_t>(it - buf.begin());
}

// Where a key's or tensor's u64 length prefix starts, and where its fields after the name start.
inline size_t length_prefix_at(const std::vector<uint8_t>& buf, std::string_view name) {
  return find_bytes(buf, name) - 8;
}
inline size_t after_name(const std::vector<uint8_t>& buf, std::string_view name) {
  return find_bytes(buf, name) + name.size();
}

template <typename T>
void poke(std::vector<uint8_t>* buf, size_t at, T value) {
  ASSERT_LE(at + sizeof(T), buf->size());
  std::memcpy(buf->data() + at, &value, sizeof(T));
}

template <typename T>
T peek(const std::vector<uint8_t>& buf, size_t at) {
  T value{};
  EXPECT_LE(at + sizeof(T), buf.size());
  if (at + sizeof(T) <= buf.size()) std::memcpy(&value, buf.data() + at, sizeof(T));
  return value;
}

// Tensor info field offsets (relative to after_name) for a tensor with `n_dims` dims.
inline size_t n_dims_field(const std::vector<uint8_t>& buf, std::string_view tensor) {
  // A tensor name also appears nowhere earlier in TinyModel, so the first match is its info.
  return after_name(buf, tensor);
}
inline size_t ne_field(const std::vector<uint8_t>& buf, std::string_view tensor, int d) {
  return after_name(buf, tensor) + 4 + 8 * static_cast<size_t>(d);
}
inline size_t type_field(const std::vector<uint8_t>& buf, std::string_view tensor, int n_dims) {
  return after_name(buf, tensor) + 4 + 8 * static_cast<size_t>(n_dims);
}
inline size_t offset_field(const std::vector<uint8_t>& buf, std::string_view tensor, int n_dims) {
  return type_field(buf, tensor, n_dims) + 4;
}

inline Result<GgufFile> parse(const std::vector<uint8_t>& buf, const GgufLimits& limits = {}) {
  return parse_gguf(buf.data(), buf.size(), "corrupt.gguf", limits);
}

}  // namespace moe::gguf_test

// Asserts that `result` failed with a message naming the file and containing `part`.
#define EXPECT_GGUF_ERROR(result, part)                                                  \
  do {                                                                                   \
    const auto& moe_r_ = (result);                                                       \
    ASSERT_FALSE(moe_r_.is_ok()) << "expected an error containing: " << (part);          \
    EXPECT_NE(moe_r_.status().message().find("corrupt.gguf"), std::string::npos)         \
        << moe_r_.status().message();                                                    \
    EXPECT_NE(moe_r_.status().message().find(part), std::string::npos)                   \
        << "message: " << moe_r_.status().message() << "\nexpected to contain: " << (part); \
  } while (0)
