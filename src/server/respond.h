// Turns a submitted generation into an HTTP response: one JSON body, or an SSE stream
// (see docs: role chunk, reasoning_content / content / tool_calls deltas, a finish chunk with
// timings, the usage chunk when asked, then `data: [DONE]`). Shared by chat and completions.
#pragma once

#include <httplib.h>

#include <memory>
#include <string>

#include "engine/generation.h"
#include "engine/scheduler.h"
#include "server/request.h"
#include "server/server_context.h"

namespace moe {

struct ResponseShape {
  bool chat = true;          // chat.completion(.chunk) vs text_completion
  std::string id;            // chatcmpl-... / cmpl-...
  std::string model;
  int64_t created = 0;
  bool stream = false;
  bool include_usage = false;
  bool return_tokens = false;
  bool logprobs = false;
};

// The shape of a response to `common`: a fresh id (chatcmpl-... or cmpl-...) and time.
ResponseShape response_shape(bool chat, const ServerModel& model, const CommonRequest& common,
                             bool logprobs);

// Answers 503 (queue full, with Retry-After) or 400 for a failed submit.
void respond_submit_error(const SubmitResult& submitted, ServerContext& ctx, httplib::Response& res);

// Streams (chunked SSE) or waits and answers once; either way the generation is cancelled
// (its slot freed) when the client of `req` goes away.
void respond_generation(std::shared_ptr<RequestHandle> handle, ResponseShape shape, const ServerModel& model,
                        const httplib::Request& req, httplib::Response& res);

}  // namespace moe
