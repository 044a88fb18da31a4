// Chat, completions, streaming framing and the small endpoints over real loopback HTTP.
#include <gtest/gtest.h>

#include "server_test_util.h"

namespace moe::testing {
namespace {

using nlohmann::json;

class HttpBasic : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<TestServer>(TestServerConfig{});
    ASSERT_TRUE(server_->ok()) << server_->error();
    client_ = server_->client();
  }
  std::unique_ptr<TestServer> server_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(HttpBasic, HealthAndModels) {
  auto h = client_->Get("/health");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, 200);
  EXPECT_EQ(json::parse(h->body), json({{"status", "ok"}}));
  auto m = client_->Get("/v1/models");
  ASSERT_TRUE(m);
  const json j = json::parse(m->body);
  EXPECT_EQ(j["object"], "list");
  ASSERT_EQ(j["data"].size(), 1u);
  EXPECT_EQ(j["data"][0]["id"], "test-model");
  EXPECT_EQ(j["data"][0]["object"], "model");
}

TEST_F(HttpBasic, ChatCompletionShape) {
  int status = 0;
  const json r = post_json(*client_, "/v1/chat/completions",
                           {{"model", "x"}, {"messages", kHello}, {"max_tokens", 5}, {"temperature", 0}}, &status);
  ASSERT_EQ(status, 200) << r.dump();
  EXPECT_EQ(r["object"], "chat.completion");
  EXPECT_EQ(r["id"].get<std::string>().rfind("chatcmpl-", 0), 0u);
  EXPECT_TRUE(r["created"].is_number_integer());
  EXPECT_EQ(r["model"], "test-model");
  ASSERT_EQ(r["choices"].size(), 1u);
  const json& c = r["choices"][0];
  EXPECT_EQ(c["index"], 0);
  EXPECT_EQ(c["message"]["role"], "assistant");
  EXPECT_TRUE(c["message"]["content"].is_string());
  // The R1 prompt ends inside <think> and the random model never closes it.
  EXPECT_EQ(c["finish_reason"], "length");
  EXPECT_EQ(r["usage"]["completion_tokens"], 5);
  EXPECT_EQ(r["usage"]["total_tokens"], r["usage"]["prompt_tokens"].get<int>() + 5);
  for (const char* k : {"prompt_n", "prompt_ms", "predicted_n", "predicted_ms", "cache_n"}) {
    EXPECT_TRUE(r["timings"].contains(k)) << k;
  }
}

TEST_F(HttpBasic, ContentPartsAreJoined) {
  int status = 0;
  const json msgs = json::array(
      {{{"role", "user"}, {"content", json::array({{{"type", "text"}, {"text", "a"}}, {{"type", "text"}, {"text", "b"}}})}}});
  const json r = post_json(*client_, "/apply-template", {{"messages", msgs}}, &status);
  ASSERT_EQ(status, 200) << r.dump();
  EXPECT_NE(r["prompt"].get<std::string>().find("a\nb"), std::string::npos) << r["prompt"];
}

TEST_F(HttpBasic, CompletionWithStringAndTokenPrompts) {
  int status = 0;
  const json a = post_json(*client_, "/v1/completions",
                           {{"prompt", "Once upon"}, {"max_tokens", 4}, {"temperature", 0}, {"return_tokens", true}}, &status);
  ASSERT_EQ(status, 200) << a.dump();
  EXPECT_EQ(a["object"], "text_completion");
  ASSERT_EQ(a["choices"][0]["tokens"].size(), 4u);
  // The same prompt as token ids (what /tokenize gives, BOS as the model asks) gives the same tokens.
  const json tok = post_json(*client_, "/tokenize", {{"content", "Once upon"}, {"add_special", true}}, &status);
  ASSERT_EQ(status, 200);
  const json b = post_json(*client_, "/v1/completions",
                           {{"prompt", tok["tokens"]}, {"max_tokens", 4}, {"temperature", 0}, {"return_tokens", true}}, &status);
  ASSERT_EQ(status, 200) << b.dump();
  EXPECT_EQ(a["choices"][0]["tokens"], b["choices"][0]["tokens"]);
  EXPECT_EQ(a["choices"][0]["text"], b["choices"][0]["text"]);
  EXPECT_EQ(b["usage"]["prompt_tokens"], tok["tokens"].size());
  // detokenize gives the text of the returned tokens.
  const json d = post_json(*client_, "/detokenize", {{"tokens", b["choices"][0]["tokens"]}}, &status);
  ASSERT_EQ(status, 200);
  EXPECT_EQ(d["content"], b["choices"][0]["text"]);
}

TEST_F(HttpBasic, TokenizeRoundTrip) {
  int status = 0;
  const json t = post_json(*client_, "/tokenize", {{"content", "Hello world"}}, &status);
  ASSERT_EQ(status, 200);
  ASSERT_FALSE(t["tokens"].empty());
  const json d = post_json(*client_, "/detokenize", {{"tokens", t["tokens"]}}, &status);
  EXPECT_EQ(d["content"], "Hello world");
}

