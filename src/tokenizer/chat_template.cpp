#include "tokenizer/chat_template.h"

#include "tokenizer/jinja_parser.h"
#include "tokenizer/jinja_value.h"

namespace moe {

Result<ChatTemplate> ChatTemplate::parse(std::string_view source, const jinja::LexOptions& lex) {
  auto tmpl = jinja::parse_template(source, lex);
  if (!tmpl.is_ok()) return tmpl.status().with_context("chat template");
  return ChatTemplate(std::move(tmpl).value());
}

Result<std::string> ChatTemplate::render(const nlohmann::json& messages, const ChatTemplateOptions& opts) const {
  if (!messages.is_array()) return Status::error("chat template: messages must be a JSON array");
  if (!opts.extra.is_null() && !opts.extra.is_object()) {
    return Status::error("chat template: extra variables must be a JSON object");
  }
  auto context = std::make_shared<jinja::Object>();
  auto add = [&](const std::string& name, const nlohmann::json& j) -> Status {
    auto v = jinja::from_json(j);
    if (!v.is_ok()) return v.status().with_context("chat template: " + name);
    context->set(name, std::move(v).value());
    return Status::ok();
  };
  MOE_RETURN_IF_ERROR(add("messages", messages));
  MOE_RETURN_IF_ERROR(add("tools", opts.tools));
  context->set("add_generation_prompt", jinja::Value(opts.add_generation_prompt));
  context->set("bos_token", jinja::Value(opts.bos_token));
  context->set("eos_token", jinja::Value(opts.eos_token));
  if (opts.extra.is_object()) {
    for (auto it = opts.extra.begin(); it != opts.extra.end(); ++it) MOE_RETURN_IF_ERROR(add(it.key(), it.value()));
  }
  auto out = jinja::render(*tmpl_, jinja::Value(std::move(context)), opts.limits);
  if (!out.is_ok()) return out.status().with_context("chat template");
  return out;
}

}  // namespace moe
