// GgufMetadata getters: which stored types each accepts, and range rules.
#include <gtest/gtest.h>

#include <limits>

#include "gguf_test_util.h"

namespace moe {
namespace {

class GgufMetadataTest : public ::testing::Test {
 protected:
  void SetUp() override {
    GgufWriter w;
    w.add_uint8("u8", 200);
    w.add_int8("i8", -5);
    w.add_uint16("u16", 65535);
    w.add_int16("i16", 1234);
    w.add_uint32("u32", 4000000000u);
    w.add_int32("i32_neg", -7);
    w.add_int32("i32_pos", 7);
    w.add_uint64("u64_max", std::numeric_limits<uint64_t>::max());
    w.add_int64("i64_min", std::numeric_limits<int64_t>::min());
    w.add_float32("f32", 0.5f);
    w.add_float64("f64", 1e-300);
    w.add_bool("flag", true);
    w.add_bool("off", false);
    w.add_string("name", "deepseek2");
    w.add_string_array("tokens", {"a", "bc", ""});
    w.add_int32_array("ids", {1, -2, 3});
    w.add_float32_array("scales", {0.25f});
    auto r = w.write_to_buffer();
    ASSERT_TRUE(r.is_ok()) << r.status().message();
    bytes_ = std::move(r).value();
    auto f = parse_gguf(bytes_.data(), bytes_.size(), "meta.gguf");
    ASSERT_TRUE(f.is_ok()) << f.status().message();
    file_ = std::move(f).value();
  }
  const GgufMetadata& md() const { return file_.metadata; }

