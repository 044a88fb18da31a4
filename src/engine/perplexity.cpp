#include "engine/perplexity.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

#include "model/forward.h"

namespace moe {
namespace {

constexpr char kMagic[8] = {'M', 'O', 'E', 'K', 'L', 'D', '\0', '\1'};
constexpr uint32_t kVersion = 1;

// log softmax of one row, accumulated in double (as llama.cpp's log_softmax).
void log_softmax_row(const float* logits, int64_t n, std::vector<float>& out) {
  out.resize(static_cast<size_t>(n));
  float max = logits[0];
  for (int64_t i = 1; i < n; ++i) max = std::max(max, logits[i]);
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) sum += std::exp(static_cast<double>(logits[i]) - max);
  const double log_sum = std::log(sum);
  for (int64_t i = 0; i < n; ++i)
    out[i] = static_cast<float>(static_cast<double>(logits[i]) - max - log_sum);
}

double target_nll(const float* logits, int64_t n, int32_t target) {
  float max = logits[0];
  for (int64_t i = 1; i < n; ++i) max = std::max(max, logits[i]);
  double sum = 0.0;
  for (int64_t i = 0; i < n; ++i) sum += std::exp(static_cast<double>(logits[i]) - max);
  return -(static_cast<double>(logits[target]) - max - std::log(sum));
}

template <typename T>
void put(std::vector<uint8_t>& out, T v) {
  uint8_t bytes[sizeof(T)];
  std::memcpy(bytes, &v, sizeof(T));
  out.insert(out.end(), bytes, bytes + sizeof(T));
}

template <typename T>
bool get(FILE* f, T* v) {
  return std::fread(v, sizeof(T), 1, f) == 1;
}

size_t record_bytes(uint32_t top_k) {
  return 4 + static_cast<size_t>(top_k) * 8;
}

double percentile(std::vector<float> v, double q) {
  if (v.empty()) return 0.0;
  const size_t k = std::min(v.size() - 1,
                            static_cast<size_t>(std::floor(q * static_cast<double>(v.size() - 1))));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k];
}

}  // namespace

std::vector<int32_t> perplexity_tokens(const Tokenizer& tokenizer, const std::string& text) {
  return tokenizer.encode(text, tokenizer.add_bos_token(), SpecialParsing::kUserDefinedOnly);
}

int32_t perplexity_bos(const Tokenizer& tokenizer) {
  return tokenizer.add_bos_token() && tokenizer.bos_id() != kNoToken ? tokenizer.bos_id() : -1;
}

