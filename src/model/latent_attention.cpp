// Attention over the latent cache. Every score is one fixed-order kernel dot product of a
// head's absorbed query with a cached row, and every weighted sum one chain in position order
// (the kernels' definitions), so which of the paths below serves a token, how the work is
// split and which rows it shares a call with never change its numbers:
// - tokens of a sequence with several tokens in the batch (a prompt chunk): the sequence's
//   rows are converted to f32 once and shared; consecutive tokens form groups that go over
//   the rows together, block by block, so a block read from memory serves the whole group
//   from L2, and a thread takes a (group, range of heads). A bf16 cache on a CPU with
//   AVX512-BF16 is read in place instead, with bf16 products;
// - one token of a sequence (decode): each block of rows is converted where it is used, by
//   the thread using it, so it stays in L2; the scores are split by blocks of positions and
//   the weighted sums by runs of columns (times groups of heads when the threads outnumber
//   the pieces), so each row is read about twice per layer in all rather than twice per
//   thread, and one decode stream still uses every thread. A bf16 cache read in place takes
//   this split too (one token's group of tokens would be split only by heads: with R1's 128
//   heads on 64 threads, every thread would read the whole cache for its 2 heads).
// A q8_0 cache's scores are the packed int8 gemm over the cache in place.
#include "model/latent_attention.h"

#include <algorithm>
#include <span>

#include "base/half.h"
#include "kernels/packed.h"

