// Every error class: a typed OpenAI error object with the right status, never a crash, and
// the server keeps serving afterwards.
#include <gtest/gtest.h>

#include "server_test_util.h"

namespace moe::testing {
namespace {

using nlohmann::json;

void expect_error(const httplib::Result& res, int status, const std::string& type = "") {
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, status) << res->body;
  const json j = json::parse(res->body, nullptr, false);
  ASSERT_TRUE(j.is_object()) << res->body;
  ASSERT_TRUE(j.contains("error")) << res->body;
  EXPECT_TRUE(j["error"]["message"].is_string());
  EXPECT_TRUE(j["error"]["type"].is_string());
  EXPECT_TRUE(j["error"].contains("code"));
  if (!type.empty()) {
    EXPECT_EQ(j["error"]["type"], type);
  }
}

class HttpErrors : public ::testing::Test {
 protected:
  void SetUp() override {
    TestServerConfig cfg;
    cfg.slot_ctx = 64;
    cfg.body_limit = 1 << 20;
    server_ = std::make_unique<TestServer>(cfg);
    ASSERT_TRUE(server_->ok()) << server_->error();
    client_ = server_->client();
  }
  httplib::Result chat(const json& body) { return client_->Post("/v1/chat/completions", body.dump(), "application/json"); }
  httplib::Result completion(const json& body) { return client_->Post("/v1/completions", body.dump(), "application/json"); }

  std::unique_ptr<TestServer> server_;
  std::unique_ptr<httplib::Client> client_;
};

TEST_F(HttpErrors, MalformedJson) {
  expect_error(client_->Post("/v1/chat/completions", "{\"messages\": [", "application/json"), 400, "invalid_request_error");
  expect_error(client_->Post("/v1/completions", "[1,2]", "application/json"), 400);
  expect_error(client_->Post("/tokenize", "nope", "application/json"), 400);
}

TEST_F(HttpErrors, WrongTypes) {
  expect_error(chat({{"messages", "hi"}}), 400);
  expect_error(chat({{"messages", kHello}, {"max_tokens", "5"}}), 400);
  expect_error(chat({{"messages", kHello}, {"temperature", "hot"}}), 400);
  expect_error(chat({{"messages", kHello}, {"stream", 1}}), 400);
  expect_error(chat({{"messages", kHello}, {"stop", 5}}), 400);
  expect_error(chat({{"messages", kHello}, {"stop", json::array({"a", 1})}}), 400);
  expect_error(chat({{"messages", kHello}, {"logit_bias", json::array()}}), 400);
  expect_error(chat({{"messages", kHello}, {"seed", 1.5}}), 400);
  expect_error(chat({{"messages", kHello}, {"tools", "x"}}), 400);
  expect_error(chat({{"messages", json::array({{{"role", 1}, {"content", "x"}}})}}), 400);
  expect_error(chat({{"messages", json::array({{{"role", "user"}, {"content", 5}}})}}), 400);
  expect_error(chat({{"messages", json::array({{{"role", "wizard"}, {"content", "x"}}})}}), 400);
  expect_error(completion({{"prompt", json::array({1, "a"})}}), 400);
  expect_error(completion({{"prompt", 7}}), 400);
  expect_error(client_->Post("/detokenize", json({{"tokens", "abc"}}).dump(), "application/json"), 400);
  // Unknown fields are ignored.
  auto ok = chat({{"messages", kHello}, {"max_tokens", 1}, {"some_future_field", {{"x", 1}}}});
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200) << ok->body;
}

TEST_F(HttpErrors, EmptyOrMissing) {
  expect_error(chat({{"messages", json::array()}}), 400);
  expect_error(chat(json::object()), 400);
  expect_error(completion({{"prompt", ""}}), 400);
  expect_error(completion({{"prompt", json::array()}}), 400);
  expect_error(completion(json::object()), 400);
}

TEST_F(HttpErrors, OutOfRange) {
  expect_error(chat({{"messages", kHello}, {"max_tokens", 0}}), 400);
  expect_error(chat({{"messages", kHello}, {"max_tokens", -1}}), 400);
  expect_error(chat({{"messages", kHello}, {"max_completion_tokens", 1LL << 40}}), 400);
  expect_error(chat({{"messages", kHello}, {"logprobs", true}, {"top_logprobs", 21}}), 400);
  expect_error(chat({{"messages", kHello}, {"n", 2}}), 400);
  expect_error(chat({{"messages", kHello}, {"n_experts", 1000}}), 400);
  expect_error(chat({{"messages", kHello}, {"n_experts", -1}}), 400);
  expect_error(chat({{"messages", kHello}, {"logit_bias", {{"99999999", 1}}}}), 400);
  expect_error(chat({{"messages", kHello}, {"logit_bias", {{"-1", 1}}}}), 400);
  expect_error(chat({{"messages", kHello}, {"logit_bias", {{"abc", 1}}}}), 400);
  expect_error(completion({{"prompt", json::array({1, 2, 999999})}}), 400);
  expect_error(completion({{"prompt", json::array({-5})}}), 400);
  expect_error(client_->Post("/detokenize", json({{"tokens", {1, 1 << 30}}}).dump(), "application/json"), 400);
  // Clamped rather than refused: sampling knobs out of range.
  auto ok = chat({{"messages", kHello}, {"max_tokens", 1}, {"temperature", 50}, {"top_p", 7}, {"top_k", -3},
                  {"presence_penalty", 1e9}, {"repeat_penalty", -4}});
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200) << ok->body;
}