Result<PerplexityResult> run_perplexity(const Model& model, ThreadPool& pool,
                                        std::span<const int32_t> tokens, const PerplexityOptions& o,
                                        const ScoredTokenFn& on_token,
                                        const ChunkDoneFn& on_chunk) {
  if (o.n_ctx < 4)
    return Status::error("perplexity: context " + std::to_string(o.n_ctx) + " is too small (>= 4)");
  if (o.n_batch < 1) return Status::error("perplexity: batch size must be >= 1");
  const int64_t n_tokens = static_cast<int64_t>(tokens.size());
  if (n_tokens < 2 * o.n_ctx) {
    return Status::error("perplexity: you need at least " + std::to_string(2 * o.n_ctx) +
                         " tokens to evaluate perplexity with a context of " +
                         std::to_string(o.n_ctx) + " (the text has " + std::to_string(n_tokens) +
                         ")");
  }
  const ModelArgs& a = model.args();
  int64_t n_chunks = n_tokens / o.n_ctx;
  if (o.max_chunks > 0) n_chunks = std::min(n_chunks, o.max_chunks);

  MOE_ASSIGN_OR_RETURN(KvCache kv, KvCache::create(a, o.cache_type, o.n_ctx, 1));
  Forward forward(model, pool);
  forward.set_n_experts(o.n_experts);
  pool.set_active(o.threads_batch > 0 ? std::min(o.threads_batch, pool.size()) : pool.size());
  if (o.bos >= a.vocab_size)
    return Status::error("perplexity: BOS id " + std::to_string(o.bos) + " out of range");
  const int64_t first = o.n_ctx / 2;
  const int64_t batch = std::min(o.n_batch, o.n_ctx);

  PerplexityResult r;
  double nll = 0.0, nll2 = 0.0;
  int64_t count = 0;
  Logits logits;
  std::vector<BatchToken> entries;
  for (int64_t c = 0; c < n_chunks; ++c) {
    const int64_t start = c * o.n_ctx;
    kv.clear(0);
    for (int64_t b0 = 0; b0 < o.n_ctx; b0 += batch) {
      const int64_t n = std::min(batch, o.n_ctx - b0);
      entries.clear();
      for (int64_t j = 0; j < n; ++j) {
        const int64_t pos = b0 + j;
        int32_t tok = tokens[static_cast<size_t>(start + pos)];
        if (pos == 0 && o.bos >= 0) tok = o.bos;
        entries.push_back({tok, static_cast<int32_t>(pos), 0, pos >= first && pos < o.n_ctx - 1});
      }
      MOE_RETURN_IF_ERROR(forward.run(entries, kv, logits));
      for (size_t row = 0; row < logits.rows(); ++row) {
        const int64_t pos = b0 + logits.batch_index[row];
        const int32_t target = tokens[static_cast<size_t>(start + pos + 1)];
        const float* lr = logits.row(row);
        const double v = target_nll(lr, logits.n_vocab, target);
        nll += v;
        nll2 += v * v;
        ++count;
        if (on_token) MOE_RETURN_IF_ERROR(on_token(lr, logits.n_vocab, target));
      }
    }
    r.running_ppl.push_back(std::exp(nll / static_cast<double>(count)));
    if (on_chunk) on_chunk(c + 1, n_chunks, r.running_ppl.back());
  }
  r.n_chunks = n_chunks;
  r.n_scored = count;
  const double mean = nll / static_cast<double>(count);
  double var = nll2 / static_cast<double>(count) - mean * mean;
  r.mean_nll = mean;
  r.ppl = std::exp(mean);
  r.ppl_error =
      var > 0 && count > 1 ? r.ppl * std::sqrt(var / static_cast<double>(count - 1)) : 0.0;
  return r;
}

uint64_t vocab_hash(const Tokenizer& tokenizer) {
  uint64_t h = 0xcbf29ce484222325ull;
  auto mix = [&h](uint8_t b) {
    h ^= b;
    h *= 0x100000001b3ull;
  };
  for (size_t i = 0; i < tokenizer.n_vocab(); ++i) {
    for (char ch : tokenizer.token_text(static_cast<TokenId>(i))) mix(static_cast<uint8_t>(ch));
    mix(0);
  }
  return h;
}

// ---------------------------------------------------------------------------------------
// Base file writer

Result<std::unique_ptr<KldBaseWriter>> KldBaseWriter::create(const std::string& path,
                                                             const KldHeader& header) {
  std::unique_ptr<KldBaseWriter> w(new KldBaseWriter());
  w->path_ = path;
  w->header_ = header;
  w->file_ = std::fopen(path.c_str(), "wb");
  if (w->file_ == nullptr) return Status::error(path + ": cannot create: " + std::strerror(errno));
  std::vector<uint8_t> h(kMagic, kMagic + 8);
  put<uint32_t>(h, kVersion);
  put<uint32_t>(h, header.n_vocab);
  put<uint32_t>(h, header.n_ctx);
  put<uint32_t>(h, header.top_k);
  put<uint32_t>(h, header.n_chunks);
  put<uint32_t>(h, header.n_scored);
  put<uint64_t>(h, header.vocab_hash);
  put<uint32_t>(h, static_cast<uint32_t>(header.model_name.size()));
  h.insert(h.end(), header.model_name.begin(), header.model_name.end());
  put<uint64_t>(h, header.tokens.size());
  for (int32_t t : header.tokens) put<int32_t>(h, t);
  if (std::fwrite(h.data(), 1, h.size(), w->file_) != h.size())
    return Status::error(path + ": write failed");
  return w;
}

