// Dense MLP (DeepSeek's MLP / the shared experts): w2(silu(w1(x)) * w3(x)).
#include "kernels/ops.h"
#include "model/blocks.h"

namespace moe {

void mlp(BlockContext& c, const FfnWeights& w, const float* h, int64_t tokens, float* out) {
  ForwardState& s = c.state;
  const KernelTable& k = c.model.kernels();
  const int64_t dim = w.w1.cols(), inter = w.w1.rows();
  float* gate = s.gate.get(tokens * inter);
  float* up = s.up.get(tokens * inter);
  s.act_a.quantize(c.pool, k, w.w1.type, h, dim, tokens, dim);
  matmul(c.pool, k, w.w1, s.act_a, gate, inter);
  if (activation_type(w.w3.type) != s.act_a.format()) {
    s.act_a.quantize(c.pool, k, w.w3.type, h, dim, tokens, dim);
  }
  matmul(c.pool, k, w.w3, s.act_a, up, inter);
  for (int64_t t = 0; t < tokens; ++t) silu_mul(gate + t * inter, up + t * inter, inter);
  matmul_f32(c.pool, k, w.w2, gate, inter, tokens, out, dim, s.act_b);
}

}  // namespace moe
