// Multi-head latent attention in absorbed form over the latent cache (DeepSeek's MLA with
// attn_impl="absorb"): per token only c = kv_norm(wkv_a(x)[:kv_lora]) and the roped k_pe
// are cached; queries are moved into the latent space with W_UK and the attention-weighted
// latent is moved out with W_UV. The same form serves prefill and decode, so a token's
// numbers never depend on how its prompt was chunked.
#include <cstring>

#include "kernels/ops.h"
#include "model/blocks.h"
#include "model/latent_attention.h"

namespace moe {
namespace {

// Per head h: out[t, h, :] = W[h] · in[t, h, :] for every token, W[h] = w.matrix(h).
// One parallel region over heads; each thread quantizes its heads' rows itself.
void per_head_matmul(BlockContext& c, const TensorView& w, const float* in, int64_t in_head_stride,
                     int64_t in_token_stride, float* out, int64_t out_head_stride,
                     int64_t out_token_stride) {
  const int64_t heads = w.ne[2];
  const int64_t tokens = static_cast<int64_t>(c.batch.size());
  const KernelTable& k = c.model.kernels();
  const WeightKernels& wk = k.for_type(w.type);
  c.pool.parallel_for(heads, [&](int64_t h0, int64_t h1, int ith) {
    ThreadScratch& ts = c.state.per_thread[static_cast<size_t>(ith)];
    for (int64_t h = h0; h < h1; ++h) {
      const size_t rb = activation_row_bytes(w.type, w.cols());
      auto* act = reinterpret_cast<uint8_t*>(ts.a.get(rb * static_cast<size_t>(tokens) / sizeof(float) + 1));
      for (int64_t t = 0; t < tokens; ++t) {
        quantize_activation(k, w.type, in + t * in_token_stride + h * in_head_stride,
                            act + static_cast<size_t>(t) * rb, w.cols());
      }
      const TensorView m = w.matrix(h);
      wk.gemm(m.cols(), m.data, m.row_stride, m.rows(), act, rb, tokens, out + h * out_head_stride,
              out_token_stride);
    }
  });
}

}  // namespace

void mla_block(BlockContext& c, int layer, KvCache& kv, float* x) {
  const ModelArgs& a = c.model.args();
  const AttentionWeights& w = c.model.weights().layers[static_cast<size_t>(layer)].attn;
  ForwardState& s = c.state;
  ThreadPool& pool = c.pool;
  const KernelTable& k = c.model.kernels();
  const int64_t T = static_cast<int64_t>(c.batch.size());
  const int64_t dim = a.dim, H = a.n_heads, nope = a.qk_nope_head_dim, rope = a.qk_rope_head_dim;
  const int64_t qk = nope + rope, lora = a.kv_lora_rank, vdim = a.v_head_dim;
  const int64_t kv_width = lora + rope;
  const float eps = static_cast<float>(a.rms_eps);

  // attn_norm
  float* hn = s.hn.get(T * dim);
  for (int64_t t = 0; t < T; ++t) rms_norm(x + t * dim, w.attn_norm.f32(), eps, dim, hn + t * dim);

  // q = wq_b(q_norm(wq_a(h))) or wq(h): [T, H, nope + rope]
  float* q = s.q.get(T * H * qk);
  if (!w.wq_a.empty()) {
    float* ql = s.q_lora.get(T * a.q_lora_rank);
    matmul_f32(pool, k, w.wq_a, hn, dim, T, ql, a.q_lora_rank, s.act_a);
    for (int64_t t = 0; t < T; ++t) {
      float* r = ql + t * a.q_lora_rank;
      rms_norm(r, w.q_norm.f32(), eps, a.q_lora_rank, r);
    }
    matmul_f32(pool, k, w.wq_b, ql, a.q_lora_rank, T, q, H * qk, s.act_a);
  } else {
    matmul_f32(pool, k, w.wq, hn, dim, T, q, H * qk, s.act_a);
  }

  // c, k_pe = split(wkv_a(h)); c = kv_norm(c); k_pe = rope(k_pe); q_pe = rope(q_pe)
  float* kva = s.kv_a.get(T * kv_width);
  matmul_f32(pool, k, w.wkv_a, hn, dim, T, kva, kv_width, s.act_a);
  const float* cos_sin = s.cos_sin.get(0);
  for (int64_t t = 0; t < T; ++t) {
    float* row = kva + t * kv_width;
    rms_norm(row, w.kv_norm.f32(), eps, lora, row);
    rope_interleaved(row + lora, cos_sin + t * rope, rope);
    for (int64_t h = 0; h < H; ++h) rope_interleaved(q + (t * H + h) * qk + nope, cos_sin + t * rope, rope);
    const BatchToken& b = c.batch[static_cast<size_t>(t)];
    kv.store(layer, b.seq, b.pos, row);
  }

  // q_abs[h] = [W_UK[h]^T · q_nope[h], q_pe[h]]: [T, H, kv_lora + rope], the query of a
  // latent row [c, k_pe], so each score is one dot product over the whole row.
  float* q_abs = s.q_abs.get(T * H * kv_width);
  per_head_matmul(c, w.wk_b, q, qk, H * qk, q_abs, kv_width, H * kv_width);
  for (int64_t i = 0; i < T * H; ++i) std::memcpy(q_abs + i * kv_width + lora, q + i * qk + nope, rope * sizeof(float));

  // ctx[t, h] = sum_p softmax(q_abs[t, h] . row_p)_p c_p over the cached rows of t's sequence
  float* ctx = s.ctx.get(T * H * lora);
  latent_attention(c, kv, layer, q_abs, ctx);

  // o[h] = W_UV[h] · ctx[h]: [T, H, v_head]; x += wo(o)
  float* o = s.o.get(T * H * vdim);
  per_head_matmul(c, w.wv_b, ctx, lora, H * lora, o, vdim, H * vdim);
  float* out = s.out.get(T * dim);
  matmul_f32(pool, k, w.wo, o, H * vdim, T, out, dim, s.act_a);
  for (int64_t t = 0; t < T; ++t) k.axpy(1.0f, out + t * dim, x + t * dim, dim);
}

}  // namespace moe
