// Synthetic DeepSeek GGUF files: real shapes, random weights, the real tokenizer copied
// from a fixture, so speed can be measured on true shapes without downloading 400 GB.
//
// Files are written tensor by tensor through GgufWriter's streaming callback: each 4 MiB
// chunk is generated and quantized row by row when the writer asks for it (rows spread over
// the thread pool), so memory stays at a few MB whatever the tensor size. Every row has its
// own RNG stream derived from (seed, tensor, row): the bytes depend only on the seed, never
// on chunking or thread count.
//
// Weight types follow the per-tensor mix llama.cpp's quantizer produces for deepseek2
// (llama-quant.cpp, llama_tensor_get_type): for Q4_K_M, Q4_K everywhere except `output`
// (Q6_K) and the ffn_down* tensors of layers where use_more_bits(layer, n_layers) holds
// (Q6_K); a row length that is not a multiple of 256 falls back Q4_K -> Q5_0, Q6_K -> Q8_0
// (e.g. attn_k_b, rows of 128). `attn_v_b` is not `attn_v`, so it stays Q4_K. Norms, the
// router (ffn_gate_inp) and the correction bias stay F32, as llama.cpp leaves them.
// Q5_K_M is Q4_K_M's mix with Q5_K for Q4_K (falling back to Q5_1). Q3_K_M is llama.cpp's mix:
// Q3_K, attn_output Q4_K, ffn_down* Q4_K (Q5_K in the first n_layers / 16 layers), output Q6_K;
// Q5_K falls back to Q5_1. Q2_K is simpler than llama.cpp's Q2_K mix (which puts attn_output and
// ffn_down* in Q3_K): every matrix Q2_K except `output` (Q6_K); it measures the Q2_K kernels, not a
// published file's exact size. Q2_K and Q3_K fall back to IQ4_NL, as llama.cpp does. IQ1_S, IQ1_M
// and IQ2_XXS are the dynamic 1-2 bit mixes of the published R1 files, by the planner's rules
// (model/planner.cpp, preset_tensor_type): routed experts in the IQ types, the rest Q4_K /
// Q6_K. IQ4_XS, like Q2_K, is every matrix IQ4_XS except `output` (Q6_K), rows not a
// multiple of 256 in IQ4_NL: simpler than llama.cpp's IQ4_XS mix; IQ3_XXS, IQ3_S, IQ2_XS and IQ2_S
// likewise.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "base/thread_pool.h"
#include "gguf/gguf.h"
#include "model/config.h"

namespace moe {

// The `--type` of a synthetic file: one ggml type for every matrix, or a llama.cpp mix.
enum class SynthMix {
  kF32,
  kBF16,
  kQ8_0,
  kQ6_K,
  kQ4_0,
  kQ5_0,
  kQ5_K_M,
  kQ4_K_M,
  kQ3_K_M,
  kQ2_K,
  kIQ4_XS,
  kIQ3_XXS,
  kIQ3_S,
  kIQ2_XS,
  kIQ2_S,
  kIQ2_XXS,
  kIQ1_M,
  kIQ1_S
};

Result<SynthMix> parse_synth_mix(std::string_view name);  // "Q8_0", "q4_k_m", "bf16", ...
std::string_view synth_mix_name(SynthMix mix);
uint32_t synth_file_type(SynthMix mix);  // llama_ftype for general.file_type

// Presets: "tiny", "r1-bench", "v2-lite", "r1-slice" (see synth_preset_table in synth.cpp).
std::vector<std::string> synth_preset_names();
std::string synth_preset_description(std::string_view name);  // one line; empty if unknown
// The preset's ModelArgs; vocab_size is that of the r1-mini fixture (4113) until a
// vocabulary is attached.
Result<ModelArgs> synth_preset(std::string_view name);
// "D+M": D dense layers followed by M MoE layers (e.g. "1+1").
Status set_synth_layers(std::string_view spec, ModelArgs* args);

// One tensor of the plan, in file order.
struct SynthTensor {
  std::string name;
  GgmlType type = GgmlType::F32;
  std::vector<int64_t> ne;  // ggml order
  float stddev = 0.0f;      // random N(0, stddev) values (approximately normal)
  float constant = 0.0f;    // used when stddev == 0 (norm weights: 1)
  uint64_t n_bytes() const;
};

// Ggml type of one weight matrix under `mix` (llama.cpp's rules, fallback included).
GgmlType synth_tensor_type(SynthMix mix, std::string_view name, int64_t row_length, int64_t layer,
                           const ModelArgs& args);
// Every tensor the model needs (split MLA layout), with the types of `mix`.
std::vector<SynthTensor> synth_tensor_plan(const ModelArgs& args, SynthMix mix);

struct SynthOptions {
  ModelArgs args;           // vocab_size is replaced by the vocabulary's token count
  SynthMix mix = SynthMix::kQ8_0;
  uint64_t seed = 42;
  std::string name;         // general.name
};

// Writes the file. `vocab` provides every `tokenizer.*` key (copied as is); it must hold
// tokenizer.ggml.tokens. Returns the number of bytes written.
Result<uint64_t> write_synth_gguf(const SynthOptions& options, const GgufMetadata& vocab, ThreadPool& pool,
                                  const std::string& path);

// Fills `out[0, n)` with the values of row `row` of plan tensor `tensor_index` (what the
// file holds before quantization): for tests and for tools that need the float weights.
void synth_row_values(const SynthTensor& t, uint64_t seed, uint64_t tensor_index, int64_t row, float* out);

}  // namespace moe
