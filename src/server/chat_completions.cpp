// POST /v1/chat/completions: messages -> chat template -> tokens -> the scheduler; the
// output is split into reasoning_content / content / tool_calls by the ReasoningParser.
#include <httplib.h>

#include "server/http_util.h"
#include "server/prompt.h"
#include "server/request.h"
#include "server/respond.h"

namespace moe {

void register_chat_completions(httplib::Server& http, ServerContext& ctx) {
  http.Post("/v1/chat/completions", [&ctx](const httplib::Request& req, httplib::Response& res) {
    const ServerModel* model = ready_model(ctx, res);
    if (model == nullptr) return;
    auto body = parse_json_body(req, res);
    if (!body) return;
    ChatRequest chat;
    if (auto e = parse_chat_request(*body, *model, ctx.options, chat)) return send_error(res, *e);
    auto rendered = render_chat_prompt(*model, chat.messages, chat.tools, true);
    if (!rendered) return send_error(res, {400, rendered.status().message(), "invalid_request_error", "template_error"});
    auto prompt = tokenize_prompt(*model, *rendered, /*add_bos=*/false);
    if (!prompt) return send_error(res, {400, prompt.status().message(), "invalid_request_error", "context_length_exceeded"});

    GenerationRequest gen = std::move(chat.common.gen);
    gen.prompt = std::move(*prompt);
    ReasoningParserOptions ro;
    ro.format = chat.reasoning_format;
    ro.starts_in_reasoning = prompt_opens_reasoning(*rendered);
    ro.parse_tool_calls = !chat.tools.is_null();
    ro.tool_syntax = model->text.tool_syntax;
    ro.tool_call_id_prefix = random_id("call_", 8) + "_";
    gen.reasoning = ro;

    SubmitResult submitted = model->scheduler->submit(std::move(gen));
    if (!submitted.handle) return respond_submit_error(submitted, ctx, res);
    respond_generation(std::move(submitted.handle),
                       response_shape(true, *model, chat.common, chat.logprobs), *model, req, res);
  });
}

}  // namespace moe
