#include "server/http_util.h"

#include <chrono>
#include <random>

namespace moe {

std::string dump_json(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void send_json(httplib::Response& res, const nlohmann::json& body, int status) {
  res.status = status;
  res.set_content(dump_json(body), "application/json; charset=utf-8");
}

void send_error(httplib::Response& res, const ApiError& e) {
  nlohmann::json body = {{"error", {{"message", e.message}, {"type", e.type}, {"code", nullptr}}}};
  if (!e.code.empty()) body["error"]["code"] = e.code;
  send_json(res, body, e.status);
}

ApiError error_for_status(int status) {
  switch (status) {
    case 404:
      return {404, "not found", "not_found_error", "not_found"};
    case 405:
      return {405, "method not allowed", "invalid_request_error", "method_not_allowed"};
    case 413:
      return {413, "request body too large", "invalid_request_error", "payload_too_large"};
    case 414:
      return {414, "request URI too long", "invalid_request_error", "uri_too_long"};
    case 431:
      return {431, "request headers too large", "invalid_request_error", "headers_too_large"};
    default:
      break;
  }
  if (status >= 500) return {status, "internal server error", "server_error", "internal_error"};
  return {status, "bad request", "invalid_request_error", "bad_request"};
}

std::optional<nlohmann::json> parse_json_body(const httplib::Request& req, httplib::Response& res) {
  nlohmann::json j = nlohmann::json::parse(req.body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) {
    send_error(res, {400, "the request body is not valid JSON", "invalid_request_error", "invalid_json"});
    return std::nullopt;
  }
  if (!j.is_object()) {
    send_error(res, {400, "the request body must be a JSON object", "invalid_request_error", "invalid_json"});
    return std::nullopt;
  }
  return j;
}

const ServerModel* ready_model(const ServerContext& ctx, httplib::Response& res) {
  const ServerModel* m = ctx.model.load();
  if (m == nullptr) send_error(res, {503, "the model is loading", "unavailable_error", "loading"});
  return m;
}

std::string random_id(const std::string& prefix, int n_chars) {
  static constexpr char kChars[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
  std::random_device rd;
  std::mt19937_64 rng((static_cast<uint64_t>(rd()) << 32) ^ rd());
  std::string out = prefix;
  for (int i = 0; i < n_chars; ++i) out.push_back(kChars[rng() % (sizeof kChars - 1)]);
  return out;
}

int64_t unix_time() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace moe
