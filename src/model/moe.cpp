// The feed-forward half of a layer: DeepSeek's MLP for the leading dense layers, and its
// MoE (Gate + routed experts + shared experts) for the rest. Tokens of the whole batch are
// grouped by expert so each expert's weights are streamed once per batch; each token's
// expert outputs are summed in its own routing order, so batch-mates never change a result.
// With --numa experts each expert's job carries its node, and runs on that node's threads.
#include <algorithm>
#include <cstring>
#include <span>

#include "kernels/ops.h"
#include "model/blocks.h"
#include "model/ffn_jobs.h"
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

// expert_node[e]: the NUMA node holding expert e (--numa experts), empty when not placed.
void moe(BlockContext& c, const MoeWeights& w, std::span<const int> expert_node, const float* h, int64_t T,
         float* out) {
  const ModelArgs& a = c.model.args();
  ForwardState& s = c.state;
  const int k = c.n_experts;
  const int64_t dim = a.dim;
  route_batch(c, w, h, T, k);

  // One FFN job per active expert over its tokens (gathered rows [0, T*k) in expert order),
  // then the shared experts over every token (rows [T*k, T*k + T)).
  const int64_t routed_rows = T * k;
  const bool has_shared = !w.shared.w1.empty();
  const int64_t n_rows = routed_rows + (has_shared ? T : 0);
  s.row_tokens.assign(s.expert_tokens.begin(), s.expert_tokens.end());
  s.jobs.clear();
  for (int64_t e = 0; e < a.n_routed_experts; ++e) {
    const int32_t begin = s.expert_offsets[e], end = s.expert_offsets[e + 1];
    if (begin == end) continue;
    const int node = expert_node.empty() ? -1 : expert_node[static_cast<size_t>(e)];
    s.jobs.push_back({w.w1.matrix(e), w.w3.matrix(e), w.w2.matrix(e), begin, end - begin, node});
  }
  if (has_shared) {
    for (int64_t t = 0; t < T; ++t) s.row_tokens.push_back(static_cast<int32_t>(t));
    s.jobs.push_back({w.shared.w1, w.shared.w3, w.shared.w2, routed_rows, T});
  }
  float* rows_out = s.expert_out.get(n_rows * dim);
  run_ffn_jobs(c, s.jobs, h, s.row_tokens.data(), n_rows, rows_out);

  // y = sum_j weight_j * expert_j(h) in routing order; + shared_experts(h).
  s.slot_row.resize(static_cast<size_t>(routed_rows));
  for (int64_t i = 0; i < routed_rows; ++i) s.slot_row[s.expert_slots[i]] = static_cast<int32_t>(i);
  for (int64_t t = 0; t < T; ++t) {
    float* y = out + t * dim;
    std::fill(y, y + dim, 0.0f);
    for (int j = 0; j < k; ++j) {
      const int64_t slot = t * k + j;
      c.model.kernels().axpy(s.expert_weights[static_cast<size_t>(slot)], rows_out + s.slot_row[slot] * dim, y, dim);
    }
    if (has_shared) c.model.kernels().axpy(1.0f, rows_out + (routed_rows + t) * dim, y, dim);
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
    moe(c, lw.moe, c.model.expert_nodes(layer), hn, T, out);
  } else {
    mlp(c, lw.ffn, hn, T, out);
  }
  for (int64_t t = 0; t < T; ++t) c.model.kernels().axpy(1.0f, out + t * dim, x + t * dim, dim);
}

}  // namespace moe
