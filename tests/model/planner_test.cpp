// The planner's arithmetic for the real DeepSeek-R1 configuration against hand computations,
// and its fits / max_context / speed logic on made-up hardware.
#include "model/planner.h"

#include <gtest/gtest.h>

#include <cmath>
#include <tuple>

namespace moe {
namespace {

// Hand computation of R1's parameters (DEEPSEEK.md shapes, split MLA layout, no NextN):
//   attention per layer: q_a 7168x1536 = 11,010,048; q_b 1536x(128x192) = 37,748,736;
//     kv_a_mqa 7168x576 = 4,128,768; k_b 128x512x128 = 8,388,608; v_b 512x128x128 = 8,388,608;
//     attn_output 16384x7168 = 117,440,512                              -> 187,105,280
//   norms per layer: 7168 + 1536 + 512 + 7168                            -> 16,384 (F32)
//   dense FFN (3 layers): 3 x 7168 x 18432                               -> 396,361,728
//   MoE layer (58): router 7168x256 = 1,835,008 + bias 256 (F32);
//     routed 3 x 7168 x 2048 x 256 = 11,274,289,152; shared 3 x 7168 x 2048 = 44,040,192
//   token_embd = output = 129280 x 7168 = 926,679,040; output_norm 7168 (F32)
//   total = 61 x 187,121,664 + 3 x 396,361,728 + 58 x 11,320,164,608 + 2 x 926,679,040 + 7168
//         = 671,026,419,200                       ("671B")
//   F32 = 61 x 16,384 + 58 x 1,835,264 + 7168 = 107,451,904; matrices 670,918,967,296
constexpr int64_t kR1Params = 671026419200;
constexpr int64_t kR1F32Params = 107451904;
//   per token = all non-expert (61 x 187,121,664 + 3 x 396,361,728 + 58 x (1,835,264 + 44,040,192)
//               + 926,679,040 + 7168) + 8/256 of routed (58 x 352,321,536) + one embedding row
//               (7168)
//             = 36,625,625,600                    ("about 37B")
constexpr int64_t kR1ParamsPerToken = 36625625600;

TEST(Planner, R1TensorListHasTheRealParameterCount) {
  const ModelArgs a = deepseek_r1_args();
  int64_t total = 0, f32 = 0;
  for (const PlanTensor& t : deepseek_tensor_list(a)) {
    total += t.n_elements;
    if (!t.matrix) f32 += t.n_elements;
  }
  EXPECT_EQ(total, kR1Params);
  EXPECT_EQ(f32, kR1F32Params);
}

TEST(Planner, Q8_0WeightsAndBytesPerTokenMatchHandComputation) {
  const ModelArgs a = deepseek_r1_args();
  const WeightsFootprint f = preset_footprint("Q8_0", a);
  EXPECT_EQ(f.params_total, kR1Params);
  EXPECT_EQ(f.params_per_token, kR1ParamsPerToken);
  // weights = 670,918,967,296 x 34/32 + 107,451,904 x 4 = 712,851,402,752 + 429,807,616
  //         = 713,281,210,368 B (published ~713 GB)
  EXPECT_EQ(f.weights_bytes, 713281210368ull);
  // per token = (36,625,625,600 - 107,451,904) x 34/32 + 107,451,904 x 4
  //           = 38,800,559,552 + 429,807,616 = 39,230,367,168 B ("~39 GB at Q8_0")
  EXPECT_EQ(f.bytes_per_token, 39230367168ull);
}

// Kimi-K2 (kimi_k2_args: 64 heads, 384 experts, 1 dense layer, vocabulary 163,840), by hand:
//   attention per layer: q_a 11,010,048; q_b 1536x(64x192) = 18,874,368; kv_a_mqa 4,128,768;
//     k_b 64x128x512 = 4,194,304; v_b 64x512x128 = 4,194,304; attn_output 8192x7168 = 58,720,256
//     -> 101,122,048, + norms 16,384 = 101,138,432
//   dense FFN (1 layer) 396,361,728
//   MoE layer (60): router 7168x384 = 2,752,512 + bias 384; routed 44,040,192 x 384 =
//     16,911,433,728; shared 44,040,192 -> 16,958,226,816
//   token_embd = output = 163840 x 7168 = 1,174,405,120; output_norm 7168
//   total = 61 x 101,138,432 + 396,361,728 + 60 x 16,958,226,816 + 2 x 1,174,405,120 + 7168
//         = 1,026,408,232,448                     ("1T")
//   per token = 61 x 101,138,432 + 396,361,728 + 60 x (2,752,896 + 44,040,192) + 1,174,405,120
//               + 7168 + 60 x 8 x 44,040,192 + 7168 = 31,687,102,976   ("32B activated")
//   F32 = 61 x 16,384 + 60 x 2,752,896 + 7168 = 166,180,352
//   Q8_0 weights = (1,026,408,232,448 - 166,180,352) x 34/32 + 166,180,352 x 4
//                = 1,090,382,180,352 + 664,721,408 = 1,091,046,901,760 B
TEST(Planner, KimiK2MatchesHandComputation) {
  const ModelArgs a = kimi_k2_args();
  const WeightsFootprint f = preset_footprint("Q8_0", a);
  EXPECT_EQ(f.params_total, 1026408232448);
  EXPECT_EQ(f.params_per_token, 31687102976);
  EXPECT_EQ(f.weights_bytes, 1091046901760ull);
  int64_t f32 = 0;
  for (const PlanTensor& t : deepseek_tensor_list(a)) f32 += t.matrix ? 0 : t.n_elements;
  EXPECT_EQ(f32, 166180352);
  // the latent cache is R1's: (512 + 64) x 2 B x 61 layers
  EXPECT_EQ(kv_bytes_per_token(a, KvCacheType::kF16), 70272u);
}

TEST(Planner, Bf16IsTwoBytesPerMatrixValue) {
  // 670,918,967,296 x 2 + 107,451,904 x 4 = 1,342,267,742,208 B (published ~1.34 TB)
  EXPECT_EQ(preset_footprint("BF16", deepseek_r1_args()).weights_bytes, 1342267742208ull);
}

TEST(Planner, Q4_K_MReadsAbout22GBPerToken) {
  const ModelArgs a = deepseek_r1_args();
  const WeightsFootprint f = preset_footprint("Q4_K_M", a);
  // Lower bound: every matrix value at 4.5 bits (Q4_K, 144 B / 256): 36.52e9 x 4.5/8 = 20.5 GB,
  // plus 0.43 GB of F32; the Q6_K ffn_down/output and Q5_0 attn_k_b add ~1 GB. DEEPSEEK.md: ~22 GB.
  EXPECT_GT(f.bytes_per_token, 20.9e9);
  EXPECT_LT(f.bytes_per_token, 23.0e9);
  // Fallback: attn_k_b rows are 128 values, not a multiple of 256 -> Q5_0.
  PlanTensor kb{"blk.5.attn_k_b.weight", 5, 128, 128 * 512 * 128, false, true};
  EXPECT_EQ(preset_tensor_type("Q4_K_M", kb, a), GgmlType::Q5_0);
  PlanTensor down{"blk.3.ffn_down_exps.weight", 3, 2048, 2048LL * 7168 * 256, true, true};
  EXPECT_EQ(preset_tensor_type("Q4_K_M", down, a),
            GgmlType::Q6_K);  // use_more_bits(3, 61): 3 < 61/8
  down.name = "blk.10.ffn_down_exps.weight";
  down.layer = 10;
  EXPECT_EQ(preset_tensor_type("Q4_K_M", down, a), GgmlType::Q4_K);  // (10 - 7) % 3 == 0
}

TEST(Planner, EveryPresetIsNearItsPublishedSize) {
  const ModelArgs a = deepseek_r1_args();
  for (const QuantPreset& p : quant_presets()) {
    const WeightsFootprint f = preset_footprint(p.name, a);
    EXPECT_GT(f.bytes_per_token, 0u) << p.name;
    EXPECT_LT(f.bytes_per_token, f.weights_bytes / 5) << p.name;
    if (p.published_bytes == 0) continue;
    const double ratio =
        static_cast<double>(f.weights_bytes) / static_cast<double>(p.published_bytes);
    EXPECT_GT(ratio, 0.93) << p.name << ": " << f.weights_bytes;
    EXPECT_LT(ratio, 1.10) << p.name << ": " << f.weights_bytes;
  }
  // Sizes fall with the bits.
  EXPECT_GT(preset_footprint("Q5_K_M", a).weights_bytes,
            preset_footprint("Q4_K_M", a).weights_bytes);
  EXPECT_GT(preset_footprint("IQ1_M", a).weights_bytes, preset_footprint("IQ1_S", a).weights_bytes);
  // Dynamic quants keep attention at Q4_K and shared experts at Q6_K.
  PlanTensor q{"blk.7.attn_q_b.weight", 7, 1536, 1536LL * 24576, false, true};
  EXPECT_EQ(preset_tensor_type("IQ1_S", q, a), GgmlType::Q4_K);
  PlanTensor sh{"blk.7.ffn_up_shexp.weight", 7, 7168, 7168LL * 2048, false, true};
  EXPECT_EQ(preset_tensor_type("IQ1_S", sh, a), GgmlType::Q6_K);
  EXPECT_EQ(find_quant_preset("q4_k_m"), find_quant_preset("Q4_K_M"));
  EXPECT_EQ(find_quant_preset("Q9_X"), nullptr);
}

TEST(Planner, KvBytesPerTokenOfTheLatentCache) {
  const ModelArgs a = deepseek_r1_args();
  // f16: (512 + 64) x 2 B x 61 layers = 70,272 B/token; q8_0: 576/32 = 18 blocks x 34 B x 61 =
  // 37,332
  EXPECT_EQ(kv_bytes_per_token(a, KvCacheType::kF16), 70272u);
  EXPECT_EQ(kv_bytes_per_token(a, KvCacheType::kQ8_0), 37332u);
  // The full 163,840-token context: 70,272 x 163,840 = 11,513,364,480 B (DEEPSEEK.md: ~11 GB).
  Hardware hw;
  hw.ram_bytes = 2000ull << 30;
  hw.bandwidth_gbps = 460;
  PlanOptions o;
  o.n_ctx = 163840;
  const PlanRow r =
      plan_row("Q4_K_M", a, preset_footprint("Q4_K_M", a), preset_split("Q4_K_M", a), hw, o);
  EXPECT_EQ(r.kv_bytes_f16, 11513364480ull);
  EXPECT_EQ(r.kv_bytes_q8_0, 37332ull * 163840);
  EXPECT_EQ(r.kv_bytes, r.kv_bytes_f16);
  EXPECT_EQ(r.total_bytes, r.weights_bytes + r.kv_bytes + r.compute_bytes);
}

Hardware box_768g() {
  Hardware hw;
  hw.ram_bytes = 768ull << 30;
  hw.bandwidth_gbps = 460;
  hw.cores = 16;
  hw.ghz = 3.0;
  hw.int8_macs_per_cycle = 64;
  return hw;
}

// The row of a published preset at 90 % of the bandwidth on `hw` (the conversion tests).
PlanRow preset_row(const char* quant, const ModelArgs& a, const Hardware& hw) {
  PlanOptions o;
  o.efficiency = 0.9;
  return plan_row(quant, a, preset_footprint(quant, a), preset_split(quant, a), hw, o);
}

// Codebook weights (IQ1_S, IQ1_M, IQ2_XXS) decode at a compute rate: their time is the
// slower of their bytes and their values.
TEST(Planner, CodebookWeightsAreBoundByTheirDecodeRate) {
  const ModelArgs a = deepseek_r1_args();
  WeightsFootprint w;
  w.bytes_per_token = 10'000'000'000;
  w.codebook_bytes_per_token = 2'000'000'000;
  w.codebook_params_per_token = 10'000'000'000;
  Hardware hw;
  hw.ram_bytes = 768ull << 30;
  hw.bandwidth_gbps = 100;
  hw.cores = 10;
  hw.ghz = 2.0;
  hw.codebook_values_per_cycle = 2.0;  // 40e9 values / s
  PlanOptions o;
  o.n_ctx = 1;  // KV: 70,272 bytes read
  o.efficiency = 1.0;
  // (10e9 - 2e9 + 70,272) / 100e9 + max(2e9 / 100e9, 10e9 / 40e9) = 0.0800007027 + 0.25 s
  EXPECT_NEAR(plan_row("x", a, w, FootprintSplit{}, hw, o).decode_tps, 1.0 / (0.08000070272 + 0.25), 1e-9);
  // a fast enough core leaves the bytes: 10e9 / 400e9 = 0.025 s > 0.02 s
  hw.codebook_values_per_cycle = 20.0;
  EXPECT_NEAR(plan_row("x", a, w, FootprintSplit{}, hw, o).decode_tps, 1.0 / (0.08000070272 + 0.025), 1e-9);
  // not modeled: bandwidth only
  hw.codebook_values_per_cycle = 0.0;
  EXPECT_NEAR(plan_row("x", a, w, FootprintSplit{}, hw, o).decode_tps, 100e9 / (10e9 + 70272.0), 1e-9);
}

// R1's routed experts: 58 MoE layers x 3 matrices x 8 of 256 experts of 7168 x 2048 values
// = 58 x 3 x 117,440,512 = 20,434,649,088 values a token. IQ1_S: all of them codebook
// (gate/up IQ1_S; down IQ2_XXS in 3 layers, IQ1_S in 55), bytes a token
// 171 x 117,440,512 x 50 / 256 + 3 x 117,440,512 x 66 / 256 = 3,922,329,600 + 90,832,896.
// IQ2_XXS: the first 3 MoE layers' down projections are Q2_K, the rest codebook.
TEST(Planner, DynamicPresetsCountTheirCodebookExperts) {
  const ModelArgs a = deepseek_r1_args();
  const WeightsFootprint s = preset_footprint("IQ1_S", a);
  EXPECT_EQ(s.codebook_params_per_token, 20434649088);
  EXPECT_EQ(s.codebook_bytes_per_token, 3922329600u + 90832896u);
  EXPECT_EQ(preset_footprint("IQ2_XXS", a).codebook_params_per_token, 171 * 117440512LL);
  EXPECT_EQ(preset_footprint("Q2_K_XL", a).codebook_params_per_token, 0);
  EXPECT_EQ(preset_footprint("Q4_K_M", a).codebook_bytes_per_token, 0u);
  // In the file layout, the codebook values take 20.43e9 / (16 x 3e9 x 2) = 0.213 s a token,
  // several times what all the bytes a token reads take at 414 GB/s (about 13 GB: 0.03 s).
  // 150 GiB of RAM leaves no room for any conversion (85 %: 136.9 GB, below the file's
  // 139.4 GB).
  Hardware small = box_768g();
  small.ram_bytes = 150ull << 30;
  const PlanRow r = preset_row("IQ1_S", a, small);
  EXPECT_EQ(r.converted_share, 0.0);
  EXPECT_EQ(r.weights_bytes, s.weights_bytes);
  EXPECT_LT(r.decode_tps, 1.0 / 0.213);
  EXPECT_GT(r.decode_tps, 1.0 / (0.213 + static_cast<double>(s.bytes_per_token) / 414e9 + 0.01));
}

// The SIMD tables convert IQ1_S and IQ2_XXS experts at load into IQ1_S_R16 and IQ2_XXS_R16
// (70 and 102 bytes a block against 50 and 66) where the grown weights fit 85 % of RAM. R1's
// routed matrices have 32 x 117,440,512 values. The IQ1_S file: 171 IQ1_S matrices, 20 / 256
// bytes a value more (9,175,040 a token's share), and 3 IQ2_XXS ones, 36 / 256 more
// (16,515,072): 171 x 9,175,040 + 3 x 16,515,072 = 1,618,477,056 bytes a token, 32 times
// that in all; the codebook figures lose everything (174 x 117,440,512 values,
// 3,922,329,600 + 90,832,896 bytes a token). The IQ2_XXS file: 171 IQ2_XXS matrices.
TEST(Planner, IQ1_SAndIQ2_XXSExpertsAreConvertedWhereTheyFit) {
  const ModelArgs a = deepseek_r1_args();
  const WeightsFootprint s = preset_footprint("IQ1_S", a);
  EXPECT_EQ(s.conversion_growth_per_token, 1618477056u);
  EXPECT_EQ(s.conversion_growth, 32ull * 1618477056ull);
  EXPECT_EQ(s.converted_codebook_params_per_token, 174 * 117440512LL);
  EXPECT_EQ(s.converted_codebook_bytes_per_token, 3922329600u + 90832896u);
  EXPECT_EQ(preset_footprint("IQ2_XXS", a).conversion_growth, 171ull * 32 * 16515072);
  EXPECT_EQ(preset_footprint("Q4_K_M", a).conversion_growth, 0u);
  const PlanRow r = preset_row("IQ1_S", a, box_768g());
  EXPECT_GT(r.converted_share, 0.0);
  EXPECT_EQ(r.weights_bytes, s.weights_bytes + 32ull * 1618477056ull);
  EXPECT_EQ(r.bytes_per_token, s.bytes_per_token + 1618477056u);
  EXPECT_EQ(r.codebook_params_per_token, 0);
  // a token: the bytes and 4096 x 70,272 of f16 KV at 414 GB/s
  const double bytes = static_cast<double>(r.bytes_per_token) + 4096.0 * 70272.0;
  EXPECT_NEAR(r.decode_tps, 414e9 / bytes, 1e-6);
  EXPECT_GT(r.decode_tps, 15.0);  // was about 3 tok/s in the file layout
  EXPECT_EQ(r.converted_share, 1.0);
}

// IQ1_M experts become IQ1_M_R16 (Q3_K_R16's 110 bytes a block against 56). The 1.73-bit file:
// 116 IQ1_M gate/up matrices, 54 / 256 bytes a value more (458,752 blocks a token's share:
// 24,772,608 bytes), and 58 IQ2_XXS down ones (16,515,072 each): 2,873,622,528 + 957,874,176
// bytes a token, and no codebook time left where it all fits.
TEST(Planner, IQ1_MExpertsAreConvertedWhereTheyFit) {
  const ModelArgs a = deepseek_r1_args();
  const WeightsFootprint m = preset_footprint("IQ1_M", a);
  EXPECT_EQ(m.conversion_growth_per_token, 2873622528u + 957874176u);
  EXPECT_EQ(m.conversion_growth, 32ull * (2873622528ull + 957874176ull));
  EXPECT_EQ(m.converted_codebook_params_per_token, 174 * 117440512LL);
  const PlanRow r = preset_row("IQ1_M", a, box_768g());
  EXPECT_EQ(r.converted_share, 1.0);
  EXPECT_EQ(r.bytes_per_token, m.bytes_per_token + 2873622528u + 957874176u);
  EXPECT_EQ(r.codebook_params_per_token, 0);
}

// IQ3_XXS / IQ3_S grow into IQ4_XS_R16's 136 bytes a block (from 98 / 110), IQ2_XS / IQ2_S
// into IQ2_XS_R16's 106 (from 74 / 82); IQ4_XS is packed in its own 136 bytes (no growth). One R1
// expert tensor, 256 experts of 2048 x 7168, 8 used: 14,680,064 values an expert, 57,344 blocks.
TEST(Planner, IQ2AndIQ3ExpertsGrowIntoTheirLayoutsAndIQ4_XSDoesNot) {
  EXPECT_EQ(conversion_bytes_per_block(GgmlType::IQ4_XS), 0);
  const int64_t values = 256LL * 2048 * 7168;
  for (const auto& [type, block, packed] :
       {std::tuple{GgmlType::IQ3_XXS, 98, 136}, std::tuple{GgmlType::IQ3_S, 110, 136},
        std::tuple{GgmlType::IQ2_XS, 74, 106}, std::tuple{GgmlType::IQ2_S, 82, 106}}) {
    EXPECT_EQ(conversion_bytes_per_block(type), packed) << type_name(type);
    WeightsFootprint f;
    count_routed_tensor(&f, type, static_cast<uint64_t>(values / 256 * block), values, 8, 256);
    EXPECT_EQ(f.conversion_growth, static_cast<uint64_t>(values / 256 * (packed - block)))
        << type_name(type);
    EXPECT_EQ(f.conversion_growth_per_token, 8ull * 57344 * (packed - block)) << type_name(type);
    EXPECT_EQ(f.codebook_params_per_token, 8LL * 14680064) << type_name(type);
    EXPECT_EQ(f.converted_codebook_params_per_token, 8LL * 14680064) << type_name(type);
  }
  WeightsFootprint x;
  count_routed_tensor(&x, GgmlType::IQ4_XS, static_cast<uint64_t>(values / 256 * 136), values, 8,
                      256);
  EXPECT_EQ(x.conversion_growth, 0u);
  EXPECT_EQ(x.codebook_params_per_token, 0);
}

// Where only part of the growth fits, the loader converts layer by layer up to the limit: the
// row's weights reach 85 % of RAM, and its decode lies between the file layout's and the
// fully converted one's. 200 GiB: 182.5 GB against the file's 139.4 GB and 51.8 GB of growth.
TEST(Planner, ConversionsFillTheMemoryLimitLayerByLayer) {
  const ModelArgs a = deepseek_r1_args();
  Hardware hw = box_768g();
  const PlanRow all = preset_row("IQ1_S", a, hw);
  hw.ram_bytes = 200ull << 30;
  const PlanRow part = preset_row("IQ1_S", a, hw);
  hw.ram_bytes = 150ull << 30;
  const PlanRow none = preset_row("IQ1_S", a, hw);
  EXPECT_GT(part.converted_share, 0.5);
  EXPECT_LT(part.converted_share, 1.0);
  EXPECT_NEAR(static_cast<double>(part.weights_bytes), (200ull << 30) / 100 * 85, 1.0);
  EXPECT_GT(part.decode_tps, none.decode_tps);
  EXPECT_LT(part.decode_tps, all.decode_tps);
  EXPECT_EQ(none.converted_share, 0.0);
}

TEST(Planner, DecodeAndPrefillFollowTheDocumentedFormulas) {
  const ModelArgs a = deepseek_r1_args();
  const WeightsFootprint w = preset_footprint("Q8_0", a);
  PlanOptions o;
  o.n_ctx = 4096;
  o.efficiency = 0.9;
  o.compute_efficiency = 0.3;
  const PlanRow r = plan_row("Q8_0", a, w, preset_split("Q8_0", a), box_768g(), o);
  // 460e9 x 0.9 / (39,230,367,168 + 70,272 x 4096) = 414e9 / 39,518,201,280 = 10.476 tok/s
  EXPECT_NEAR(r.decode_tps, 414e9 / (39230367168.0 + 70272.0 * 4096), 1e-9);
  EXPECT_NEAR(r.decode_tps, 10.476, 1e-3);
  // MACs/token = 36,625,625,600 - 129,280 x 7168 - 7168 + 61 x 128 x (2 x 512 + 64) x 2048
  //            = 35,698,939,392 + 17,397,972,992 = 53,096,912,384
  // prefill = 16 x 3e9 x 64 x 0.3 / 53,096,912,384 = 921.6e9 / 53.1e9 = 17.36 tok/s
  EXPECT_NEAR(r.prefill_macs_per_token, 53096912384.0, 1.0);
  EXPECT_NEAR(r.prefill_tps, 921.6e9 / 53096912384.0, 1e-9);
  // One slot: all slots together is the same number.
  EXPECT_NEAR(r.decode_tps_total, r.decode_tps, 1e-9);
  // Four slots share the non-expert weights: more tokens per second in all, fewer per slot.
  o.n_slots = 4;
  const PlanRow r4 = plan_row("Q8_0", a, w, preset_split("Q8_0", a), box_768g(), o);
  EXPECT_GT(r4.decode_tps_total, r.decode_tps);
  EXPECT_LT(r4.decode_tps_total, 4 * r4.decode_tps);
  // E[distinct experts] of 4 tokens x 8 of 256 = 256 x (1 - (248/256)^4) = 30.16
  EXPECT_NEAR(expected_distinct_experts(256, 8, 4), 256.0 * (1.0 - std::pow(248.0 / 256.0, 4)),
              1e-12);
}

TEST(Planner, FitsAndMaxContextOnMadeUpHardware) {
  const ModelArgs a = deepseek_r1_args();
  const WeightsFootprint w = preset_footprint("Q4_K_M", a);
  const FootprintSplit split = preset_split("Q4_K_M", a);
  Hardware hw = box_768g();
  PlanOptions o;
  o.n_ctx = 4096;
  o.os_reserve_bytes = 16ll << 30;
  PlanRow r = plan_row("Q4_K_M", a, w, split, hw, o);
  EXPECT_TRUE(r.fits);
  // 768 GiB holds ~405 GB of weights and the whole trained context (163,840 x 70,272 B = 11.5 GB).
  EXPECT_EQ(r.max_context, 163840);

  // 448 GiB (481 GB) - 16 GiB reserve - ~405 GB weights - compute leaves ~50 GB: the trained
  // context of one slot fits, 8 slots are limited by memory.
  hw.ram_bytes = 448ull << 30;
  o.n_slots = 8;
  r = plan_row("Q4_K_M", a, w, split, hw, o);
  EXPECT_TRUE(r.fits);
  EXPECT_GT(r.max_context, 163840);
  EXPECT_LT(r.max_context, 163840 * 8);
  EXPECT_EQ(r.max_context % 256, 0);
  // max_context is the boundary: it fits, 256 more does not.
  o.n_ctx = r.max_context;
  EXPECT_TRUE(plan_row("Q4_K_M", a, w, split, hw, o).fits);
  o.n_ctx = r.max_context + 256;
  EXPECT_FALSE(plan_row("Q4_K_M", a, w, split, hw, o).fits);

  // 384 GiB cannot hold 405 GB of weights: nothing fits.
  hw.ram_bytes = 384ull << 30;
  o.n_ctx = 4096;
  r = plan_row("Q4_K_M", a, w, split, hw, o);
  EXPECT_FALSE(r.fits);
  EXPECT_EQ(r.max_context, 0);
  // ...but the 1.58-bit dynamic quant does.
  r = plan_row("IQ1_S", a, preset_footprint("IQ1_S", a), preset_split("IQ1_S", a), hw, o);
  EXPECT_TRUE(r.fits);

  // The default OS reserve: max(2 GiB, RAM / 32).
  EXPECT_EQ(default_os_reserve(768ull << 30), 24ull << 30);
  EXPECT_EQ(default_os_reserve(32ull << 30), 2ull << 30);
  // GPU offload column: non-expert weights + KV + compute against --vram.
  hw.vram_bytes = 24ull << 30;
  r = plan_row("Q4_K_M", a, w, split, hw, o);
  EXPECT_EQ(r.vram_bytes_needed, split.non_expert_bytes + r.kv_bytes + r.compute_bytes);
  EXPECT_TRUE(r.vram_fits);  // ~11 GB of attention/dense/shared/head at Q4_K/Q6_K
}

}  // namespace
}  // namespace moe
