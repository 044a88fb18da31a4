// Continuous batching, batch invariance, prompt cache, queue limits, disconnects and slot
// files, over real loopback HTTP.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "server_test_util.h"

namespace moe::testing {
namespace {

using nlohmann::json;

std::vector<int> stream_tokens(httplib::Client& c, const json& prompt, int n) {
  const json body = {{"prompt", prompt}, {"max_tokens", n}, {"temperature", 0}, {"ignore_eos", true},
                     {"stream", true}, {"return_tokens", true}};
  auto res = c.Post("/v1/completions", body.dump(), "application/json");
  std::vector<int> out;
  if (!res || res->status != 200) return out;
  const SseStream s = parse_sse(res->body);
  EXPECT_TRUE(s.error.empty()) << s.error;
  EXPECT_TRUE(s.done);
  for (const json& ch : s.chunks) {
    if (ch["choices"].empty() || !ch["choices"][0].contains("tokens")) continue;
    for (const json& t : ch["choices"][0]["tokens"]) out.push_back(t.get<int>());
  }
  return out;
}

TEST(Scheduling, FourConcurrentGreedyStreamsMatchAlone) {
  TestServerConfig cfg;
  cfg.n_slots = 4;
  cfg.batch_size = 16;  // prompts are prefilled in chunks interleaved with decode steps
  TestServer server(cfg);
  ASSERT_TRUE(server.ok()) << server.error();
  std::vector<json> prompts;
  for (int p = 0; p < 4; ++p) {
    json ids = json::array();
    for (int i = 0; i < 10 + 9 * p; ++i) ids.push_back((i * 37 + p * 101 + 5) % 4000 + 1);
    prompts.push_back(ids);
  }
  const int n = 24;
  std::vector<std::vector<int>> alone(4);
  for (int p = 0; p < 4; ++p) {
    auto c = server.client();
    alone[p] = stream_tokens(*c, prompts[p], n);
    ASSERT_EQ(alone[p].size(), static_cast<size_t>(n));
    // Clear the cache so the concurrent run recomputes everything.
    c->Post(("/slots/" + std::to_string(p) + "?action=erase").c_str(), "{}", "application/json");
  }
  for (int s = 0; s < 4; ++s) {
    auto c = server.client();
    c->Post(("/slots/" + std::to_string(s) + "?action=erase").c_str(), "{}", "application/json");
  }
  std::vector<std::vector<int>> together(4);
  std::vector<std::thread> threads;
  for (int p = 0; p < 4; ++p) {
    threads.emplace_back([&, p] {
      auto c = server.client();
      together[p] = stream_tokens(*c, prompts[p], n);
    });
  }
  for (auto& t : threads) t.join();
  for (int p = 0; p < 4; ++p) EXPECT_EQ(together[p], alone[p]) << "stream " << p;
  EXPECT_GE(server.scheduler().metrics().requests_finished, 8);
}

TEST(Scheduling, PromptCacheReuseShowsInTimings) {
  TestServer server(TestServerConfig{});
  ASSERT_TRUE(server.ok()) << server.error();
  auto c = server.client();
  json msgs = json::array({{{"role", "system"}, {"content", "You are a helpful assistant."}},
                           {{"role", "user"}, {"content", "Tell me about the sea."}}});
  int status = 0;
  const json first = post_json(*c, "/v1/chat/completions", {{"messages", msgs}, {"max_tokens", 4}, {"temperature", 0}}, &status);
  ASSERT_EQ(status, 200) << first.dump();
  EXPECT_EQ(first["timings"]["cache_n"], 0);
  const int prompt1 = first["usage"]["prompt_tokens"];
  msgs.push_back({{"role", "assistant"}, {"content", "The sea is big."}});
  msgs.push_back({{"role", "user"}, {"content", "And rivers?"}});
  const json second = post_json(*c, "/v1/chat/completions", {{"messages", msgs}, {"max_tokens", 4}, {"temperature", 0}}, &status);
  ASSERT_EQ(status, 200) << second.dump();
  const int cached = second["timings"]["cache_n"];
  EXPECT_GT(cached, prompt1 / 2) << second["timings"];
  EXPECT_EQ(second["timings"]["prompt_n"].get<int>() + cached, second["usage"]["prompt_tokens"].get<int>());
  EXPECT_EQ(second["usage"]["prompt_tokens_details"]["cached_tokens"], cached);
  // The same request again: everything but the last prompt token comes from the cache,
  // and the output is the same as computing it from scratch.
  const json third = post_json(*c, "/v1/chat/completions", {{"messages", msgs}, {"max_tokens", 4}, {"temperature", 0}}, &status);
  EXPECT_EQ(third["timings"]["cache_n"].get<int>(), third["usage"]["prompt_tokens"].get<int>() - 1);
  EXPECT_EQ(third["choices"][0]["message"], second["choices"][0]["message"]);
}

TEST(Scheduling, QueueFullGets503WithRetryAfter) {
  TestServerConfig cfg;
  cfg.scripted = true;
  cfg.script = std::string(200, 'a');
  cfg.step_delay_ms = 20;
  cfg.n_slots = 1;
  cfg.max_queue = 1;
  TestServer server(cfg);
  ASSERT_TRUE(server.ok()) << server.error();
  const json body = {{"prompt", "hi"}, {"max_tokens", 30}};
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int i = 0; i < 2; ++i) {
    threads.emplace_back([&] {
      auto c = server.client();
      auto r = c->Post("/v1/completions", body.dump(), "application/json");
      if (r && r->status == 200) ++ok;
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(150));  // first in the slot, second queued
  }
  auto c = server.client();
  auto r = c->Post("/v1/completions", body.dump(), "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503) << r->body;
  EXPECT_EQ(r->get_header_value("Retry-After"), "1");
  EXPECT_EQ(json::parse(r->body)["error"]["code"], "queue_full");
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 2);
  auto again = c->Post("/v1/completions", body.dump(), "application/json");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 200);
}

// One slot and a scripted 2000-token answer at 5 ms a step (~10 s): long enough to hang up on.
TestServerConfig slow_single_slot() {
  TestServerConfig cfg;
  cfg.scripted = true;
  cfg.script = std::string(2000, 'b');
  cfg.step_delay_ms = 5;
  cfg.n_slots = 1;
  cfg.slot_ctx = 4096;
  return cfg;
}

// After a client hung up: the slot is freed at once, long before the script would end, and
// serves the next request.
void expect_slot_freed_after_hang_up(TestServer& server) {
  const auto t0 = std::chrono::steady_clock::now();
  bool freed = false;
  while (std::chrono::steady_clock::now() - t0 < std::chrono::seconds(3)) {
    if (server.scheduler().metrics().slots_busy == 0) {
      freed = true;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(freed);
  EXPECT_LT(server.scheduler().metrics().generated_tokens, 1000);
  auto c = server.client();
  int status = 0;
  post_json(*c, "/v1/completions", {{"prompt", "x"}, {"max_tokens", 3}}, &status);
  EXPECT_EQ(status, 200);
}

TEST(Scheduling, DisconnectFreesTheSlot) {
  TestServer server(slow_single_slot());
  ASSERT_TRUE(server.ok()) << server.error();
  httplib::Request req;
  req.method = "POST";
  req.path = "/v1/chat/completions";
  req.body = json({{"messages", json::array({{{"role", "user"}, {"content", "go"}}})}, {"stream", true}}).dump();
  req.set_header("Content-Type", "application/json");
  int received = 0;
  req.content_receiver = [&](const char*, size_t, uint64_t, uint64_t) { return ++received < 5; };  // then hang up
  httplib::Client c("127.0.0.1", server.port());
  c.send(req);
  EXPECT_GE(received, 5);
  expect_slot_freed_after_hang_up(server);
}

// A client that gives up on a non-streaming request (a read timeout, a cancelled call)
// frees its slot too, though no write fails: the handler probes the connection.
TEST(Scheduling, NonStreamingDisconnectFreesTheSlot) {
  TestServer server(slow_single_slot());
  ASSERT_TRUE(server.ok()) << server.error();
  {
    httplib::Client c("127.0.0.1", server.port());
    c.set_read_timeout(0, 300 * 1000);  // gives up after 0.3 s and closes the connection
    const json body = {{"messages", json::array({{{"role", "user"}, {"content", "go"}}})}};
    EXPECT_FALSE(c.Post("/v1/chat/completions", body.dump(), "application/json"));
  }
  expect_slot_freed_after_hang_up(server);
}

// One request written as is on a fresh loopback connection (the server closes it after
// the answer: Connection: close); the whole response, status line first.
std::string raw_request(int port, const std::string& request) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return {};
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string response;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
      send(fd, request.data(), request.size(), 0) == static_cast<ssize_t>(request.size())) {
    char buf[4096];
    for (ssize_t n; (n = recv(fd, buf, sizeof buf, 0)) > 0;) response.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return response;
}

// llama.cpp documents `curl -X POST .../slots/0?action=erase`: a POST with no body and no
// Content-Length, which cpp-httplib alone answers with 400.
TEST(Scheduling, SlotEraseWithoutABody) {
  TestServerConfig cfg;
  cfg.api_key = "k3y";
  TestServer server(cfg);
  ASSERT_TRUE(server.ok()) << server.error();
  const std::string head = "POST /slots/0?action=erase HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  const std::string ok = raw_request(server.port(), head + "Authorization: Bearer k3y\r\n\r\n");
  EXPECT_EQ(ok.rfind("HTTP/1.1 200", 0), 0u) << ok;
  EXPECT_NE(ok.find("\"n_erased\""), std::string::npos) << ok;
  // Still behind the API key, and still checked like any slot request.
  const std::string no_key = raw_request(server.port(), head + "\r\n");
  EXPECT_EQ(no_key.rfind("HTTP/1.1 401", 0), 0u) << no_key;
  const std::string bad_slot = raw_request(
      server.port(), "POST /slots/7?action=erase HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer k3y\r\n\r\n");
  EXPECT_EQ(bad_slot.rfind("HTTP/1.1 400", 0), 0u) << bad_slot;
  EXPECT_NE(bad_slot.find("no slot '7'"), std::string::npos) << bad_slot;
}

TEST(Scheduling, SlotSaveRestore) {
  const std::string dir = ::testing::TempDir() + "/moeinfer-slots";
  std::filesystem::create_directories(dir);
  TestServerConfig cfg;
  cfg.slot_save_path = dir;
  TestServer server(cfg);
  ASSERT_TRUE(server.ok()) << server.error();
  auto c = server.client();
  const json prompt = json::array({5, 6, 7, 8, 9, 10, 11, 12});
  int status = 0;
  const json first = post_json(*c, "/v1/completions",
                               {{"prompt", prompt}, {"max_tokens", 4}, {"temperature", 0}, {"return_tokens", true}}, &status);
  ASSERT_EQ(status, 200);
  // The request used slot 0 (both were empty; least recently used first).
  json saved = post_json(*c, "/slots/0?action=save", {{"filename", "s0.bin"}}, &status);
  ASSERT_EQ(status, 200) << saved.dump();
  EXPECT_EQ(saved["n_saved"], 11);  // 8 prompt + 3 fed generated tokens
  post_json(*c, "/slots/0?action=erase", json::object(), &status);
  EXPECT_EQ(status, 200);
  json restored = post_json(*c, "/slots/1?action=restore", {{"filename", "s0.bin"}}, &status);
  ASSERT_EQ(status, 200) << restored.dump();
  EXPECT_EQ(restored["n_restored"], 11);
  const json again = post_json(*c, "/v1/completions",
                               {{"prompt", prompt}, {"max_tokens", 4}, {"temperature", 0}, {"return_tokens", true}}, &status);
  EXPECT_EQ(again["timings"]["cache_n"], 7);  // served from the restored slot
  EXPECT_EQ(again["choices"][0]["tokens"], first["choices"][0]["tokens"]);

  // Path traversal and bad files are 400s, never crashes.
  for (const char* bad : {"../x.bin", "/etc/passwd", ".hidden", "a/b", ""}) {
    post_json(*c, "/slots/0?action=save", {{"filename", bad}}, &status);
    EXPECT_EQ(status, 400) << bad;
  }
  std::ofstream(dir + "/junk.bin") << "not a slot file at all";
  const json junk = post_json(*c, "/slots/0?action=restore", {{"filename", "junk.bin"}}, &status);
  EXPECT_EQ(status, 400);
  EXPECT_NE(junk["error"]["message"].get<std::string>().find("magic"), std::string::npos) << junk;
  // A truncated real file.
  std::filesystem::copy_file(dir + "/s0.bin", dir + "/cut.bin", std::filesystem::copy_options::overwrite_existing);
  std::filesystem::resize_file(dir + "/cut.bin", std::filesystem::file_size(dir + "/s0.bin") - 10);
  post_json(*c, "/slots/0?action=restore", {{"filename", "cut.bin"}}, &status);
  EXPECT_EQ(status, 400);
  post_json(*c, "/slots/0?action=restore", {{"filename", "missing.bin"}}, &status);
  EXPECT_EQ(status, 400);
  post_json(*c, "/v1/completions", {{"prompt", prompt}, {"max_tokens", 2}}, &status);
  EXPECT_EQ(status, 200);
}

}  // namespace
}  // namespace moe::testing
