// `moeinfer chat -m MODEL`: an interactive terminal chat. Streams tokens as they come, shows
// the reasoning dimmed (or hides it), keeps the conversation, and reuses the KV cache for the
// part of the re-rendered conversation that is unchanged. /reset, /exit; Ctrl-C stops a
// generation without quitting.
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>

#include "base/timer.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "cli/model_options.h"
#include "engine/session.h"
#include "engine/text_model.h"
#include "sampling/sampler.h"
#include "tokenizer/reasoning_parser.h"

namespace moe::cli {
namespace {

// Set by the SIGINT handler, read by the generation loop (a signal handler can only touch
// a lock-free flag: this is the one piece of process-wide mutable state the CLI has).
volatile std::sig_atomic_t g_interrupted = 0;
void on_sigint(int) { g_interrupted = 1; }

struct Style {
  bool tty;
  const char* dim() const { return tty ? "\x1b[2m" : ""; }
  const char* reset() const { return tty ? "\x1b[0m" : ""; }
};

size_t common_prefix(const std::vector<TokenId>& a, const std::vector<TokenId>& b) {
  size_t n = 0;
  while (n < a.size() && n < b.size() && a[n] == b[n]) ++n;
  return n;
}

}  // namespace

int chat_main(int argc, char** argv) {
  std::vector<OptionSpec> specs = {
      {"--n-predict", "-n", "N", "2048", "most tokens per answer"},
      {"--hide-reasoning", "", "", "", "do not print the model's reasoning"},
      {"--system", "", "TEXT", "", "a system message"},
      {"--chat-template-file", "", "FILE", "", "use this template instead of the model's"},
      {"--temp", "", "X", "0.6", "temperature (0: greedy)"},
      {"--top-p", "", "X", "0.95", "top-p"},
      {"--seed", "-s", "N", "12648430", "random seed"},
  };
  add_model_options(specs);
  Args args("chat", "Chat with a model in the terminal (/reset, /exit; Ctrl-C stops an answer).", specs);
  if (Status s = args.parse(argc, argv); !s) {
    std::fprintf(stderr, "moeinfer chat: %s\n%s", s.message().c_str(), args.usage().c_str());
    return 2;
  }
  if (args.help_requested()) {
    std::printf("%s", args.usage().c_str());
    return 0;
  }
  auto fail = [](const Status& s) {
    std::fprintf(stderr, "moeinfer chat: %s\n", s.message().c_str());
    return 1;
  };
  auto n_predict = args.get_int("--n-predict", 1, 1 << 24);
  auto temp = args.get_double("--temp", 0.0, 100.0);
  auto top_p = args.get_double("--top-p", 0.0, 1.0);
  auto seed = args.get_int("--seed", 0, INT64_MAX);
  for (const Status* s : {&n_predict.status(), &temp.status(), &top_p.status(), &seed.status()}) {
    if (!s->is_ok()) return fail(*s);
  }
  auto loaded = load_model_from_args(args);
  if (!loaded) return fail(loaded.status());
  const Model& model = *loaded->model;
  auto text = TextModel::load(model.file(), args.get("--chat-template-file"));
  if (!text) return fail(text.status());
  if (!text->chat_template) return fail(Status::error("the model has no chat template (use --chat-template-file)"));
  auto kv = KvCache::create(model.args(), loaded->cache_type, loaded->n_ctx, 1);
  if (!kv) return fail(kv.status());
  Session session(model, *loaded->pool, *kv, 0, loaded->session);

  SamplingParams sp;
  sp.temperature = static_cast<float>(*temp);
  sp.top_p = static_cast<float>(*top_p);
  sp.seed = static_cast<uint64_t>(*seed);
  Sampler sampler(sp);
  const Style style{isatty(STDOUT_FILENO) == 1};
  const bool hide_reasoning = args.flag("--hide-reasoning");
  std::signal(SIGINT, on_sigint);

  nlohmann::json history = nlohmann::json::array();
  if (args.given("--system")) history.push_back({{"role", "system"}, {"content", args.get("--system")}});
  const nlohmann::json initial_history = history;
  std::vector<TokenId> cached;  // the tokens whose KV rows the session holds
  std::fprintf(stderr, "moeinfer chat: context %lld tokens; /reset clears the conversation, /exit quits\n",
               static_cast<long long>(loaded->n_ctx));
  std::string line;
  for (;;) {
    std::printf("\n> ");
    std::fflush(stdout);
    g_interrupted = 0;
    if (!std::getline(std::cin, line)) break;
    if (line == "/exit" || line == "/quit") break;
    if (line == "/reset") {
      history = initial_history;
      session.truncate(0);
      cached.clear();
      std::printf("(conversation cleared)\n");
      continue;
    }
    if (line.empty()) continue;
    history.push_back({{"role", "user"}, {"content", line}});
    auto rendered = text->render(history, true);
    if (!rendered) return fail(rendered.status());
    const std::vector<TokenId> prompt = text->encode_rendered(*rendered);
    if (static_cast<int64_t>(prompt.size()) + 1 > loaded->n_ctx) {
      std::printf("(the conversation no longer fits in the context of %lld tokens: /reset)\n",
                  static_cast<long long>(loaded->n_ctx));
      history.erase(history.end() - 1);
      continue;
    }
    // Reuse the cached prefix; at least one token is fed so that logits exist.
    size_t reuse = common_prefix(cached, prompt);
    if (reuse == prompt.size()) --reuse;
    session.truncate(static_cast<int64_t>(reuse));
    Timer prompt_timer;
    if (Status s = session.feed(std::span(prompt).subspan(reuse)); !s) return fail(s);
    const double prompt_s = prompt_timer.seconds();
    cached = prompt;

    ReasoningParserOptions popts;
    popts.starts_in_reasoning = prompt_opens_reasoning(*rendered);
    popts.tool_syntax = text->tool_syntax;
    ReasoningParser parser(popts);
    StreamingDecoder decoder(text->tokenizer);
    ParsedMessage answer;
    bool in_reasoning = false;
    auto show = [&](const ReasoningDelta& d) {
      answer.append(d);
      if (!d.reasoning_content.empty() && !hide_reasoning) {
        if (!in_reasoning) std::printf("%s", style.dim());
        in_reasoning = true;
        std::printf("%s", d.reasoning_content.c_str());
      }
      if (!d.content.empty()) {
        if (in_reasoning) std::printf("%s\n\n", style.reset());
        in_reasoning = false;
        std::printf("%s", d.content.c_str());
      }
      for (const ToolCallDelta& t : d.tool_calls) {
        if (!t.name.empty()) std::printf("\n[tool call %s] ", t.name.c_str());
        std::printf("%s", t.arguments.c_str());
      }
      std::fflush(stdout);
    };
    Timer gen_timer;
    int64_t generated = 0;
    const char* stopped = "";
    for (int64_t i = 0; i < *n_predict; ++i) {
      if (g_interrupted) {
        stopped = " (stopped)";
        break;
      }
      const TokenId id = sampler.sample(session.logits(), session.n_vocab(), cached);
      if (text->tokenizer.ends_generation(id)) break;
      ++generated;
      show(parser.feed(decoder.push(id)));
      if (session.n_past() + 1 > loaded->n_ctx) {
        stopped = " (context full)";
        break;
      }
      cached.push_back(id);
      const TokenId next[1] = {id};
      if (Status s = session.feed(next); !s) return fail(s);
    }
    show(parser.feed(decoder.flush()));
    show(parser.finish());
    if (in_reasoning) std::printf("%s", style.reset());
    const double gen_s = gen_timer.seconds();
    std::fprintf(stderr, "\n[%zu prompt tokens (%zu reused) in %.2f s; %lld tokens in %.2f s, %.2f tok/s%s]\n",
                 prompt.size(), reuse, prompt_s, static_cast<long long>(generated), gen_s,
                 gen_s > 0 ? static_cast<double>(generated) / gen_s : 0.0, stopped);
    history.push_back({{"role", "assistant"}, {"content", answer.content}});
  }
  std::printf("\n");
  return 0;
}

}  // namespace moe::cli
