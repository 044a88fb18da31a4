// POST /v1/completions: a string prompt (tokenized, BOS as the model asks) or token ids
// (used exactly); raw text out, `tokens` per choice with "return_tokens": true.
#include <httplib.h>

#include "server/http_util.h"
#include "server/prompt.h"
#include "server/request.h"
#include "server/respond.h"

namespace moe {

void register_completions(httplib::Server& http, ServerContext& ctx) {
  http.Post("/v1/completions", [&ctx](const httplib::Request& req, httplib::Response& res) {
    const ServerModel* model = ready_model(ctx, res);
    if (model == nullptr) return;
    auto body = parse_json_body(req, res);
    if (!body) return;
    CompletionRequest cr;
    if (auto e = parse_completion_request(*body, *model, cr)) return send_error(res, *e);
    GenerationRequest gen = std::move(cr.common.gen);
    if (cr.prompt_text) {
      auto prompt = tokenize_prompt(*model, *cr.prompt_text, model->text.tokenizer.add_bos_token());
      if (!prompt) return send_error(res, {400, prompt.status().message(), "invalid_request_error", "context_length_exceeded"});
      gen.prompt = std::move(*prompt);
    } else {
      gen.prompt = std::move(cr.prompt_tokens);
    }
    const bool want_logprobs = gen.top_logprobs >= 0;
    SubmitResult submitted = model->scheduler->submit(std::move(gen));
    if (!submitted.handle) return respond_submit_error(submitted, ctx, res);
    respond_generation(std::move(submitted.handle),
                       response_shape(false, *model, cr.common, want_logprobs), *model, req, res);
  });
}

}  // namespace moe
