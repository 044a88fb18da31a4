// POST /apply-template {"messages": [...], "tools"?: [...]} -> {"prompt": "..."}.
#include <httplib.h>

#include "server/http_util.h"
#include "server/prompt.h"
#include "server/request.h"

namespace moe {

void register_apply_template(httplib::Server& http, ServerContext& ctx) {
  http.Post("/apply-template", [&ctx](const httplib::Request& req, httplib::Response& res) {
    const ServerModel* model = ready_model(ctx, res);
    if (model == nullptr) return;
    auto body = parse_json_body(req, res);
    if (!body) return;
    auto messages = body->find("messages");
    if (messages == body->end()) return send_error(res, {400, "'messages' is required", "invalid_request_error", "missing_field"});
    nlohmann::json normalized;
    if (auto e = normalize_messages(*messages, normalized)) return send_error(res, *e);
    nlohmann::json tools = nullptr;
    if (auto it = body->find("tools"); it != body->end() && !it->is_null()) {
      if (!it->is_array()) return send_error(res, {400, "'tools' must be an array", "invalid_request_error", "invalid_type"});
      tools = *it;
    }
    auto prompt = render_chat_prompt(*model, normalized, tools, true);
    if (!prompt) return send_error(res, {400, prompt.status().message(), "invalid_request_error", "template_error"});
    send_json(res, {{"prompt", *prompt}});
  });
}

}  // namespace moe
