#include "server/server.h"

#include <httplib.h>

#include <chrono>

#include "base/log.h"
#include "server/http_util.h"

namespace moe {

bool constant_time_equal(const std::string& a, const std::string& b) {
  const size_t n = std::max(a.size(), b.size());
  unsigned diff = a.size() == b.size() ? 0u : 1u;
  for (size_t i = 0; i < n; ++i) {
    const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    const unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff |= static_cast<unsigned>(x ^ y);
  }
  return diff == 0;
}

Server::Server(ServerOptions options) : http_(std::make_unique<httplib::Server>()) {
  ctx_.options = std::move(options);
  const int threads = std::max(2, ctx_.options.http_threads);
  http_->new_task_queue = [threads] { return new httplib::ThreadPool(static_cast<size_t>(threads)); };
  http_->set_payload_max_length(ctx_.options.body_limit);
  http_->set_keep_alive_max_count(100);

  ServerContext& ctx = ctx_;
  http_->set_pre_routing_handler([&ctx](const httplib::Request& req, httplib::Response& res) {
    ++ctx.http_requests;
    if (!ctx.options.cors_origin.empty()) {
      res.set_header("Access-Control-Allow-Origin", ctx.options.cors_origin);
      res.set_header("Access-Control-Allow-Headers", "Authorization, Content-Type");
      res.set_header("Access-Control-Allow-Methods", "GET, POST, OPTIONS");
      if (req.method == "OPTIONS") {
        res.status = 204;
        return httplib::Server::HandlerResponse::Handled;
      }
    }
    if (!ctx.options.api_key.empty() && req.path != "/health") {
      const std::string auth = req.get_header_value("Authorization");
      static constexpr std::string_view kBearer = "Bearer ";
      const bool ok = auth.size() > kBearer.size() && auth.compare(0, kBearer.size(), kBearer) == 0 &&
                      constant_time_equal(auth.substr(kBearer.size()), ctx.options.api_key);
      if (!ok) {
        res.set_header("WWW-Authenticate", "Bearer");
        send_error(res, {401, "invalid or missing API key", "authentication_error", "invalid_api_key"});
        return httplib::Server::HandlerResponse::Handled;
      }
    }
    if (handle_bodyless_slot_post(ctx, req, res)) return httplib::Server::HandlerResponse::Handled;
    return httplib::Server::HandlerResponse::Unhandled;
  });
  http_->set_error_handler(httplib::Server::HandlerWithResponse(
      [](const httplib::Request&, httplib::Response& res) {
        if (res.body.empty()) send_error(res, error_for_status(res.status));
        return httplib::Server::HandlerResponse::Handled;
      }));
  http_->set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
    send_error(res, {500, "internal server error", "server_error", "internal_error"});
  });
  http_->set_logger([&ctx](const httplib::Request& req, const httplib::Response& res) {
    if (res.status >= 400) ++ctx.http_errors;
    MOE_LOG_DEBUG("%s %s -> %d", req.method.c_str(), req.path.c_str(), res.status);
  });

  register_health(*http_, ctx_);
  register_models(*http_, ctx_);
  register_metrics(*http_, ctx_);
  register_chat_completions(*http_, ctx_);
  register_completions(*http_, ctx_);
  register_tokenize(*http_, ctx_);
  register_detokenize(*http_, ctx_);
  register_apply_template(*http_, ctx_);
  register_slots(*http_, ctx_);
}

Server::~Server() { stop(); }

Result<int> Server::bind() {
  int port = ctx_.options.port;
  if (port == 0) {
    port = http_->bind_to_any_port(ctx_.options.host);
  } else if (!http_->bind_to_port(ctx_.options.host, port)) {
    port = -1;
  }
  if (port <= 0) {
    return Status::error("cannot listen on " + ctx_.options.host + ":" + std::to_string(ctx_.options.port));
  }
  ctx_.options.port = port;
  return port;
}

void Server::start() {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] { http_->listen_after_bind(); });
  while (!http_->is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
}

void Server::stop() {
  if (http_) http_->stop();
  if (thread_.joinable()) thread_.join();
}

Status Server::set_model(std::unique_ptr<ServerModel> model) {
  if (model == nullptr || model->scheduler == nullptr) return Status::error("no model");
  model_ = std::move(model);
  ctx_.progress = 1.0f;
  ctx_.model = model_.get();
  return Status::ok();
}

}  // namespace moe
