// `moeinfer serve`: the OpenAI-compatible HTTP server (see src/server/server.h). Binds
// first, so /health answers 503 "loading" while the model loads, then serves -np slots
// with continuous batching. -c is the total context, split evenly over the slots.
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <ctime>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "base/log.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "cli/model_options.h"
#include "engine/model_step.h"
#include "engine/scheduler.h"
#include "server/server.h"
#include "engine/text_model.h"

namespace moe::cli {
namespace {

constexpr int64_t kDefaultServeCtx = 32768;
constexpr int64_t kBlockTokens = 256;

std::vector<OptionSpec> serve_options() {
  std::vector<OptionSpec> specs = {
      {"--host", "", "ADDR", "127.0.0.1", "address to listen on (loopback by default)"},
      {"--port", "", "N", "8080", "port to listen on (0: any free port, printed at start-up)"},
      {"--parallel", "-np", "N", "4", "slots: requests generated at once (continuous batching)"},
      {"--api-key", "", "KEY", "", "require 'Authorization: Bearer KEY' on every endpoint but /health"},
      {"--chat-template-file", "", "FILE", "", "Jinja chat template instead of the model's"},
      {"--reasoning-format", "", "FMT", "deepseek", "deepseek: split <think> into reasoning_content; none: keep it in content"},
      {"--slot-save-path", "", "DIR", "", "folder for POST /slots/{id}?action=save|restore files (off when empty)"},
      {"--alias", "", "NAME", "", "model id reported by the API (default: the file name)"},
      {"--cors-origin", "", "ORIGIN", "", "allow cross-origin requests from ORIGIN (off by default)"},
      {"--max-queue", "", "N", "32", "requests waiting for a slot before new ones get 503"},
      {"--body-limit", "", "BYTES", "16777216", "largest request body accepted (413 above)"},
      {"--test-script", "", "TEXT", "", "testing only: every request generates TEXT (tokenized) instead of running the model"},
      {"--test-step-delay-ms", "", "N", "0", "testing only: with --test-script, sleep N ms per engine step"},
  };
  add_model_options(specs);
  return specs;
}

std::string base_name(const std::string& path) {
  const size_t slash = path.find_last_of('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

}  // namespace

int serve_main(int argc, char** argv) {
  Args args("serve", "Serve the model over an OpenAI-compatible HTTP API.", serve_options());
  if (Status s = args.parse(argc, argv); !s) {
    std::fprintf(stderr, "moeinfer serve: %s\n%s", s.message().c_str(), args.usage().c_str());
    return 2;
  }
  if (args.help_requested()) {
    std::printf("%s", args.usage().c_str());
    return 0;
  }
  auto port = args.get_int("--port", 0, 65535);
  if (!port) return fail("serve", port.status());
  auto n_slots = args.get_int("--parallel", 1, 256);
  if (!n_slots) return fail("serve", n_slots.status());
  auto max_queue = args.get_int("--max-queue", 0, 1 << 16);
  if (!max_queue) return fail("serve", max_queue.status());
  auto body_limit = args.get_int("--body-limit", 1024, int64_t{1} << 32);
  if (!body_limit) return fail("serve", body_limit.status());
  auto delay = args.get_int("--test-step-delay-ms", 0, 60000);
  if (!delay) return fail("serve", delay.status());

  ServerOptions opts;
  opts.host = args.get("--host");
  opts.port = static_cast<int>(*port);
  opts.api_key = args.get("--api-key");
  opts.cors_origin = args.get("--cors-origin");
  opts.slot_save_path = args.get("--slot-save-path");
  opts.body_limit = static_cast<size_t>(*body_limit);
  opts.http_threads = static_cast<int>(*n_slots + *max_queue + 8);
  const std::string fmt = args.get("--reasoning-format");
  if (fmt == "deepseek") {
    opts.reasoning_format = ReasoningFormat::kDeepSeek;
  } else if (fmt == "none") {
    opts.reasoning_format = ReasoningFormat::kNone;
  } else {
    return fail("serve",
                Status::error("--reasoning-format: expected deepseek or none, got '" + fmt + "'"));
  }

  // Signals are taken by sigwait() below: block them before any thread starts.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  Server server(opts);
  auto bound = server.bind();
  if (!bound) return fail("serve", bound.status());
  server.start();
  std::printf("moeinfer serve: listening on http://%s:%d\n", opts.host.c_str(), *bound);
  std::fflush(stdout);

  // /health reports the bytes read or touched while the weights load (--no-mmap,
  // --warmup); a plain mmap load is near-instant and jumps straight to 0.8.
  server.set_progress(0.05f);
  auto loaded = load_model_from_args(args, [&server](uint64_t done, uint64_t total) {
    if (total > 0) server.set_progress(0.05f + 0.75f * static_cast<float>(done) / static_cast<float>(total));
  });
  if (!loaded) return fail("serve", loaded.status());
  server.set_progress(0.8f);
  const Model& model = *loaded->model;
  int64_t n_ctx = loaded->n_ctx;
  if (!args.given("--ctx-size")) {
    n_ctx = kDefaultServeCtx;
    if (model.args().context_length > 0) n_ctx = std::min(n_ctx, model.args().context_length * *n_slots);
  }
  const int64_t slot_ctx = n_ctx / *n_slots;
  if (slot_ctx < 1)
    return fail("serve",
                Status::error("-c " + std::to_string(n_ctx) + " is less than one token per slot"));
  std::printf("moeinfer serve: context %lld tokens in total, split over %lld slots: %lld tokens per slot\n",
              static_cast<long long>(n_ctx), static_cast<long long>(*n_slots), static_cast<long long>(slot_ctx));
  std::fflush(stdout);

  auto text = TextModel::load(model.file(), args.get("--chat-template-file"));
  if (!text) return fail("serve", text.status());
  if (!text->chat_template) MOE_LOG_WARN("the model has no chat template: /v1/chat/completions is unavailable");
  const Tokenizer tokenizer = text->tokenizer;
  auto server_model = std::make_unique<ServerModel>(std::move(*text));

  std::unique_ptr<ModelStep> step;
  if (args.given("--test-script")) {
    MOE_LOG_WARN("--test-script: the model is not run; every request generates the scripted text");
    step = std::make_unique<ScriptedStep>(model.args().vocab_size, static_cast<int>(*n_slots), slot_ctx,
                                          tokenizer.encode(args.get("--test-script"), false), tokenizer.eos_id(),
                                          static_cast<int>(*delay));
  } else {
    const int64_t per_slot = (slot_ctx + kBlockTokens - 1) / kBlockTokens * kBlockTokens;
    auto kv = KvCache::create(model.args(), loaded->cache_type, per_slot * *n_slots, static_cast<int>(*n_slots),
                              kBlockTokens);
    if (!kv) return fail("serve", kv.status());
    step = std::make_unique<KvModelStep>(model, *loaded->pool, std::move(*kv), loaded->session);
  }
  SchedulerOptions so;
  so.slot_ctx = slot_ctx;
  so.batch_size = loaded->session.batch_size;
  so.max_queue = static_cast<int>(*max_queue);
  Scheduler scheduler(*step, tokenizer, so);
  scheduler.start();

  server_model->name = args.given("--alias") ? args.get("--alias") : base_name(args.get("--model"));
  if (server_model->name.empty() && !args.positionals().empty()) server_model->name = base_name(args.positionals()[0]);
  server_model->scheduler = &scheduler;
  server_model->n_ctx_train = model.args().context_length;
  server_model->n_routed_experts = static_cast<int>(model.args().n_routed_experts);
  server_model->created = static_cast<int64_t>(std::time(nullptr));
  if (Status s = server.set_model(std::move(server_model)); !s) return fail("serve", s);
  std::printf("moeinfer serve: ready (%lld slots, model '%s')\n", static_cast<long long>(*n_slots),
              server.context().model.load()->name.c_str());
  std::fflush(stdout);

  int sig = 0;
  sigwait(&signals, &sig);
  MOE_LOG_INFO("signal %d: stopping", sig);
  server.stop();
  scheduler.stop();
  return 0;
}

}  // namespace moe::cli
