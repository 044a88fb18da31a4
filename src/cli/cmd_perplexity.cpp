// `moeinfer perplexity -m MODEL -f TEXT [-c 512] [-b 512] [--chunks N] [--json]`
//   [--kld-base FILE [--kld-top-k 256]] | [--kld FILE]
// Perplexity with llama-perplexity's conventions (engine/perplexity.h: chunks of -c tokens,
// BOS first, the second half scored; running PPL per chunk, final estimate +/- error).
// --kld-base saves the model's top-K log-probs of every scored position (and the tokens);
// --kld compares this model with such a file: KL divergence mean/median/p99, top-1
// agreement, mean |delta p| of the base top token (the tokens come from the file; -f is not
// needed).
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "base/timer.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "cli/model_options.h"
#include "engine/perplexity.h"
#include "engine/text_model.h"

namespace moe::cli {
namespace {

std::vector<OptionSpec> perplexity_options() {
  std::vector<OptionSpec> specs = {
      {"--file", "-f", "FILE", "", "text file to score"},
      {"--chunks", "", "N", "0", "score at most N chunks (0: all)"},
      {"--kld-base", "", "FILE", "", "save this (base) model's log-probs for a later --kld"},
      {"--kld-top-k", "", "N", "256",
       "log-probs kept per position in --kld-base (the vocab size: all)"},
      {"--kld", "", "FILE", "", "compare this model with a --kld-base file (KL divergence)"},
      {"--json", "", "", "", "print one JSON object"},
      {"--no-progress", "", "", "", "no progress bar (it is shown only when stderr is a terminal)"},
  };
  add_model_options(specs);
  return specs;
}

// One line on stderr, redrawn per chunk: [=====>    ] 3/10 chunks, PPL, tok/s, ETA.
class ProgressBar {
 public:
  ProgressBar(bool enabled, int64_t tokens_per_chunk)
      : enabled_(enabled), tokens_per_chunk_(tokens_per_chunk) {}
  void update(int64_t done, int64_t total, double ppl) {
    if (!enabled_) return;
    const int width = 30;
    const int fill = total > 0 ? static_cast<int>(width * done / total) : width;
    const double s = timer_.seconds();
    const double tps = s > 0 ? static_cast<double>(done * tokens_per_chunk_) / s : 0.0;
    const double eta =
        done > 0 ? s * static_cast<double>(total - done) / static_cast<double>(done) : 0.0;
    std::string bar(static_cast<size_t>(fill), '=');
    bar.resize(width, ' ');
    std::fprintf(stderr, "\r[%s] %lld/%lld chunks  PPL %.4f  %.1f tok/s  ETA %.0fs   ", bar.c_str(),
                 static_cast<long long>(done), static_cast<long long>(total), ppl, tps, eta);
    if (done == total) std::fprintf(stderr, "\n");
    std::fflush(stderr);
  }

