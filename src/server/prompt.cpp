#include "server/prompt.h"

namespace moe {

Result<std::string> render_chat_prompt(const ServerModel& model, const nlohmann::json& messages,
                                       const nlohmann::json& tools, bool add_generation_prompt) {
  auto out = model.text.render(messages, add_generation_prompt, tools);
  if (!out) return out.status().with_context("chat template");
  return out;
}

Result<std::vector<int32_t>> tokenize_prompt(const ServerModel& model, const std::string& text, bool add_bos) {
  const int64_t ctx = model.scheduler->slot_ctx();
  // A token is at least one byte of text: bound the work before tokenizing... loosely, since
  // a byte can also expand; the exact check follows.
  if (static_cast<int64_t>(text.size()) > ctx * 64 + 4096) {
    return Status::error("the prompt (" + std::to_string(text.size()) + " bytes) cannot fit the slot context of " +
                         std::to_string(ctx) + " tokens");
  }
  std::vector<int32_t> ids = model.text.tokenizer.encode(text, add_bos);
  if (static_cast<int64_t>(ids.size()) > ctx) {
    return Status::error("the prompt has " + std::to_string(ids.size()) + " tokens, more than the slot context of " +
                         std::to_string(ctx));
  }
  if (ids.empty()) return Status::error("the prompt is empty");
  return ids;
}

}  // namespace moe