namespace moe {
namespace {

// Positions per block of rows converted to f32 at a time: 128 rows of DeepSeek's 576 values
// are 288 KiB, which stay in L2 between the conversion and the kernel.
constexpr int64_t kLatentBlockRows = 128;
// Latent columns per piece of the decode tokens' weighted sums (two q8_0 blocks).
constexpr int64_t kCtxColumns = 64;
// A prompt chunk's tokens go over the rows in groups of about this many (token, head)
// queries: each block of rows then does ~128 x 1088 multiply-adds per 2.3 KB read, enough to
// be compute bound (DeepSeek's 128 heads reach it with one token, V2-Lite's 16 with 8) ...
constexpr int64_t kGroupQueries = 128;
// ... and no more than fit this many bytes of scores (long contexts: fewer tokens a group).
constexpr int64_t kGroupScoreBytes = int64_t{8} << 20;

// Rows ahead of the one being converted whose bytes are requested (a piece of a row is a few
// cache lines a row apart, which the hardware prefetchers follow poorly).
constexpr int64_t kPrefetchRows = 4;

int64_t round_up(int64_t n, int64_t m) { return (n + m - 1) / m * m; }

// Bytes of one query in the q8_0 cache's activation format (Q8_0_S).
size_t q8_0_query_bytes(const KvCache& kv) { return activation_row_bytes(GgmlType::Q8_0_R16, kv.width()); }

// Query rows `qa` (kv width each) in the q8_0 cache's activation format, q8_0_query_bytes apart.
void quantize_queries(const KernelTable& k, const KvCache& kv, const float* qa, int64_t rows, uint8_t* act) {
  const size_t arb = q8_0_query_bytes(kv);
  for (int64_t r = 0; r < rows; ++r) {
    quantize_activation(k, GgmlType::Q8_0_R16, qa + r * kv.width(), act + static_cast<size_t>(r) * arb, kv.width());
  }
}

// Scores of heads [0, nh) of one token (queries `act`, quantized by quantize_queries) against
// positions [begin, end) of `seq` in a q8_0 cache (begin a multiple of 16), read in place: the
// cache's 16-row groups are Q8_0_R16 weights, positions as rows. Whole groups are computed (a
// last, partly written group gives scores past `end` that nobody reads): scores[h * stride + p]
// for p up to round_up(end, 16).
void q8_0_scores(const KernelTable& k, const KvCache& kv, int layer, int seq, int64_t begin, int64_t end,
                 const uint8_t* act, int64_t nh, float* scores, int64_t stride) {
  const GemmFn gemm = k.for_type(GgmlType::Q8_0_R16).gemm;
  for (int64_t p = begin; p < end;) {
    const int64_t run = std::min(end - p, kv.contiguous_rows(p));
    gemm(kv.width(), kv.q8_0_group(layer, seq, p), kv.row_bytes(), round_up(run, kPackRows), act,
         q8_0_query_bytes(kv), nh, scores + p, stride);
    p += run;
  }
}

// Splits `tokens` (batch indices) into groups of consecutive tokens of one sequence, at most
// kGroupQueries / heads tokens and kGroupScoreBytes of scores each (at least one token):
// group g is tokens [group_at[g], group_at[g + 1]).
void group_tokens(std::span<const BatchToken> batch, std::span<const int32_t> tokens, int64_t heads,
                  std::vector<int64_t>& group_at) {
  auto token = [&](size_t j) -> const BatchToken& { return batch[static_cast<size_t>(tokens[j])]; };
  const int64_t most = std::max<int64_t>(1, kGroupQueries / heads);
  group_at.clear();
  int64_t bytes = 0;
  for (size_t j = 0; j < tokens.size(); ++j) {
    const int64_t token_bytes = heads * round_up(token(j).pos + 1, kPackRows) * int64_t{sizeof(float)};
    const bool starts = group_at.empty() || static_cast<int64_t>(j) - group_at.back() == most ||
                        bytes + token_bytes > kGroupScoreBytes || token(j).seq != token(j - 1).seq;
    if (starts) {
      group_at.push_back(static_cast<int64_t>(j));
      bytes = 0;
    }
    bytes += token_bytes;
  }
  group_at.push_back(static_cast<int64_t>(tokens.size()));
}

// Rows [p, p + m) of the cache as runs of contiguous rows: fn(first row, row count). A bf16
// cache's blocks hold an even number of positions, so with p even every run but the last is
// even (the weighted sums then pair the rows as one call over [p, p + m) would).
template <class Fn>
void for_runs(const KvCache& kv, int64_t p, int64_t m, Fn&& fn) {
  for (int64_t q = p; q < p + m;) {
    const int64_t run = std::min(p + m - q, kv.contiguous_rows(q));
    fn(q, run);
    q += run;
  }
}

// Columns [begin, end) of the rows of positions [p, p + m) of `seq` as f32, m rows of
// end - begin values in `out`.
const float* load_rows(const KvCache& kv, const KernelTable& k, int layer, int seq, int64_t p, int64_t m,
                       int64_t begin, int64_t end, float* out) {
  for (int64_t r = 0; r < m; ++r) {
    if (r + kPrefetchRows < m) kv.prefetch_columns(layer, seq, p + r + kPrefetchRows, begin, end);
    kv.load_columns(layer, seq, p + r, begin, end, out + r * (end - begin), &k);
  }
  return out;
}

// One layer's attention step over the cache, for the tokens each path serves.
struct LatentPass {
  LatentPass(BlockContext& c, const KvCache& kv, int layer, const float* q_abs, float* ctx, bool bf16_in_place)
      : c(c),
        kv(kv),
        layer(layer),
        q_abs(q_abs),
        ctx(ctx),
        k(c.model.kernels()),
        s(c.state),
        H(c.model.args().n_heads),
        lora(c.model.args().kv_lora_rank),
        width(kv.width()),
        scale(c.model.rope().softmax_scale()),
        int8_scores(kv.type() == KvCacheType::kQ8_0),
        bf16_in_place(bf16_in_place),
        gemm_f32(k.for_type(GgmlType::F32).gemm),
        row_bytes(static_cast<size_t>(width) * sizeof(float)),
        bf16_stride(static_cast<int64_t>(kv.row_bytes() / sizeof(uint16_t))) {}

  void by_token_groups(std::span<const int32_t> tokens);
  void by_positions(std::span<const int32_t> tokens);