TEST_F(HttpErrors, PromptLongerThanSlotContext) {
  json long_prompt = json::array();
  for (int i = 0; i < 65; ++i) long_prompt.push_back(100 + i);
  expect_error(completion({{"prompt", long_prompt}}), 400);
  std::string text;
  for (int i = 0; i < 300; ++i) text += " word" + std::to_string(i);
  expect_error(completion({{"prompt", text}}), 400);
  expect_error(chat({{"messages", json::array({{{"role", "user"}, {"content", text}}})}}), 400);
}

TEST_F(HttpErrors, NotSupportedYet) {
  expect_error(chat({{"messages", kHello}, {"response_format", {{"type", "json_object"}}}}), 400);
  expect_error(chat({{"messages", json::array({{{"role", "user"},
                                                {"content", json::array({{{"type", "image_url"}, {"image_url", "x"}}})}}})}}),
               400);
  expect_error(completion({{"prompt", json::array({"a", "b"})}}), 400);
}

TEST_F(HttpErrors, BodyTooLarge) {
  const std::string big(2 << 20, 'a');
  expect_error(client_->Post("/v1/completions", big, "application/json"), 413);
}

TEST_F(HttpErrors, UnknownRouteAndSlots) {
  expect_error(client_->Get("/v2/nothing"), 404);
  expect_error(client_->Post("/slots/0?action=save", json({{"filename", "a.bin"}}).dump(), "application/json"), 501);
  expect_error(client_->Post("/slots/9?action=erase", "{}", "application/json"), 400);
  expect_error(client_->Post("/slots/0?action=explode", "{}", "application/json"), 400);
}

TEST_F(HttpErrors, ContextFullEndsWithLength) {
  // 60 prompt tokens in a 64-token slot: generation stops at the slot's end, never aborts.
  json prompt = json::array();
  for (int i = 0; i < 60; ++i) prompt.push_back(100 + i);
  auto res = completion({{"prompt", prompt}, {"temperature", 0}, {"ignore_eos", true}, {"return_tokens", true}});
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  const json j = json::parse(res->body);
  EXPECT_EQ(j["choices"][0]["finish_reason"], "length");
  // 4 free positions, plus the last token, sampled but never fed.
  EXPECT_EQ(j["usage"]["completion_tokens"], 5);
  // A prompt that fills the slot exactly still gets one token.
  prompt = json::array();
  for (int i = 0; i < 64; ++i) prompt.push_back(100 + i);
  res = completion({{"prompt", prompt}, {"temperature", 0}, {"ignore_eos", true}});
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  EXPECT_EQ(json::parse(res->body)["choices"][0]["finish_reason"], "length");
  // The server is still fine.
  auto h = client_->Get("/health");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, 200);
}

TEST(HttpAuth, BearerKeyRequiredExceptHealth) {
  TestServerConfig cfg;
  cfg.api_key = "s3cret-key";
  TestServer server(cfg);
  ASSERT_TRUE(server.ok()) << server.error();
  httplib::Client anon("127.0.0.1", server.port());
  auto h = anon.Get("/health");
  ASSERT_TRUE(h);
  EXPECT_EQ(h->status, 200);
  expect_error(anon.Get("/v1/models"), 401, "authentication_error");
  expect_error(anon.Get("/metrics"), 401);
  expect_error(anon.Post("/v1/chat/completions", json({{"messages", kHello}}).dump(), "application/json"), 401);
  httplib::Client wrong("127.0.0.1", server.port());
  wrong.set_bearer_token_auth("s3cret-kez");
  expect_error(wrong.Get("/v1/models"), 401);
  httplib::Client prefix("127.0.0.1", server.port());
  prefix.set_bearer_token_auth("s3cret");
  expect_error(prefix.Get("/v1/models"), 401);
  auto good = server.client();
  auto m = good->Get("/v1/models");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->status, 200);
  EXPECT_FALSE(m->has_header("Access-Control-Allow-Origin"));  // CORS off by default
}

TEST(HttpAuth, CorsOnlyWhenAsked) {
  TestServerConfig cfg;
  cfg.api_key = "k";
  cfg.cors_origin = "https://app.example";
  TestServer server(cfg);
  ASSERT_TRUE(server.ok()) << server.error();
  httplib::Client anon("127.0.0.1", server.port());
  auto pre = anon.Options("/v1/chat/completions");  // preflight carries no credentials
  ASSERT_TRUE(pre);
  EXPECT_EQ(pre->status, 204);
  EXPECT_EQ(pre->get_header_value("Access-Control-Allow-Origin"), "https://app.example");
  auto m = server.client()->Get("/v1/models");
  ASSERT_TRUE(m);
  EXPECT_EQ(m->get_header_value("Access-Control-Allow-Origin"), "https://app.example");
}

TEST(HttpAuth, ConstantTimeEqual) {
  EXPECT_TRUE(constant_time_equal("abc", "abc"));
  EXPECT_FALSE(constant_time_equal("abc", "abd"));
  EXPECT_FALSE(constant_time_equal("abc", "abcd"));
  EXPECT_FALSE(constant_time_equal("", "a"));
  EXPECT_TRUE(constant_time_equal("", ""));
}

}  // namespace
}  // namespace moe::testing
