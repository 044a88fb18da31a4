// Parsing and validation of /v1/chat/completions and /v1/completions bodies. Every field of
// the issue is read here, its type checked (a known field of the wrong type is a 400;
// unknown fields are ignored), numeric fields clamped to sane ranges at parse time, and ids
// range-checked against the vocabulary, before anything reaches the engine.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "engine/generation.h"
#include "server/http_util.h"
#include "server/server_context.h"

namespace moe {

// What both endpoints share.
struct CommonRequest {
  GenerationRequest gen;  // sampling, stops, max_tokens, n_experts, logprobs (prompt later)
  bool stream = false;
  bool include_usage = false;
  bool return_tokens = false;
};

struct ChatRequest {
  CommonRequest common;
  nlohmann::json messages;  // normalized: content parts joined into strings
  nlohmann::json tools;     // null when absent or tool_choice "none"
  ReasoningFormat reasoning_format = ReasoningFormat::kDeepSeek;
  bool logprobs = false;
};

struct CompletionRequest {
  CommonRequest common;
  std::optional<std::string> prompt_text;  // a string prompt (tokenized with BOS as the model asks)
  std::vector<int32_t> prompt_tokens;      // a token-id prompt, used exactly
};

std::optional<ApiError> parse_chat_request(const nlohmann::json& body, const ServerModel& model,
                                           const ServerOptions& options, ChatRequest& out);
std::optional<ApiError> parse_completion_request(const nlohmann::json& body, const ServerModel& model,
                                                 CompletionRequest& out);
// Validates and normalizes `messages` (non-empty array; text content parts only).
std::optional<ApiError> normalize_messages(const nlohmann::json& messages, nlohmann::json& out);

}  // namespace moe
