// `moeinfer plan`'s arithmetic: will a DeepSeek model fit in this machine, with which
// context, and how fast will it decode and prefill. Pure functions of shapes, tensor types
// and hardware numbers, so every figure is unit-testable against hand computations.
//
// Weights. For a GGUF the tensors' real sizes (model_footprint). For the published
// DeepSeek-R1/V3 quants (no file at hand) the planner lists R1's tensors from its real
// shapes (deepseek_tensor_list, split MLA layout, no NextN layer) and gives each one a ggml
// type by the preset's rule (preset_tensor_type; each rule is written in kPresets in
// planner.cpp with the size it reproduces). The same rules apply to Kimi-K2's shapes
// (kimi_k2_args, `plan --arch kimi-k2`). bytes_per_token is DEEPSEEK.md's one definition:
// non-expert tensors in full + n_used/n_expert of each routed-expert tensor + one embedding row.
//
// KV cache (latent MLA): (kv_lora + rope) values per token per layer; f16 = 2 bytes per
// value, q8_0 = 34 bytes per 32 values. R1: 576 x 2 x 61 = 70,272 B/token (f16),
// 18 x 34 x 61 = 37,332 B/token (q8_0). `-c` is the total context shared by the `-np` slots
// (as llama-server and KvCache::create count it).
//
// Compute buffers (estimate of the engine's scratch, ForwardState): per batch token the
// activations of one layer (8 x dim, q, q_abs, attention output, expert hiddens, dense hidden)
// plus one logits row, in f32, times the batch; plus one row of attention scores per head per
// thread over the per-slot context; plus 256 MiB of fixed overhead (thread stacks, tokenizer,
// quantized activations).
//
// Fits: weights + KV + compute + OS reserve <= RAM. The reserve defaults to max(2 GiB, RAM/32)
// (kernel, page tables of a 400 GB mapping, the rest of the system). max_context is the
// largest total context (multiple of 256, at most trained context x slots) that fits.
//
// Decode: tok/s = bandwidth x efficiency / (bytes_per_token + kv_bytes_per_token x per-slot
// context), i.e. the roofline at the end of a full context, scaled by the fraction of the
// bandwidth the kernels reach (default 0.8: ik_llama.cpp reaches 85-92 % on the 2-core VM,
// llama.cpp 59-70 %, PERF.md). With -np N slots decoding together, one step reads the
// non-expert weights once and the union of the experts the N tokens route to (expected
// n_expert x (1 - (1 - k/n_expert)^N) per layer): decode_tps_total is N tokens per such step.
// This assumes bandwidth-bound kernels. The packed Q2_K / Q3_K / Q5_K products reach 12-20
// GB/s a core from L3 on the 2-core VM (PERFORMANCE.md, "Q3_K and Q5_K packed"), below the
// Q4_K / Q8_0 ones, so the Q2_K / Q3_K_M rows can overestimate decode where a core's share of
// the bandwidth is larger than that. The IQ1_S / IQ1_M / IQ2_XXS products (the dynamic
// rows) are compute bound (PERFORMANCE.md, "The IQ codebook formats": 2.8-7.7 G values/s a
// core at 2.1 GHz, 1.3-3.7 values a cycle), so their time is modeled apart: a token takes
// (other bytes + KV) / bandwidth + max(codebook bytes / bandwidth, codebook values /
// (cores x GHz x codebook_values_per_cycle)), default 2 values a cycle a core (the codebook
// figures count routed experts, the dynamic files' only codebook tensors). The SIMD tables
// convert IQ1_S, IQ2_XXS and IQ1_M experts at load into 2- and 3-bit values (IQ1_S_R16,
// IQ2_XXS_R16, IQ1_M_R16: 1.4x, 1.55x and 1.96x the bytes; IQ2_XS / IQ2_S 1.43x / 1.29x; IQ3_XXS
// / IQ3_S into 4-bit codes, 1.39x / 1.24x; Q5_0 / IQ4_NL ones into Q8_0_R16)
// while the grown weights fit 85 % of RAM (model/pack_weights.h), layer by layer: a row
// counts the share of the growth that fits, in memory and read a token, and takes the same
// share of those types' values off the codebook time.
//
// Prefill: compute bound. MACs per token = params_per_token - output head - embedding row
// (only the last prompt token needs logits) + attention over the latent cache at half the
// per-slot context (n_heads x (kv_lora + rope + kv_lora) MACs per cached token per layer);
// tok/s = cores x GHz x int8 MACs per cycle x compute efficiency / MACs per token. Defaults:
// 64 MACs/cycle (AVX2: 2 x 32 vpmaddubsw lanes), 128 with AVX-512 VNNI, the CPU's MHz
// (3 GHz when unknown) and efficiency 0.3 (ik_llama.cpp's pp128 on the VM is 21-33 % of that
// ceiling, PERF.md).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "gguf/types.h"
#include "model/config.h"
#include "model/kv_cache.h"

