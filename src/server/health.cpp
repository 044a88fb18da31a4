// GET /health (no API key needed): 503 {"status":"loading","progress":x} until the model is
// ready, then 200 {"status":"ok"}.
#include <httplib.h>

#include "server/http_util.h"

namespace moe {

void register_health(httplib::Server& http, ServerContext& ctx) {
  http.Get("/health", [&ctx](const httplib::Request&, httplib::Response& res) {
    if (ctx.model.load() == nullptr) {
      send_json(res, {{"status", "loading"}, {"progress", ctx.progress.load()}}, 503);
      return;
    }
    send_json(res, {{"status", "ok"}});
  });
}

}  // namespace moe
