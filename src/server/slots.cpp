// GET /slots: each slot's state. POST /slots/{id}?action=save|restore|erase with
// {"filename": "name.bin"} for save/restore: files live under --slot-save-path; names are
// plain ([A-Za-z0-9._-], no leading dot), so no path can leave that folder. An erase may come
// with no body at all (`curl -X POST .../slots/0?action=erase`, as llama.cpp documents it):
// cpp-httplib answers 400 to a POST without Content-Length before any route runs, so the
// pre-routing handler passes those to handle_bodyless_slot_post.
#include <httplib.h>

#include <chrono>

#include "server/http_util.h"

namespace moe {
namespace {

bool valid_filename(const std::string& name) {
  if (name.empty() || name.size() > 128 || name[0] == '.') return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                    c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

// POST /slots/{id}?action=...: id_text is the path's last part.
void slot_action(ServerContext& ctx, const std::string& id_text, const httplib::Request& req,
                 httplib::Response& res) {
  const ServerModel* model = ready_model(ctx, res);
  if (model == nullptr) return;
  int id = -1;
  if (id_text.size() <= 6 && !id_text.empty() && id_text.find_first_not_of("0123456789") == std::string::npos) {
    id = std::stoi(id_text);
  }
  if (id < 0 || id >= model->scheduler->n_slots()) {
    return send_error(res, {400, "no slot '" + id_text + "' (0.." + std::to_string(model->scheduler->n_slots() - 1) + ")",
                            "invalid_request_error", "invalid_value"});
  }
  const std::string action = req.get_param_value("action");
  const auto t0 = std::chrono::steady_clock::now();
  auto ms = [&] {
    return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  };
  if (action == "erase") {
    auto n = model->scheduler->erase_slot(id);
    if (!n) return send_error(res, {400, n.status().message(), "invalid_request_error", "slot_busy"});
    return send_json(res, {{"id_slot", id}, {"n_erased", *n}});
  }
  if (action != "save" && action != "restore") {
    return send_error(res, {400, "action must be save, restore or erase", "invalid_request_error", "invalid_value"});
  }
  if (ctx.options.slot_save_path.empty()) {
    return send_error(res, {501, "slot save/restore is off (start the server with --slot-save-path)",
                            "not_supported_error", "not_supported"});
  }
  auto body = parse_json_body(req, res);
  if (!body) return;
  auto fn = body->find("filename");
  if (fn == body->end() || !fn->is_string() || !valid_filename(fn->get<std::string>())) {
    return send_error(res, {400, "'filename' must be a plain file name ([A-Za-z0-9._-], not starting with '.')",
                            "invalid_request_error", "invalid_value"});
  }
  const std::string filename = fn->get<std::string>();
  const std::string path = ctx.options.slot_save_path + "/" + filename;
  if (action == "save") {
    auto n = model->scheduler->save_slot(id, path);
    if (!n) return send_error(res, {400, n.status().message(), "invalid_request_error", "slot_save_failed"});
    return send_json(res, {{"id_slot", id}, {"filename", filename}, {"n_saved", *n}, {"timings", {{"save_ms", ms()}}}});
  }
  auto n = model->scheduler->restore_slot(id, path);
  if (!n) return send_error(res, {400, n.status().message(), "invalid_request_error", "slot_restore_failed"});
  send_json(res, {{"id_slot", id}, {"filename", filename}, {"n_restored", *n}, {"timings", {{"restore_ms", ms()}}}});
}

}  // namespace

void register_slots(httplib::Server& http, ServerContext& ctx) {
  http.Get("/slots", [&ctx](const httplib::Request&, httplib::Response& res) {
    const ServerModel* model = ready_model(ctx, res);
    if (model == nullptr) return;
    nlohmann::json out = nlohmann::json::array();
    for (const SlotInfo& s : model->scheduler->slots()) {
      out.push_back({{"id", s.id}, {"is_processing", s.busy}, {"n_ctx", model->scheduler->slot_ctx()},
                     {"n_cached", s.n_cached}});
    }
    send_json(res, out);
  });

  http.Post(R"(/slots/([^/]+))", [&ctx](const httplib::Request& req, httplib::Response& res) {
    slot_action(ctx, req.matches[1], req, res);
  });
}

bool handle_bodyless_slot_post(ServerContext& ctx, const httplib::Request& req, httplib::Response& res) {
  static constexpr std::string_view kPrefix = "/slots/";
  if (req.method != "POST" || req.has_header("Content-Length") || req.has_header("Transfer-Encoding") ||
      req.path.size() <= kPrefix.size() || req.path.compare(0, kPrefix.size(), kPrefix) != 0 ||
      req.path.find('/', kPrefix.size()) != std::string::npos) {
    return false;
  }
  slot_action(ctx, req.path.substr(kPrefix.size()), req, res);
  return true;
}

}  // namespace moe
