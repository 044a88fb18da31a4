// The feed-forward half of a layer: DeepSeek's MLP for the leading dense layers, and its
// MoE (Gate + routed experts + shared experts) for the rest. Tokens of the whole batch are
// grouped by expert so each expert's weights are streamed once per batch; each token's
// expert outputs are summed in its own routing order, so batch-mates never change a result.
#include <algorithm>
#include <cstring>

#include "kernels/ops.h"
#include "model/blocks.h"
#include "model/router.h"

namespace moe {
namespace {

// Expert selection for every token, then token lists per expert (ascending token order).
void route_batch(BlockContext& c, const MoeWeights& w, const float* h, int64_t T, int k) {
  const ModelArgs& a = c.model.args();
  ForwardState& s = c.state;
  const int64_t n = a.n_routed_experts;
  float* logits = s.router.get(T * n);
  matmul_f32(c.pool, c.model.kernels(), w.gate, h, a.dim, T, logits, n, s.act_b);
  s.expert_ids.resize(static_cast<size_t>(T * k));
  s.expert_weights.resize(static_cast<size_t>(T * k));
  float* scratch = s.per_thread[0].b.get(static_cast<size_t>(2 * n + a.n_expert_groups));
  const float* bias = w.gate_bias.empty() ? nullptr : w.gate_bias.f32();
  for (int64_t t = 0; t < T; ++t) {
    route_token(a, logits + t * n, bias, k, s.expert_ids.data() + t * k,
                s.expert_weights.data() + t * k, scratch);
  }
  s.expert_offsets.assign(static_cast<size_t>(n + 1), 0);
  for (int32_t e : s.expert_ids) ++s.expert_offsets[static_cast<size_t>(e) + 1];
  for (int64_t e = 0; e < n; ++e) s.expert_offsets[e + 1] += s.expert_offsets[e];
  s.expert_tokens.resize(static_cast<size_t>(T * k));
  s.expert_slots.resize(static_cast<size_t>(T * k));
  std::vector<int32_t>& fill = s.expert_fill;
  fill.assign(s.expert_offsets.begin(), s.expert_offsets.end() - 1);
  for (int64_t t = 0; t < T; ++t) {
    for (int j = 0; j < k; ++j) {
      const int32_t e = s.expert_ids[static_cast<size_t>(t * k + j)];
      const int32_t at = fill[e]++;
      s.expert_tokens[at] = static_cast<int32_t>(t);
      s.expert_slots[at] = static_cast<int32_t>(t * k + j);
    }
  }
}

void moe(BlockContext& c, const MoeWeights& w, const float* h, int64_t T, float* out) {
  const ModelArgs& a = c.model.args();
  ForwardState& s = c.state;
  const KernelTable& kt = c.model.kernels();
  const int k = c.n_experts;
  const int64_t dim = a.dim, inter = a.moe_inter_dim;
  route_batch(c, w, h, T, k);

  // h quantized once for the gate/up experts' format, gathered per expert.
  s.act_a.quantize(c.pool, kt, w.w1.type, h, dim, T, dim);
  const bool up_same_format = activation_type(w.w3.type) == s.act_a.format();
  float* expert_out = s.expert_out.get(T * k * dim);
  for (int64_t e = 0; e < a.n_routed_experts; ++e) {
    const int32_t begin = s.expert_offsets[e], end = s.expert_offsets[e + 1];
    const int64_t n = end - begin;
    if (n == 0) continue;
    const int32_t* tokens = s.expert_tokens.data() + begin;
    float* gate = s.gate.get(n * inter);
    float* up = s.up.get(n * inter);
    float* down = s.down.get(n * dim);
    s.act_gathered.gather(s.act_a, tokens, n);
    matmul(c.pool, kt, w.w1.matrix(e), s.act_gathered, gate, inter);
    if (!up_same_format) {
      float* hg = s.hn_gathered.get(n * dim);
      for (int64_t i = 0; i < n; ++i) std::memcpy(hg + i * dim, h + tokens[i] * dim, dim * sizeof(float));
      s.act_gathered.quantize(c.pool, kt, w.w3.type, hg, dim, n, dim);
    }
    matmul(c.pool, kt, w.w3.matrix(e), s.act_gathered, up, inter);
    for (int64_t i = 0; i < n; ++i) silu_mul(gate + i * inter, up + i * inter, inter);
    matmul_f32(c.pool, kt, w.w2.matrix(e), gate, inter, n, down, dim, s.act_b);
    for (int64_t i = 0; i < n; ++i) {
      std::memcpy(expert_out + static_cast<int64_t>(s.expert_slots[begin + i]) * dim, down + i * dim,
                  dim * sizeof(float));
    }
  }

  // y = sum_j weight_j * expert_j(h) in routing order; + shared_experts(h).
  for (int64_t t = 0; t < T; ++t) {
    float* y = out + t * dim;
    std::fill(y, y + dim, 0.0f);
    for (int j = 0; j < k; ++j) {
      axpy(s.expert_weights[static_cast<size_t>(t * k + j)], expert_out + (t * k + j) * dim, y, dim);
    }
  }
  if (!w.shared.w1.empty()) {
    float* shared = s.shared.get(T * dim);
    mlp(c, w.shared, h, T, shared);
    for (int64_t t = 0; t < T; ++t) axpy(1.0f, shared + t * dim, out + t * dim, dim);
  }
}

}  // namespace

void ffn_block(BlockContext& c, int layer, float* x) {
  const ModelArgs& a = c.model.args();
  const LayerWeights& lw = c.model.weights().layers[static_cast<size_t>(layer)];
  ForwardState& s = c.state;
  const int64_t T = static_cast<int64_t>(c.batch.size());
  const int64_t dim = a.dim;
  float* hn = s.hn.get(T * dim);
  for (int64_t t = 0; t < T; ++t) {
    rms_norm(x + t * dim, lw.ffn_norm.f32(), static_cast<float>(a.rms_eps), dim, hn + t * dim);
  }
  float* out = s.out.get(T * dim);
  if (a.is_moe_layer(layer)) {
    moe(c, lw.moe, hn, T, out);
  } else {
    mlp(c, lw.ffn, hn, T, out);
  }
  for (int64_t t = 0; t < T; ++t) axpy(1.0f, out + t * dim, x + t * dim, dim);
}

}  // namespace moe
