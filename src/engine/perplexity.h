// Perplexity and KL divergence over a text, with llama.cpp's `llama-perplexity` conventions,
// so numbers compare with the ones published for llama.cpp quants.
//
// Chunking (llama.cpp perplexity()): the whole text is tokenized once (BOS first when the
// model's metadata asks for it; special-token text is not parsed, as common_tokenize's
// default). It must hold at least 2 x n_ctx tokens. Chunk i is tokens [i n_ctx, (i+1) n_ctx);
// its first token is replaced by BOS (when the model adds BOS), the KV cache starts empty,
// and the chunk runs in batches of at most n_batch tokens. Only the second half is scored:
// the logits at positions first = n_ctx/2 .. n_ctx-2 predict the next token, so each chunk
// scores n_ctx - 1 - n_ctx/2 tokens (n_batch above n_ctx is clamped to n_ctx: llama.cpp packs
// several chunks into one batch instead, which gives the same numbers by batch invariance).
// With nll = -log softmax(logits)[next]:
//   running PPL after chunk k = exp(sum nll / count),
//   final error (llama.cpp): ppl x sqrt((E[nll^2] - E[nll]^2) / (count - 1)).
//
// KL divergence base file (`--kld-base FILE`, moeinfer's own format, little-endian). Like
// llama.cpp's --kl-divergence-base it stores the tokens, so `--kld FILE` needs no text; unlike
// it, each scored position keeps only the base model's top K log-probabilities (default 256;
// K = n_vocab stores the full distribution) instead of n_vocab 16-bit values:
//   header:  char magic[8] = "MOEKLD\0\1"; u32 version = 1; u32 n_vocab; u32 n_ctx;
//            u32 top_k; u32 n_chunks; u32 n_scored (per chunk); u64 vocab_hash (FNV-1a 64
//            over each token's vocab spelling and a 0 byte); u32 name_len; name bytes (the
//            base model's general.name or path); u64 n_tokens; i32 tokens[n_tokens]
//   records: n_chunks x n_scored, in order, each:
//            f32 target_logprob (base log-prob of the actual next token);
//            top_k x { i32 id; f32 logprob }, best first.
// The reader checks the magic, version, n_vocab and vocab hash against the model, n_ctx
// against -c, and the file size against the header; each mismatch is an error naming both.
// KL(P_base || Q) per position is computed over the K stored tokens plus one "rest" bucket
// (P's remaining mass vs Q's mass outside those K ids): a lower bound of the full KL (by the
// log-sum inequality), exact when K = n_vocab; with K = 256 the rest mass of a trained model
// is typically < 1e-3.
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"
#include "base/thread_pool.h"
#include "model/kv_cache.h"
#include "model/model.h"
#include "tokenizer/tokenizer.h"

namespace moe {

struct PerplexityOptions {
  int64_t n_ctx = 512;
  int64_t n_batch = 512;
  int64_t max_chunks = 0;  // 0: every full chunk of the text
  int threads_batch = 0;   // 0: the whole pool
  int n_experts = 0;       // routed experts per token (0: the model's)
  KvCacheType cache_type = KvCacheType::kF16;
  int32_t bos = -1;  // >= 0: each chunk's first token is replaced by it (the model adds BOS)
};

// Tokens per chunk that are scored.
inline int64_t perplexity_scored_per_chunk(int64_t n_ctx) {
  return n_ctx - 1 - n_ctx / 2;
}

// The text's tokens as llama-perplexity makes them (BOS as the model asks; no special parsing).
std::vector<int32_t> perplexity_tokens(const Tokenizer& tokenizer, const std::string& text);
// The `bos` option llama-perplexity uses with this tokenizer (-1 when it adds no BOS).
int32_t perplexity_bos(const Tokenizer& tokenizer);

// Called for every scored position, in order: `logits` is the raw row (n_vocab values),
// `target` the actual next token.
using ScoredTokenFn = std::function<Status(const float* logits, int64_t n_vocab, int32_t target)>;
// Called after every chunk with (chunks done, chunks total, running PPL).
using ChunkDoneFn = std::function<void(int64_t done, int64_t total, double ppl)>;

struct PerplexityResult {
  int64_t n_chunks = 0;
  int64_t n_scored = 0;             // tokens scored in all
  std::vector<double> running_ppl;  // after each chunk
  double ppl = 0.0;
  double ppl_error = 0.0;
  double mean_nll = 0.0;
};

// Runs the chunks. Errors: too few tokens for n_ctx, bad options, forward errors.
Result<PerplexityResult> run_perplexity(const Model& model, ThreadPool& pool,
                                        std::span<const int32_t> tokens,
                                        const PerplexityOptions& options,
                                        const ScoredTokenFn& on_token = nullptr,
                                        const ChunkDoneFn& on_chunk = nullptr);

// FNV-1a 64 over the vocabulary's spellings (what a base file is validated against).
uint64_t vocab_hash(const Tokenizer& tokenizer);

struct KldHeader {
  uint32_t n_vocab = 0;
  uint32_t n_ctx = 0;
  uint32_t top_k = 0;
  uint32_t n_chunks = 0;
  uint32_t n_scored = 0;
  uint64_t vocab_hash = 0;
  std::string model_name;
  std::vector<int32_t> tokens;
};

// Writes a base file: the header, then one record per scored token through add().
class KldBaseWriter {
 public:
  static Result<std::unique_ptr<KldBaseWriter>> create(const std::string& path,
                                                       const KldHeader& header);
  ~KldBaseWriter();
  Status add(const float* logits, int64_t n_vocab, int32_t target);
  Status finish();  // flushes, checks the record count

 private:
  KldBaseWriter() = default;
  std::string path_;
  FILE* file_ = nullptr;
  KldHeader header_;
  uint64_t records_ = 0;
  std::vector<float> logprobs_;
  std::vector<int32_t> order_;
  std::vector<uint8_t> record_;
};

struct KldStats {
  int64_t n = 0;
  double kld_mean = 0, kld_mean_error = 0, kld_median = 0, kld_p99 = 0, kld_max = 0;
  double top1_agreement = 0;   // fraction of positions where both models' argmax agree
  double mean_abs_dp_top = 0;  // mean |p_new - p_base| of the base model's top token
  double base_ppl = 0;         // from the stored target log-probs
  double ln_ppl_ratio = 0;     // mean(log p_base(target) - log p_new(target))
};

// Reads a base file and compares another model's logits with each record.
class KldComparer {
 public:
  // Validates against the model (n_vocab, vocab hash); n_ctx_expected 0 accepts the file's.
  static Result<std::unique_ptr<KldComparer>> open(const std::string& path, int64_t n_vocab,
                                                   uint64_t vocab_hash, int64_t n_ctx_expected);
  ~KldComparer();
  const KldHeader& header() const { return header_; }
  Status add(const float* logits, int64_t n_vocab, int32_t target);
  KldStats stats() const;

 private:
  KldComparer() = default;
  std::string path_;
  FILE* file_ = nullptr;
  KldHeader header_;
  uint64_t records_ = 0;
  std::vector<uint8_t> record_;
  std::vector<float> logprobs_;
  std::vector<float> kld_;
  double top1_ = 0, dp_ = 0, base_nll_ = 0, ratio_ = 0;
};

nlohmann::ordered_json perplexity_json(const PerplexityResult& r, const PerplexityOptions& o);
nlohmann::ordered_json kld_json(const KldStats& s);
// llama.cpp-style lines: "[1]12.3456,[2]..." and "Final estimate: PPL = X +/- Y".
std::string perplexity_text(const PerplexityResult& r);
std::string kld_text(const KldStats& s);

}  // namespace moe
