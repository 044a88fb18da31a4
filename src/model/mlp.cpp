// Dense MLP (DeepSeek's MLP): w2(silu(w1(x)) * w3(x)), as one FFN job over all tokens.
#include <numeric>

#include "model/blocks.h"
#include "model/ffn_jobs.h"

namespace moe {

void mlp(BlockContext& c, const FfnWeights& w, const float* h, int64_t tokens, float* out) {
  ForwardState& s = c.state;
  s.row_tokens.resize(static_cast<size_t>(tokens));
  std::iota(s.row_tokens.begin(), s.row_tokens.end(), 0);
  s.jobs.assign(1, FfnJob{w.w1, w.w3, w.w2, 0, tokens});
  run_ffn_jobs(c, s.jobs, h, s.row_tokens.data(), tokens, out);
}

}  // namespace moe
