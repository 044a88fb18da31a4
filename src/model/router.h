// DeepSeek's Gate.forward for one token: expert selection and routing weights.
#pragma once

#include <cstdint>

#include "model/config.h"

namespace moe {

// From the router logits of one token [n_routed] and the optional correction bias, picks
// `k` experts (ids, in descending selection score) and their weights:
//   s = sigmoid(logits) (or softmax); selection = s + bias; with groups, keep the top
//   `n_limited_groups` groups by (sum of top-2 selection scores, or max when there is no
//   bias) and mask the rest; top-k on selection; weight = s of the picked (normalized to sum
//   1 when norm_topk_prob), times route_scale.
// `scratch` holds at least 2 x n_routed + n_expert_groups floats.
void route_token(const ModelArgs& a, const float* logits, const float* bias, int k,
                 int32_t* ids, float* weights, float* scratch);

}  // namespace moe
