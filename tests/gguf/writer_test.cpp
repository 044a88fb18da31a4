// GgufWriter round trips through the reader; split_gguf + GgufModel::open on split sets.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <filesystem>

#include "gguf_test_util.h"

namespace moe {
namespace {

using gguf_test::model_path;
using gguf_test::TempDir;
using gguf_test::TinyModel;

bool same_bytes(const TensorInfo& a, const TensorInfo& b) {
  return a.n_bytes == b.n_bytes && std::memcmp(a.data, b.data, a.n_bytes) == 0;
}

TEST(GgufWriter, RoundTripThroughFile) {
  TempDir dir;
  const std::string path = dir.file("tiny.gguf");
  TinyModel tiny;
  GgufWriter w;
  tiny.fill(&w, 64);
  w.add_int64("extra.i64", -3);
  // A streamed tensor: byte i of the tensor is (i * 13) & 0xff.
  w.add_tensor("streamed.weight", GgmlType::Q4_K, {512, 3}, [](uint64_t offset, uint8_t* dst, size_t n) {
    for (size_t i = 0; i < n; ++i) dst[i] = static_cast<uint8_t>(((offset + i) * 13) & 0xff);
    return Status::ok();
  });
  ASSERT_TRUE(w.write(path).is_ok());

  auto r = GgufModel::open(path);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  const GgufModel& m = r.value();
  EXPECT_EQ(m.version(), 3u);
  EXPECT_EQ(m.files()[0].alignment, 64u);
  EXPECT_EQ(*m.metadata().get_int("extra.i64").value(), -3);
  EXPECT_EQ(*m.metadata().get_uint("general.alignment").value(), 64u);
  ASSERT_EQ(m.tensors().size(), 4u);
  EXPECT_EQ(m.tensors()[0].name, "norm_a.weight");  // file order is kept
  EXPECT_EQ(m.tensors()[3].name, "streamed.weight");

  const TensorInfo* a = m.find_tensor("norm_a.weight");
  ASSERT_EQ(a->n_bytes, 64u * 4);
  EXPECT_EQ(std::memcmp(a->data, tiny.norm_a.data(), a->n_bytes), 0);
  const TensorInfo* mat = m.find_tensor("mat.weight");
  EXPECT_EQ(mat->type, GgmlType::Q8_0);
  EXPECT_EQ(mat->shape_string(), "[64, 4]");
  EXPECT_EQ(std::memcmp(mat->data, tiny.mat.data(), tiny.mat.size()), 0);
  const TensorInfo* s = m.find_tensor("streamed.weight");
  EXPECT_EQ(s->n_bytes, 2u * 144 * 3);
  for (uint64_t i = 0; i < s->n_bytes; ++i) ASSERT_EQ(s->data[i], ((i * 13) & 0xff)) << i;
  for (const TensorInfo& t : m.tensors()) EXPECT_EQ(t.offset % 64, 0u) << t.name;
}

TEST(GgufWriter, StreamsTensorsLargerThanOneChunk) {
  TempDir dir;
  const std::string path = dir.file("big.gguf");
  const int64_t n = (int64_t{1} << 20) + 96;  // 4 MiB + 384 bytes of f32: two chunks
  uint64_t calls = 0;
  GgufWriter w;
  w.add_tensor("big", GgmlType::F32, {n}, [&](uint64_t offset, uint8_t* dst, size_t len) {
    ++calls;
    for (size_t i = 0; i < len; ++i) dst[i] = static_cast<uint8_t>((offset + i) % 251);
    return Status::ok();
  });
  ASSERT_TRUE(w.write(path).is_ok());
  EXPECT_EQ(calls, 2u);
  auto r = GgufModel::open(path);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  const TensorInfo* t = r->find_tensor("big");
  ASSERT_EQ(t->n_bytes, static_cast<uint64_t>(n) * 4);
  for (uint64_t i = 0; i < t->n_bytes; i += 4093) ASSERT_EQ(t->data[i], i % 251) << i;
  EXPECT_EQ(t->data[t->n_bytes - 1], (t->n_bytes - 1) % 251);
}

TEST(GgufWriter, CallbackErrorFailsTheWriteAndRemovesTheFile) {
  TempDir dir;
  const std::string path = dir.file("fail.gguf");
  GgufWriter w;
  w.add_tensor("t", GgmlType::F32, {8}, [](uint64_t, uint8_t*, size_t) { return Status::error("disk on fire"); });
  Status s = w.write(path);
  ASSERT_FALSE(s.is_ok());
  EXPECT_NE(s.message().find("tensor 't': disk on fire"), std::string::npos) << s.message();
  EXPECT_FALSE(std::filesystem::exists(path));
}

TEST(GgufWriter, RejectsMistakesAtWrite) {
  const float data[64] = {};
  {
    GgufWriter w;
    w.add_uint32("k", 1);
    w.add_string("k", "again");
    auto r = w.write_to_buffer();
    ASSERT_FALSE(r.is_ok());
    EXPECT_NE(r.status().message().find("duplicate key 'k'"), std::string::npos);
  }
  {
    GgufWriter w;
    w.add_tensor("q", GgmlType::Q8_0, {48}, data);
    auto r = w.write_to_buffer();
    ASSERT_FALSE(r.is_ok());
    EXPECT_NE(r.status().message().find("not a multiple of the block size 32"), std::string::npos);
  }
  {
    GgufWriter w;
    w.add_tensor("t", GgmlType::F32, {16}, data);
    w.add_tensor("t", GgmlType::F32, {16}, data);
    EXPECT_FALSE(w.write_to_buffer().is_ok());
  }
  {
    GgufWriter w;
    w.add_uint64("general.alignment", 64);
    EXPECT_FALSE(w.write_to_buffer().is_ok());
    GgufWriter w2;
    w2.add_uint32("general.alignment", 48);
    EXPECT_FALSE(w2.write_to_buffer().is_ok());
  }
}

TEST(GgufWriter, CopiesNestedValues) {
  GgufValue inner;
  inner.type = GgufType::ARRAY;
  inner.elem_type = GgufType::STRING;
  inner.items.resize(2);
  inner.items[0].type = inner.items[1].type = GgufType::STRING;
  inner.items[0].str = "x";
  inner.items[1].str = "yz";
  GgufValue outer;
  outer.type = GgufType::ARRAY;
  outer.elem_type = GgufType::ARRAY;
  outer.items = {inner, inner};
  GgufWriter w;
  w.add_value("nested", outer);
  auto bytes = w.write_to_buffer().value();
  auto r = parse_gguf(bytes.data(), bytes.size(), "nested.gguf");
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  const GgufValue* v = r->metadata.find("nested");
  ASSERT_EQ(v->items.size(), 2u);
  EXPECT_EQ(v->items[1].elem_type, GgufType::STRING);
  EXPECT_EQ(v->items[1].items[1].str, "yz");
}

// Writes a 2-part set by hand; `no_of_part2` and `count` let a test break it.
void write_two_parts(const TempDir& dir, uint16_t no_of_part2, uint16_t count, int32_t tensors_count,
                     const char* part2_tensor = "b") {
  static const float kData[32] = {1, 2, 3};
  GgufWriter p1;
  p1.add_string("general.architecture", "deepseek2");
  p1.add_uint16("split.no", 0);
  p1.add_uint16("split.count", count);
  p1.add_int32("split.tensors.count", tensors_count);
  p1.add_tensor("a", GgmlType::F32, {32}, kData);
  ASSERT_TRUE(p1.write(dir.file("m-00001-of-00002.gguf")).is_ok());
  GgufWriter p2;
  p2.add_uint16("split.no", no_of_part2);
  p2.add_uint16("split.count", count);
  p2.add_int32("split.tensors.count", tensors_count);
  p2.add_tensor(part2_tensor, GgmlType::F32, {32}, kData);
  ASSERT_TRUE(p2.write(dir.file("m-00002-of-00002.gguf")).is_ok());
}

TEST(GgufSplit, SplitIntoThreeAndReopen) {
  TempDir dir;
  const std::string src = model_path("r1-mini-q8_0.gguf");
  ASSERT_TRUE(split_gguf(src, dir.file("r1"), 3).is_ok());
  for (int k = 1; k <= 3; ++k) {
    EXPECT_TRUE(std::filesystem::exists(dir.file("r1-0000" + std::to_string(k) + "-of-00003.gguf")));
  }

  auto orig = GgufModel::open(src);
  auto split = GgufModel::open(dir.file("r1-00001-of-00003.gguf"));
  ASSERT_TRUE(orig.is_ok()) << orig.status().message();
  ASSERT_TRUE(split.is_ok()) << split.status().message();
  ASSERT_EQ(split->files().size(), 3u);
  ASSERT_EQ(split->tensors().size(), orig->tensors().size());
  int per_part[3] = {};
  for (const TensorInfo& t : orig->tensors()) {
    const TensorInfo* s = split->find_tensor(t.name);
    ASSERT_NE(s, nullptr) << t.name;
    EXPECT_EQ(s->type, t.type);
    EXPECT_EQ(s->shape_string(), t.shape_string());
    EXPECT_TRUE(same_bytes(*s, t)) << t.name;
    ++per_part[s->file_index];
  }
  EXPECT_GT(per_part[0], 0);
  EXPECT_GT(per_part[1], 0);
  EXPECT_GT(per_part[2], 0);

  // Metadata: all of it in part 1 plus the split keys; later parts hold only split keys.
  EXPECT_EQ(split->metadata().entries().size(), orig->metadata().entries().size() + 3);
  EXPECT_EQ(*split->metadata().get_string("general.architecture").value(), "deepseek2");
  const GgufMetadata& part3 = split->files()[2].metadata;
  EXPECT_EQ(part3.entries().size(), 3u);
  EXPECT_EQ(*part3.get_uint("split.no").value(), 2u);
  EXPECT_EQ(part3.find("split.count")->type, GgufType::UINT16);
  EXPECT_EQ(*part3.get_uint("split.tensors.count").value(), orig->tensors().size());

  // Any part names the whole set.
  auto via_part2 = GgufModel::open(dir.file("r1-00002-of-00003.gguf"));
  ASSERT_TRUE(via_part2.is_ok()) << via_part2.status().message();
  EXPECT_EQ(via_part2->tensors().size(), orig->tensors().size());
  EXPECT_EQ(via_part2->metadata().entries().size(), split->metadata().entries().size());
}

TEST(GgufSplit, MissingPartNamesTheFile) {
  TempDir dir;
  ASSERT_TRUE(split_gguf(model_path("v2lite-mini-q8_0.gguf"), dir.file("v2"), 3).is_ok());
  const std::string part2 = dir.file("v2-00002-of-00003.gguf");
  ASSERT_TRUE(std::filesystem::remove(part2));
  auto r = GgufModel::open(dir.file("v2-00001-of-00003.gguf"));
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("split part 2 of 3"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find(part2), std::string::npos) << r.status().message();
}

TEST(GgufSplit, HandWrittenSetOpens) {
  TempDir dir;
  write_two_parts(dir, 1, 2, 2);
  auto r = GgufModel::open(dir.file("m-00001-of-00002.gguf"));
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_EQ(r->find_tensor("b")->file_index, 1);
  EXPECT_EQ(r->find_tensor("a")->file_index, 0);
  EXPECT_EQ(r->file_bytes(), std::filesystem::file_size(dir.file("m-00001-of-00002.gguf")) +
                                 std::filesystem::file_size(dir.file("m-00002-of-00002.gguf")));
}

TEST(GgufSplit, MismatchedSplitNo) {
  TempDir dir;
  write_two_parts(dir, /*no_of_part2=*/0, 2, 2);
  auto r = GgufModel::open(dir.file("m-00001-of-00002.gguf"));
  ASSERT_FALSE(r.is_ok());
  const std::string& msg = r.status().message();
  EXPECT_NE(msg.find(dir.file("m-00002-of-00002.gguf") + ": split.no: expected 1"), std::string::npos) << msg;
  EXPECT_NE(msg.find("found 0"), std::string::npos) << msg;
}

TEST(GgufSplit, MismatchedSplitCount) {
  TempDir dir;
  write_two_parts(dir, 1, /*count=*/3, 2);
  auto r = GgufModel::open(dir.file("m-00001-of-00002.gguf"));
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("m-00001-of-00002.gguf: split.count: expected 2 (from the file name), found 3"),
            std::string::npos)
      << r.status().message();
}

TEST(GgufSplit, MismatchedTensorCount) {
  TempDir dir;
  write_two_parts(dir, 1, 2, /*tensors_count=*/5);
  auto r = GgufModel::open(dir.file("m-00001-of-00002.gguf"));
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("split.tensors.count: expected 2"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("found 5"), std::string::npos);
}

TEST(GgufSplit, DuplicateTensorAcrossParts) {
  TempDir dir;
  write_two_parts(dir, 1, 2, 2, /*part2_tensor=*/"a");
  auto r = GgufModel::open(dir.file("m-00001-of-00002.gguf"));
  ASSERT_FALSE(r.is_ok());
  const std::string& msg = r.status().message();
  EXPECT_NE(msg.find("m-00002-of-00002.gguf: tensor 'a': duplicate name, already in"), std::string::npos) << msg;
  EXPECT_NE(msg.find("m-00001-of-00002.gguf"), std::string::npos) << msg;
}

TEST(GgufSplit, SingleFileClaimingToBeSplit) {
  TempDir dir;
  GgufWriter w;
  w.add_uint16("split.count", 2);
  w.add_uint16("split.no", 0);
  ASSERT_TRUE(w.write(dir.file("plain.gguf")).is_ok());
  auto r = GgufModel::open(dir.file("plain.gguf"));
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("plain.gguf: split.count: expected 1"), std::string::npos)
      << r.status().message();
}

