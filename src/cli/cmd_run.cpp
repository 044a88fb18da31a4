// `moeinfer run`: generate from a prompt. With --jsonl, stdout holds exactly one JSON
// object per generated token (logs go to stderr):
//   {"id": 17, "logprob": -1.23, "top": [[17, -1.23], [5, -2.5], ...]}
// where logprob is the log-softmax of the raw logits (before any sampling transform).
#include <cstdio>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "base/log.h"
#include "base/timer.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "cli/model_options.h"
#include "engine/session.h"
#include "engine/text_model.h"
#include "sampling/sampler.h"

namespace moe::cli {
namespace {

std::vector<OptionSpec> run_options() {
  std::vector<OptionSpec> specs = {
      {"--prompt-ids", "", "IDS", "", "prompt as comma-separated token ids, used exactly as given"},
      {"--prompt", "-p", "TEXT", "", "prompt text (BOS added as the model asks)"},
      {"--chat", "", "", "", "with -p: wrap the text as a user message in the chat template"},
      {"--chat-template-file", "", "FILE", "", "with --chat: use this template instead of the model's"},
      {"--n-predict", "-n", "N", "32", "tokens to generate"},
      {"--ignore-eos", "", "", "", "generate exactly -n tokens, EOS included"},
      {"--jsonl", "", "", "", "one JSON object per generated token on stdout"},
      {"--top-logprobs", "", "N", "0", "with --jsonl: the N most likely tokens per step"},
      {"--greedy", "", "", "", "always take the most likely token"},
      {"--temp", "", "X", "0.8", "temperature (0: greedy)"},
      {"--top-k", "", "N", "40", "top-k (0: off)"},
      {"--top-p", "", "X", "0.95", "top-p (1: off)"},
      {"--min-p", "", "X", "0.05", "min-p (0: off)"},
      {"--repeat-penalty", "", "X", "1.0", "repetition penalty (1: off)"},
      {"--repeat-last-n", "", "N", "64", "tokens the penalties look back"},
      {"--presence-penalty", "", "X", "0", "presence penalty"},
      {"--frequency-penalty", "", "X", "0", "frequency penalty"},
      {"--seed", "-s", "N", "12648430", "random seed"},
  };
  add_model_options(specs);
  return specs;
}

Result<SamplingParams> sampling_from_args(const Args& args) {
  SamplingParams p;
  p.greedy = args.flag("--greedy");
  MOE_ASSIGN_OR_RETURN(double temp, args.get_double("--temp", 0.0, 100.0));
  MOE_ASSIGN_OR_RETURN(int64_t top_k, args.get_int("--top-k", 0, 1 << 30));
  MOE_ASSIGN_OR_RETURN(double top_p, args.get_double("--top-p", 0.0, 1.0));
  MOE_ASSIGN_OR_RETURN(double min_p, args.get_double("--min-p", 0.0, 1.0));
  MOE_ASSIGN_OR_RETURN(double repeat, args.get_double("--repeat-penalty", 0.0, 100.0));
  MOE_ASSIGN_OR_RETURN(int64_t last_n, args.get_int("--repeat-last-n", -1, 1 << 30));
  MOE_ASSIGN_OR_RETURN(double presence, args.get_double("--presence-penalty", -100.0, 100.0));
  MOE_ASSIGN_OR_RETURN(double frequency, args.get_double("--frequency-penalty", -100.0, 100.0));
  MOE_ASSIGN_OR_RETURN(int64_t seed, args.get_int("--seed", 0, INT64_MAX));
  p.temperature = static_cast<float>(temp);
  p.top_k = static_cast<int>(top_k);
  p.top_p = static_cast<float>(top_p);
  p.min_p = static_cast<float>(min_p);
  p.repeat_penalty = static_cast<float>(repeat);
  p.repeat_last_n = static_cast<int>(last_n);
  p.presence_penalty = static_cast<float>(presence);
  p.frequency_penalty = static_cast<float>(frequency);
  p.seed = static_cast<uint64_t>(seed);
  return p;
}

// The prompt's tokens: ids as given, or text (optionally wrapped in the chat template).
Result<std::vector<int32_t>> prompt_tokens(const Args& args, const Result<TextModel>& text,
                                           std::optional<Result<std::vector<int32_t>>>& from_ids) {
  if (from_ids) return std::move(*from_ids);
  if (!text) return text.status();
  if (!args.flag("--chat")) return text->encode_text(args.get("--prompt"));
  const nlohmann::json messages = {{{"role", "user"}, {"content", args.get("--prompt")}}};
  MOE_ASSIGN_OR_RETURN(std::string rendered, text->render(messages, true));
  return text->encode_rendered(rendered);
}

}  // namespace

int run_main(int argc, char** argv) {
  Args args("run", "Generate tokens from a prompt.", run_options());
  if (Status s = args.parse(argc, argv); !s) {
    std::fprintf(stderr, "moeinfer run: %s\n%s", s.message().c_str(), args.usage().c_str());
    return 2;
  }
  if (args.help_requested()) {
    std::printf("%s", args.usage().c_str());
    return 0;
  }
  auto n_predict = args.get_int("--n-predict", 0, 1 << 24);
  if (!n_predict) return fail("run", n_predict.status());
  auto top_n = args.get_int("--top-logprobs", 0, 1000);
  if (!top_n) return fail("run", top_n.status());
  auto sampling = sampling_from_args(args);
  if (!sampling) return fail("run", sampling.status());
  if (args.given("--prompt-ids") == args.given("--prompt")) {
    return fail("run", Status::error("give the prompt with either --prompt-ids or -p TEXT"));
  }
  auto loaded = load_model_from_args(args);
  if (!loaded) return fail("run", loaded.status());
  const Model& model = *loaded->model;
  auto text = TextModel::load(model.file(), args.get("--chat-template-file"));
  std::optional<Result<std::vector<int32_t>>> from_ids;
  if (args.given("--prompt-ids")) from_ids = parse_id_list(args.get("--prompt-ids"));
  auto prompt = prompt_tokens(args, text, from_ids);
  if (!prompt) return fail("run", prompt.status());
  const int64_t needed = static_cast<int64_t>(prompt->size()) + std::max<int64_t>(*n_predict - 1, 0);
  if (needed > loaded->n_ctx) {
    return fail("run",
                Status::error("prompt of " + std::to_string(prompt->size()) + " tokens plus " +
                              std::to_string(*n_predict) + " to generate exceeds the context of " +
                              std::to_string(loaded->n_ctx) + " (raise -c)"));
  }
  auto kv = KvCache::create(model.args(), loaded->cache_type, loaded->n_ctx, 1);
  if (!kv) return fail("run", kv.status());
  Session session(model, *loaded->pool, *kv, 0, loaded->session);

  // Without a usable tokenizer (--prompt-ids on a file whose vocabulary does not load) EOS
  // alone ends the answer.
  auto eos = model.file().metadata().get_uint("tokenizer.ggml.eos_token_id");
  const int64_t eos_id = eos.is_ok() && eos->has_value() ? static_cast<int64_t>(**eos) : -1;
  auto ends_generation = [&](int32_t id) {
    return text ? text->tokenizer.ends_generation(id) : id == eos_id;
  };
  const bool jsonl = args.flag("--jsonl");
  Sampler sampler(*sampling);
  std::vector<int32_t> history = *prompt;
  std::vector<float> scratch;
  std::optional<StreamingDecoder> decoder;
  if (!jsonl && text) decoder.emplace(text->tokenizer);

  Timer prefill_timer;
  if (Status s = session.feed(*prompt); !s) return fail("run", s);
  const double prefill_s = prefill_timer.seconds();
  Timer decode_timer;
  int64_t generated = 0;
  for (int64_t i = 0; i < *n_predict; ++i) {
    const float* logits = session.logits();
    const int32_t id = sampler.sample(logits, session.n_vocab(), history);
    ++generated;
    if (jsonl) {
      auto top = top_logprobs(logits, session.n_vocab(), static_cast<int>(*top_n), scratch);
      nlohmann::json j;
      j["id"] = id;
      j["logprob"] = scratch[static_cast<size_t>(id)];
      j["top"] = nlohmann::json::array();
      for (const auto& [tid, lp] : top) j["top"].push_back({tid, lp});
      std::printf("%s\n", j.dump().c_str());
    } else if (decoder) {
      const std::string piece = decoder->push(id);
      std::fwrite(piece.data(), 1, piece.size(), stdout);
    } else {
      std::printf("%d ", id);
    }
    std::fflush(stdout);
    history.push_back(id);
    if (ends_generation(id) && !args.flag("--ignore-eos")) break;
    if (i + 1 < *n_predict) {
      const int32_t next[1] = {id};
      if (Status s = session.feed(next); !s) return fail("run", s);
    }
  }
  if (decoder) std::printf("%s", decoder->flush().c_str());
  if (!jsonl) std::printf("\n");
  const double decode_s = decode_timer.seconds();
  MOE_LOG_INFO("prompt: %zu tokens in %.3f s (%.1f tok/s); generated %lld tokens in %.3f s (%.1f tok/s)",
               prompt->size(), prefill_s, static_cast<double>(prompt->size()) / prefill_s,
               static_cast<long long>(generated), decode_s,
               decode_s > 0 ? static_cast<double>(generated) / decode_s : 0.0);
  return 0;
}

}  // namespace moe::cli
