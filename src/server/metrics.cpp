// GET /metrics: Prometheus text exposition format 0.0.4 (HELP, TYPE, then samples).
#include <httplib.h>

#include <cstdio>
#include <string>

#include "server/http_util.h"

namespace moe {
namespace {

void metric(std::string& out, const char* name, const char* type, const char* help, double value) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", value);
  out += std::string("# HELP moeinfer_") + name + " " + help + "\n";
  out += std::string("# TYPE moeinfer_") + name + " " + type + "\n";
  out += std::string("moeinfer_") + name + " " + buf + "\n";
}

}  // namespace

void register_metrics(httplib::Server& http, ServerContext& ctx) {
  http.Get("/metrics", [&ctx](const httplib::Request&, httplib::Response& res) {
    const ServerModel* model = ready_model(ctx, res);
    if (model == nullptr) return;
    const SchedulerMetrics m = model->scheduler->metrics();
    std::string out;
    metric(out, "http_requests_total", "counter", "HTTP requests received.", static_cast<double>(ctx.http_requests.load()));
    metric(out, "http_errors_total", "counter", "HTTP responses with status >= 400.",
           static_cast<double>(ctx.http_errors.load()));
    metric(out, "requests_rejected_total", "counter", "Requests refused because the queue was full.",
           static_cast<double>(ctx.queue_rejections.load()));
    metric(out, "requests_finished_total", "counter", "Generation requests finished.",
           static_cast<double>(m.requests_finished));
    metric(out, "prompt_tokens_total", "counter", "Prompt tokens processed (cache hits excluded).",
           static_cast<double>(m.prompt_tokens));
    metric(out, "prompt_tokens_cached_total", "counter", "Prompt tokens reused from a slot's cache.",
           static_cast<double>(m.cache_tokens_reused));
    metric(out, "generated_tokens_total", "counter", "Tokens generated.", static_cast<double>(m.generated_tokens));
    metric(out, "prompt_seconds_total", "counter", "Engine time spent on prompt tokens.", m.prompt_seconds);
    metric(out, "decode_seconds_total", "counter", "Engine time spent on generated tokens.", m.decode_seconds);
    metric(out, "prompt_tokens_per_second", "gauge", "Average prompt throughput.",
           m.prompt_seconds > 0 ? static_cast<double>(m.prompt_tokens) / m.prompt_seconds : 0.0);
    metric(out, "decode_tokens_per_second", "gauge", "Average generation throughput.",
           m.decode_seconds > 0 ? static_cast<double>(m.generated_tokens) / m.decode_seconds : 0.0);
    metric(out, "requests_queued", "gauge", "Requests waiting for a slot.", m.queued);
    metric(out, "slots_busy", "gauge", "Slots serving a request.", m.slots_busy);
    metric(out, "slots", "gauge", "Slots (requests generated at once).", m.slots_total);
    metric(out, "kv_cache_tokens", "gauge", "Positions held in the KV cache.", static_cast<double>(m.kv_used_tokens));
    metric(out, "kv_cache_usage_ratio", "gauge", "Share of the KV cache in use.",
           m.kv_capacity_tokens > 0 ? static_cast<double>(m.kv_used_tokens) / static_cast<double>(m.kv_capacity_tokens)
                                    : 0.0);
    res.set_content(out, "text/plain; version=0.0.4; charset=utf-8");
  });
}

}  // namespace moe
