// GET /v1/models: the one model this server runs, under its alias.
#include <httplib.h>

#include "server/http_util.h"

namespace moe {

void register_models(httplib::Server& http, ServerContext& ctx) {
  http.Get("/v1/models", [&ctx](const httplib::Request&, httplib::Response& res) {
    const ServerModel* model = ready_model(ctx, res);
    if (model == nullptr) return;
    nlohmann::json entry = {{"id", model->name},
                            {"object", "model"},
                            {"created", model->created},
                            {"owned_by", "moeinfer"},
                            {"meta",
                             {{"n_vocab", model->scheduler->n_vocab()},
                              {"n_ctx_train", model->n_ctx_train},
                              {"n_ctx_slot", model->scheduler->slot_ctx()},
                              {"n_slots", model->scheduler->n_slots()}}}};
    send_json(res, {{"object", "list"}, {"data", nlohmann::json::array({entry})}});
  });
}

}  // namespace moe
