// Prompt building shared by the endpoints: the chat template, tokenization with a length
// bound checked before and after tokenizing.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/status.h"
#include "server/server_context.h"

namespace moe {

Result<std::string> render_chat_prompt(const ServerModel& model, const nlohmann::json& messages,
                                       const nlohmann::json& tools, bool add_generation_prompt);
// Tokenizes (special tokens parsed: the rendered template carries BOS and role markers).
// Errors when the prompt cannot fit the slot context.
Result<std::vector<int32_t>> tokenize_prompt(const ServerModel& model, const std::string& text, bool add_bos);

}  // namespace moe
