// Forward::run: DeepSeek's Transformer.forward over a batch of (token, pos, seq) entries.
#include <algorithm>
#include <string>

#include "kernels/ops.h"
#include "model/blocks.h"
#include "model/forward.h"
#include "quant/dequantize.h"

namespace moe {

Forward::Forward(const Model& model, ThreadPool& pool)
    : model_(model), pool_(pool), state_(std::make_unique<ForwardState>(pool.size())) {}

Forward::~Forward() = default;

int Forward::n_experts() const {
  const int64_t used = model_.args().n_activated_experts;
  if (n_experts_ <= 0 || n_experts_ > used) return static_cast<int>(used);
  return n_experts_;
}

int64_t Forward::numa_ffn_regions() const { return state_->numa_ffn_regions; }

Status Forward::validate(std::span<const BatchToken> batch, KvCache& kv) {
  const ModelArgs& a = model_.args();
  if (batch.empty()) return Status::error("empty batch");
  // next[seq]: the position the sequence's next entry must have (-1: not in this batch).
  std::vector<int64_t>& next = state_->next_pos;
  next.assign(static_cast<size_t>(kv.max_seqs()), -1);
  for (size_t i = 0; i < batch.size(); ++i) {
    const BatchToken& b = batch[i];
    const auto at = [i] { return "batch entry " + std::to_string(i) + ": "; };
    if (b.token < 0 || b.token >= a.vocab_size) {
      return Status::error(at() + "token id " + std::to_string(b.token) + " outside the vocabulary (0.." +
                           std::to_string(a.vocab_size - 1) + ")");
    }
    if (b.seq < 0 || b.seq >= kv.max_seqs()) {
      return Status::error(at() + "sequence " + std::to_string(b.seq) + " outside 0.." +
                           std::to_string(kv.max_seqs() - 1));
    }
    int64_t& expect = next[static_cast<size_t>(b.seq)];
    if (expect < 0) expect = kv.length(b.seq);
    if (b.pos != expect) {
      return Status::error(at() + "position " + std::to_string(b.pos) + " of sequence " +
                           std::to_string(b.seq) + " is not its next position " + std::to_string(expect));
    }
    ++expect;
  }
  // Reserve cache blocks for every sequence before anything is written.
  for (int seq = 0; seq < kv.max_seqs(); ++seq) {
    if (next[static_cast<size_t>(seq)] < 0) continue;
    MOE_RETURN_IF_ERROR(kv.reserve(seq, next[static_cast<size_t>(seq)]));
  }
  return Status::ok();
}

Status Forward::run(std::span<const BatchToken> batch, KvCache& kv, Logits& out) {
  MOE_RETURN_IF_ERROR(validate(batch, kv));
  const ModelArgs& a = model_.args();
  const ModelWeights& w = model_.weights();
  ForwardState& s = *state_;
  const int64_t T = static_cast<int64_t>(batch.size());
  const int64_t dim = a.dim;

  // x = token_embd[tokens]; RoPE angles per token.
  float* x = s.x.get(T * dim);
  float* cos_sin = s.cos_sin.get(T * a.qk_rope_head_dim);
  for (int64_t t = 0; t < T; ++t) {
    dequantize_row(w.token_embd.type, w.token_embd.row(batch[t].token), x + t * dim, dim);
    model_.rope().cos_sin(batch[t].pos, cos_sin + t * a.qk_rope_head_dim);
  }

  BlockContext c{model_, pool_, s, batch, n_experts()};
  for (int layer = 0; layer < a.n_layers; ++layer) {
    mla_block(c, layer, kv, x);
    ffn_block(c, layer, x);
  }
  for (const BatchToken& b : batch) kv.set_length(b.seq, std::max<int64_t>(kv.length(b.seq), b.pos + 1));

  // logits = output(norm(x)) for the entries that want them.
  s.logit_rows.clear();
  for (int64_t t = 0; t < T; ++t) {
    if (batch[t].want_logits) s.logit_rows.push_back(static_cast<int32_t>(t));
  }
  const int64_t R = static_cast<int64_t>(s.logit_rows.size());
  out.n_vocab = a.vocab_size;
  out.batch_index = s.logit_rows;
  out.values.resize(static_cast<size_t>(R * a.vocab_size));
  if (R == 0) return Status::ok();
  float* hn = s.hn.get(R * dim);
  for (int64_t r = 0; r < R; ++r) {
    rms_norm(x + s.logit_rows[r] * dim, w.output_norm.f32(), static_cast<float>(a.rms_eps), dim, hn + r * dim);
  }
  matmul_f32(pool_, model_.kernels(), w.output, hn, dim, R, out.values.data(), a.vocab_size, s.act_a);
  return Status::ok();
}

}  // namespace moe
