// `moeinfer template -m MODEL --messages FILE.json [--add-generation-prompt] [--tools F]
// [--var name=json ...] [--chat-template-file F]`: the rendered prompt, exactly (no newline
// added).
#include <cstdio>
#include <nlohmann/json.hpp>

#include "cli/args.h"
#include "cli/commands.h"
#include "engine/text_model.h"

namespace moe::cli {
namespace {

Result<nlohmann::json> read_json_file(const std::string& path) {
  MOE_ASSIGN_OR_RETURN(std::string text, read_text_file(path));
  nlohmann::json j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Status::error(path + ": not valid JSON");
  return j;
}

}  // namespace

int template_main(int argc, char** argv) {
  Args args("template", "Render a conversation with the model's chat template.",
            {{"--model", "-m", "FILE", "", "GGUF model (a vocab-only file is enough)"},
             {"--messages", "", "FILE", "", "a JSON array of OpenAI-style messages"},
             {"--add-generation-prompt", "", "", "", "end with the assistant's turn opening"},
             {"--tools", "", "FILE", "", "a JSON array of OpenAI tool definitions"},
             {"--var", "", "NAME=JSON", "", "extra template variable (repeatable), e.g. thinking=true"},
             {"--chat-template-file", "", "FILE", "", "use this template instead of the model's"}});
  if (Status s = args.parse(argc, argv); !s) {
    std::fprintf(stderr, "moeinfer template: %s\n%s", s.message().c_str(), args.usage().c_str());
    return 2;
  }
  if (args.help_requested()) {
    std::printf("%s", args.usage().c_str());
    return 0;
  }
  if (!args.given("--messages")) {
    std::fprintf(stderr, "moeinfer template: --messages FILE is required\n");
    return 2;
  }
  auto messages = read_json_file(args.get("--messages"));
  if (!messages) return fail("template", messages.status());
  if (!messages->is_array())
    return fail("template",
                Status::error(args.get("--messages") + ": expected a JSON array of messages"));
  nlohmann::json tools = nullptr;
  if (args.given("--tools")) {
    auto t = read_json_file(args.get("--tools"));
    if (!t) return fail("template", t.status());
    tools = std::move(t).value();
  }
  nlohmann::json extra = nlohmann::json::object();
  for (const std::string& var : args.get_all("--var")) {
    const size_t eq = var.find('=');
    if (eq == std::string::npos || eq == 0)
      return fail("template", Status::error("--var '" + var + "': expected NAME=JSON"));
    nlohmann::json value = nlohmann::json::parse(var.substr(eq + 1), nullptr, false);
    if (value.is_discarded()) value = var.substr(eq + 1);  // a bare word is a string
    extra[var.substr(0, eq)] = value;
  }
  auto file = GgufModel::open(args.get("--model"));
  if (!file) return fail("template", file.status());
  auto text = TextModel::load(*file, args.get("--chat-template-file"));
  if (!text) return fail("template", text.status());
  auto rendered = text->render(*messages, args.flag("--add-generation-prompt"), tools, extra);
  if (!rendered) return fail("template", rendered.status());
  std::fwrite(rendered->data(), 1, rendered->size(), stdout);
  return 0;
}

}  // namespace moe::cli