 private:
  bool enabled_;
  int64_t tokens_per_chunk_;
  Timer timer_;
};

}  // namespace

int perplexity_main(int argc, char** argv) {
  Args args("perplexity",
            "Perplexity of a model over a text (llama-perplexity's convention), and KL divergence "
            "between quants.",
            perplexity_options());
  if (Status s = args.parse(argc, argv); !s) {
    std::fprintf(stderr, "moeinfer perplexity: %s\n%s", s.message().c_str(), args.usage().c_str());
    return 2;
  }
  if (args.help_requested()) {
    std::printf("%s", args.usage().c_str());
    return 0;
  }
  const std::string text_path = args.get("--file");
  const std::string kld_base = args.get("--kld-base");
  const std::string kld = args.get("--kld");
  if (!kld_base.empty() && !kld.empty())
    return fail("perplexity", Status::error("--kld-base and --kld exclude each other"));
  if (text_path.empty() && kld.empty())
    return fail("perplexity", Status::error("no text given (-f FILE)"));
  auto chunks = args.get_int("--chunks", 0, INT64_MAX);
  if (!chunks) return fail("perplexity", chunks.status());
  auto top_k = args.get_int("--kld-top-k", 1, 1 << 24);
  if (!top_k) return fail("perplexity", top_k.status());

  auto loaded = load_model_from_args(args);
  if (!loaded) return fail("perplexity", loaded.status());
  const Model& model = *loaded->model;
  auto text_model = TextModel::load(model.file());
  if (!text_model) return fail("perplexity", text_model.status());
  const Tokenizer& tokenizer = text_model->tokenizer;
  const int64_t n_vocab = model.args().vocab_size;

  PerplexityOptions o;
  o.n_ctx = args.given("--ctx-size") ? loaded->n_ctx : 512;
  o.n_batch = loaded->session.batch_size;
  o.max_chunks = *chunks;
  o.threads_batch = loaded->session.threads_batch;
  o.n_experts = loaded->session.n_experts;
  o.cache_type = loaded->cache_type;
  o.bos = perplexity_bos(tokenizer);
  const uint64_t hash = vocab_hash(tokenizer);

  std::vector<int32_t> tokens;
  std::unique_ptr<KldComparer> comparer;
  if (!kld.empty()) {
    auto c = KldComparer::open(kld, n_vocab, hash, args.given("--ctx-size") ? o.n_ctx : 0);
    if (!c) return fail("perplexity", c.status());
    comparer = std::move(*c);
    o.n_ctx = comparer->header().n_ctx;
    o.max_chunks = comparer->header().n_chunks;
    tokens = comparer->header().tokens;
  } else {
    auto text = read_text_file(text_path);
    if (!text) return fail("perplexity", text.status());
    tokens = perplexity_tokens(tokenizer, *text);
  }
  const int64_t available = static_cast<int64_t>(tokens.size()) / std::max<int64_t>(1, o.n_ctx);
  const int64_t n_chunks = o.max_chunks > 0 ? std::min(available, o.max_chunks) : available;
  std::fprintf(stderr, "moeinfer perplexity: %zu tokens, n_ctx %lld, batch %lld, %lld chunks\n",
               tokens.size(), static_cast<long long>(o.n_ctx), static_cast<long long>(o.n_batch),
               static_cast<long long>(n_chunks));

  std::unique_ptr<KldBaseWriter> writer;
  if (!kld_base.empty()) {
    if (static_cast<int64_t>(tokens.size()) < 2 * o.n_ctx) {
      return fail("perplexity",
                  Status::error("you need at least " + std::to_string(2 * o.n_ctx) +
                                " tokens (the text has " + std::to_string(tokens.size()) + ")"));
    }
    KldHeader h;
    h.n_vocab = static_cast<uint32_t>(n_vocab);
    h.n_ctx = static_cast<uint32_t>(o.n_ctx);
    h.top_k = static_cast<uint32_t>(std::min<int64_t>(*top_k, n_vocab));
    h.n_chunks = static_cast<uint32_t>(n_chunks);
    h.n_scored = static_cast<uint32_t>(perplexity_scored_per_chunk(o.n_ctx));
    h.vocab_hash = hash;
    auto name = model.file().metadata().get_string("general.name");
    h.model_name = name && *name ? std::string(**name)
                                 : std::filesystem::path(args.get("--model")).filename().string();
    h.tokens.assign(tokens.begin(), tokens.begin() + n_chunks * o.n_ctx);
    auto w = KldBaseWriter::create(kld_base, h);
    if (!w) return fail("perplexity", w.status());
    writer = std::move(*w);
  }

  ScoredTokenFn on_token;
  if (writer) on_token = [&](const float* l, int64_t n, int32_t t) { return writer->add(l, n, t); };
  if (comparer)
    on_token = [&](const float* l, int64_t n, int32_t t) { return comparer->add(l, n, t); };
  const bool json = args.flag("--json");
  ProgressBar bar(!args.flag("--no-progress") && isatty(STDERR_FILENO) != 0, o.n_ctx);
  auto result = run_perplexity(
      model, *loaded->pool, tokens, o, on_token,
      [&](int64_t done, int64_t total, double ppl) { bar.update(done, total, ppl); });
  if (!result) return fail("perplexity", result.status());
  if (writer) {
    if (Status s = writer->finish(); !s) return fail("perplexity", s);
  }

  if (json) {
    nlohmann::ordered_json j = perplexity_json(*result, o);
    if (comparer) {
      j["kld"] = kld_json(comparer->stats());
      j["kld"]["base_model"] = comparer->header().model_name;
    }
    if (writer) j["kld_base"] = kld_base;
    std::printf("%s\n", j.dump(2).c_str());
    return 0;
  }
  std::printf("%s", perplexity_text(*result).c_str());
  if (comparer) {
    std::printf("base model: %s\n%s", comparer->header().model_name.c_str(),
                kld_text(comparer->stats()).c_str());
  }
  if (writer) std::printf("saved base log-probs to %s\n", kld_base.c_str());
  return 0;
}

}  // namespace moe::cli
