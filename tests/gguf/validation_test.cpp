// One hand-corrupted file per validation rule of parse_gguf: a valid writer-made file with
// a few bytes patched, and the error message checked for the field that is wrong.
#include <gtest/gtest.h>

#include <cstdint>
#include <random>

#include "gguf_test_util.h"

namespace moe {
namespace {

using gguf_test::after_name;
using gguf_test::find_bytes;
using gguf_test::length_prefix_at;
using gguf_test::ne_field;
using gguf_test::offset_field;
using gguf_test::parse;
using gguf_test::peek;
using gguf_test::poke;
using gguf_test::TinyModel;
using gguf_test::type_field;

constexpr size_t kVersionAt = 4;
constexpr size_t kNTensorsAt = 8;
constexpr size_t kNKvAt = 16;

TEST(GgufValidation, TinyModelIsValid) {
  // The baseline every other test corrupts must itself parse.
  auto r = parse(TinyModel().bytes());
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_EQ(r->tensors.size(), 3u);
  EXPECT_EQ(r->metadata.entries().size(), 4u);
}

TEST(GgufValidation, BadMagic) {
  auto buf = TinyModel().bytes();
  std::memcpy(buf.data(), "GGML", 4);
  EXPECT_GGUF_ERROR(parse(buf), "magic: expected \"GGUF\"");
}

TEST(GgufValidation, EmptyAndTinyInputs) {
  EXPECT_GGUF_ERROR(parse_gguf(nullptr, 0, "corrupt.gguf"), "truncated reading the header");
  std::vector<uint8_t> magic_only = {'G', 'G', 'U', 'F', 3, 0, 0};
  EXPECT_GGUF_ERROR(parse(magic_only), "expected 24 bytes, found 7");
}

TEST(GgufValidation, Version) {
  for (uint32_t bad : {0u, 1u, 4u, 1000u}) {
    auto buf = TinyModel().bytes();
    poke<uint32_t>(&buf, kVersionAt, bad);
    EXPECT_GGUF_ERROR(parse(buf), "version: expected 2 or 3, found " + std::to_string(bad));
  }
  // v2 has the same layout as v3 (v3 only added big-endian files, which are rejected).
  auto buf = TinyModel().bytes();
  poke<uint32_t>(&buf, kVersionAt, 2);
  auto r = parse(buf);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_EQ(r->version, 2u);
}

TEST(GgufValidation, ByteSwappedFileIsNamedAsSuch) {
  auto buf = TinyModel().bytes();
  poke<uint32_t>(&buf, kVersionAt, __builtin_bswap32(3u));
  EXPECT_GGUF_ERROR(parse(buf), "byte-swapped");
  // gguf-py writes the magic as a u32, so a big-endian file starts with "FUGG".
  std::memcpy(buf.data(), "FUGG", 4);
  EXPECT_GGUF_ERROR(parse(buf), "byte-swapped");
}

TEST(GgufValidation, CountsBoundedByRemainingBytes) {
  auto buf = TinyModel().bytes();
  poke<uint64_t>(&buf, kNKvAt, uint64_t{1} << 60);
  EXPECT_GGUF_ERROR(parse(buf), "n_kv: expected at most");

  buf = TinyModel().bytes();
  poke<uint64_t>(&buf, kNTensorsAt, UINT64_MAX);
  EXPECT_GGUF_ERROR(parse(buf), "n_tensors: expected at most");

  // Each passes alone but not both together.
  buf = TinyModel().bytes();
  const uint64_t rest = buf.size() - 24;
  poke<uint64_t>(&buf, kNKvAt, rest / 12);
  poke<uint64_t>(&buf, kNTensorsAt, rest / 32);
  EXPECT_GGUF_ERROR(parse(buf), "n_kv and n_tensors");

  // Bounded but still more than the file holds: fails while reading, not allocating.
  buf = TinyModel().bytes();
  poke<uint64_t>(&buf, kNKvAt, 20);
  EXPECT_FALSE(parse(buf).is_ok());
}

TEST(GgufValidation, EmptyKey) {
  auto buf = TinyModel().bytes();
  poke<uint64_t>(&buf, length_prefix_at(buf, "general.architecture"), 0);
  EXPECT_GGUF_ERROR(parse(buf), "kv #0: key: expected a non-empty key, found length 0");
}

TEST(GgufValidation, KeyLongerThanFileOrLimit) {
  auto buf = TinyModel().bytes();
  poke<uint64_t>(&buf, length_prefix_at(buf, "deepseek2.block_count"), uint64_t{1} << 40);
  EXPECT_GGUF_ERROR(parse(buf), "kv #1: key length at offset");

  buf = TinyModel().bytes();
  poke<uint64_t>(&buf, length_prefix_at(buf, "deepseek2.block_count"), buf.size());
  EXPECT_GGUF_ERROR(parse(buf), "truncated reading key");
}

TEST(GgufValidation, DuplicateKey) {
  // The writer refuses duplicates, so write two same-length keys and rename the second.
  GgufWriter w;
  w.add_string("general.aaaa", "x");
  w.add_string("general.bbbb", "y");
  auto buf = w.write_to_buffer().value();
  std::memcpy(buf.data() + find_bytes(buf, "general.bbbb"), "general.aaaa", 12);
  EXPECT_GGUF_ERROR(parse(buf), "kv #1 'general.aaaa': duplicate key");
}

TEST(GgufValidation, ValueTypeOutOfRange) {
  auto buf = TinyModel().bytes();
  poke<uint32_t>(&buf, after_name(buf, "deepseek2.block_count"), 13);
  EXPECT_GGUF_ERROR(parse(buf), "'deepseek2.block_count': value type: expected 0..12, found 13");
}

TEST(GgufValidation, BoolOtherThanZeroOrOne) {
  auto buf = TinyModel().bytes();
  poke<uint8_t>(&buf, after_name(buf, "tokenizer.ggml.add_bos_token") + 4, 2);
  EXPECT_GGUF_ERROR(parse(buf), "'tokenizer.ggml.add_bos_token': bool value at offset");
}

TEST(GgufValidation, StringLengthBoundedByLimitAndFile) {
  const auto good = TinyModel().bytes();
  const size_t len_at = after_name(good, "general.architecture") + 4;  // after the value type
  ASSERT_EQ(peek<uint64_t>(good, len_at), 9u);                         // "deepseek2"

  auto buf = good;
  poke<uint64_t>(&buf, len_at, (uint64_t{1} << 30) + 1);
  EXPECT_GGUF_ERROR(parse(buf), "'general.architecture': string length at offset");
  GgufLimits limits;
  limits.max_string_bytes = 8;  // the 9-byte value (keys are longer: they fail first)
  EXPECT_GGUF_ERROR(parse(good, limits), "expected at most 8, found");

  buf = good;
  poke<uint64_t>(&buf, len_at, buf.size());
  EXPECT_GGUF_ERROR(parse(buf), "'general.architecture': truncated reading string");

  buf = good;
  poke<uint64_t>(&buf, len_at, UINT64_MAX);
  EXPECT_GGUF_ERROR(parse(buf), "expected at most 1073741824");
}

TEST(GgufValidation, ArrayCountBoundedByLimitAndFile) {
  const auto good = TinyModel().bytes();
  const size_t elem_type_at = after_name(good, "tokenizer.ggml.tokens") + 4;
  const size_t count_at = elem_type_at + 4;
  ASSERT_EQ(peek<uint64_t>(good, count_at), 3u);

  GgufLimits limits;
  limits.max_array_count = 2;
  EXPECT_GGUF_ERROR(parse(good, limits), "'tokenizer.ggml.tokens': array count at offset");

  // 2^29 strings need >= 2^32 bytes: refused before anything is reserved.
  auto buf = good;
  poke<uint64_t>(&buf, count_at, uint64_t{1} << 29);
  EXPECT_GGUF_ERROR(parse(buf), "array of 536870912 string");

    buf = good;
  poke<uint32_t>(&buf, elem_type_at, static_cast<uint32_t>(GgufType::UINT64));
  poke<uint64_t>(&buf, count_at, uint64_t{1} << 29);
  EXPECT_GGUF_ERROR(parse(buf), "array of 536870912 uint64 at offset");
  // 2^61 u64 elements: the byte count itself overflows.
  limits = GgufLimits{};
  limits.max_array_count = UINT64_MAX;
  poke<uint64_t>(&buf, count_at, uint64_t{1} << 61);
  EXPECT_GGUF_ERROR(parse(buf, limits), "expected at least 2^64 bytes");

  buf = good;
  poke<uint32_t>(&buf, elem_type_at, 99);
  EXPECT_GGUF_ERROR(parse(buf), "array element type at offset");
}

// An array nested `depth` levels: [[[...[1]...]]].
GgufValue nested_array(int depth) {
  GgufValue v;
  v.type = GgufType::UINT8;
  v.u = 1;
  for (int d = 0; d < depth; ++d) {
    GgufValue outer;
    outer.type = GgufType::ARRAY;
    outer.elem_type = v.type;
    outer.items.push_back(std::move(v));
    v = std::move(outer);
  }
  return v;
}

TEST(GgufValidation, NestedArrayDepthBounded) {
  GgufWriter w;
  w.add_value("deep", nested_array(4));
  const auto buf = w.write_to_buffer().value();
  GgufLimits limits;
  limits.max_array_depth = 4;
  auto ok = parse(buf, limits);
  ASSERT_TRUE(ok.is_ok()) << ok.status().message();
  const GgufValue* v = ok->metadata.find("deep");
  for (int d = 0; d < 4; ++d) {
    ASSERT_TRUE(v->is_array());
    ASSERT_EQ(v->items.size(), 1u);
    v = &v->items[0];
  }
  EXPECT_EQ(v->type, GgufType::UINT8);
  EXPECT_EQ(v->u, 1u);

  limits.max_array_depth = 3;
  EXPECT_GGUF_ERROR(parse(buf, limits), "array nesting: expected at most 3 levels");
}

TEST(GgufValidation, NDims) {
  for (uint32_t bad : {0u, 5u, 0xffffffffu}) {
    auto buf = TinyModel().bytes();
    poke<uint32_t>(&buf, after_name(buf, "norm_b.weight"), bad);
    EXPECT_GGUF_ERROR(parse(buf), "tensor 'norm_b.weight': n_dims: expected 1..4, found " + std::to_string(bad));
  }
}

TEST(GgufValidation, ZeroOrNegativeDim) {
  auto buf = TinyModel().bytes();
  poke<uint64_t>(&buf, ne_field(buf, "mat.weight", 1), 0);
  EXPECT_GGUF_ERROR(parse(buf), "tensor 'mat.weight': ne[1]: expected 1..2^63-1, found 0");

  buf = TinyModel().bytes();
  poke<int64_t>(&buf, ne_field(buf, "mat.weight", 1), -4);
  EXPECT_GGUF_ERROR(parse(buf), "tensor 'mat.weight': ne[1]");
}

TEST(GgufValidation, ElementCountOverflow) {
  auto buf = TinyModel().bytes();
  poke<uint64_t>(&buf, ne_field(buf, "mat.weight", 0), uint64_t{1} << 32);
  poke<uint64_t>(&buf, ne_field(buf, "mat.weight", 1), uint64_t{1} << 31);
  EXPECT_GGUF_ERROR(parse(buf), "tensor 'mat.weight': element count");
}

TEST(GgufValidation, RowNotMultipleOfBlockSize) {
  auto buf = TinyModel().bytes();
  poke<uint64_t>(&buf, ne_field(buf, "mat.weight", 0), 48);
  EXPECT_GGUF_ERROR(parse(buf), "tensor 'mat.weight': ne[0]: expected a multiple of the q8_0 block size 32, found 48");
}

TEST(GgufValidation, UnknownTensorType) {
  for (uint32_t bad : {4u, 31u, 1000u}) {
    auto buf = TinyModel().bytes();
    poke<uint32_t>(&buf, type_field(buf, "norm_b.weight", 1), bad);
    EXPECT_GGUF_ERROR(parse(buf), "tensor 'norm_b.weight': type: unknown ggml type id " + std::to_string(bad));
  }
}

TEST(GgufValidation, ByteSizeOverflow) {
  // 2^62 f32 values fit in 63 bits but their 2^64 bytes do not.
  auto buf = TinyModel().bytes();
  poke<uint64_t>(&buf, ne_field(buf, "norm_b.weight", 0), uint64_t{1} << 62);
  EXPECT_GGUF_ERROR(parse(buf), "tensor 'norm_b.weight': byte size");
}

TEST(GgufValidation, Alignment) {
  const auto good = TinyModel().bytes(64);
  auto r = parse(good);
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_EQ(r->alignment, 64u);

  const size_t type_at = after_name(good, "general.alignment");
  auto buf = good;
  poke<uint32_t>(&buf, type_at, static_cast<uint32_t>(GgufType::INT32));
  EXPECT_GGUF_ERROR(parse(buf), "general.alignment: expected type uint32, found int32");

  for (uint32_t bad : {0u, 48u, 1u << 25}) {
    buf = good;
    poke<uint32_t>(&buf, type_at + 4, bad);
    EXPECT_GGUF_ERROR(parse(buf), "general.alignment: expected a power of two in 1..16777216, found " +
                                      std::to_string(bad));
  }
}

TEST(GgufValidation, DataSectionStartsAtAlignedHeaderEnd) {
  for (uint32_t alignment : {0u, 64u, 4096u}) {
    const auto buf = TinyModel().bytes(alignment);
    auto r = parse(buf);
    ASSERT_TRUE(r.is_ok()) << r.status().message();
    const uint64_t a = alignment == 0 ? 32 : alignment;
    EXPECT_EQ(r->data_offset % a, 0u);
    // The header ends inside the last alignment unit before the data.
    const size_t header_end = offset_field(buf, "mat.weight", 2) + 8;
    EXPECT_GE(r->data_offset, header_end);
    EXPECT_LT(r->data_offset, header_end + a);
    EXPECT_EQ(r->tensors[0].data, buf.data() + r->data_offset);
  }
  // With a header pushed past the file end (no data section left), tensors cannot fit.
  auto buf = TinyModel().bytes();
  const size_t header_end = offset_field(buf, "mat.weight", 2) + 8;
  ASSERT_NE(header_end % 32, 0u);  // else the data section would start exactly at the end
  buf.resize(header_end);
  EXPECT_GGUF_ERROR(parse(buf), "data section: starts at");
}

TEST(GgufValidation, MisalignedTensorOffset) {
  auto buf = TinyModel().bytes();
  const size_t at = offset_field(buf, "norm_b.weight", 1);
  ASSERT_EQ(peek<uint64_t>(buf, at), 256u);
  poke<uint64_t>(&buf, at, 260);
  EXPECT_GGUF_ERROR(parse(buf), "tensor 'norm_b.weight': offset: expected a multiple of the alignment 32, found 260");
}

TEST(GgufValidation, TensorPastEndOfFile) {
  auto buf = TinyModel().bytes();
  poke<uint64_t>(&buf, offset_field(buf, "mat.weight", 2), 1 << 20);
  EXPECT_GGUF_ERROR(parse(buf), "tensor 'mat.weight': data: offset 1048576 + 272 bytes");

  // offset + data_offset wraps around 2^64: must not pass the bounds check.
  buf = TinyModel().bytes();
  poke<uint64_t>(&buf, offset_field(buf, "mat.weight", 2), UINT64_MAX - 31);
  EXPECT_GGUF_ERROR(parse(buf), "extends past the end of the file");

  // A file cut short inside the last tensor.
  buf = TinyModel().bytes();
  buf.resize(buf.size() - 32);
  EXPECT_GGUF_ERROR(parse(buf), "tensor 'mat.weight': data");
}

TEST(GgufValidation, OverlappingTensors) {
  auto buf = TinyModel().bytes();
  poke<uint64_t>(&buf, offset_field(buf, "mat.weight", 2), 224);  // [224, 496) overlaps norm_a [0, 256)
  EXPECT_GGUF_ERROR(parse(buf), "tensor 'mat.weight': data at offset 224 overlaps tensor 'norm_a.weight' at [0, 256)");

  buf = TinyModel().bytes();
  poke<uint64_t>(&buf, offset_field(buf, "norm_b.weight", 1), 0);
  EXPECT_GGUF_ERROR(parse(buf), "overlaps tensor 'norm_");
}

TEST(GgufValidation, DuplicateTensorName) {
  auto buf = TinyModel().bytes();
  std::memcpy(buf.data() + find_bytes(buf, "norm_b.weight"), "norm_a", 6);
  EXPECT_GGUF_ERROR(parse(buf), "tensor info #1: duplicate tensor name 'norm_a.weight'");
}

TEST(GgufValidation, EmptyTensorName) {
  auto buf = TinyModel().bytes();
  poke<uint64_t>(&buf, length_prefix_at(buf, "norm_a.weight"), 0);
  EXPECT_GGUF_ERROR(parse(buf), "tensor info #0: tensor name: expected a non-empty name");
}

TEST(GgufValidation, EveryTruncationFailsCleanly) {
  const auto good = TinyModel().bytes();
  auto full = parse(good);
  ASSERT_TRUE(full.is_ok());
  // The padding after the last tensor is optional: any prefix that still holds it parses.
  const size_t end_of_data = full->data_offset + full->tensors.back().offset + full->tensors.back().n_bytes;
  ASSERT_LT(end_of_data, good.size());
  for (size_t n = end_of_data; n <= good.size(); ++n) {
    std::vector<uint8_t> prefix(good.begin(), good.begin() + static_cast<ptrdiff_t>(n));
    EXPECT_TRUE(parse(prefix).is_ok()) << n;
  }
  for (size_t n = 0; n < end_of_data; ++n) {
    // Copy so ASan sees the true end of each prefix.
    std::vector<uint8_t> prefix(good.begin(), good.begin() + static_cast<ptrdiff_t>(n));
    auto r = parse(prefix);
    ASSERT_FALSE(r.is_ok()) << "prefix of " << n << " bytes parsed";
    EXPECT_NE(r.status().message().find("corrupt.gguf"), std::string::npos);
  }
}

TEST(GgufValidation, RandomByteFlipsNeverCrash) {
  const auto good = TinyModel().bytes();
  std::mt19937 rng(1234);
  int failures = 0;
  for (int iter = 0; iter < 3000; ++iter) {
    auto buf = good;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f) buf[rng() % buf.size()] = static_cast<uint8_t>(rng());
    auto r = parse(buf);
    if (!r.is_ok()) {
      ++failures;
      continue;
    }
    for (const TensorInfo& t : r->tensors) {  // what parses must lie inside the buffer
      ASSERT_GE(t.data, buf.data());
      ASSERT_LE(t.data + t.n_bytes, buf.data() + buf.size());
    }
  }
  EXPECT_GT(failures, 0);
}

}  // namespace
}  // namespace moe