TEST_F(HttpBasic, ChatStreamFraming) {
  const json body = {{"messages", kHello}, {"max_tokens", 4}, {"temperature", 0}, {"stream", true},
                     {"stream_options", {{"include_usage", true}}}};
  auto res = client_->Post("/v1/chat/completions", body.dump(), "application/json");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200);
  EXPECT_NE(res->get_header_value("Content-Type").find("text/event-stream"), std::string::npos);
  const SseStream s = parse_sse(res->body);
  ASSERT_TRUE(s.error.empty()) << s.error;
  ASSERT_TRUE(s.done);
  ASSERT_GE(s.chunks.size(), 3u);
  const std::string id = s.chunks[0]["id"];
  for (const json& c : s.chunks) {
    EXPECT_EQ(c["id"], id);
    EXPECT_EQ(c["object"], "chat.completion.chunk");
    EXPECT_EQ(c["model"], "test-model");
  }
  // First: the role.
  EXPECT_EQ(s.chunks[0]["choices"][0]["delta"]["role"], "assistant");
  EXPECT_TRUE(s.chunks[0]["choices"][0]["finish_reason"].is_null());
  // Then the finish chunk (empty delta, timings), then usage with no choices.
  const json& fin = s.chunks[s.chunks.size() - 2];
  EXPECT_EQ(fin["choices"][0]["finish_reason"], "length");
  EXPECT_EQ(fin["choices"][0]["delta"], json::object());
  EXPECT_TRUE(fin.contains("timings"));
  const json& usage = s.chunks.back();
  EXPECT_TRUE(usage["choices"].empty());
  EXPECT_EQ(usage["usage"]["completion_tokens"], 4);
  // Deltas in between carry text only.
  for (size_t i = 1; i + 2 < s.chunks.size(); ++i) {
    const json& d = s.chunks[i]["choices"][0]["delta"];
    EXPECT_TRUE(d.contains("reasoning_content") || d.contains("content")) << d;
    EXPECT_TRUE(s.chunks[i]["choices"][0]["finish_reason"].is_null());
  }
  // Without include_usage: no usage chunk.
  json b2 = body;
  b2.erase("stream_options");
  auto r2 = client_->Post("/v1/chat/completions", b2.dump(), "application/json");
  ASSERT_TRUE(r2);
  const SseStream s2 = parse_sse(r2->body);
  ASSERT_TRUE(s2.done);
  EXPECT_FALSE(s2.chunks.back()["choices"].empty());
  EXPECT_FALSE(s2.chunks.back().contains("usage"));
}

TEST_F(HttpBasic, StreamedEqualsNonStreamed) {
  json body = {{"messages", kHello}, {"max_tokens", 6}, {"temperature", 0}, {"reasoning_format", "none"}};
  int status = 0;
  const json whole = post_json(*client_, "/v1/chat/completions", body, &status);
  body["stream"] = true;
  auto res = client_->Post("/v1/chat/completions", body.dump(), "application/json");
  ASSERT_TRUE(res);
  const ChatStreamText t = collect_chat(parse_sse(res->body));
  EXPECT_EQ(t.content, whole["choices"][0]["message"]["content"]);
  EXPECT_EQ(t.finish, whole["choices"][0]["finish_reason"]);
}

TEST_F(HttpBasic, CompletionStream) {
  const json body = {{"prompt", "abc"}, {"max_tokens", 3}, {"temperature", 0}, {"stream", true}, {"return_tokens", true}};
  auto res = client_->Post("/v1/completions", body.dump(), "application/json");
  ASSERT_TRUE(res);
  const SseStream s = parse_sse(res->body);
  ASSERT_TRUE(s.error.empty()) << s.error;
  ASSERT_TRUE(s.done);
  size_t n_tokens = 0;
  for (const json& c : s.chunks) {
    EXPECT_EQ(c["object"], "text_completion");
    if (c["choices"][0].contains("tokens")) n_tokens += c["choices"][0]["tokens"].size();
  }
  EXPECT_EQ(n_tokens, 3u);
  EXPECT_EQ(s.chunks.back()["choices"][0]["finish_reason"], "length");
}

TEST_F(HttpBasic, Logprobs) {
  int status = 0;
  const json r = post_json(*client_, "/v1/chat/completions",
                           {{"messages", kHello}, {"max_tokens", 2}, {"temperature", 0}, {"logprobs", true}, {"top_logprobs", 3}},
                           &status);
  ASSERT_EQ(status, 200) << r.dump();
  const json& lp = r["choices"][0]["logprobs"]["content"];
  ASSERT_EQ(lp.size(), 2u);
  EXPECT_EQ(lp[0]["top_logprobs"].size(), 3u);
  // Greedy: the chosen token is the most likely one.
  EXPECT_EQ(lp[0]["logprob"], lp[0]["top_logprobs"][0]["logprob"]);
  EXPECT_LE(lp[0]["logprob"].get<double>(), 0.0);
}

TEST_F(HttpBasic, FewerExpertsPerRequest) {
  int status = 0;
  const json r = post_json(*client_, "/v1/completions",
                           {{"prompt", "abc"}, {"max_tokens", 3}, {"temperature", 0}, {"n_experts", 2}}, &status);
  EXPECT_EQ(status, 200) << r.dump();
  EXPECT_EQ(r["usage"]["completion_tokens"], 3);
}

}  // namespace
}  // namespace moe::testing
