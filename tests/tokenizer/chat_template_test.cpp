// ChatTemplate against the real DeepSeek templates: R1 byte-identical to the Jinja2 oracle,
// V3 / V3.1 against expectations worked out by reading the templates.
#include "tokenizer/chat_template.h"

#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

namespace moe {
namespace {

using nlohmann::json;

const std::string kBos = "<｜begin▁of▁sentence｜>";
const std::string kEos = "<｜end▁of▁sentence｜>";

std::string read_file(const std::string& relative) {
  std::ifstream in(std::string(MOEINFER_TEST_DATA_DIR) + "/" + relative, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

ChatTemplate load_template(const std::string& name) {
  std::string source = read_file("templates/" + name);
  EXPECT_FALSE(source.empty()) << name;
  auto t = ChatTemplate::parse(source);
  EXPECT_TRUE(t.is_ok()) << t.status().message();
  return std::move(t).value();
}

ChatTemplateOptions options(bool add_generation_prompt, json extra = json::object()) {
  ChatTemplateOptions opts;
  opts.add_generation_prompt = add_generation_prompt;
  opts.bos_token = kBos;
  opts.eos_token = kEos;
  opts.extra = std::move(extra);
  return opts;
}

std::string render_ok(const ChatTemplate& t, const json& messages, const ChatTemplateOptions& opts) {
  auto r = t.render(messages, opts);
  EXPECT_TRUE(r.is_ok()) << r.status().message();
  return r.is_ok() ? r.value() : std::string();
}

TEST(ChatTemplateOracle, DeepSeekR1MatchesJinja2ByteForByte) {
  json oracle = json::parse(read_file("oracle/chat_template.json"));
  ChatTemplate t = load_template("deepseek-r1.jinja");
  ASSERT_TRUE(oracle["cases"].is_array());
  ASSERT_FALSE(oracle["cases"].empty());
  for (const json& c : oracle["cases"]) {
    std::string got = render_ok(t, c["messages"], options(c["add_generation_prompt"].get<bool>()));
    EXPECT_EQ(got, c["prompt"].get<std::string>()) << c["messages"].dump();
  }
}

TEST(ChatTemplateOracle, DeepSeekR1SameWithoutTrimBlocks) {
  // Jinja2's own defaults (trim/lstrip off) give the same bytes: the template has no newlines
  // outside string literals.
  json oracle = json::parse(read_file("oracle/chat_template.json"));
  auto t = ChatTemplate::parse(read_file("templates/deepseek-r1.jinja"), jinja::LexOptions{false, false, false});
  ASSERT_TRUE(t.is_ok());
  for (const json& c : oracle["cases"]) {
    EXPECT_EQ(render_ok(*t, c["messages"], options(c["add_generation_prompt"].get<bool>())),
              c["prompt"].get<std::string>());
  }
}

// Kimi-K2-Thinking's template (macros, namespaces, list.append / pop, reversed ranges,
// slices) against Python Jinja2 (tests/data/gen_kimi_k2_chat_template.py).
TEST(ChatTemplateOracle, KimiK2ThinkingMatchesJinja2ByteForByte) {
  json oracle = json::parse(read_file("kimi-k2-chat-template.json"));
  ChatTemplate t = load_template("kimi-k2-thinking.jinja");
  ASSERT_GE(oracle["cases"].size(), 6u);
  for (const json& c : oracle["cases"]) {
    ChatTemplateOptions opts = options(c["add_generation_prompt"].get<bool>());
    if (c.contains("tools")) opts.tools = c["tools"];
    EXPECT_EQ(render_ok(t, c["messages"], opts), c["prompt"].get<std::string>())
        << c["messages"].dump();
  }
}

TEST(ChatTemplateV3, SystemPromptsJoinAndGenerationPrompt) {
  ChatTemplate t = load_template("deepseek-v3.jinja");
  json messages = json::array({{{"role", "system"}, {"content", "A"}},
                               {{"role", "system"}, {"content", "B"}},
                               {{"role", "user"}, {"content", "Hi"}},
                               {{"role", "assistant"}, {"content", "Hello"}},
                               {{"role", "user"}, {"content", "Bye"}}});
  EXPECT_EQ(render_ok(t, messages, options(true)),
            kBos + "A\n\nB<｜User｜>Hi<｜Assistant｜>Hello" + kEos + "<｜User｜>Bye<｜Assistant｜>");
  EXPECT_EQ(render_ok(t, messages, options(false)),
            kBos + "A\n\nB<｜User｜>Hi<｜Assistant｜>Hello" + kEos + "<｜User｜>Bye");
}

TEST(ChatTemplateV3, ToolCallsAndOutputs) {
  ChatTemplate t = load_template("deepseek-v3.jinja");
  json call = {{"type", "function"}, {"function", {{"name", "f"}, {"arguments", "{\"x\": 1}"}}}};
  json messages = json::array({{{"role", "user"}, {"content", "W?"}},
                               {{"role", "assistant"}, {"content", nullptr}, {"tool_calls", json::array({call})}},
                               {{"role", "tool"}, {"content", "r1"}},
                               {{"role", "assistant"}, {"content", "Done."}}});
  // The answer after the outputs closes them; the generation prompt follows.
  EXPECT_EQ(render_ok(t, messages, options(true)),
            kBos +
                "<｜User｜>W?<｜Assistant｜><｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>f\n"
                "```json\n{\"x\": 1}\n```<｜tool▁call▁end｜>"
                "<｜tool▁outputs▁begin｜><｜tool▁output▁begin｜>r1<｜tool▁output▁end｜>"
                "<｜tool▁outputs▁end｜>Done." + kEos + "<｜Assistant｜>");
}

json v31_conversation() {
  return json::array({{{"role", "system"}, {"content", "S"}},
                      {{"role", "user"}, {"content", "Hi"}},
                      {{"role", "assistant"}, {"content", "<think>r</think>Hello"}},
                      {{"role", "user"}, {"content", "Q"}}});
}

TEST(ChatTemplateV31, ThinkingOffClosesThinkInGenerationPrompt) {
  ChatTemplate t = load_template("deepseek-v3.1.jinja");
  const std::string history =
      kBos + "S<｜User｜>Hi<｜Assistant｜><think></think>Hello" + kEos + "<｜User｜>Q<｜Assistant｜>";
  EXPECT_EQ(render_ok(t, v31_conversation(), options(true, {{"thinking", false}})), history + "<think></think>");
  EXPECT_EQ(render_ok(t, v31_conversation(), options(true)), history + "<think></think>");  // default off
}

TEST(ChatTemplateV31, ThinkingOnOpensThink) {
  ChatTemplate t = load_template("deepseek-v3.1.jinja");
  const std::string history =
      kBos + "S<｜User｜>Hi<｜Assistant｜><think></think>Hello" + kEos + "<｜User｜>Q<｜Assistant｜>";
  EXPECT_EQ(render_ok(t, v31_conversation(), options(true, {{"thinking", true}})), history + "<think>");
  EXPECT_EQ(render_ok(t, v31_conversation(), options(true, {{"enable_thinking", true}})), history + "<think>");
  EXPECT_EQ(render_ok(t, v31_conversation(), options(false, {{"thinking", true}})),
            kBos + "S<｜User｜>Hi<｜Assistant｜><think></think>Hello" + kEos + "<｜User｜>Q");
}

TEST(ChatTemplateV31, ToolCallArgumentsGoThroughTojson) {
  ChatTemplate t = load_template("deepseek-v3.1.jinja");
  json call = {{"type", "function"}, {"function", {{"name", "get_weather"}, {"arguments", {{"city", "Paris"}}}}}};
  json messages = json::array({{{"role", "user"}, {"content", "W?"}},
                               {{"role", "assistant"}, {"content", nullptr}, {"tool_calls", json::array({call})}},
                               {{"role", "tool"}, {"content", "21"}},
                               {{"role", "assistant"}, {"content", "Warm."}}});
  EXPECT_EQ(render_ok(t, messages, options(true, {{"thinking", true}})),
            kBos +
                "<｜User｜>W?<｜Assistant｜><think></think><｜tool▁calls▁begin｜><｜tool▁call▁begin｜>get_weather"
                "<｜tool▁sep｜>{\"city\": \"Paris\"}<｜tool▁call▁end｜><｜tool▁calls▁end｜>" + kEos +
                "<｜tool▁output▁begin｜>21<｜tool▁output▁end｜>Warm." + kEos);
}

TEST(ChatTemplateErrors, ReportedAsStatus) {
  EXPECT_FALSE(ChatTemplate::parse("{% include 'x.jinja' %}").is_ok());
  EXPECT_FALSE(ChatTemplate::parse("{% if x %}").is_ok());
  auto t = ChatTemplate::parse("{% if messages|length == 0 %}{{ raise_exception('no messages') }}{% endif %}ok");
  ASSERT_TRUE(t.is_ok());
  auto r = t->render(json::array(), options(true));
  ASSERT_FALSE(r.is_ok());
  EXPECT_NE(r.status().message().find("no messages"), std::string::npos) << r.status().message();
  EXPECT_FALSE(t->render(json::object(), options(true)).is_ok());  // messages must be a list
  EXPECT_EQ(render_ok(*t, json::array({{{"role", "user"}, {"content", "x"}}}), options(true)), "ok");
}

TEST(ChatTemplateContext, ToolsBosEosAndExtras) {
  auto t = ChatTemplate::parse(
      "{{ bos_token }}{% if tools is none %}none{% else %}{{ tools|length }}:{{ tools[0].name }}{% endif %}"
      "{{ eos_token }}{{ add_generation_prompt }}{{ custom }}");
  ASSERT_TRUE(t.is_ok());
  ChatTemplateOptions opts = options(false, {{"custom", "!"}});
  EXPECT_EQ(render_ok(*t, json::array(), opts), kBos + "none" + kEos + "False!");
  opts.tools = json::array({{{"name", "f"}}});
  EXPECT_EQ(render_ok(*t, json::array(), opts), kBos + "1:f" + kEos + "False!");
}

}  // namespace
}  // namespace moe