  BlockContext& c;
  const KvCache& kv;
  const int layer;
  const float* const q_abs;  // [T, H, width]
  float* const ctx;          // [T, H, lora]
  const KernelTable& k;
  ForwardState& s;
  const int64_t H, lora, width;
  const float scale;
  const bool int8_scores;
  const bool bf16_in_place;  // a bf16 cache read in place by the AVX512-BF16 kernels
  const GemmFn gemm_f32;
  const size_t row_bytes;     // of an f32 latent row
  const int64_t bf16_stride;  // values from one bf16 cache row to the next
};

// n floats rounded to bf16 (queries and softmax weights of a bf16 cache's kernels).
void to_bf16(const float* x, int64_t n, uint16_t* out) {
  for (int64_t i = 0; i < n; ++i) out[i] = f32_to_bf16(x[i]);
}

// Tokens of prompt chunks, over their sequence's shared f32 latent in s.latent, or with
// `bf16_in_place` over the bf16 cache in place (queries and softmax weights rounded to bf16).
// Consecutive tokens of one sequence form groups (kGroupQueries, kGroupScoreBytes); a thread
// takes a (group, range of heads) and goes over the rows block by block: 1. every
// token's scores (each block read once from memory, then from L2 for the other tokens);
// 2. softmax; 3. the weighted sums, block after block in position order.
void LatentPass::by_token_groups(std::span<const int32_t> tokens) {
  auto token = [&](int64_t j) -> const BatchToken& { return c.batch[static_cast<size_t>(tokens[static_cast<size_t>(j)])]; };
  std::vector<int64_t>& group_at = s.chunk_group_at;
  group_tokens(c.batch, tokens, H, group_at);
  const auto n_groups = static_cast<int64_t>(group_at.size()) - 1;
  const int64_t wanted = 2 * static_cast<int64_t>(c.pool.active());
  const int64_t head_groups = std::clamp<int64_t>((wanted + n_groups - 1) / n_groups, 1, H);
  const auto qb = static_cast<int64_t>(q8_0_query_bytes(kv));

  c.pool.parallel_for(n_groups * head_groups, [&](int64_t i0, int64_t i1, int ith) {
    ThreadScratch& ts = s.per_thread[static_cast<size_t>(ith)];
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t g = i / head_groups, hg = i % head_groups;
      const int64_t h0 = H * hg / head_groups, nh = H * (hg + 1) / head_groups - h0;
      const int64_t first = group_at[g], size = group_at[g + 1] - first;
      const int seq = token(first).seq;
      int64_t n_max = 0;
      for (int64_t j = first; j < first + size; ++j) n_max = std::max<int64_t>(n_max, token(j).pos + 1);
      // Token j's scores: [nh, stride] at scores + j * nh * stride, its queries at query(j).
      const int64_t stride = round_up(n_max, kPackRows);
      float* scores = ts.b.get(static_cast<size_t>(size * nh * stride));
      auto query = [&](int64_t j) { return q_abs + (tokens[static_cast<size_t>(first + j)] * H + h0) * width; };
      uint8_t* act = int8_scores ? ts.act8.get(static_cast<size_t>(size * nh * qb)) : nullptr;
      if (int8_scores) {
        for (int64_t j = 0; j < size; ++j) quantize_queries(k, kv, query(j), nh, act + j * nh * qb);
      }
      // bf16: token j's queries at qb16 + j * nh * width, its softmax weights at sb16 + j * nh * stride
      uint16_t* qb16 = nullptr;
      uint16_t* sb16 = nullptr;
      if (bf16_in_place) {
        qb16 = reinterpret_cast<uint16_t*>(
            ts.bf16.get(static_cast<size_t>(size * nh * (width + stride)) * sizeof(uint16_t)));
        sb16 = qb16 + size * nh * width;
        for (int64_t j = 0; j < size; ++j) to_bf16(query(j), nh * width, qb16 + j * nh * width);
      }
      const float* lat = bf16_in_place ? nullptr : s.latent[static_cast<size_t>(seq)].get(0);
      // Each (token, block) below: rows [p, p + m) that the token sees.
      auto for_blocks = [&](auto&& fn) {
        for (int64_t p = 0; p < n_max; p += kLatentBlockRows) {
          for (int64_t j = 0; j < size; ++j) {
            const int64_t n = token(first + j).pos + 1;
            if (p < n) fn(j, p, std::min(n - p, kLatentBlockRows), scores + j * nh * stride);
          }
        }
      };
      for_blocks([&](int64_t j, int64_t p, int64_t m, float* sc) {
        if (bf16_in_place) {
          for_runs(kv, p, m, [&](int64_t q, int64_t run) {
            k.bf16_scores(width, kv.bf16_rows(layer, seq, q), bf16_stride, run, qb16 + j * nh * width, width, nh,
                          sc + q, stride);
          });
        } else if (int8_scores) {
          q8_0_scores(k, kv, layer, seq, p, p + m, act + j * nh * qb, nh, sc, stride);
        } else {
          gemm_f32(width, lat + p * width, row_bytes, m, query(j), row_bytes, nh, sc + p, stride);
        }
      });
      for (int64_t j = 0; j < size; ++j) {
        const int64_t n = token(first + j).pos + 1;
        for (int64_t h = 0; h < nh; ++h) {
          float* w = scores + (j * nh + h) * stride;
          k.softmax(w, n, scale);
          if (bf16_in_place) to_bf16(w, n, sb16 + (j * nh + h) * stride);
        }
      }
      // bf16: every run but a token's last ends at a 128-position block or a cache block (bf16
      // cache blocks hold an even number of positions), so the rows pair up as in one call
      for_blocks([&](int64_t j, int64_t p, int64_t m, const float* sc) {
        float* out = ctx + (tokens[static_cast<size_t>(first + j)] * H + h0) * lora;
        if (bf16_in_place) {
          for_runs(kv, p, m, [&](int64_t q, int64_t run) {
            k.bf16_weighted_rows(sb16 + j * nh * stride + q, stride, nh, run, kv.bf16_rows(layer, seq, q), bf16_stride,
                                 out, lora, lora, q > 0);
          });
        } else {
          k.weighted_rows(sc + p, stride, nh, m, lat + p * width, width, out, lora, lora, p > 0);
        }
      });
    }
  });
}

// Decode tokens (the only token of their sequence in the batch), rows read from the cache in
// blocks where they are used: 1. scores of all heads, by (token, block of positions);
// 2. softmax, by (token, head); 3. weighted sums, by (token, kCtxColumns columns, group of
// heads), block after block in position order.
void LatentPass::by_positions(std::span<const int32_t> tokens) {
  const auto count = static_cast<int64_t>(tokens.size());
  auto token = [&](int64_t d) -> const BatchToken& {
    return c.batch[static_cast<size_t>(tokens[static_cast<size_t>(d)])];
  };
  // Token d's scores are [H, stride_d] at scores + score_at[d]; its blocks are the items
  // [block_at[d], block_at[d + 1]) of step 1.
  std::vector<int64_t>& score_at = s.decode_score_at;
  std::vector<int64_t>& block_at = s.decode_block_at;
  score_at.assign(static_cast<size_t>(count + 1), 0);
  block_at.assign(static_cast<size_t>(count + 1), 0);
  for (int64_t d = 0; d < count; ++d) {
    const int64_t n = token(d).pos + 1;
    score_at[d + 1] = score_at[d] + H * round_up(n, kPackRows);
    block_at[d + 1] = block_at[d] + (n + kLatentBlockRows - 1) / kLatentBlockRows;
  }
  float* scores = s.decode_scores.get(static_cast<size_t>(score_at[count]));
  auto stride = [&](int64_t d) { return (score_at[d + 1] - score_at[d]) / H; };

  // A q8_0 cache's queries quantized, a bf16 cache's rounded, once for all the blocks; a bf16
  // cache's softmax weights are rounded too, laid out as the scores.
  const auto qb = static_cast<int64_t>(H * (int8_scores ? q8_0_query_bytes(kv) : width * sizeof(uint16_t)));  // per token
  uint8_t* queries = int8_scores || bf16_in_place ? s.decode_queries.get(static_cast<size_t>(count * qb)) : nullptr;
  auto* q16 = reinterpret_cast<uint16_t*>(queries);
  uint16_t* w16 = bf16_in_place ? reinterpret_cast<uint16_t*>(s.decode_weights.get(
                                      static_cast<size_t>(score_at[count]) * sizeof(uint16_t)))
                                : nullptr;
  if (int8_scores || bf16_in_place) {
    c.pool.parallel_for(count, [&](int64_t d0, int64_t d1, int) {
      for (int64_t d = d0; d < d1; ++d) {
        const float* qa = q_abs + tokens[static_cast<size_t>(d)] * H * width;
        if (int8_scores) {
          quantize_queries(k, kv, qa, H, queries + d * qb);
        } else {
          to_bf16(qa, H * width, q16 + d * H * width);
        }
      }
    });
  }
  c.pool.parallel_for(block_at[count], [&](int64_t i0, int64_t i1, int ith) {
    ThreadScratch& ts = s.per_thread[static_cast<size_t>(ith)];
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t d = std::upper_bound(block_at.begin(), block_at.end(), i) - block_at.begin() - 1;
      const BatchToken& b = token(d);
      const int64_t p = (i - block_at[d]) * kLatentBlockRows, m = std::min(b.pos + 1 - p, kLatentBlockRows);
      const float* qa = q_abs + tokens[static_cast<size_t>(d)] * H * width;
      float* sc = scores + score_at[d];
      if (int8_scores) {
        q8_0_scores(k, kv, layer, b.seq, p, p + m, queries + d * qb, H, sc, stride(d));
      } else if (bf16_in_place) {
        for_runs(kv, p, m, [&](int64_t q, int64_t run) {
          k.bf16_scores(width, kv.bf16_rows(layer, b.seq, q), bf16_stride, run, q16 + d * H * width, width, H,
                        sc + q, stride(d));
        });
      } else {
        float* buf = ts.latent_block.get(static_cast<size_t>(kLatentBlockRows * width));
        gemm_f32(width, load_rows(kv, k, layer, b.seq, p, m, 0, width, buf), row_bytes, m, qa, row_bytes, H, sc + p,
                 stride(d));
      }
    }
  });
  c.pool.parallel_for(count * H, [&](int64_t i0, int64_t i1, int) {
    for (int64_t i = i0; i < i1; ++i) {
      const int64_t d = i / H, h = i % H;
      const int64_t at = score_at[d] + h * stride(d), n = token(d).pos + 1;
      k.softmax(scores + at, n, scale);
      if (bf16_in_place) to_bf16(scores + at, n, w16 + at);
    }
  });
  // Pieces of columns, times groups of heads when that is too few pieces for the threads:
  // each group reads the rows again, so no more groups than needed. A thread's consecutive
  // pieces of one (token, group) are one run of columns, read together row by row.
  const int64_t pieces = (lora + kCtxColumns - 1) / kCtxColumns;
  const int64_t wanted = 2 * static_cast<int64_t>(c.pool.active());
  const int64_t groups = std::clamp<int64_t>((wanted + count * pieces - 1) / (count * pieces), 1, H);
  c.pool.parallel_for(count * groups * pieces, [&](int64_t i0, int64_t i1, int ith) {
    ThreadScratch& ts = s.per_thread[static_cast<size_t>(ith)];
    for (int64_t i = i0; i < i1;) {
      const int64_t d = i / (groups * pieces), group = i / pieces % groups, piece = i % pieces;
      const int64_t run = std::min(i1 - i, pieces - piece);
      const int64_t j0 = piece * kCtxColumns, j1 = std::min(lora, (piece + run) * kCtxColumns);
      const int64_t h0 = H * group / groups, h1 = H * (group + 1) / groups;
      const BatchToken& b = token(d);
      const int64_t n = b.pos + 1;
      float* out = ctx + (tokens[static_cast<size_t>(d)] * H + h0) * lora + j0;
      const float* sc = scores + score_at[d] + h0 * stride(d);
      if (bf16_in_place) {
        // every run but the last is even (for_runs), so the rows pair up as in one call
        const uint16_t* sw = w16 + score_at[d] + h0 * stride(d);
        for_runs(kv, 0, n, [&](int64_t q, int64_t m) {
          k.bf16_weighted_rows(sw + q, stride(d), h1 - h0, m, kv.bf16_rows(layer, b.seq, q) + j0, bf16_stride, out,
                               lora, j1 - j0, q > 0);
        });
      } else {
        float* buf = ts.latent_block.get(static_cast<size_t>(kLatentBlockRows * (j1 - j0)));
        for (int64_t p = 0; p < n; p += kLatentBlockRows) {
          const int64_t m = std::min(n - p, kLatentBlockRows);
          k.weighted_rows(sc + p, stride(d), h1 - h0, m, load_rows(kv, k, layer, b.seq, p, m, j0, j1, buf), j1 - j0,
                          out, lora, j1 - j0, p > 0);
        }
      }
      i += run;
    }
  });
}

}  // namespace

