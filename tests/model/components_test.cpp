// Model components against hand-worked values: YaRN frequencies and scale, the router
// (DeepSeek's Gate.forward), and the block-pooled latent KV cache.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <utility>
#include <vector>

#include "base/half.h"
#include "kernels/packed.h"
#include "model/forward_state.h"
#include "model/kv_cache.h"
#include "quant/blocks.h"
#include "model/rope_yarn.h"
#include "model/router.h"

namespace moe {
namespace {

ModelArgs tiny_yarn_args() {
  ModelArgs a;
  a.qk_rope_head_dim = 4;
  a.qk_nope_head_dim = 12;  // qk head dim 16
  a.rope_theta = 10000.0;
  a.rope_factor = 40.0;
  a.original_seq_len = 4096;
  a.mscale = 1.0;
  return a;
}

TEST(RopeYarn, FrequenciesAndScaleByHand) {
  // dim 4, base 1e4: f = [1, 0.01]. d(r) = 4 ln(4096 / (2 pi r)) / (2 ln 1e4):
  // d(32) = 0.6546 -> low 0; d(1) = 1.4071 -> high 2. ramp = [0, 0.5]:
  // f0 = 1 (kept), f1 = 0.01/40 x 0.5 + 0.01 x 0.5 = 0.005125.
  const RopeYarn r(tiny_yarn_args());
  ASSERT_EQ(r.freqs().size(), 2u);
  EXPECT_DOUBLE_EQ(r.freqs()[0], 1.0);
  EXPECT_NEAR(r.freqs()[1], 0.005125, 1e-12);
  // m = 1 + 0.1 ln 40 = 1.368888; scale = m^2 / sqrt(16).
  const double m = 1.0 + 0.1 * std::log(40.0);
  EXPECT_NEAR(r.softmax_scale(), m * m / 4.0, 1e-6);
  float cs[4];
  r.cos_sin(3, cs);
  EXPECT_NEAR(cs[0], std::cos(3.0), 1e-6);
  EXPECT_NEAR(cs[1], std::sin(3.0), 1e-6);
  EXPECT_NEAR(cs[2], std::cos(3 * 0.005125), 1e-6);
}

TEST(RopeYarn, NoScalingWithoutYarn) {
  ModelArgs a = tiny_yarn_args();
  a.rope_factor = 1.0;
  const RopeYarn r(a);
  EXPECT_DOUBLE_EQ(r.freqs()[1], 0.01);
  EXPECT_NEAR(r.softmax_scale(), 0.25, 1e-7);
}

ModelArgs router_args(ScoreFunc f, int groups, int limited) {
  ModelArgs a;
  a.n_routed_experts = 8;
  a.n_activated_experts = 2;
  a.n_expert_groups = groups;
  a.n_limited_groups = limited;
  a.score_func = f;
  a.norm_topk_prob = f == ScoreFunc::kSigmoid;
  a.route_scale = f == ScoreFunc::kSigmoid ? 2.5 : 1.0;
  return a;
}

TEST(Router, SigmoidWithBiasAndGroups) {
  // 4 groups of 2. Logits chosen so the bias changes the pick and the group limit bites:
  // sigmoid(logits): e0 .73, e1 .5, e2 .88, e3 .12, e4 .95, e5 .27, e6 .5, e7 .5
  const float logits[8] = {1.0f, 0.0f, 2.0f, -2.0f, 3.0f, -1.0f, 0.0f, 0.0f};
  // bias lifts e7 and e6 (group 3: .5+.4 + .5+.35 = 1.75 beats group 1's .88+.12 = 1.0)
  const float bias[8] = {0, 0, 0, 0, 0, 0, 0.35f, 0.4f};
  const ModelArgs a = router_args(ScoreFunc::kSigmoid, 4, 2);
  // group scores (top-2 sums of s+b): g0 .73+.5=1.23, g1 1.0, g2 .95+.27=1.22, g3 1.75
  // kept groups: g3, g0 -> candidates e0 .73, e1 .5, e6 .85, e7 .9 -> top-2: e7, e6
  int32_t ids[2];
  float w[2], scratch[32];
  route_token(a, logits, bias, 2, ids, w, scratch);
  EXPECT_EQ(ids[0], 7);
  EXPECT_EQ(ids[1], 6);
  // weights: the unbiased sigmoids (0.5, 0.5) normalized, times 2.5
  EXPECT_NEAR(w[0], 1.25f, 1e-6);
  EXPECT_NEAR(w[1], 1.25f, 1e-6);
  // e4 (the highest score) is excluded because its group lost.
}

TEST(Router, SigmoidWithBiasInOneGroup) {
  // Kimi-K2 and Moonlight: sigmoid scores with the correction bias, one group (no group
  // limit), scale 2.827. Same logits and bias as above, with no group to lose:
  // s+b: e0 .73, e1 .5, e2 .88, e3 .12, e4 .95, e5 .27, e6 .85, e7 .9 -> top-2: e4, e7
  const float logits[8] = {1.0f, 0.0f, 2.0f, -2.0f, 3.0f, -1.0f, 0.0f, 0.0f};
  const float bias[8] = {0, 0, 0, 0, 0, 0, 0.35f, 0.4f};
  ModelArgs a = router_args(ScoreFunc::kSigmoid, 1, 1);
  a.route_scale = 2.827;
  int32_t ids[2];
  float w[2], scratch[32];
  route_token(a, logits, bias, 2, ids, w, scratch);
  EXPECT_EQ(ids[0], 4);
  EXPECT_EQ(ids[1], 7);
  // weights: the unbiased sigmoids s4 = 1/(1+e^-3) and s7 = 0.5, normalized, times 2.827
  const double s4 = 1.0 / (1.0 + std::exp(-3.0)), s7 = 0.5;
  EXPECT_NEAR(w[0], 2.827 * s4 / (s4 + s7), 1e-5);
  EXPECT_NEAR(w[1], 2.827 * s7 / (s4 + s7), 1e-5);
}

TEST(Router, SoftmaxWithoutGroups) {
  const float logits[8] = {0.0f, std::log(3.0f), 0.0f, 0.0f, std::log(2.0f), 0.0f, 0.0f, 0.0f};
  // softmax: exp = [1,3,1,1,2,1,1,1] / 11
  const ModelArgs a = router_args(ScoreFunc::kSoftmax, 1, 1);
  int32_t ids[2];
  float w[2], scratch[32];
  route_token(a, logits, nullptr, 2, ids, w, scratch);
  EXPECT_EQ(ids[0], 1);
  EXPECT_EQ(ids[1], 4);
  EXPECT_NEAR(w[0], 3.0f / 11.0f, 1e-6);  // not normalized, scale 1
  EXPECT_NEAR(w[1], 2.0f / 11.0f, 1e-6);
}

TEST(Router, SoftmaxGroupsUseTheGroupMax) {
  // V2: groups scored by their max (no bias). Groups of 2: g0 {0,1}, g1 {2,3}, g2 {4,5}, g3 {6,7}
  const float logits[8] = {2.0f, 1.9f, 0.0f, 2.1f, 0.0f, 0.0f, 1.95f, 1.94f};
  // group max: g0 2.0, g1 2.1, g2 0, g3 1.95 -> keep g1, g0 -> top-2 over {0,1,2,3}: e3, e0
  const ModelArgs a = router_args(ScoreFunc::kSoftmax, 4, 2);
  int32_t ids[2];
  float w[2], scratch[32];
  route_token(a, logits, nullptr, 2, ids, w, scratch);
  EXPECT_EQ(ids[0], 3);
  EXPECT_EQ(ids[1], 0);
}

ModelArgs kv_args() {
  ModelArgs a;
  a.n_layers = 2;
  a.kv_lora_rank = 64;
  a.qk_rope_head_dim = 32;
  return a;
}

TEST(KvCache, BlocksAreSharedAndReturned) {
  auto kv = KvCache::create(kv_args(), KvCacheType::kF16, 64, 3, 16);  // 4 blocks of 16
  ASSERT_TRUE(kv.is_ok());
  EXPECT_EQ(kv->capacity_tokens(), 64);
  EXPECT_TRUE(kv->reserve(0, 40).is_ok());  // 3 blocks
  EXPECT_EQ(kv->free_tokens(), 16);
  const Status full = kv->reserve(1, 17);  // needs 2 blocks, 1 left
  EXPECT_FALSE(full.is_ok());
  EXPECT_NE(full.message().find("context full"), std::string::npos);
  kv->set_length(0, 40);
  kv->truncate(0, 10);  // keeps 1 block
  EXPECT_EQ(kv->length(0), 10);
  EXPECT_EQ(kv->free_tokens(), 48);
  EXPECT_TRUE(kv->reserve(1, 17).is_ok());
}

// Rows of whole cache lines start on one: the attention's 512-bit loads of a bf16 row read
// in place (or of an f32 row converted from an f16 one) then never straddle two lines.
TEST(KvCache, RowsStartOnCacheLines) {
  ModelArgs a = kv_args();
  a.kv_lora_rank = 512;  // DeepSeek's rows: 576 values, 1152 bytes
  a.qk_rope_head_dim = 64;
  auto kv = KvCache::create(a, KvCacheType::kBF16, 64, 2, 16);
  ASSERT_TRUE(kv.is_ok());
  ASSERT_TRUE(kv->reserve(1, 40).is_ok());
  for (int64_t pos : {0, 1, 17, 39}) {
    EXPECT_EQ(reinterpret_cast<uintptr_t>(kv->bf16_rows(1, 1, pos)) % kCacheLineBytes, 0U) << pos;
  }
}

// The forward pass's f32 buffers (the latent rows converted for the attention, queries)
// start on cache lines too.
TEST(Scratch, BuffersStartOnCacheLines) {
  Scratch f;
  ByteScratch b;
  for (size_t n : {5, 576 * 128, 1 << 22}) {
    EXPECT_EQ(reinterpret_cast<uintptr_t>(f.get(n)) % kCacheLineBytes, 0U) << n;
    EXPECT_EQ(reinterpret_cast<uintptr_t>(b.get(n)) % kCacheLineBytes, 0U) << n;
  }
}

TEST(KvCache, RowsRoundTripPerType) {
  for (KvCacheType type : {KvCacheType::kF16, KvCacheType::kBF16, KvCacheType::kQ8_0}) {
    auto kv = KvCache::create(kv_args(), type, 32, 2, 16);
    ASSERT_TRUE(kv.is_ok());
    ASSERT_TRUE(kv->reserve(1, 20).is_ok());
    std::vector<float> row(96), back(96);
    for (int i = 0; i < 96; ++i) row[i] = std::sin(0.37f * i) * (i < 64 ? 3.0f : 0.5f);
    kv->store(1, 1, 19, row.data());
    kv->load(1, 1, 19, back.data());
    // f16: relative 2^-11; bf16: 2^-8; q8_0: half a step of amax/127 per block of 32, plus
    // the f16 rounding of the scale itself (up to 127 steps x 2^-11 relative = 0.06 of a step).
    for (int i = 0; i < 96; ++i) {
      const float amax = i < 64 ? 3.0f : 0.5f;
      const float bound = type == KvCacheType::kF16    ? std::abs(row[i]) / 2048.0f + 1e-7f
                          : type == KvCacheType::kBF16 ? std::abs(row[i]) / 256.0f + 1e-7f
                                                       : amax / 127.0f * 0.6f + 1e-6f;
      EXPECT_NEAR(back[i], row[i], bound) << i;
    }
    // Distinct positions and layers do not alias.
    std::vector<float> other(96, 1.0f);
    kv->store(0, 1, 19, other.data());
    kv->load(1, 1, 19, back.data());
    EXPECT_NEAR(back[5], row[5], 0.05f);
  }
  EXPECT_FALSE(parse_kv_cache_type("q4_0").is_ok());
  for (KvCacheType type : {KvCacheType::kF16, KvCacheType::kBF16, KvCacheType::kQ8_0}) {
    const auto parsed = parse_kv_cache_type(kv_cache_type_name(type));
    ASSERT_TRUE(parsed.is_ok());
    EXPECT_EQ(*parsed, type);
  }
}

// Decode attention reads pieces of rows: load_columns gives exactly the values load() gives
// there, for every type (q8_0: whole blocks of 32, from any row of a 16-row group).
TEST(KvCache, ColumnsAreTheLoadedRowsValues) {
  for (KvCacheType type : {KvCacheType::kF16, KvCacheType::kBF16, KvCacheType::kQ8_0}) {
    auto kv = KvCache::create(kv_args(), type, 64, 1, 32);
    ASSERT_TRUE(kv.is_ok());
    ASSERT_TRUE(kv->reserve(0, 40).is_ok());
    const int64_t w = kv->width();
    for (int64_t pos : {0, 5, 17, 33}) {
      std::vector<float> row(static_cast<size_t>(w)), whole(row.size());
      for (int64_t i = 0; i < w; ++i) row[i] = std::cos(0.21f * static_cast<float>(i + 7 * pos)) * (1.0f + i % 5);
      kv->store(1, 0, pos, row.data());
      kv->load(1, 0, pos, whole.data());
      for (auto [begin, end] : {std::pair<int64_t, int64_t>{0, w}, {32, 64}, {64, w}, {0, 32}}) {
        std::vector<float> got(static_cast<size_t>(end - begin), NAN);
        kv->load_columns(1, 0, pos, begin, end, got.data());
        EXPECT_EQ(0, std::memcmp(got.data(), whole.data() + begin, got.size() * sizeof(float)))
            << kv_cache_type_name(type) << " pos " << pos << " [" << begin << ", " << end << ")";
      }
    }
  }
}

// A bf16 cache is read in place by the bf16 attention kernels: its rows are the stored
// values rounded to bf16, row_bytes() apart within a block; the kernels take rows in pairs,
// so blocks hold an even number of positions.
TEST(KvCache, Bf16RowsAreRoundedValuesInPlace) {
  EXPECT_FALSE(KvCache::create(kv_args(), KvCacheType::kBF16, 32, 1, 15).is_ok());
  auto kv = KvCache::create(kv_args(), KvCacheType::kBF16, 64, 1, 32);
  ASSERT_TRUE(kv.is_ok());
  ASSERT_TRUE(kv->reserve(0, 40).is_ok());
  ASSERT_EQ(kv->row_bytes(), static_cast<size_t>(kv->width()) * 2);
  std::vector<float> row(static_cast<size_t>(kv->width()));
  for (int64_t pos = 30; pos < 34; ++pos) {  // across the block boundary at 32
    for (size_t i = 0; i < row.size(); ++i) row[i] = std::cos(0.11f * static_cast<float>(i) + static_cast<float>(pos));
    kv->store(1, 0, pos, row.data());
    const uint16_t* r = kv->bf16_rows(1, 0, pos);
    for (size_t i = 0; i < row.size(); ++i) ASSERT_EQ(r[i], f32_to_bf16(row[i])) << pos << " " << i;
  }
  EXPECT_EQ(kv->bf16_rows(1, 0, 30) + kv->width(), kv->bf16_rows(1, 0, 31));  // contiguous in a block
  EXPECT_EQ(kv->contiguous_rows(30), 2);
}

// A q8_0 cache keeps each 16 positions of a layer as one Q8_0_R16 group: exactly what the
// weight repacking makes of those 16 rows, so the packed gemm reads the cache in place.
TEST(KvCache, Q8_0RowsAreR16GroupsInPlace) {
  EXPECT_FALSE(KvCache::create(kv_args(), KvCacheType::kQ8_0, 32, 1, 8).is_ok());  // blocks of 16 only
  auto kv = KvCache::create(kv_args(), KvCacheType::kQ8_0, 64, 1, 32);
  ASSERT_TRUE(kv.is_ok());
  ASSERT_TRUE(kv->reserve(0, 64).is_ok());
  const size_t rb = kv->row_bytes();
  const int64_t nb = kv->width() / 32;
  ASSERT_EQ(rb, static_cast<size_t>(nb) * sizeof(BlockQ8_0));
  std::vector<BlockQ8_0> plain(static_cast<size_t>(64 * nb));
  for (size_t i = 0; i < plain.size(); ++i) {
    plain[i].d = f32_to_f16(0.01f * static_cast<float>(i + 1));
    for (int j = 0; j < 32; ++j) plain[i].qs[j] = static_cast<int8_t>((static_cast<int>(i) * 37 + j * 11) % 256 - 128);
  }
  for (int64_t pos = 0; pos < 64; ++pos) kv->write_row(1, 0, pos, reinterpret_cast<const uint8_t*>(&plain[pos * nb]));
  std::vector<uint8_t> back(rb), repacked(16 * rb);
  for (int64_t pos = 0; pos < 64; ++pos) {
    kv->read_row(1, 0, pos, back.data());
    EXPECT_EQ(0, std::memcmp(back.data(), &plain[pos * nb], rb)) << pos;
  }
  for (int64_t g = 0; g < 4; ++g) {
    packed::repack_q8_0_r16(&plain[g * 16 * nb], 16, kv->width(), repacked.data());
    EXPECT_EQ(0, std::memcmp(kv->q8_0_group(1, 0, 16 * g), repacked.data(), repacked.size())) << g;
  }
  // The other layer's rows are elsewhere.
  std::vector<float> row(static_cast<size_t>(kv->width()), 0.25f);
  kv->store(0, 0, 5, row.data());
  kv->read_row(1, 0, 5, back.data());
  EXPECT_EQ(0, std::memcmp(back.data(), &plain[5 * nb], rb));
}

}  // namespace
}  // namespace moe
