#include "server/respond.h"

#include <chrono>
#include <vector>

#include "server/connection_probe.h"
#include "server/http_util.h"

namespace moe {
namespace {

using nlohmann::json;

json timings_json(const GenerationTimings& t) {
  json j = {{"cache_n", t.cache_n},         {"prompt_n", t.prompt_n},       {"prompt_ms", t.prompt_ms},
            {"predicted_n", t.predicted_n}, {"predicted_ms", t.predicted_ms}};
  j["prompt_per_second"] = t.prompt_ms > 0 ? 1e3 * static_cast<double>(t.prompt_n) / t.prompt_ms : 0.0;
  j["predicted_per_second"] = t.predicted_ms > 0 ? 1e3 * static_cast<double>(t.predicted_n) / t.predicted_ms : 0.0;
  return j;
}

json usage_json(const GenerationEvent& done) {
  const int64_t completion = done.timings.predicted_n;
  return {{"prompt_tokens", done.prompt_tokens},
          {"completion_tokens", completion},
          {"total_tokens", done.prompt_tokens + completion},
          {"prompt_tokens_details", {{"cached_tokens", done.timings.cache_n}}}};
}

json token_json(const Tokenizer& tok, int32_t id, float logprob) {
  const std::string_view piece = tok.token_to_piece(id);
  json bytes = json::array();
  for (unsigned char c : piece) bytes.push_back(static_cast<int>(c));
  return {{"token", std::string(piece)}, {"logprob", logprob}, {"bytes", bytes}};
}

// chat: [{token, logprob, bytes, top_logprobs: [...]}]
json chat_logprobs(const Tokenizer& tok, const std::vector<TokenLogprob>& lps) {
  json content = json::array();
  for (const TokenLogprob& lp : lps) {
    json e = token_json(tok, lp.id, lp.logprob);
    e["top_logprobs"] = json::array();
    for (const auto& [id, v] : lp.top) e["top_logprobs"].push_back(token_json(tok, id, v));
    content.push_back(std::move(e));
  }
  return {{"content", content}};
}

// legacy completions: {tokens, token_logprobs, top_logprobs: [{text: logprob}]}
json completion_logprobs(const Tokenizer& tok, const std::vector<TokenLogprob>& lps) {
  json j = {{"tokens", json::array()}, {"token_logprobs", json::array()}, {"top_logprobs", json::array()}};
  for (const TokenLogprob& lp : lps) {
    j["tokens"].push_back(std::string(tok.token_to_piece(lp.id)));
    j["token_logprobs"].push_back(lp.logprob);
    json top = json::object();
    for (const auto& [id, v] : lp.top) top[std::string(tok.token_to_piece(id))] = v;
    j["top_logprobs"].push_back(std::move(top));
  }
  return j;
}

json tool_call_delta_json(const ToolCallDelta& d) {
  json fn = {{"arguments", d.arguments}};
  json call = {{"index", d.index}};
  if (!d.id.empty()) {
    call["id"] = d.id;
    call["type"] = "function";
    fn["name"] = d.name;
  }
  call["function"] = fn;
  return call;
}

const char* finish_name(FinishReason r, bool had_tool_calls) {
  if (r == FinishReason::kStop && had_tool_calls) return "tool_calls";
  return finish_reason_name(r);
}

json error_json(const std::string& message) {
  return {{"error", {{"message", message}, {"type", "server_error"}, {"code", "generation_failed"}}}};
}

class StreamWriter {
 public:
  StreamWriter(ResponseShape shape, const ServerModel& model) : shape_(std::move(shape)), model_(model) {}

  json chunk_base() const {
    return {{"id", shape_.id},
            {"object", shape_.chat ? "chat.completion.chunk" : "text_completion"},
            {"created", shape_.created},
            {"model", shape_.model}};
  }

  // A chat chunk with one choice carrying `delta`.
  json chat_chunk(json delta, const json& finish = nullptr) const {
    json c = chunk_base();
    c["choices"] = json::array({{{"index", 0}, {"delta", std::move(delta)}, {"logprobs", nullptr}, {"finish_reason", finish}}});
    return c;
  }

