// The model's weights bound from the GGUF tensor table and validated against ModelArgs.
// Shapes in comments are [input] -> [output] (a row of the tensor holds `input` values).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "base/memory.h"
#include "base/status.h"
#include "gguf/gguf.h"
#include "model/config.h"
#include "model/tensor_view.h"

namespace moe {

struct AttentionWeights {
  TensorView attn_norm;   // [dim] f32
  TensorView wq_a;        // [dim] -> [q_lora]            (q-LoRA models)
  TensorView q_norm;      // [q_lora] f32
  TensorView wq_b;        // [q_lora] -> [heads x (nope + rope)]
  TensorView wq;          // [dim] -> [heads x (nope + rope)] (no q-LoRA, e.g. V2-Lite)
  TensorView wkv_a;       // [dim] -> [kv_lora + rope]
  TensorView kv_norm;     // [kv_lora] f32
  TensorView wk_b;        // per head: [nope] -> [kv_lora]   (W_UK[h] transposed)
  TensorView wv_b;        // per head: [kv_lora] -> [v_head] (W_UV[h])
  TensorView wo;          // [heads x v_head] -> [dim]
};

struct FfnWeights {  // dense FFN or shared experts: down(silu(gate(x)) * up(x))
  TensorView w1;     // gate: [dim] -> [inter]
  TensorView w3;     // up:   [dim] -> [inter]
  TensorView w2;     // down: [inter] -> [dim]
};

struct MoeWeights {
  TensorView gate;       // router: [dim] -> [n_routed] f32
  TensorView gate_bias;  // [n_routed] f32 correction bias (sigmoid models), may be empty
  TensorView w1;         // per expert: [dim] -> [moe_inter]
  TensorView w3;         // per expert: [dim] -> [moe_inter]
  TensorView w2;         // per expert: [moe_inter] -> [dim]
  FfnWeights shared;     // width moe_inter x n_shared; empty when n_shared == 0
};

struct LayerWeights {
  AttentionWeights attn;
  TensorView ffn_norm;  // [dim] f32
  FfnWeights ffn;       // dense layers
  MoeWeights moe;       // MoE layers
};

struct ModelWeights {
  TensorView token_embd;   // vocab rows of [dim]
  TensorView output_norm;  // [dim] f32
  TensorView output;       // [dim] -> [vocab]
  std::vector<LayerWeights> layers;
  std::vector<std::string> ignored_tensors;  // present in the file, unused (e.g. NextN/MTP)
  // Buffers made at load (legacy attn_kv_b converted to split form), owned here.
  std::vector<std::unique_ptr<float[]>> converted;
  // Packed copies of mapped weights (model/pack_weights.h), owned here.
  MemoryRegion packed;
  // The file tensors' bytes (their first byte) that such copies replaced: no view reads
  // them any more, so touching them would only bring the file back into memory.
  std::vector<const uint8_t*> replaced;
};

// Binds every tensor the config requires and checks its shape and type; a mismatch is an
// error naming the tensor, the expected and the found shape/type.
Result<ModelWeights> bind_weights(const GgufModel& file, const ModelArgs& args);

}  // namespace moe
