// An in-process server over real loopback HTTP for the server tests: the fixture model (or
// a scripted token source behind the same ModelStep interface), a Scheduler and the HTTP
// Server on 127.0.0.1:<free port>; httplib::Client is the client.
#pragma once

#include <gtest/gtest.h>
#include <httplib.h>

#include <memory>
#include <optional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/thread_pool.h"
#include "engine/model_step.h"
#include "engine/scheduler.h"
#include "engine/text_model.h"
#include "kernels/kernels.h"
#include "model/model.h"
#include "server/server.h"

namespace moe::testing {

inline std::string data_path(const std::string& rel) { return std::string(MOEINFER_TEST_DATA_DIR) + "/" + rel; }
inline std::string model_path(const std::string& name) { return data_path("models/" + name + ".gguf"); }
// The shortest conversation: one user message, "Hello".
inline const nlohmann::json kHello =
    nlohmann::json::array({{{"role", "user"}, {"content", "Hello"}}});

struct TestServerConfig {
  std::string model = "r1-mini-q8_0";
  int n_slots = 2;
  int64_t slot_ctx = 512;
  int batch_size = 64;
  int max_queue = 8;
  int threads = 2;
  std::string api_key;
  std::string cors_origin;
  std::string slot_save_path;
  size_t body_limit = 16u << 20;
  // Scripted token source instead of the model: every request generates `script`, then EOS.
  bool scripted = false;
  std::string script;
  int step_delay_ms = 0;
  // The tool-call syntax the server parses (the fixtures' vocabulary picks DeepSeek's).
  std::optional<ToolCallSyntax> tool_syntax;
};

class TestServer {
 public:
  explicit TestServer(TestServerConfig cfg) : cfg_(std::move(cfg)) {
    auto model = Model::load(model_path(cfg_.model), best_kernel_table());
    if (!model) {
      error_ = model.status().message();
      return;
    }
    model_ = std::move(*model);
    auto text = TextModel::load(model_->file());
    if (!text) {
      error_ = text.status().message();
      return;
    }
    if (cfg_.tool_syntax) text->tool_syntax = *cfg_.tool_syntax;
    const Tokenizer tokenizer = text->tokenizer;
    pool_ = std::make_unique<ThreadPool>(cfg_.threads);
    if (cfg_.scripted) {
      step_ = std::make_unique<ScriptedStep>(model_->args().vocab_size, cfg_.n_slots, cfg_.slot_ctx,
                                             tokenizer.encode(cfg_.script, false), tokenizer.eos_id(),
                                             cfg_.step_delay_ms);
    } else {
      const int64_t per_slot = (cfg_.slot_ctx + 255) / 256 * 256;
      auto kv = KvCache::create(model_->args(), KvCacheType::kF16, per_slot * cfg_.n_slots, cfg_.n_slots, 256);
      if (!kv) {
        error_ = kv.status().message();
        return;
      }
      SessionConfig sc;
      sc.batch_size = cfg_.batch_size;
      step_ = std::make_unique<KvModelStep>(*model_, *pool_, std::move(*kv), sc);
    }
    SchedulerOptions so;
    so.slot_ctx = cfg_.slot_ctx;
    so.batch_size = cfg_.batch_size;
    so.max_queue = cfg_.max_queue;
    scheduler_ = std::make_unique<Scheduler>(*step_, tokenizer, so);
    scheduler_->start();

    ServerOptions opts;
    opts.port = 0;
    opts.api_key = cfg_.api_key;
    opts.cors_origin = cfg_.cors_origin;
    opts.slot_save_path = cfg_.slot_save_path;
    opts.body_limit = cfg_.body_limit;
    opts.http_threads = cfg_.n_slots + cfg_.max_queue + 8;
    server_ = std::make_unique<Server>(opts);
    auto port = server_->bind();
    if (!port) {
      error_ = port.status().message();
      return;
    }
    port_ = *port;
    server_->start();
    auto sm = std::make_unique<ServerModel>(std::move(*text));
    sm->name = "test-model";
    sm->scheduler = scheduler_.get();
    sm->n_ctx_train = model_->args().context_length;
    sm->n_routed_experts = static_cast<int>(model_->args().n_routed_experts);
    if (Status s = server_->set_model(std::move(sm)); !s) error_ = s.message();
  }