KldBaseWriter::~KldBaseWriter() {
  if (file_ != nullptr) std::fclose(file_);
}

Status KldBaseWriter::add(const float* logits, int64_t n_vocab, int32_t target) {
  if (n_vocab != header_.n_vocab)
    return Status::error(path_ + ": logits row has " + std::to_string(n_vocab) + " values");
  log_softmax_row(logits, n_vocab, logprobs_);
  order_.resize(static_cast<size_t>(n_vocab));
  std::iota(order_.begin(), order_.end(), 0);
  const size_t k = header_.top_k;
  std::partial_sort(order_.begin(), order_.begin() + static_cast<std::ptrdiff_t>(k), order_.end(),
                    [&](int32_t x, int32_t y) {
                      return logprobs_[x] > logprobs_[y] || (logprobs_[x] == logprobs_[y] && x < y);
                    });
  record_.clear();
  put<float>(record_, logprobs_[static_cast<size_t>(target)]);
  for (size_t i = 0; i < k; ++i) {
    put<int32_t>(record_, order_[i]);
    put<float>(record_, logprobs_[static_cast<size_t>(order_[i])]);
  }
  if (std::fwrite(record_.data(), 1, record_.size(), file_) != record_.size())
    return Status::error(path_ + ": write failed");
  ++records_;
  return Status::ok();
}

Status KldBaseWriter::finish() {
  const uint64_t want = static_cast<uint64_t>(header_.n_chunks) * header_.n_scored;
  if (records_ != want) {
    return Status::error(path_ + ": wrote " + std::to_string(records_) + " records, expected " +
                         std::to_string(want));
  }
  const bool ok = std::fclose(file_) == 0;
  file_ = nullptr;
  return ok ? Status::ok() : Status::error(path_ + ": close failed");
}

// ---------------------------------------------------------------------------------------
// Base file reader + comparison

Result<std::unique_ptr<KldComparer>> KldComparer::open(const std::string& path, int64_t n_vocab,
                                                       uint64_t hash, int64_t n_ctx_expected) {
  std::unique_ptr<KldComparer> c(new KldComparer());
  c->path_ = path;
  c->file_ = std::fopen(path.c_str(), "rb");
  if (c->file_ == nullptr) return Status::error(path + ": cannot open: " + std::strerror(errno));
  FILE* f = c->file_;
  const Status truncated =
      Status::error(path + ": not a moeinfer KLD base file (truncated header)");
  char magic[8];
  if (std::fread(magic, 1, 8, f) != 8) return truncated;
  if (std::memcmp(magic, kMagic, 8) != 0)
    return Status::error(path + ": not a moeinfer KLD base file (bad magic)");
  uint32_t version = 0, name_len = 0;
  KldHeader& h = c->header_;
  if (!get(f, &version) || !get(f, &h.n_vocab) || !get(f, &h.n_ctx) || !get(f, &h.top_k) ||
      !get(f, &h.n_chunks) || !get(f, &h.n_scored) || !get(f, &h.vocab_hash) ||
      !get(f, &name_len)) {
    return truncated;
  }
  if (version != kVersion) {
    return Status::error(path + ": version " + std::to_string(version) + ", expected " +
                         std::to_string(kVersion));
  }
  if (name_len > 4096)
    return Status::error(path + ": corrupt header (model name of " + std::to_string(name_len) +
                         " bytes)");
  h.model_name.resize(name_len);
  if (name_len > 0 && std::fread(h.model_name.data(), 1, name_len, f) != name_len) return truncated;
  uint64_t n_tokens = 0;
  if (!get(f, &n_tokens)) return truncated;
  if (h.n_vocab != n_vocab) {
    return Status::error(path + ": base vocabulary has " + std::to_string(h.n_vocab) +
                         " tokens, this model " + std::to_string(n_vocab));
  }
  if (h.vocab_hash != hash)
    return Status::error(path + ": base file was made with a different vocabulary");
  if (n_ctx_expected > 0 && h.n_ctx != n_ctx_expected) {
    return Status::error(path + ": base file was made with -c " + std::to_string(h.n_ctx) +
                         ", this run uses -c " + std::to_string(n_ctx_expected));
  }
  if (h.top_k == 0 || h.top_k > h.n_vocab || h.n_ctx < 4 ||
      h.n_scored != perplexity_scored_per_chunk(h.n_ctx) ||
      n_tokens < static_cast<uint64_t>(h.n_chunks) * h.n_ctx || n_tokens > (1ull << 32)) {
    return Status::error(path + ": corrupt header (top_k " + std::to_string(h.top_k) + ", n_ctx " +
                         std::to_string(h.n_ctx) + ", n_scored " + std::to_string(h.n_scored) +
                         ", tokens " + std::to_string(n_tokens) + ")");
  }
  h.tokens.resize(n_tokens);
  if (std::fread(h.tokens.data(), sizeof(int32_t), n_tokens, f) != n_tokens) return truncated;
  for (int32_t t : h.tokens) {
    if (t < 0 || t >= n_vocab)
      return Status::error(path + ": token id " + std::to_string(t) + " out of range");
  }
  const long here = std::ftell(f);
  std::fseek(f, 0, SEEK_END);
  const uint64_t size = static_cast<uint64_t>(std::ftell(f));
  std::fseek(f, here, SEEK_SET);
  const uint64_t want = static_cast<uint64_t>(here) +
                        static_cast<uint64_t>(h.n_chunks) * h.n_scored * record_bytes(h.top_k);
  if (size != want) {
    return Status::error(path + ": file has " + std::to_string(size) + " bytes, its header says " +
                         std::to_string(want) + " (truncated or corrupt)");
  }
  return c;
}