TEST(GgufSplit, SetOfOneAndSplitKeysOfAnyIntegerType) {
  TempDir dir;
  ASSERT_TRUE(split_gguf(model_path("r1-mini-q8_0.gguf"), dir.file("one"), 1).is_ok());
  auto r = GgufModel::open(dir.file("one-00001-of-00001.gguf"));
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_EQ(r->tensors().size(), 52u);

  // split.count stored as u32 and split.no as i64 are accepted too.
  static const float kData[32] = {};
  for (int k = 0; k < 2; ++k) {
    GgufWriter w;
    w.add_uint32("split.count", 2);
    w.add_int64("split.no", k);
    w.add_uint64("split.tensors.count", 2);
    w.add_tensor(k == 0 ? "a" : "b", GgmlType::F32, {32}, kData);
    ASSERT_TRUE(w.write(dir.file("t-0000" + std::to_string(k + 1) + "-of-00002.gguf")).is_ok());
  }
  auto t = GgufModel::open(dir.file("t-00001-of-00002.gguf"));
  ASSERT_TRUE(t.is_ok()) << t.status().message();
  EXPECT_EQ(t->tensors().size(), 2u);

  // A string-typed split.no is an error naming the part.
  GgufWriter bad;
  bad.add_uint32("split.count", 2);
  bad.add_string("split.no", "1");
  bad.add_tensor("b", GgmlType::F32, {32}, kData);
  ASSERT_TRUE(bad.write(dir.file("t-00002-of-00002.gguf")).is_ok());
  auto e = GgufModel::open(dir.file("t-00001-of-00002.gguf"));
  ASSERT_FALSE(e.is_ok());
  EXPECT_NE(e.status().message().find("t-00002-of-00002.gguf: metadata key 'split.no'"), std::string::npos)
      << e.status().message();
}

}  // namespace
}  // namespace moe