  // The SSE text for the events; `done` set when the stream ends.
  std::string render(const std::vector<GenerationEvent>& events, bool& done) {
    std::string out;
    if (shape_.chat && !role_sent_) {
      role_sent_ = true;
      out += frame(chat_chunk({{"role", "assistant"}, {"content", nullptr}}));
    }
    for (const GenerationEvent& ev : events) {
      if (ev.done) {
        done = true;
        if (ev.finish == FinishReason::kError || ev.finish == FinishReason::kCancelled) {
          out += frame(error_json(ev.error.empty() ? "generation cancelled" : ev.error));
          out += "data: [DONE]\n\n";
          return out;
        }
        json fin;
        if (shape_.chat) {
          fin = chat_chunk(json::object(), finish_name(ev.finish, had_tool_calls_));
        } else {
          fin = chunk_base();
          fin["choices"] = json::array({{{"index", 0}, {"text", ""}, {"logprobs", nullptr},
                                         {"finish_reason", finish_reason_name(ev.finish)}}});
        }
        fin["timings"] = timings_json(ev.timings);
        out += frame(fin);
        if (shape_.include_usage) {
          json u = chunk_base();
          u["choices"] = json::array();
          u["usage"] = usage_json(ev);
          out += frame(u);
        }
        out += "data: [DONE]\n\n";
        return out;
      }
      out += shape_.chat ? render_chat(ev) : render_completion(ev);
    }
    return out;
  }

 private:
  static std::string frame(const json& j) { return "data: " + dump_json(j) + "\n\n"; }

  std::string render_chat(const GenerationEvent& ev) {
    std::vector<json> chunks;
    if (!ev.delta.reasoning_content.empty()) {
      chunks.push_back(chat_chunk({{"reasoning_content", ev.delta.reasoning_content}}));
    }
    if (!ev.delta.content.empty()) chunks.push_back(chat_chunk({{"content", ev.delta.content}}));
    for (const ToolCallDelta& t : ev.delta.tool_calls) {
      had_tool_calls_ = true;
      chunks.push_back(chat_chunk({{"tool_calls", json::array({tool_call_delta_json(t)})}}));
    }
    if ((shape_.logprobs && !ev.logprobs.empty()) || (shape_.return_tokens && !ev.tokens.empty())) {
      if (chunks.empty()) chunks.push_back(chat_chunk(json::object()));
      if (shape_.logprobs) chunks.front()["choices"][0]["logprobs"] = chat_logprobs(model_.text.tokenizer, ev.logprobs);
      if (shape_.return_tokens) chunks.front()["choices"][0]["tokens"] = ev.tokens;
    }
    std::string out;
    for (const json& c : chunks) out += frame(c);
    return out;
  }

  std::string render_completion(const GenerationEvent& ev) {
    if (ev.text.empty() && !shape_.return_tokens && !shape_.logprobs) return {};
    json c = chunk_base();
    json choice = {{"index", 0}, {"text", ev.text}, {"logprobs", nullptr}, {"finish_reason", nullptr}};
    if (shape_.logprobs) choice["logprobs"] = completion_logprobs(model_.text.tokenizer, ev.logprobs);
    if (shape_.return_tokens) choice["tokens"] = ev.tokens;
    c["choices"] = json::array({choice});
    return frame(c);
  }

