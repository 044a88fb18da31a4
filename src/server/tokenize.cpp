// POST /tokenize {"content": "...", "add_special": bool} -> {"tokens": [...]}.
#include <httplib.h>

#include "server/http_util.h"

namespace moe {

void register_tokenize(httplib::Server& http, ServerContext& ctx) {
  http.Post("/tokenize", [&ctx](const httplib::Request& req, httplib::Response& res) {
    const ServerModel* model = ready_model(ctx, res);
    if (model == nullptr) return;
    auto body = parse_json_body(req, res);
    if (!body) return;
    auto content = body->find("content");
    if (content == body->end() || !content->is_string()) {
      return send_error(res, {400, "'content' must be a string", "invalid_request_error", "invalid_type"});
    }
    bool add_special = false;
    if (auto it = body->find("add_special"); it != body->end() && !it->is_null()) {
      if (!it->is_boolean()) return send_error(res, {400, "'add_special' must be a boolean", "invalid_request_error", "invalid_type"});
      add_special = it->get<bool>();
    }
    const bool bos = add_special && model->text.tokenizer.add_bos_token();
    send_json(res, {{"tokens", model->text.tokenizer.encode(content->get<std::string>(), bos)}});
  });
}

}  // namespace moe