  std::vector<uint8_t> bytes_;  // the strings in file_ point into it
  GgufFile file_;
};

template <typename T>
void expect_error(const Result<T>& r, const std::string& part) {
  ASSERT_FALSE(r.is_ok()) << "expected an error containing: " << part;
  EXPECT_NE(r.status().message().find(part), std::string::npos) << r.status().message();
}

TEST_F(GgufMetadataTest, Absent) {
  EXPECT_FALSE(md().has("missing"));
  EXPECT_EQ(md().find("missing"), nullptr);
  EXPECT_FALSE(md().get_uint("missing").value().has_value());
  EXPECT_FALSE(md().get_int("missing").value().has_value());
  EXPECT_FALSE(md().get_float("missing").value().has_value());
  EXPECT_FALSE(md().get_bool("missing").value().has_value());
  EXPECT_FALSE(md().get_string("missing").value().has_value());
  EXPECT_EQ(md().get_array("missing", GgufType::STRING).value(), nullptr);
}

TEST_F(GgufMetadataTest, StoredTypes) {
  EXPECT_EQ(md().find("u8")->type, GgufType::UINT8);
  EXPECT_EQ(md().find("i16")->type, GgufType::INT16);
  EXPECT_EQ(md().find("f64")->type, GgufType::FLOAT64);
  EXPECT_EQ(md().find("tokens")->elem_type, GgufType::STRING);
  EXPECT_EQ(md().entries().size(), 17u);
}

TEST_F(GgufMetadataTest, GetUint) {
  EXPECT_EQ(*md().get_uint("u8").value(), 200u);
  EXPECT_EQ(*md().get_uint("u16").value(), 65535u);
  EXPECT_EQ(*md().get_uint("u32").value(), 4000000000u);
  EXPECT_EQ(*md().get_uint("u64_max").value(), std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(*md().get_uint("i32_pos").value(), 7u);  // signed but non-negative: fine
  EXPECT_EQ(*md().get_uint("i16").value(), 1234u);
  expect_error(md().get_uint("i32_neg"), "metadata key 'i32_neg': expected a value >= 0, found -7");
  expect_error(md().get_uint("i64_min"), "expected a value >= 0");
  expect_error(md().get_uint("name"), "metadata key 'name': expected an unsigned integer, found string");
  expect_error(md().get_uint("f32"), "found float32");
  expect_error(md().get_uint("flag"), "found bool");
  expect_error(md().get_uint("ids"), "found array of int32");
}

TEST_F(GgufMetadataTest, GetInt) {
  EXPECT_EQ(*md().get_int("i8").value(), -5);
  EXPECT_EQ(*md().get_int("i32_neg").value(), -7);
  EXPECT_EQ(*md().get_int("i64_min").value(), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(*md().get_int("u32").value(), 4000000000);
  expect_error(md().get_int("u64_max"), "metadata key 'u64_max': expected a value <= 2^63-1");
  expect_error(md().get_int("f64"), "expected an integer, found float64");
}

TEST_F(GgufMetadataTest, GetFloatAcceptsIntegers) {
  EXPECT_EQ(*md().get_float("f32").value(), 0.5);
  EXPECT_EQ(*md().get_float("f64").value(), 1e-300);
  EXPECT_EQ(*md().get_float("i32_neg").value(), -7.0);
  EXPECT_EQ(*md().get_float("u32").value(), 4e9);
  expect_error(md().get_float("name"), "expected a number, found string");
  expect_error(md().get_float("flag"), "expected a number, found bool");
}

TEST_F(GgufMetadataTest, GetBoolOnlyFromBool) {
  EXPECT_TRUE(*md().get_bool("flag").value());
  EXPECT_FALSE(*md().get_bool("off").value());
  expect_error(md().get_bool("u8"), "expected bool, found uint8");
}

TEST_F(GgufMetadataTest, GetString) {
  EXPECT_EQ(*md().get_string("name").value(), "deepseek2");
  expect_error(md().get_string("u8"), "expected string, found uint8");
  expect_error(md().get_string("tokens"), "expected string, found array of string");
}

TEST_F(GgufMetadataTest, GetArray) {
  auto tokens = md().get_array("tokens", GgufType::STRING);
  ASSERT_TRUE(tokens.is_ok()) << tokens.status().message();
  ASSERT_EQ(tokens.value()->size(), 3u);
  EXPECT_EQ((*tokens.value())[1].str, "bc");
  EXPECT_EQ((*tokens.value())[2].str, "");
  auto ids = md().get_array("ids", GgufType::INT32);
  ASSERT_TRUE(ids.is_ok());
  EXPECT_EQ((*ids.value())[1].i, -2);
  auto scales = md().get_array("scales", GgufType::FLOAT32);
  ASSERT_TRUE(scales.is_ok());
  EXPECT_EQ((*scales.value())[0].f, 0.25);
  expect_error(md().get_array("ids", GgufType::UINT32), "expected array of uint32, found array of int32");
  expect_error(md().get_array("name", GgufType::STRING), "expected array of string, found string");
}

TEST(GgufValue, IsInteger) {
  const GgufType integers[] = {GgufType::UINT8,  GgufType::INT8,   GgufType::UINT16, GgufType::INT16,
                               GgufType::UINT32, GgufType::INT32,  GgufType::UINT64, GgufType::INT64};
  const GgufType others[] = {GgufType::FLOAT32, GgufType::FLOAT64, GgufType::BOOL, GgufType::STRING,
                             GgufType::ARRAY};
  for (GgufType t : integers) {
    GgufValue v;
    v.type = t;
    EXPECT_TRUE(v.is_integer()) << gguf_type_name(t);
    EXPECT_FALSE(v.is_float());
  }
  for (GgufType t : others) {
    GgufValue v;
    v.type = t;
    EXPECT_FALSE(v.is_integer()) << gguf_type_name(t);
  }
}

TEST(GgufValue, TypeNames) {
  EXPECT_EQ(gguf_type_name(GgufType::UINT8), "uint8");
  EXPECT_EQ(gguf_type_name(GgufType::INT64), "int64");
  EXPECT_EQ(gguf_type_name(GgufType::FLOAT32), "float32");
  EXPECT_EQ(gguf_type_name(GgufType::STRING), "string");
  EXPECT_EQ(gguf_type_name(GgufType::ARRAY), "array");
  EXPECT_EQ(gguf_type_name(static_cast<GgufType>(13)), "unknown");
}

TEST(TensorInfo, ShapeString) {
  TensorInfo t;
  t.n_dims = 3;
  t.ne = {64, 256, 8, 1};
  EXPECT_EQ(t.shape_string(), "[64, 256, 8]");
  t.n_dims = 1;
  EXPECT_EQ(t.shape_string(), "[64]");
  EXPECT_EQ(t.n_elements(), 64 * 256 * 8);
}

}  // namespace
}  // namespace moe