void latent_attention(BlockContext& c, const KvCache& kv, int layer, const float* q_abs, float* ctx) {
  ForwardState& s = c.state;
  const KernelTable& k = c.model.kernels();
  const int64_t width = kv.width();
  const bool bf16_in_place = kv.type() == KvCacheType::kBF16 && k.bf16_scores != nullptr;

  int64_t n_seq = 0;
  for (const BatchToken& b : c.batch) n_seq = std::max<int64_t>(n_seq, b.seq + 1);
  if (static_cast<int64_t>(s.latent.size()) < n_seq) s.latent.resize(static_cast<size_t>(n_seq));
  std::vector<int64_t>& seq_len = s.seq_len;
  std::vector<int64_t>& seq_tokens = s.seq_tokens;
  seq_len.assign(static_cast<size_t>(n_seq), 0);
  seq_tokens.assign(static_cast<size_t>(n_seq), 0);
  for (const BatchToken& b : c.batch) {
    seq_len[b.seq] = std::max<int64_t>(seq_len[b.seq], b.pos + 1);
    ++seq_tokens[b.seq];
  }
  s.chunk_tokens.clear();
  s.decode_tokens.clear();
  for (size_t t = 0; t < c.batch.size(); ++t) {
    const bool decode = seq_tokens[c.batch[t].seq] == 1;
    (decode ? s.decode_tokens : s.chunk_tokens).push_back(static_cast<int32_t>(t));
  }

  // The shared latent of the prompt chunks: rows up to the sequence's last position here,
  // read back from the cache (so a token sees exactly what later tokens will see).
  for (int64_t sq = 0; sq < n_seq; ++sq) {
    if (seq_tokens[sq] < 2 || bf16_in_place) continue;
    float* lat = s.latent[static_cast<size_t>(sq)].get(static_cast<size_t>(seq_len[sq] * width));
    c.pool.parallel_for(seq_len[sq], [&](int64_t p0, int64_t p1, int) {
      for (int64_t p = p0; p < p1; ++p) kv.load(layer, static_cast<int>(sq), p, lat + p * width, &k);
    });
  }
  LatentPass pass(c, kv, layer, q_abs, ctx, bf16_in_place);
  if (!s.chunk_tokens.empty()) pass.by_token_groups(s.chunk_tokens);
  if (!s.decode_tokens.empty()) pass.by_positions(s.decode_tokens);
}

}  // namespace moe