KldComparer::~KldComparer() {
  if (file_ != nullptr) std::fclose(file_);
}

Status KldComparer::add(const float* logits, int64_t n_vocab, int32_t target) {
  const size_t rb = record_bytes(header_.top_k);
  if (records_ >= static_cast<uint64_t>(header_.n_chunks) * header_.n_scored) {
    return Status::error(path_ + ": more scored tokens than the base file holds");
  }
  record_.resize(rb);
  if (std::fread(record_.data(), 1, rb, file_) != rb)
    return Status::error(path_ + ": truncated record");
  ++records_;
  log_softmax_row(logits, n_vocab, logprobs_);
  const uint8_t* p = record_.data();
  float base_target;
  std::memcpy(&base_target, p, 4);
  p += 4;
  double kl = 0.0, p_sum = 0.0, q_sum = 0.0;
  int32_t base_top = -1;
  float base_top_lp = 0.0f;
  for (uint32_t i = 0; i < header_.top_k; ++i, p += 8) {
    int32_t id;
    float lp;
    std::memcpy(&id, p, 4);
    std::memcpy(&lp, p + 4, 4);
    if (id < 0 || id >= n_vocab)
      return Status::error(path_ + ": corrupt record (token id " + std::to_string(id) + ")");
    if (i == 0) {
      base_top = id;
      base_top_lp = lp;
    }
    const double pi = std::exp(static_cast<double>(lp));
    const double lq = logprobs_[static_cast<size_t>(id)];
    kl += pi * (static_cast<double>(lp) - lq);
    p_sum += pi;
    q_sum += std::exp(lq);
  }
  const double p_rest = 1.0 - p_sum, q_rest = std::max(1.0 - q_sum, 1e-30);
  if (header_.top_k < n_vocab && p_rest > 1e-9)
    kl += p_rest * (std::log(p_rest) - std::log(q_rest));
  kld_.push_back(static_cast<float>(std::max(kl, 0.0)));
  const int64_t new_top = std::max_element(logprobs_.begin(), logprobs_.end()) - logprobs_.begin();
  if (new_top == base_top) top1_ += 1.0;
  dp_ += std::fabs(std::exp(static_cast<double>(logprobs_[static_cast<size_t>(base_top)])) -
                   std::exp(static_cast<double>(base_top_lp)));
  base_nll_ -= base_target;
  ratio_ += static_cast<double>(base_target) -
            static_cast<double>(logprobs_[static_cast<size_t>(target)]);
  return Status::ok();
}

