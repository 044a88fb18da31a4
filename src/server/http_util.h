// Small helpers shared by the endpoints: OpenAI error objects, JSON bodies, ids.
#pragma once

#include <httplib.h>

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "server/server_context.h"

namespace moe {

// {"error": {"message", "type", "code"}} with the HTTP status.
struct ApiError {
  int status = 400;
  std::string message;
  std::string type = "invalid_request_error";
  std::string code;
};

void send_error(httplib::Response& res, const ApiError& error);
void send_json(httplib::Response& res, const nlohmann::json& body, int status = 200);
// Never throws: invalid UTF-8 (a token cut mid-character) becomes U+FFFD.
std::string dump_json(const nlohmann::json& j);
// The default error body for a status that a handler left empty (404, 413, ...).
ApiError error_for_status(int status);

// Parses the request body as a JSON object; on failure answers 400 and returns nullopt.
std::optional<nlohmann::json> parse_json_body(const httplib::Request& req, httplib::Response& res);
// The model when loaded; otherwise answers 503 and returns nullptr.
const ServerModel* ready_model(const ServerContext& ctx, httplib::Response& res);

std::string random_id(const std::string& prefix, int n_chars = 24);
int64_t unix_time();

// Endpoint registration (one file each).
void register_chat_completions(httplib::Server& http, ServerContext& ctx);
void register_completions(httplib::Server& http, ServerContext& ctx);
void register_models(httplib::Server& http, ServerContext& ctx);
void register_health(httplib::Server& http, ServerContext& ctx);
void register_metrics(httplib::Server& http, ServerContext& ctx);
void register_tokenize(httplib::Server& http, ServerContext& ctx);
void register_detokenize(httplib::Server& http, ServerContext& ctx);
void register_apply_template(httplib::Server& http, ServerContext& ctx);
void register_slots(httplib::Server& http, ServerContext& ctx);
// A POST /slots/{id} with no body (no Content-Length, not chunked), from the pre-routing
// handler; false when the request is not one.
bool handle_bodyless_slot_post(ServerContext& ctx, const httplib::Request& req, httplib::Response& res);

}  // namespace moe
