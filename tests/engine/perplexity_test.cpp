// Perplexity against an independent token-by-token computation, and the KL-divergence base
// file: self-comparison, a real quant pair, and corrupt or mismatched files.
#include "engine/perplexity.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "engine/text_model.h"
#include "engine_test_util.h"
#include "kernels/kernels.h"
#include "model/forward.h"

namespace moe {
namespace {

std::string text_path() {
  return std::string(MOEINFER_TEST_DATA_DIR) + "/text/lighthouse.txt";
}
std::string temp_file(const std::string& name) {
  return (std::filesystem::temp_directory_path() /
          ("moeinfer_ppl_test_" + std::to_string(::getpid()) + "_" + name))
      .string();
}

struct Loaded {
  std::unique_ptr<Model> model;
  std::vector<int32_t> tokens;
  int32_t bos = -1;
  uint64_t hash = 0;
};

Loaded load(const std::string& name) {
  Loaded l;
  auto m = Model::load(fixture(name), best_kernel_table());
  EXPECT_TRUE(m.is_ok()) << m.status().message();
  if (!m) return l;
  l.model = std::move(*m);
  auto tm = TextModel::load(l.model->file());
  EXPECT_TRUE(tm.is_ok()) << tm.status().message();
  auto text = read_text_file(text_path());
  EXPECT_TRUE(text.is_ok());
  l.tokens = perplexity_tokens(tm->tokenizer, *text);
  l.bos = perplexity_bos(tm->tokenizer);
  l.hash = vocab_hash(tm->tokenizer);
  return l;
}

// The straightforward way: one token per forward pass, log-softmax in double, average.
double reference_ppl(const Model& model, const std::vector<int32_t>& tokens, int64_t n_ctx,
                     int64_t n_chunks, int32_t bos, std::vector<double>* nlls) {
  ThreadPool pool(2);
  auto kv = KvCache::create(model.args(), KvCacheType::kF16, n_ctx, 1);
  EXPECT_TRUE(kv.is_ok());
  Forward forward(model, pool);
  Logits logits;
  double sum = 0.0;
  int64_t count = 0;
  for (int64_t c = 0; c < n_chunks; ++c) {
    kv->clear(0);
    for (int64_t pos = 0; pos < n_ctx - 1; ++pos) {
      int32_t tok = tokens[static_cast<size_t>(c * n_ctx + pos)];
      if (pos == 0 && bos >= 0) tok = bos;
      const BatchToken bt{tok, static_cast<int32_t>(pos), 0, true};
      EXPECT_TRUE(forward.run(std::span<const BatchToken>(&bt, 1), *kv, logits).is_ok());
      if (pos < n_ctx / 2) continue;
      const float* row = logits.row(0);
      double mx = row[0];
      for (int64_t i = 1; i < logits.n_vocab; ++i) mx = std::max(mx, static_cast<double>(row[i]));
      double z = 0.0;
      for (int64_t i = 0; i < logits.n_vocab; ++i) z += std::exp(static_cast<double>(row[i]) - mx);
      const int32_t next = tokens[static_cast<size_t>(c * n_ctx + pos + 1)];
      const double nll = -(static_cast<double>(row[next]) - mx - std::log(z));
      if (nlls) nlls->push_back(nll);
      sum += nll;
      ++count;
    }
  }
  return std::exp(sum / static_cast<double>(count));
}

TEST(Perplexity, MatchesTokenByTokenReference) {
  Loaded l = load("r1-mini-q8_0");
  ASSERT_TRUE(l.model);
  ASSERT_GE(l.tokens.size(), 400u) << "the text should be long enough for several chunks";
  EXPECT_EQ(l.tokens[0], l.bos);  // BOS first, as the model's metadata asks
  ThreadPool pool(2);
  PerplexityOptions o;
  o.n_ctx = 64;
  o.n_batch = 24;  // several batches per chunk, the last one partial
  o.max_chunks = 3;
  o.bos = l.bos;
  std::vector<double> seen;
  auto r = run_perplexity(*l.model, pool, l.tokens, o, nullptr,
                          [&](int64_t done, int64_t total, double ppl) {
                            EXPECT_EQ(total, 3);
                            seen.push_back(ppl);
                            EXPECT_EQ(static_cast<int64_t>(seen.size()), done);
                          });
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  EXPECT_EQ(r->n_chunks, 3);
  EXPECT_EQ(r->n_scored, 3 * (64 - 1 - 32));
  ASSERT_EQ(r->running_ppl.size(), 3u);
  EXPECT_EQ(seen, r->running_ppl);
  EXPECT_DOUBLE_EQ(r->running_ppl.back(), r->ppl);

  std::vector<double> nlls;
  const double want = reference_ppl(*l.model, l.tokens, 64, 3, l.bos, &nlls);
  EXPECT_NEAR(r->ppl, want, 1e-4 * want);
  EXPECT_TRUE(std::isfinite(r->ppl));
  EXPECT_GT(r->ppl, 1.0);
  // llama.cpp's error: ppl x sqrt((E[nll^2] - E[nll]^2) / (n - 1)).
  double m = 0, m2 = 0;
  for (double v : nlls) {
    m += v;
    m2 += v * v;
  }
  m /= static_cast<double>(nlls.size());
  m2 /= static_cast<double>(nlls.size());
  EXPECT_NEAR(r->ppl_error, want * std::sqrt((m2 - m * m) / static_cast<double>(nlls.size() - 1)),
              1e-3 * r->ppl_error);
  EXPECT_NE(perplexity_text(*r).find("Final estimate: PPL = "), std::string::npos);
  EXPECT_EQ(perplexity_text(*r).rfind("[1]", 0), 0u);
}

TEST(Perplexity, NeedsTwoContextsOfTokens) {
  Loaded l = load("r1-mini-q8_0");
  ASSERT_TRUE(l.model);
  ThreadPool pool(1);
  PerplexityOptions o;
  o.n_ctx = static_cast<int64_t>(l.tokens.size());  // only one context's worth
  auto r = run_perplexity(*l.model, pool, l.tokens, o);
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("you need at least"), std::string::npos);
}

// Writes a base file of `base` over `n_chunks` chunks of 64 tokens.
void write_base(const Loaded& base, const std::string& path, uint32_t top_k, int64_t n_chunks) {
  ThreadPool pool(2);
  PerplexityOptions o;
  o.n_ctx = 64;
  o.max_chunks = n_chunks;
  o.bos = base.bos;
  KldHeader h;
  h.n_vocab = static_cast<uint32_t>(base.model->args().vocab_size);
  h.n_ctx = 64;
  h.top_k = top_k;
  h.n_chunks = static_cast<uint32_t>(n_chunks);
  h.n_scored = static_cast<uint32_t>(perplexity_scored_per_chunk(64));
  h.vocab_hash = base.hash;
  h.model_name = "base";
  h.tokens.assign(base.tokens.begin(), base.tokens.begin() + n_chunks * 64);
  auto w = KldBaseWriter::create(path, h);
  ASSERT_TRUE(w.is_ok()) << w.status().message();
  auto r = run_perplexity(*base.model, pool, h.tokens, o,
                          [&](const float* l, int64_t n, int32_t t) { return (*w)->add(l, n, t); });
  ASSERT_TRUE(r.is_ok()) << r.status().message();
  ASSERT_TRUE((*w)->finish().is_ok());
}

Result<KldStats> compare(const Loaded& other, const std::string& path) {
  MOE_ASSIGN_OR_RETURN(auto c,
                       KldComparer::open(path, other.model->args().vocab_size, other.hash, 64));
  ThreadPool pool(2);
  PerplexityOptions o;
  o.n_ctx = c->header().n_ctx;
  o.max_chunks = c->header().n_chunks;
  o.bos = other.bos;
  MOE_ASSIGN_OR_RETURN(
      PerplexityResult r,
      run_perplexity(*other.model, pool, c->header().tokens, o,
                     [&](const float* l, int64_t n, int32_t t) { return c->add(l, n, t); }));
  (void)r;
  return c->stats();
}

TEST(Kld, ModelAgainstItselfIsZero) {
  Loaded l = load("r1-mini-q8_0");
  ASSERT_TRUE(l.model);
  const std::string path = temp_file("self.kld");
  write_base(l, path, 32, 2);
  auto s = compare(l, path);
  ASSERT_TRUE(s.is_ok()) << s.status().message();
  EXPECT_EQ(s->n, 2 * 31);
  EXPECT_NEAR(s->kld_mean, 0.0, 1e-6);
  EXPECT_NEAR(s->kld_p99, 0.0, 1e-6);
  EXPECT_DOUBLE_EQ(s->top1_agreement, 1.0);
  EXPECT_NEAR(s->mean_abs_dp_top, 0.0, 1e-6);
  EXPECT_NEAR(s->ln_ppl_ratio, 0.0, 1e-6);
  std::filesystem::remove(path);
}

TEST(Kld, Q4KMAgainstBf16BaseIsPositiveAndFinite) {
  Loaded base = load("r1-mini-bf16");
  Loaded q4 = load("r1-mini-q4_k_m");
  ASSERT_TRUE(base.model && q4.model);
  const std::string path = temp_file("bf16.kld");
  write_base(base, path, static_cast<uint32_t>(base.model->args().vocab_size),
             2);  // full distribution
  auto s = compare(q4, path);
  ASSERT_TRUE(s.is_ok()) << s.status().message();
  EXPECT_GT(s->kld_mean, 0.0);
  EXPECT_TRUE(std::isfinite(s->kld_mean));
  EXPECT_GE(s->kld_p99, s->kld_median);
  EXPECT_GE(s->kld_max, s->kld_p99);
  EXPECT_GT(s->top1_agreement, 0.0);
  EXPECT_LE(s->top1_agreement, 1.0);
  EXPECT_TRUE(std::isfinite(s->base_ppl));
  EXPECT_NE(kld_text(*s).find("top-1 agreement"), std::string::npos);
  std::filesystem::remove(path);
}

TEST(Kld, CorruptOrMismatchedBaseFilesAreClearErrors) {
  Loaded l = load("r1-mini-q8_0");
  ASSERT_TRUE(l.model);
  const int64_t n_vocab = l.model->args().vocab_size;
  const std::string path = temp_file("corrupt.kld");
  write_base(l, path, 8, 2);
  ASSERT_TRUE(KldComparer::open(path, n_vocab, l.hash, 64).is_ok());

  auto err = [&](const std::string& p, int64_t vocab, uint64_t hash, int64_t ctx) {
    auto c = KldComparer::open(p, vocab, hash, ctx);
    return c.is_ok() ? std::string() : c.status().message();
  };
  EXPECT_NE(err(path, n_vocab, l.hash, 128).find("-c 64, this run uses -c 128"), std::string::npos);
  EXPECT_NE(err(path, n_vocab + 1, l.hash, 64).find("vocabulary"), std::string::npos);
  EXPECT_NE(err(path, n_vocab, l.hash ^ 1, 64).find("different vocabulary"), std::string::npos);
  EXPECT_NE(err(temp_file("missing.kld"), n_vocab, l.hash, 64).find("cannot open"),
            std::string::npos);

  // Truncated: the size check names both numbers.
  const auto size = std::filesystem::file_size(path);
  std::filesystem::resize_file(path, size - 5);
  EXPECT_NE(err(path, n_vocab, l.hash, 64).find("truncated or corrupt"), std::string::npos);
  // Bad magic.
  {
    std::fstream f(path, std::ios::in | std::ios::out | std::ios::binary);
    f.write("GGUF", 4);
  }
  EXPECT_NE(err(path, n_vocab, l.hash, 64).find("bad magic"), std::string::npos);
  // A few bytes only.
  std::filesystem::resize_file(path, 10);
  EXPECT_NE(err(path, n_vocab, l.hash, 64).find("not a moeinfer KLD base file"), std::string::npos);
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace moe