  ResponseShape shape_;
  const ServerModel& model_;
  bool role_sent_ = false;
  bool had_tool_calls_ = false;
};

// How often a non-streaming request checks that its client is still there.
constexpr auto kClientCheckInterval = std::chrono::milliseconds(200);

void respond_once(const std::shared_ptr<RequestHandle>& handle, const ResponseShape& shape, const ServerModel& model,
                  const ConnectionProbe& probe, httplib::Response& res) {
  std::string text;
  ParsedMessage message;
  std::vector<int32_t> tokens;
  std::vector<TokenLogprob> logprobs;
  GenerationEvent done;
  std::vector<GenerationEvent> events;
  while (!done.done) {
    events.clear();
    handle->wait(events, kClientCheckInterval);
    if (probe.client_gone()) handle->cancel();  // ends with a cancelled event; no one reads the answer
    for (GenerationEvent& ev : events) {
      if (ev.done) {
        done = std::move(ev);
        break;
      }
      text += ev.text;
      message.append(ev.delta);
      tokens.insert(tokens.end(), ev.tokens.begin(), ev.tokens.end());
      for (TokenLogprob& lp : ev.logprobs) logprobs.push_back(std::move(lp));
    }
  }
  if (done.finish == FinishReason::kError || done.finish == FinishReason::kCancelled) {
    send_error(res, {500, done.error.empty() ? "generation cancelled" : done.error, "server_error", "generation_failed"});
    return;
  }
  json choice = {{"index", 0}, {"logprobs", nullptr}};
  if (shape.chat) {
    json msg = {{"role", "assistant"}};
    msg["content"] = message.content.empty() && !message.tool_calls.empty() ? json(nullptr) : json(message.content);
    if (!message.reasoning_content.empty()) msg["reasoning_content"] = message.reasoning_content;
    if (!message.tool_calls.empty()) {
      msg["tool_calls"] = json::array();
      for (const ParsedToolCall& t : message.tool_calls) {
        msg["tool_calls"].push_back(
            {{"id", t.id}, {"type", "function"}, {"function", {{"name", t.name}, {"arguments", t.arguments}}}});
      }
    }
    choice["message"] = msg;
    choice["finish_reason"] = finish_name(done.finish, !message.tool_calls.empty());
    if (shape.logprobs) choice["logprobs"] = chat_logprobs(model.text.tokenizer, logprobs);
  } else {
    choice["text"] = text;
    choice["finish_reason"] = finish_reason_name(done.finish);
    if (shape.logprobs) choice["logprobs"] = completion_logprobs(model.text.tokenizer, logprobs);
  }
  if (shape.return_tokens) choice["tokens"] = tokens;
  json body = {{"id", shape.id},
               {"object", shape.chat ? "chat.completion" : "text_completion"},
               {"created", shape.created},
               {"model", shape.model},
               {"choices", json::array({choice})},
               {"usage", usage_json(done)},
               {"timings", timings_json(done.timings)}};
  send_json(res, body);
}

}  // namespace

void respond_submit_error(const SubmitResult& submitted, ServerContext& ctx, httplib::Response& res) {
  switch (submitted.error) {
    case SubmitError::kQueueFull:
      ++ctx.queue_rejections;
      res.set_header("Retry-After", "1");
      send_error(res, {503, submitted.message, "unavailable_error", "queue_full"});
      return;
    case SubmitError::kStopped:
      send_error(res, {503, submitted.message, "unavailable_error", "stopping"});
      return;
    case SubmitError::kInvalid:
    case SubmitError::kNone:
      send_error(res, {400, submitted.message, "invalid_request_error", "invalid_value"});
      return;
  }
}

ResponseShape response_shape(bool chat, const ServerModel& model, const CommonRequest& common,
                             bool logprobs) {
  ResponseShape shape;
  shape.chat = chat;
  shape.id = random_id(chat ? "chatcmpl-" : "cmpl-");
  shape.model = model.name;
  shape.created = unix_time();
  shape.stream = common.stream;
  shape.include_usage = common.include_usage;
  shape.return_tokens = common.return_tokens;
  shape.logprobs = logprobs;
  return shape;
}

void respond_generation(std::shared_ptr<RequestHandle> handle, ResponseShape shape, const ServerModel& model,
                        const httplib::Request& req, httplib::Response& res) {
  if (!shape.stream) {
    respond_once(handle, shape, model, ConnectionProbe::for_request(req), res);
    return;
  }
  auto writer = std::make_shared<StreamWriter>(shape, model);
  res.set_header("Cache-Control", "no-cache");
  res.set_header("X-Accel-Buffering", "no");
  res.set_chunked_content_provider(
      "text/event-stream",
      [handle, writer](size_t, httplib::DataSink& sink) {
        std::vector<GenerationEvent> events;
        handle->wait(events, std::chrono::milliseconds(100));
        bool done = false;
        const std::string text = writer->render(events, done);
        if (!text.empty() && !sink.write(text.data(), text.size())) {
          handle->cancel();  // the client went away: free the slot now
          return false;
        }
        if (done) sink.done();
        return true;
      },
      [handle](bool) { handle->cancel(); });  // no-op after a normal end
}

}  // namespace moe