KldStats KldComparer::stats() const {
  KldStats s;
  s.n = static_cast<int64_t>(kld_.size());
  if (s.n == 0) return s;
  const double n = static_cast<double>(s.n);
  double sum = 0, sum2 = 0;
  for (float v : kld_) {
    sum += v;
    sum2 += static_cast<double>(v) * v;
    s.kld_max = std::max(s.kld_max, static_cast<double>(v));
  }
  s.kld_mean = sum / n;
  const double var = sum2 / n - s.kld_mean * s.kld_mean;
  s.kld_mean_error = var > 0 && s.n > 1 ? std::sqrt(var / (n - 1)) : 0.0;
  s.kld_median = percentile(kld_, 0.5);
  s.kld_p99 = percentile(kld_, 0.99);
  s.top1_agreement = top1_ / n;
  s.mean_abs_dp_top = dp_ / n;
  s.base_ppl = std::exp(base_nll_ / n);
  s.ln_ppl_ratio = ratio_ / n;
  return s;
}

// ---------------------------------------------------------------------------------------
// Reports

nlohmann::ordered_json perplexity_json(const PerplexityResult& r, const PerplexityOptions& o) {
  nlohmann::ordered_json j;
  j["ppl"] = r.ppl;
  j["ppl_error"] = r.ppl_error;
  j["mean_nll"] = r.mean_nll;
  j["n_ctx"] = o.n_ctx;
  j["n_batch"] = o.n_batch;
  j["n_chunks"] = r.n_chunks;
  j["n_scored"] = r.n_scored;
  j["chunks"] = r.running_ppl;
  return j;
}

nlohmann::ordered_json kld_json(const KldStats& s) {
  nlohmann::ordered_json j;
  j["n"] = s.n;
  j["kld_mean"] = s.kld_mean;
  j["kld_mean_error"] = s.kld_mean_error;
  j["kld_median"] = s.kld_median;
  j["kld_p99"] = s.kld_p99;
  j["kld_max"] = s.kld_max;
  j["top1_agreement_pct"] = 100.0 * s.top1_agreement;
  j["mean_abs_dp_top"] = s.mean_abs_dp_top;
  j["base_ppl"] = s.base_ppl;
  j["ln_ppl_ratio"] = s.ln_ppl_ratio;
  return j;
}

std::string perplexity_text(const PerplexityResult& r) {
  std::string s;
  char buf[128];
  for (size_t i = 0; i < r.running_ppl.size(); ++i) {
    std::snprintf(buf, sizeof(buf), "[%zu]%.4f,", i + 1, r.running_ppl[i]);
    s += buf;
  }
  std::snprintf(buf, sizeof(buf), "\nFinal estimate: PPL = %.4f +/- %.5f\n", r.ppl, r.ppl_error);
  return s + buf;
}

std::string kld_text(const KldStats& s) {
  char buf[1024];
  std::snprintf(buf, sizeof(buf),
                "KL divergence over %lld tokens:\n"
                "  mean   %.6f +/- %.6f\n  median %.6f\n  p99    %.6f\n  max    %.6f\n"
                "  top-1 agreement  %.3f %%\n  mean |dp| of base top token  %.5f\n"
                "  base PPL %.4f, ln(PPL(Q)/PPL(base)) %.6f\n",
                static_cast<long long>(s.n), s.kld_mean, s.kld_mean_error, s.kld_median, s.kld_p99,
                s.kld_max, 100.0 * s.top1_agreement, s.mean_abs_dp_top, s.base_ppl, s.ln_ppl_ratio);
  return buf;
}

}  // namespace moe
