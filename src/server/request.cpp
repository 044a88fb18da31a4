#include "server/request.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

namespace moe {
namespace {

using nlohmann::json;

constexpr int64_t kMaxTokensLimit = int64_t{1} << 24;
constexpr int kMaxTopLogprobs = 20;
constexpr size_t kMaxStops = 16;
constexpr size_t kMaxStopBytes = 1024;

ApiError bad(const std::string& message, const std::string& code = "invalid_value") {
  return {400, message, "invalid_request_error", code};
}
ApiError wrong_type(const char* field, const char* expected) {
  return bad(std::string("'") + field + "' must be " + expected, "invalid_type");
}

// Field present and not null.
const json* field(const json& body, const char* name) {
  auto it = body.find(name);
  if (it == body.end() || it->is_null()) return nullptr;
  return &*it;
}

std::optional<ApiError> get_bool(const json& body, const char* name, bool& out) {
  const json* v = field(body, name);
  if (v == nullptr) return std::nullopt;
  if (!v->is_boolean()) return wrong_type(name, "a boolean");
  out = v->get<bool>();
  return std::nullopt;
}

// A finite number, clamped to [lo, hi].
std::optional<ApiError> get_number(const json& body, const char* name, double lo, double hi, float& out) {
  const json* v = field(body, name);
  if (v == nullptr) return std::nullopt;
  if (!v->is_number()) return wrong_type(name, "a number");
  const double d = v->get<double>();
  if (!std::isfinite(d)) return bad(std::string("'") + name + "' must be finite");
  out = static_cast<float>(std::clamp(d, lo, hi));
  return std::nullopt;
}

// An integer (a float with an integral value is accepted); range-checked, not clamped.
std::optional<ApiError> get_int(const json& body, const char* name, int64_t lo, int64_t hi, int64_t& out) {
  const json* v = field(body, name);
  if (v == nullptr) return std::nullopt;
  int64_t i = 0;
  if (v->is_number_integer()) {
    if (v->is_number_unsigned() && v->get<uint64_t>() > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      i = std::numeric_limits<int64_t>::max();
    } else {
      i = v->get<int64_t>();
    }
  } else if (v->is_number_float()) {
    const double d = v->get<double>();
    if (!std::isfinite(d) || d != std::floor(d) || std::fabs(d) > 9e18) return wrong_type(name, "an integer");
    i = static_cast<int64_t>(d);
  } else {
    return wrong_type(name, "an integer");
  }
  if (i < lo || i > hi) {
    return bad(std::string("'") + name + "' must be between " + std::to_string(lo) + " and " + std::to_string(hi) +
               ", got " + std::to_string(i));
  }
  out = i;
  return std::nullopt;
}

std::optional<ApiError> parse_common(const json& body, const ServerModel& model, CommonRequest& out) {
  GenerationRequest& g = out.gen;
  SamplingParams& s = g.sampling;
  if (const json* v = field(body, "model"); v != nullptr && !v->is_string()) return wrong_type("model", "a string");
  if (auto e = get_bool(body, "stream", out.stream)) return e;
  if (const json* so = field(body, "stream_options")) {
    if (!so->is_object()) return wrong_type("stream_options", "an object");
    if (auto e = get_bool(*so, "include_usage", out.include_usage)) return e;
  }
  if (auto e = get_bool(body, "return_tokens", out.return_tokens)) return e;
  if (auto e = get_bool(body, "ignore_eos", g.ignore_eos)) return e;

  int64_t max_tokens = -1;
  if (auto e = get_int(body, "max_tokens", 1, kMaxTokensLimit, max_tokens)) return e;
  if (auto e = get_int(body, "max_completion_tokens", 1, kMaxTokensLimit, max_tokens)) return e;
  g.max_tokens = max_tokens;

  int64_t n = 1;
  if (auto e = get_int(body, "n", 1, 1, n)) return e;

  // OpenAI's defaults (temperature 1, top_p 1) unless given; llama-server's extras off.
  s.temperature = 1.0f;
  s.top_p = 1.0f;
  s.top_k = 0;
  s.min_p = 0.0f;
  if (auto e = get_number(body, "temperature", 0.0, 2.0, s.temperature)) return e;
  if (auto e = get_number(body, "top_p", 0.0, 1.0, s.top_p)) return e;
  if (auto e = get_number(body, "min_p", 0.0, 1.0, s.min_p)) return e;
  int64_t top_k = 0;
  if (auto e = get_int(body, "top_k", std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max(), top_k)) {
    return e;
  }
  s.top_k = static_cast<int>(std::clamp<int64_t>(top_k, 0, model.scheduler->n_vocab()));
  if (auto e = get_number(body, "presence_penalty", -2.0, 2.0, s.presence_penalty)) return e;
  if (auto e = get_number(body, "frequency_penalty", -2.0, 2.0, s.frequency_penalty)) return e;
  if (auto e = get_number(body, "repeat_penalty", 0.0, 10.0, s.repeat_penalty)) return e;
  s.greedy = s.temperature <= 0.0f;
  if (const json* v = field(body, "seed")) {
    if (!v->is_number_integer()) return wrong_type("seed", "an integer");
    s.seed = v->is_number_unsigned() ? v->get<uint64_t>() : static_cast<uint64_t>(v->get<int64_t>());
  } else {
    std::random_device rd;
    s.seed = (static_cast<uint64_t>(rd()) << 32) ^ rd();
  }

  if (const json* v = field(body, "stop")) {
    std::vector<std::string> stops;
    if (v->is_string()) {
      stops.push_back(v->get<std::string>());
    } else if (v->is_array()) {
      if (v->size() > kMaxStops) return bad("at most " + std::to_string(kMaxStops) + " stop strings");
      for (const json& x : *v) {
        if (!x.is_string()) return wrong_type("stop", "a string or an array of strings");
        stops.push_back(x.get<std::string>());
      }
    } else {
      return wrong_type("stop", "a string or an array of strings");
    }
    for (std::string& x : stops) {
      if (x.size() > kMaxStopBytes) return bad("stop strings are limited to " + std::to_string(kMaxStopBytes) + " bytes");
      if (!x.empty()) g.stops.push_back(std::move(x));
    }
  }

  if (const json* v = field(body, "logit_bias")) {
    if (!v->is_object()) return wrong_type("logit_bias", "an object of token id -> bias");
    for (auto it = v->begin(); it != v->end(); ++it) {
      const std::string& key = it.key();
      size_t used = 0;
      long long id = -1;
      try {
        id = std::stoll(key, &used);
      } catch (...) {
        used = 0;
      }
      if (used != key.size() || key.empty()) return bad("logit_bias key '" + key + "' is not a token id");
      if (id < 0 || id >= model.scheduler->n_vocab()) {
        return bad("logit_bias token id " + key + " outside the vocabulary (0.." +
                   std::to_string(model.scheduler->n_vocab() - 1) + ")");
      }
      if (!it->is_number()) return wrong_type("logit_bias values", "numbers");
      const double b = it->get<double>();
      if (!std::isfinite(b)) return bad("logit_bias values must be finite");
      s.logit_bias.emplace_back(static_cast<int32_t>(id), static_cast<float>(std::clamp(b, -100.0, 100.0)));
    }
  }

  int64_t n_experts = 0;
  if (auto e = get_int(body, "n_experts", 0, model.n_routed_experts, n_experts)) return e;
  g.n_experts = static_cast<int>(n_experts);

  if (const json* rf = field(body, "response_format")) {
    if (!rf->is_object()) return wrong_type("response_format", "an object");
    const json* type = field(*rf, "type");
    if (type == nullptr || !type->is_string()) return wrong_type("response_format.type", "a string");
    if (type->get<std::string>() != "text") {
      return bad("response_format '" + type->get<std::string>() + "' is not supported yet (no grammar support)",
                 "not_supported");
    }
  }
  return std::nullopt;
}

}  // namespace

std::optional<ApiError> normalize_messages(const json& messages, json& out) {
  if (!messages.is_array()) return wrong_type("messages", "an array");
  if (messages.empty()) return bad("'messages' must not be empty");
  out = json::array();
  for (size_t i = 0; i < messages.size(); ++i) {
    const json& m = messages[i];
    const std::string at = "messages[" + std::to_string(i) + "]";
    if (!m.is_object()) return bad(at + " must be an object", "invalid_type");
    const json* role = field(m, "role");
    if (role == nullptr || !role->is_string()) return bad(at + ".role must be a string", "invalid_type");
    const std::string r = role->get<std::string>();
    if (r != "system" && r != "user" && r != "assistant" && r != "tool" && r != "developer") {
      return bad(at + ".role '" + r + "' is not one of system, developer, user, assistant, tool");
    }
    json msg = m;
    if (r == "developer") msg["role"] = "system";
    const json* content = field(m, "content");
    if (content == nullptr) {
      if (r != "assistant") return bad(at + ".content is missing");
      msg["content"] = nullptr;
    } else if (content->is_array()) {
      std::string text;
      for (const json& part : *content) {
        if (!part.is_object() || !part.contains("type") || !part["type"].is_string()) {
          return bad(at + ".content parts must be objects with a 'type'", "invalid_type");
        }
        if (part["type"] != "text") return bad(at + ": only text content parts are supported", "not_supported");
        if (!part.contains("text") || !part["text"].is_string()) return bad(at + ": a text part needs 'text'", "invalid_type");
        if (!text.empty()) text += "\n";
        text += part["text"].get<std::string>();
      }
      msg["content"] = text;
    } else if (!content->is_string()) {
      return bad(at + ".content must be a string or an array of content parts", "invalid_type");
    }
    if (const json* tc = field(m, "tool_calls"); tc != nullptr && !tc->is_array()) {
      return bad(at + ".tool_calls must be an array", "invalid_type");
    }
    out.push_back(std::move(msg));
  }
  return std::nullopt;
}

std::optional<ApiError> parse_chat_request(const json& body, const ServerModel& model, const ServerOptions& options,
                                           ChatRequest& out) {
  if (auto e = parse_common(body, model, out.common)) return e;
  const json* messages = field(body, "messages");
  if (messages == nullptr) return bad("'messages' is required", "missing_field");
  if (auto e = normalize_messages(*messages, out.messages)) return e;

  if (auto e = get_bool(body, "logprobs", out.logprobs)) return e;
  int64_t top = 0;
  if (auto e = get_int(body, "top_logprobs", 0, kMaxTopLogprobs, top)) return e;
  out.common.gen.top_logprobs = out.logprobs ? static_cast<int>(top) : -1;

  out.reasoning_format = options.reasoning_format;
  if (const json* v = field(body, "reasoning_format")) {
    if (!v->is_string()) return wrong_type("reasoning_format", "a string");
    const std::string f = v->get<std::string>();
    if (f == "deepseek" || f == "auto") {
      out.reasoning_format = ReasoningFormat::kDeepSeek;
    } else if (f == "none") {
      out.reasoning_format = ReasoningFormat::kNone;
    } else {
      return bad("reasoning_format must be deepseek, auto or none");
    }
  }

  out.tools = nullptr;
  if (const json* v = field(body, "tools")) {
    if (!v->is_array()) return wrong_type("tools", "an array");
    for (const json& t : *v) {
      if (!t.is_object() || !t.contains("function") || !t["function"].is_object() ||
          !t["function"].contains("name") || !t["function"]["name"].is_string()) {
        return bad("each tool must be {\"type\": \"function\", \"function\": {\"name\": ...}}", "invalid_type");
      }
    }
    if (!v->empty()) out.tools = *v;
  }
  if (const json* v = field(body, "tool_choice")) {
    if (v->is_string()) {
      const std::string c = v->get<std::string>();
      if (c != "none" && c != "auto" && c != "required") return bad("tool_choice must be none, auto, required or an object");
      if (c == "none") out.tools = nullptr;
    } else if (!v->is_object()) {
      return wrong_type("tool_choice", "a string or an object");
    }
  }
  return std::nullopt;
}

std::optional<ApiError> parse_completion_request(const json& body, const ServerModel& model, CompletionRequest& out) {
  if (auto e = parse_common(body, model, out.common)) return e;
  int64_t lp = -1;
  if (auto e = get_int(body, "logprobs", 0, kMaxTopLogprobs, lp)) return e;
  out.common.gen.top_logprobs = static_cast<int>(lp);

  const json* p = field(body, "prompt");
  if (p == nullptr) return bad("'prompt' is required", "missing_field");
  const json* one = p;
  if (p->is_array() && !p->empty() && (p->front().is_string() || p->front().is_array())) {
    if (p->size() != 1) return bad("only one prompt per request is supported", "not_supported");
    one = &p->front();
  }
  if (one->is_string()) {
    out.prompt_text = one->get<std::string>();
    if (out.prompt_text->empty()) return bad("'prompt' must not be empty");
    return std::nullopt;
  }
  if (!one->is_array()) return wrong_type("prompt", "a string or an array of token ids");
  if (one->empty()) return bad("'prompt' must not be empty");
  if (static_cast<int64_t>(one->size()) > model.scheduler->slot_ctx()) {
    return {{400, "the prompt has " + std::to_string(one->size()) + " tokens, more than the slot context of " +
                      std::to_string(model.scheduler->slot_ctx()),
             "invalid_request_error", "context_length_exceeded"}};
  }
  out.prompt_tokens.reserve(one->size());
  for (const json& t : *one) {
    if (!t.is_number_integer()) return wrong_type("prompt", "a string or an array of token ids");
    const int64_t id = t.is_number_unsigned() ? static_cast<int64_t>(std::min<uint64_t>(t.get<uint64_t>(), 1ull << 62))
                                              : t.get<int64_t>();
    if (id < 0 || id >= model.scheduler->n_vocab()) {
      return bad("token id " + std::to_string(id) + " outside the vocabulary (0.." +
                 std::to_string(model.scheduler->n_vocab() - 1) + ")");
    }
    out.prompt_tokens.push_back(static_cast<int32_t>(id));
  }
  return std::nullopt;
}

}  // namespace moe
