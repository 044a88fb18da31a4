// What every endpoint shares: the server options, the loaded model (set once, when ready)
// and the HTTP counters for /metrics.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "engine/scheduler.h"
#include "engine/text_model.h"
#include "tokenizer/chat_template.h"
#include "tokenizer/reasoning_parser.h"
#include "tokenizer/tokenizer.h"

namespace moe {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;                 // 0: any free port
  std::string api_key;             // empty: no authentication
  std::string cors_origin;         // empty: no CORS headers
  std::string slot_save_path;      // empty: slot save/restore disabled
  size_t body_limit = 16u << 20;   // bytes; larger bodies get 413
  int http_threads = 8;            // concurrent connections served
  ReasoningFormat reasoning_format = ReasoningFormat::kDeepSeek;  // default per request
};

// The model side, available once loading is done. Immutable afterwards.
struct ServerModel {
  explicit ServerModel(TextModel t) : text(std::move(t)) {}
  std::string name;                // the id /v1/models lists (--alias or the file name)
  TextModel text;                  // tokenizer + chat template (absent: no chat endpoint)
  Scheduler* scheduler = nullptr;  // not owned
  int64_t n_ctx_train = 0;
  int n_routed_experts = 0;        // bound for a request's n_experts
  int64_t created = 0;             // unix time the model was loaded
};

struct ServerContext {
  ServerOptions options;
  std::atomic<float> progress{0.0f};
  std::atomic<const ServerModel*> model{nullptr};
  std::atomic<int64_t> http_requests{0};
  std::atomic<int64_t> http_errors{0};  // responses with status >= 400
  std::atomic<int64_t> queue_rejections{0};
};

}  // namespace moe
