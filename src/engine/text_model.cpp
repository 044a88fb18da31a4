#include "engine/text_model.h"

#include <fstream>
#include <sstream>

namespace moe {

Result<std::string> read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::error(path + ": cannot open");
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return Status::error(path + ": read error");
  return ss.str();
}

Result<TextModel> TextModel::load(const GgufModel& file, const std::string& template_file) {
  auto tokenizer = load_tokenizer(file);
  if (!tokenizer) return tokenizer.status();
  TextModel tm{std::move(tokenizer).value(), std::nullopt, "", ""};
  const Tokenizer& tok = tm.tokenizer;
  tm.tool_syntax = tool_call_syntax_of(tok);
  if (tok.is_valid(tok.bos_id())) tm.bos_text = std::string(tok.token_to_piece(tok.bos_id(), true));
  if (tok.is_valid(tok.eos_id())) tm.eos_text = std::string(tok.token_to_piece(tok.eos_id(), true));

  std::string source;
  if (!template_file.empty()) {
    MOE_ASSIGN_OR_RETURN(source, read_text_file(template_file));
  } else {
    MOE_ASSIGN_OR_RETURN(auto embedded, file.metadata().get_string("tokenizer.chat_template"));
    if (embedded.has_value()) source = std::string(*embedded);
  }
  if (!source.empty()) {
    auto parsed = ChatTemplate::parse(source);
    if (!parsed) {
      return parsed.status().with_context(template_file.empty() ? "tokenizer.chat_template" : template_file);
    }
    tm.chat_template = std::move(parsed).value();
  }
  return tm;
}

Result<std::string> TextModel::render(const nlohmann::json& messages, bool add_generation_prompt,
                                      const nlohmann::json& tools, const nlohmann::json& extra) const {
  if (!chat_template) return Status::error("the model has no chat template (use --chat-template-file)");
  ChatTemplateOptions opts;
  opts.add_generation_prompt = add_generation_prompt;
  opts.tools = tools;
  opts.bos_token = bos_text;
  opts.eos_token = eos_text;
  opts.extra = extra.is_object() ? extra : nlohmann::json::object();
  return chat_template->render(messages, opts);
}

std::vector<TokenId> TextModel::encode_rendered(const std::string& rendered) const {
  return tokenizer.encode(rendered, /*add_bos=*/false);
}

std::vector<TokenId> TextModel::encode_text(const std::string& text) const {
  return tokenizer.encode(text, tokenizer.add_bos_token());
}

bool prompt_opens_reasoning(const std::string& rendered) {
  std::string_view r = rendered;
  while (!r.empty() && (r.back() == '\n' || r.back() == ' ' || r.back() == '\r')) r.remove_suffix(1);
  return r.ends_with("<think>");
}

}  // namespace moe
