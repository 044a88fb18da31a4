// The attention step of MLA in absorbed form: each token's heads against the latent rows of
// its sequence in the cache (positions 0..pos), softmax, and the softmax-weighted latent.
#pragma once

#include "model/blocks.h"

namespace moe {

// For every token t and head h of the batch: scores_p = q_abs[t, h] . row_p over positions
// p <= pos_t of its sequence, ctx[t, h] = sum_p softmax(scale * scores)_p row_p[:kv_lora],
// the sum in position order. q_abs is [T, heads, kv_lora + rope], ctx [T, heads, kv_lora].
// A token's numbers do not depend on its batch-mates or on how its prompt was chunked.
void latent_attention(BlockContext& c, const KvCache& kv, int layer, const float* q_abs, float* ctx);

}  // namespace moe
