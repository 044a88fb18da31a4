// Multi-head latent attention in absorbed form over the latent cache (DeepSeek's MLA with
// attn_impl="absorb"): per token only c = kv_norm(wkv_a(x)[:kv_lora]) and the roped k_pe
// are cached; queries are moved into the latent space with W_UK and the attention-weighted
// latent is moved out with W_UV. The same form serves prefill and decode, so a token's
// numbers never depend on how its prompt was chunked.
#include <algorithm>
#include <cstring>

#include "base/half.h"
#include "kernels/ops.h"
#include "kernels/packed.h"
#include "model/blocks.h"

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

// Scores of heads [0, nh) of one token (queries `qa`, nh rows of kv width) against positions
// [0, n) of `seq` in a q8_0 cache, read in place: the cache's 16-row groups are Q8_0_R16
// weights, the queries quantized to its activation blocks (Q8_0_S), positions as rows.
// Whole groups are computed (a last, partly written group gives scores past n that nobody
// reads), so `scores` is [nh, round_up(n, 16)].
void q8_0_scores(const KernelTable& k, const KvCache& kv, int layer, int seq, int64_t n, const float* qa, int64_t nh,
                 ThreadScratch& ts, float* scores, int64_t scores_stride) {
  const int64_t width = kv.width();
  const size_t arb = activation_row_bytes(GgmlType::Q8_0_R16, width);
  uint8_t* act = ts.act8.get(arb * static_cast<size_t>(nh));
  for (int64_t h = 0; h < nh; ++h) quantize_activation(k, GgmlType::Q8_0_R16, qa + h * width, act + h * arb, width);
  const GemmFn gemm = k.for_type(GgmlType::Q8_0_R16).gemm;
  for (int64_t p = 0; p < n;) {
    const int64_t run = std::min(n - p, kv.contiguous_rows(p));
    const int64_t rows = (run + kPackRows - 1) / kPackRows * kPackRows;
    gemm(width, kv.q8_0_group(layer, seq, p), kv.row_bytes(), rows, act, arb, nh, scores + p, scores_stride);
    p += run;
  }
}

