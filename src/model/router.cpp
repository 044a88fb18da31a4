#include "model/router.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace moe {
namespace {

// Index of the largest value not yet taken (ties: the lower index, as torch.topk does on CPU
// in practice for distinct values; exact ties are measure-zero with real weights).
int64_t argmax_excluding(const float* v, int64_t n, const bool* taken) {
  int64_t best = -1;
  for (int64_t i = 0; i < n; ++i) {
    if (taken[i]) continue;
    if (best < 0 || v[i] > v[best]) best = i;
  }
  return best;
}

}  // namespace

void route_token(const ModelArgs& a, const float* logits, const float* bias, int k, int32_t* ids,
                 float* weights, float* scratch) {
  const int64_t n = a.n_routed_experts;
  float* scores = scratch;          // s
  float* select = scratch + n;      // s + bias, masked by group
  float* group_scores = scratch + 2 * n;
  if (a.score_func == ScoreFunc::kSigmoid) {
    for (int64_t i = 0; i < n; ++i) scores[i] = 1.0f / (1.0f + std::exp(-logits[i]));
  } else {
    const float mx = *std::max_element(logits, logits + n);
    double sum = 0.0;
    for (int64_t i = 0; i < n; ++i) sum += std::exp(static_cast<double>(logits[i]) - mx);
    for (int64_t i = 0; i < n; ++i) {
      scores[i] = static_cast<float>(std::exp(static_cast<double>(logits[i]) - mx) / sum);
    }
  }
  for (int64_t i = 0; i < n; ++i) select[i] = scores[i] + (bias != nullptr ? bias[i] : 0.0f);

  const int64_t groups = a.n_expert_groups;
  if (groups > 1) {
    const int64_t per_group = n / groups;
    for (int64_t g = 0; g < groups; ++g) {
      const float* s = select + g * per_group;
      float top1 = -std::numeric_limits<float>::infinity(), top2 = top1;
      for (int64_t i = 0; i < per_group; ++i) {
        if (s[i] > top1) {
          top2 = top1;
          top1 = s[i];
        } else if (s[i] > top2) {
          top2 = s[i];
        }
      }
      group_scores[g] = bias != nullptr ? top1 + top2 : top1;
    }
    bool keep[256] = {};
    bool taken[256] = {};
    for (int64_t j = 0; j < a.n_limited_groups; ++j) {
      const int64_t g = argmax_excluding(group_scores, groups, taken);
      taken[g] = true;
      keep[g] = true;
    }
    for (int64_t g = 0; g < groups; ++g) {
      if (keep[g]) continue;
      for (int64_t i = 0; i < per_group; ++i) select[g * per_group + i] = -std::numeric_limits<float>::infinity();
    }
  }

  // Top-k by selection score; `taken` marks picked experts.
  bool taken_expert[1024] = {};
  double sum = 0.0;
  for (int j = 0; j < k; ++j) {
    const int64_t e = argmax_excluding(select, n, taken_expert);
    taken_expert[e] = true;
    ids[j] = static_cast<int32_t>(e);
    weights[j] = scores[e];
    sum += scores[e];
  }
  const double norm = a.norm_topk_prob && sum > 0.0 ? 1.0 / sum : 1.0;
  for (int j = 0; j < k; ++j) {
    weights[j] = static_cast<float>(weights[j] * norm * a.route_scale);
  }
}

}  // namespace moe