  ~TestServer() {
    if (server_) server_->stop();
    if (scheduler_) scheduler_->stop();
  }

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  int port() const { return port_; }
  Scheduler& scheduler() { return *scheduler_; }
  const Model& model() const { return *model_; }

  std::unique_ptr<httplib::Client> client() const {
    auto c = std::make_unique<httplib::Client>("127.0.0.1", port_);
    c->set_read_timeout(120, 0);
    if (!cfg_.api_key.empty()) c->set_bearer_token_auth(cfg_.api_key.c_str());
    return c;
  }

 private:
  TestServerConfig cfg_;
  std::string error_;
  std::unique_ptr<Model> model_;
  std::unique_ptr<ThreadPool> pool_;
  std::unique_ptr<ModelStep> step_;
  std::unique_ptr<Scheduler> scheduler_;
  std::unique_ptr<Server> server_;
  int port_ = 0;
};

inline nlohmann::json post_json(httplib::Client& c, const std::string& path, const nlohmann::json& body, int* status = nullptr) {
  auto res = c.Post(path.c_str(), body.dump(), "application/json");
  if (!res) {
    ADD_FAILURE() << "no response from " << path;
    return nullptr;
  }
  if (status != nullptr) *status = res->status;
  return nlohmann::json::parse(res->body, nullptr, false);
}

// Strict SSE framing: every event is exactly "data: <payload>\n\n"; the last is [DONE].
struct SseStream {
  std::vector<nlohmann::json> chunks;
  bool done = false;
  std::string error;
};

inline SseStream parse_sse(const std::string& body) {
  SseStream s;
  size_t at = 0;
  while (at < body.size()) {
    const size_t end = body.find("\n\n", at);
    if (end == std::string::npos) {
      s.error = "unterminated event at byte " + std::to_string(at);
      return s;
    }
    const std::string event = body.substr(at, end - at);
    at = end + 2;
    if (event.rfind("data: ", 0) != 0 || event.find('\n') != std::string::npos) {
      s.error = "bad event: " + event;
      return s;
    }
    const std::string payload = event.substr(6);
    if (s.done) {
      s.error = "event after [DONE]";
      return s;
    }
    if (payload == "[DONE]") {
      s.done = true;
      continue;
    }
    auto j = nlohmann::json::parse(payload, nullptr, false);
    if (j.is_discarded()) {
      s.error = "bad JSON: " + payload;
      return s;
    }
    s.chunks.push_back(std::move(j));
  }
  return s;
}

// Concatenated delta fields of a chat stream.
struct ChatStreamText {
  std::string content, reasoning;
  std::string finish;
  nlohmann::json tool_calls = nlohmann::json::array();
};

inline ChatStreamText collect_chat(const SseStream& s) {
  ChatStreamText t;
  for (const auto& c : s.chunks) {
    if (!c.contains("choices") || c["choices"].empty()) continue;
    const auto& ch = c["choices"][0];
    const auto& d = ch["delta"];
    if (d.contains("content") && d["content"].is_string()) t.content += d["content"].get<std::string>();
    if (d.contains("reasoning_content")) t.reasoning += d["reasoning_content"].get<std::string>();
    if (d.contains("tool_calls")) {
      for (const auto& tc : d["tool_calls"]) t.tool_calls.push_back(tc);
    }
    if (!ch["finish_reason"].is_null()) t.finish = ch["finish_reason"].get<std::string>();
  }
  return t;
}

}  // namespace moe::testing