// Scores, softmax and softmax-weighted latent for heads [0, nh) of one token whose queries
// are `qa` (nh rows of kv_width), over positions [0, n) of `seq` read in place from a bf16
// cache, one contiguous run of rows at a time: ctx_h = sum_p softmax(q_h . row_p)_p row_p[:lora].
void attend_bf16(const KernelTable& k, const KvCache& kv, int layer, int seq, int64_t n, const float* qa,
                 int64_t nh, float scale, ThreadScratch& ts, float* ctx, int64_t lora) {
  const int64_t width = kv.width();
  const auto row_stride = static_cast<int64_t>(kv.row_bytes() / sizeof(uint16_t));
  auto* qb = reinterpret_cast<uint16_t*>(ts.bf16.get(static_cast<size_t>(nh * (width + n)) * sizeof(uint16_t)));
  uint16_t* sb = qb + nh * width;  // [nh, n] softmax weights
  for (int64_t i = 0; i < nh * width; ++i) qb[i] = f32_to_bf16(qa[i]);
  float* scores = ts.b.get(static_cast<size_t>(nh * n));  // [nh, n]
  for (int64_t p = 0; p < n;) {
    const int64_t run = std::min(n - p, kv.contiguous_rows(p));
    const auto* rows = kv.bf16_rows(layer, seq, p);
    k.bf16_scores(width, rows, row_stride, run, qb, width, nh, scores + p, n);
    p += run;
  }
  for (int64_t h = 0; h < nh; ++h) k.softmax(scores + h * n, n, scale);
  for (int64_t i = 0; i < nh * n; ++i) sb[i] = f32_to_bf16(scores[i]);
  // Runs are whole cache blocks (an even count) but the last: the pairs of rows are the
  // same as in one call over all n.
  for (int64_t p = 0; p < n;) {
    const int64_t run = std::min(n - p, kv.contiguous_rows(p));
    const auto* rows = kv.bf16_rows(layer, seq, p);
    k.bf16_weighted_rows(sb + p, n, nh, run, rows, row_stride, ctx, lora, lora, p > 0);
    p += run;
  }
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

  // A bf16 cache on a CPU with the bf16 kernels is read in place; otherwise the latent rows
  // of every sequence in the batch, up to its last position here, as f32 (read back from
  // the cache, so a token sees exactly what later tokens will see).
  const bool bf16_in_place = kv.type() == KvCacheType::kBF16 && k.bf16_scores != nullptr;
  int64_t n_seq = 0;
  for (const BatchToken& b : c.batch) n_seq = std::max<int64_t>(n_seq, b.seq + 1);
  if (static_cast<int64_t>(s.latent.size()) < n_seq) s.latent.resize(static_cast<size_t>(n_seq));
  std::vector<int64_t>& seq_len = s.seq_len;
  seq_len.assign(static_cast<size_t>(n_seq), 0);
  for (const BatchToken& b : c.batch) seq_len[b.seq] = std::max<int64_t>(seq_len[b.seq], b.pos + 1);
  for (int64_t sq = 0; sq < n_seq; ++sq) {
    if (seq_len[sq] == 0 || bf16_in_place) continue;
    float* lat = s.latent[sq].get(seq_len[sq] * kv_width);
    pool.parallel_for(seq_len[sq], [&](int64_t p0, int64_t p1, int) {
      for (int64_t p = p0; p < p1; ++p) kv.load(layer, static_cast<int>(sq), p, lat + p * kv_width, k.f16_to_f32);
    });
  }

  // Per (token, head): scores over positions 0..pos, softmax, ctx = sum_p s_p c_p. A thread
  // takes a contiguous range of (token, head) pairs; its heads' scores are one gemm over
  // the token's cached rows (positions as rows, heads as tokens: each row is read once for
  // all the heads, in register tiles): f32 over the latent for an f16 cache, the packed
  // int8 gemm over the cache itself for q8_0, and for bf16 (with AVX512-BF16) bf16 dot
  // products over the cache itself, weighted sums too. Each score is one fixed-order kernel
  // dot product (batch invariance).
  const bool int8_scores = kv.type() == KvCacheType::kQ8_0;
  float* ctx = s.ctx.get(T * H * lora);
  const float scale = c.model.rope().softmax_scale();
  const GemmFn gemm_f32 = k.for_type(GgmlType::F32).gemm;
  const size_t lat_row_bytes = static_cast<size_t>(kv_width) * sizeof(float);
  pool.parallel_for(T * H, [&](int64_t i0, int64_t i1, int ith) {
    ThreadScratch& ts = s.per_thread[static_cast<size_t>(ith)];
    for (int64_t i = i0; i < i1;) {
      const int64_t t = i / H, h0 = i % H, h1 = std::min<int64_t>(H, h0 + (i1 - i));
      const int64_t nh = h1 - h0;
      const BatchToken& b = c.batch[static_cast<size_t>(t)];
      const int64_t n = b.pos + 1;
      const float* qa = q_abs + (t * H + h0) * kv_width;
      if (bf16_in_place) {
        attend_bf16(k, kv, layer, b.seq, n, qa, nh, scale, ts, ctx + (t * H + h0) * lora, lora);
        i += nh;
        continue;
      }
      const float* lat = s.latent[b.seq].get(0);
      const int64_t stride = int8_scores ? (n + kPackRows - 1) / kPackRows * kPackRows : n;
      float* scores = ts.b.get(static_cast<size_t>(nh * stride));  // [nh, stride]
      if (int8_scores) {
        q8_0_scores(k, kv, layer, b.seq, n, qa, nh, ts, scores, stride);
      } else {
        gemm_f32(kv_width, lat, lat_row_bytes, n, qa, kv_width * sizeof(float), nh, scores, n);
      }
      for (int64_t h = 0; h < nh; ++h) k.softmax(scores + h * stride, n, scale);
      // ctx_h = sum_p s_h[p] c_p, in position order for every element (batch invariance)
      k.weighted_rows(scores, stride, nh, n, lat, kv_width, ctx + (t * H + h0) * lora, lora, lora);
      i += nh;
    }
  });

  // o[h] = W_UV[h] · ctx[h]: [T, H, v_head]; x += wo(o)
  float* o = s.o.get(T * H * vdim);
  per_head_matmul(c, w.wv_b, ctx, lora, H * lora, o, vdim, H * vdim);
  float* out = s.out.get(T * dim);
  matmul_f32(pool, k, w.wo, o, H * vdim, T, out, dim, s.act_a);
  for (int64_t t = 0; t < T; ++t) k.axpy(1.0f, out + t * dim, x + t * dim, dim);
}

}  // namespace moe