namespace moe {

// One tensor of a DeepSeek model, as a GGUF names and shapes it.
struct PlanTensor {
  std::string name;        // "blk.3.ffn_down_exps.weight"
  int64_t layer = -1;      // -1 for global tensors
  int64_t row_length = 0;  // ne[0]
  int64_t n_elements = 0;
  bool routed_expert = false;  // *_exps: n_used / n_expert of it is read per token
  bool matrix = true;          // false for norms, router and bias (kept F32)
};
std::vector<PlanTensor> deepseek_tensor_list(const ModelArgs& args);

struct QuantPreset {
  std::string_view name;        // "Q4_K_M", "IQ1_S", ...
  uint64_t published_bytes;     // DEEPSEEK.md's size of the published R1 files (0: not listed)
  std::string_view assumption;  // the per-tensor type rule, in words
};
std::span<const QuantPreset> quant_presets();
const QuantPreset* find_quant_preset(std::string_view name);  // case-insensitive

// The ggml type `preset` gives `t` (llama.cpp's fallback for rows not a multiple of the block).
GgmlType preset_tensor_type(std::string_view preset, const PlanTensor& t, const ModelArgs& args);

struct WeightsFootprint {
  uint64_t weights_bytes = 0;
  uint64_t bytes_per_token = 0;
  int64_t params_total = 0;
  int64_t params_per_token = 0;
  // The routed experts' part of the per-token figures in codebook types (is_codebook_type).
  uint64_t codebook_bytes_per_token = 0;
  int64_t codebook_params_per_token = 0;
  // Routed experts converted at load into a larger layout where the grown weights fit
  // (conversion_bytes_per_block): the bytes the conversion adds, in all and a token, and the
  // codebook figures above that it removes.
  uint64_t conversion_growth = 0;
  uint64_t conversion_growth_per_token = 0;
  uint64_t converted_codebook_bytes_per_token = 0;
  int64_t converted_codebook_params_per_token = 0;
};
// Bytes per block of `type` in the layout the SIMD tables convert it into at load when that
// is larger (IQ1_S: 70, IQ2_XXS: 102, IQ2_XS / IQ2_S: 106, IQ1_M: 110, IQ3_XXS / IQ3_S: 136,
// Q5_0 / IQ4_NL: 34;
// kernels/dispatch.cpp), else 0.
int conversion_bytes_per_block(GgmlType type);
// Adds a routed-expert tensor (`bytes`, `values`; `used` of its `total` experts a token) to
// the per-token codebook and the conversion figures of `f`.
void count_routed_tensor(WeightsFootprint* f, GgmlType type, uint64_t bytes, int64_t values,
                         uint64_t used, uint64_t total);
// IQ1_S, IQ1_M, IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS, IQ3_S: the codebook types, whose decoding is
// compute bound (see "Decode" above).
bool is_codebook_type(GgmlType type);
// Sizes when every tensor of `args` gets its preset type.
WeightsFootprint preset_footprint(std::string_view preset, const ModelArgs& args);

// Latent KV cache bytes per token of context, all layers.
uint64_t kv_bytes_per_token(const ModelArgs& args, KvCacheType type);

struct Hardware {
  uint64_t ram_bytes = 0;
  uint64_t vram_bytes = 0;    // informational (the engine is CPU-only)
  double bandwidth_gbps = 0;  // sustained read, GB/s (1e9)
  int cores = 1;              // physical
  double ghz = 3.0;
  int int8_macs_per_cycle = 64;  // per core
  double codebook_values_per_cycle = 2.0;  // per core, codebook-type weights in decode (0: not modeled)
};

struct PlanOptions {
  int64_t n_ctx = 4096;  // total, shared by the slots
  int n_slots = 1;
  int64_t batch = 512;  // prefill batch (compute buffers)
  KvCacheType cache_type = KvCacheType::kF16;
  double efficiency = 0.8;          // decode: fraction of bandwidth reached
  double compute_efficiency = 0.3;  // prefill: fraction of int8 MAC peak reached
  int64_t os_reserve_bytes = -1;    // -1: max(2 GiB, RAM / 32)
};

struct PlanRow {
  std::string quant;
  uint64_t published_bytes = 0;  // set by the caller for presets (0: a file, or none listed)
  uint64_t weights_bytes = 0;
  uint64_t bytes_per_token = 0;
  int64_t params_per_token = 0;
  uint64_t kv_bytes_per_token = 0;  // of the chosen cache type
  uint64_t kv_bytes = 0;            // chosen type, n_ctx
  uint64_t kv_bytes_f16 = 0;
  uint64_t kv_bytes_q8_0 = 0;
  uint64_t compute_bytes = 0;
  uint64_t os_reserve_bytes = 0;
  uint64_t total_bytes = 0;  // weights + kv + compute (reserve not included)
  bool fits = false;
  int64_t max_context = 0;         // 0: the weights alone do not fit
  uint64_t vram_bytes_needed = 0;  // non-expert weights + KV + compute (GPU offload recipes)
  bool vram_fits = false;
  int64_t codebook_params_per_token =
      0;                           // routed-expert values in codebook types (after conversions)
  double converted_share = 0;   // the share of the routed experts' conversions that fits (0 to 1)
  double decode_tps = 0;        // one sequence at the end of its per-slot context
  double decode_tps_total = 0;  // all slots decoding together
  double prefill_macs_per_token = 0;
  double prefill_tps = 0;
};

uint64_t default_os_reserve(uint64_t ram_bytes);
uint64_t compute_buffer_bytes(const ModelArgs& args, int64_t batch, int64_t ctx_per_slot,
                              int threads);
// Expected distinct experts per MoE layer when `tokens` tokens each pick k of n.
double expected_distinct_experts(int64_t n_expert, int64_t k, int64_t tokens);
double prefill_macs_per_token(const ModelArgs& args, int64_t params_per_token,
                              int64_t ctx_per_slot);

// Non-expert bytes (what a GPU holds in the "experts on CPU" recipes); the rest of
// bytes_per_token is experts.
struct FootprintSplit {
  uint64_t non_expert_bytes = 0;
  uint64_t expert_bytes_per_token = 0;
};

PlanRow plan_row(const std::string& quant, const ModelArgs& args, const WeightsFootprint& weights,
                 const FootprintSplit& split, const Hardware& hw, const PlanOptions& options);
// The split of a preset (non-expert bytes vs routed-expert bytes per token).
FootprintSplit preset_split(std::string_view preset, const ModelArgs& args);

}  // namespace moe
