// The transformer's blocks, one function each, reading like DeepSeek's model.py:
// MLA attention (mla.cpp), the dense MLP (mlp.cpp) and the MoE (moe.cpp). Each adds its
// output to the residual stream x [T, dim].
#pragma once

#include <span>

#include "base/thread_pool.h"
#include "model/forward.h"
#include "model/forward_state.h"
#include "model/kv_cache.h"
#include "model/model.h"

namespace moe {

struct BlockContext {
  const Model& model;
  ThreadPool& pool;
  ForwardState& state;
  std::span<const BatchToken> batch;
  int n_experts;  // routed experts per token for this pass
};

// x += attn_output(MLA(rmsnorm(x) * attn_norm)); appends the batch's latent rows to kv.
void mla_block(BlockContext& c, int layer, KvCache& kv, float* x);
// x += ffn(rmsnorm(x) * ffn_norm) for a dense layer, or the MoE for an MoE layer.
void ffn_block(BlockContext& c, int layer, float* x);

// down(silu(gate(h)) * up(h)) for T rows of h [T, dim] into out [T, dim].
void mlp(BlockContext& c, const FfnWeights& w, const float* h, int64_t tokens, float* out);

}  // namespace moe
