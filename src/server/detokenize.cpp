// POST /detokenize {"tokens": [...]} -> {"content": "..."}; ids are checked against the vocabulary.
#include <httplib.h>

#include "server/http_util.h"

namespace moe {

void register_detokenize(httplib::Server& http, ServerContext& ctx) {
  http.Post("/detokenize", [&ctx](const httplib::Request& req, httplib::Response& res) {
    const ServerModel* model = ready_model(ctx, res);
    if (model == nullptr) return;
    auto body = parse_json_body(req, res);
    if (!body) return;
    auto tokens = body->find("tokens");
    if (tokens == body->end() || !tokens->is_array()) {
      return send_error(res, {400, "'tokens' must be an array of token ids", "invalid_request_error", "invalid_type"});
    }
    std::vector<int32_t> ids;
    ids.reserve(tokens->size());
    for (const auto& t : *tokens) {
      if (!t.is_number_integer()) {
        return send_error(res, {400, "'tokens' must be an array of token ids", "invalid_request_error", "invalid_type"});
      }
      const int64_t id = t.is_number_unsigned() && t.get<uint64_t>() > (1ull << 62) ? -1 : t.get<int64_t>();
      if (id < 0 || id >= static_cast<int64_t>(model->text.tokenizer.n_vocab())) {
        return send_error(res, {400, "token id " + t.dump() + " outside the vocabulary", "invalid_request_error", "invalid_value"});
      }
      ids.push_back(static_cast<int32_t>(id));
    }
    send_json(res, {{"content", model->text.tokenizer.decode(ids)}});
  });
}

}  // namespace moe
