// Reasoning split, tool-call deltas and stop strings end to end. The fixture models never
// emit </think> or tool-call markup, so a scripted token source stands in for the model
// behind the same ModelStep interface (the real tokenizer, template, scheduler and server).
#include <gtest/gtest.h>

#include "server_test_util.h"

namespace moe::testing {
namespace {

using nlohmann::json;

const json kQuestion = json::array({{{"role", "user"}, {"content", "What is 2+2?"}}});

std::unique_ptr<TestServer> scripted(const std::string& script) {
  TestServerConfig cfg;
  cfg.scripted = true;
  cfg.script = script;
  return std::make_unique<TestServer>(cfg);
}

TEST(Reasoning, SplitNonStreaming) {
  auto server = scripted("Let me add.\n2 and 2 make 4.\n</think>\n\nThe answer is 4.");
  ASSERT_TRUE(server->ok()) << server->error();
  auto c = server->client();
  int status = 0;
  const json r = post_json(*c, "/v1/chat/completions", {{"messages", kQuestion}}, &status);
  ASSERT_EQ(status, 200) << r.dump();
  const json& m = r["choices"][0]["message"];
  EXPECT_EQ(m["reasoning_content"], "Let me add.\n2 and 2 make 4.");
  EXPECT_EQ(m["content"], "The answer is 4.");
  EXPECT_EQ(r["choices"][0]["finish_reason"], "stop");
  // reasoning_format none keeps everything in content.
  const json n = post_json(*c, "/v1/chat/completions",
                           {{"messages", kQuestion}, {"reasoning_format", "none"}}, &status);
  EXPECT_FALSE(n["choices"][0]["message"].contains("reasoning_content"));
  EXPECT_NE(n["choices"][0]["message"]["content"].get<std::string>().find("</think>"), std::string::npos);
}

TEST(Reasoning, SplitStreaming) {
  auto server = scripted("Let me add.\n2 and 2 make 4.\n</think>\n\nThe answer is 4.");
  ASSERT_TRUE(server->ok()) << server->error();
  auto c = server->client();
  auto res = c->Post("/v1/chat/completions",
                     json({{"messages", kQuestion}, {"stream", true}}).dump(), "application/json");
  ASSERT_TRUE(res);
  const SseStream s = parse_sse(res->body);
  ASSERT_TRUE(s.error.empty()) << s.error;
  const ChatStreamText t = collect_chat(s);
  EXPECT_EQ(t.reasoning, "Let me add.\n2 and 2 make 4.");
  EXPECT_EQ(t.content, "The answer is 4.");
  EXPECT_EQ(t.finish, "stop");
  // Several reasoning deltas came before the first content delta.
  int reasoning_chunks = 0;
  bool content_seen = false;
  for (const json& ch : s.chunks) {
    if (ch["choices"].empty()) continue;
    const json& d = ch["choices"][0]["delta"];
    if (d.contains("reasoning_content")) {
      EXPECT_FALSE(content_seen);
      ++reasoning_chunks;
    }
    if (d.contains("content") && d["content"].is_string()) content_seen = true;
  }
  EXPECT_GT(reasoning_chunks, 2);
}

TEST(Reasoning, NeverClosedEndsWithLength) {
  auto server = scripted("thinking forever and ever and ever");
  ASSERT_TRUE(server->ok()) << server->error();
  auto c = server->client();
  int status = 0;
  const json r =
      post_json(*c, "/v1/chat/completions", {{"messages", kQuestion}, {"max_tokens", 3}}, &status);
  ASSERT_EQ(status, 200);
  EXPECT_EQ(r["choices"][0]["finish_reason"], "length");
  EXPECT_EQ(r["choices"][0]["message"]["content"], "");
  EXPECT_FALSE(r["choices"][0]["message"]["reasoning_content"].get<std::string>().empty());
}

const char* kToolScript =
    "I should call the tool.\n</think>\n\n"
    "<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n"
    "```json\n{\"city\": \"Paris\"}\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>";

json weather_tools() {
  return json::array({{{"type", "function"},
                       {"function",
                        {{"name", "get_weather"},
                         {"description", "Weather of a city"},
                         {"parameters", {{"type", "object"}, {"properties", {{"city", {{"type", "string"}}}}}}}}}}});
}

TEST(Reasoning, ToolCalls) {
  auto server = scripted(kToolScript);
  ASSERT_TRUE(server->ok()) << server->error();
  auto c = server->client();
  int status = 0;
  const json r = post_json(*c, "/v1/chat/completions",
                           {{"messages", kQuestion}, {"tools", weather_tools()}}, &status);
  ASSERT_EQ(status, 200) << r.dump();
  const json& m = r["choices"][0]["message"];
  EXPECT_EQ(r["choices"][0]["finish_reason"], "tool_calls");
  EXPECT_EQ(m["reasoning_content"], "I should call the tool.");
  EXPECT_TRUE(m["content"].is_null()) << m;
  ASSERT_EQ(m["tool_calls"].size(), 1u) << m;
  EXPECT_EQ(m["tool_calls"][0]["type"], "function");
  EXPECT_EQ(m["tool_calls"][0]["function"]["name"], "get_weather");
  EXPECT_EQ(json::parse(m["tool_calls"][0]["function"]["arguments"].get<std::string>()), json({{"city", "Paris"}}));
  EXPECT_FALSE(m["tool_calls"][0]["id"].get<std::string>().empty());

  auto res =
      c->Post("/v1/chat/completions",
              json({{"messages", kQuestion}, {"tools", weather_tools()}, {"stream", true}}).dump(),
              "application/json");
  ASSERT_TRUE(res);
  const ChatStreamText t = collect_chat(parse_sse(res->body));
  EXPECT_EQ(t.finish, "tool_calls");
  ASSERT_FALSE(t.tool_calls.empty());
  EXPECT_EQ(t.tool_calls[0]["index"], 0);
  EXPECT_EQ(t.tool_calls[0]["function"]["name"], "get_weather");
  EXPECT_TRUE(t.tool_calls[0].contains("id"));
  std::string args;
  for (const json& d : t.tool_calls) {
    EXPECT_EQ(d["index"], 0);
    args += d["function"]["arguments"].get<std::string>();
  }
  EXPECT_EQ(json::parse(args), json({{"city", "Paris"}}));
}

// Kimi-K2's syntax: the call's id is the model's header, which Kimi's template expects back.
// (The fixture's R1 template opens the reasoning; the tool-call section ends it.)
TEST(Reasoning, KimiToolCalls) {
  TestServerConfig cfg;
  cfg.scripted = true;
  cfg.script =
      "Weather needs the tool.<|tool_calls_section_begin|><|tool_call_begin|>"
      "functions.get_weather:0<|tool_call_argument_begin|>{\"city\": \"Paris\"}<|tool_call_end|>"
      "<|tool_calls_section_end|>";
  cfg.tool_syntax = ToolCallSyntax::kKimi;
  TestServer server(cfg);
  ASSERT_TRUE(server.ok()) << server.error();
  auto c = server.client();
  int status = 0;
  const json r = post_json(*c, "/v1/chat/completions",
                           {{"messages", kQuestion}, {"tools", weather_tools()}}, &status);
  ASSERT_EQ(status, 200) << r.dump();
  const json& m = r["choices"][0]["message"];
  EXPECT_EQ(r["choices"][0]["finish_reason"], "tool_calls");
  EXPECT_EQ(m["reasoning_content"], "Weather needs the tool.");
  ASSERT_EQ(m["tool_calls"].size(), 1u) << m;
  EXPECT_EQ(m["tool_calls"][0]["id"], "functions.get_weather:0");
  EXPECT_EQ(m["tool_calls"][0]["function"]["name"], "get_weather");
  EXPECT_EQ(json::parse(m["tool_calls"][0]["function"]["arguments"].get<std::string>()), json({{"city", "Paris"}}));
  auto res =
      c->Post("/v1/chat/completions",
              json({{"messages", kQuestion}, {"tools", weather_tools()}, {"stream", true}}).dump(),
              "application/json");
  ASSERT_TRUE(res);
  const ChatStreamText t = collect_chat(parse_sse(res->body));
  EXPECT_EQ(t.finish, "tool_calls");
  ASSERT_FALSE(t.tool_calls.empty());
  EXPECT_EQ(t.tool_calls[0]["id"], "functions.get_weather:0");
}

TEST(Reasoning, StopStrings) {
  auto server = scripted("Hello there STOP and more");
  ASSERT_TRUE(server->ok()) << server->error();
  auto c = server->client();
  int status = 0;
  const json r = post_json(*c, "/v1/completions", {{"prompt", "x"}, {"stop", json::array({"STOP", "zzz"})}}, &status);
  ASSERT_EQ(status, 200) << r.dump();
  EXPECT_EQ(r["choices"][0]["text"], "Hello there ");
  EXPECT_EQ(r["choices"][0]["finish_reason"], "stop");
  auto res = c->Post("/v1/completions", json({{"prompt", "x"}, {"stop", "there"}, {"stream", true}}).dump(), "application/json");
  ASSERT_TRUE(res);
  std::string text;
  for (const json& ch : parse_sse(res->body).chunks) text += ch["choices"][0]["text"].get<std::string>();
  EXPECT_EQ(text, "Hello ");
  // Without a stop string the whole script comes out and EOS ends it with "stop".
  const json all = post_json(*c, "/v1/completions", {{"prompt", "x"}}, &status);
  EXPECT_EQ(all["choices"][0]["text"], "Hello there STOP and more");
  EXPECT_EQ(all["choices"][0]["finish_reason"], "stop");
}

TEST(Reasoning, StopMatcherHoldsBackPrefixes) {
  StopMatcher m({"</s>", "END"});
  bool matched = false;
  EXPECT_EQ(m.feed("abc<", matched), "abc");
  EXPECT_FALSE(matched);
  EXPECT_EQ(m.feed("/", matched), "");
  EXPECT_EQ(m.feed("x", matched), "</x");
  EXPECT_EQ(m.feed("EN", matched), "");
  EXPECT_EQ(m.feed("D tail", matched), "");
  EXPECT_TRUE(matched);
  StopMatcher none;
  EXPECT_EQ(none.feed("free", matched), "free");
  EXPECT_FALSE(matched);
}

}  // namespace
}  // namespace moe::testing
