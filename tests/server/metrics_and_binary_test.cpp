// /metrics in the Prometheus text format (a strict parser here, and `promtool check
// metrics` when Debian's prometheus package is installed), and the real `moeinfer serve`
// binary: /health while loading and when ready, the start-up context split.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <thread>

#include "server_test_util.h"

namespace moe::testing {
namespace {

using nlohmann::json;

// Text format 0.0.4: "# HELP name text", "# TYPE name counter|gauge|...", then samples
// "name value" of that family; names [a-zA-Z_:][a-zA-Z0-9_:]*; values parse as floats.
std::string check_prometheus_text(const std::string& text, std::map<std::string, double>& values) {
  const std::regex help(R"(# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) .+)");
  const std::regex type(R"(# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped))");
  const std::regex sample(R"(([a-zA-Z_:][a-zA-Z0-9_:]*) (\S+))");
  std::istringstream in(text);
  std::string line, family, helped;
  std::map<std::string, bool> typed;
  std::smatch m;
  if (text.empty() || text.back() != '\n') return "missing final newline";
  while (std::getline(in, line)) {
    if (std::regex_match(line, m, help)) {
      helped = m[1];
    } else if (std::regex_match(line, m, type)) {
      if (typed.count(m[1])) return "duplicate TYPE for " + std::string(m[1]);
      if (m[1] != helped) return "TYPE without HELP: " + line;
      typed[m[1]] = true;
      family = m[1];
    } else if (std::regex_match(line, m, sample)) {
      if (m[1] != family) return "sample outside its family: " + line;
      char* end = nullptr;
      const std::string v = m[2];
      const double d = std::strtod(v.c_str(), &end);
      if (end != v.c_str() + v.size()) return "bad value: " + line;
      values[m[1]] = d;
    } else {
      return "bad line: '" + line + "'";
    }
  }
  return "";
}

TEST(Metrics, PrometheusTextFormat) {
  TestServer server(TestServerConfig{});
  ASSERT_TRUE(server.ok()) << server.error();
  auto c = server.client();
  int status = 0;
  post_json(*c, "/v1/completions", {{"prompt", "hello"}, {"max_tokens", 3}, {"temperature", 0}}, &status);
  ASSERT_EQ(status, 200);
  auto res = c->Get("/metrics");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200);
  EXPECT_NE(res->get_header_value("Content-Type").find("text/plain"), std::string::npos);
  std::map<std::string, double> v;
  const std::string err = check_prometheus_text(res->body, v);
  ASSERT_EQ(err, "") << res->body;
  EXPECT_EQ(v["moeinfer_generated_tokens_total"], 3);
  EXPECT_GE(v["moeinfer_prompt_tokens_total"], 1);
  EXPECT_EQ(v["moeinfer_requests_finished_total"], 1);
  EXPECT_EQ(v["moeinfer_slots"], 2);
  EXPECT_EQ(v["moeinfer_slots_busy"], 0);
  EXPECT_EQ(v["moeinfer_requests_queued"], 0);
  EXPECT_GT(v["moeinfer_kv_cache_usage_ratio"], 0);
  for (const char* k : {"moeinfer_http_requests_total", "moeinfer_prompt_tokens_per_second", "moeinfer_decode_tokens_per_second",
                        "moeinfer_kv_cache_tokens"}) {
    EXPECT_TRUE(v.count(k)) << k;
  }
  if (std::system("command -v promtool > /dev/null 2>&1") != 0) {
    GTEST_SKIP() << "promtool not installed (apt-get install prometheus): strict parser only";
  }
  const std::string path = ::testing::TempDir() + "/moeinfer-metrics.txt";
  std::ofstream(path) << res->body;
  EXPECT_EQ(std::system(("promtool check metrics < " + path).c_str()), 0) << res->body;
}

// The real binary on a free port; stdout goes to a file we read for the port.
class ServeProcess {
 public:
  explicit ServeProcess(const std::string& args) {
    out_ = ::testing::TempDir() + "/moeinfer-serve-" + std::to_string(getpid()) + ".out";
    // a file left by an earlier process with this pid would show its old port before the
    // server's shell truncates it
    std::remove(out_.c_str());
    pid_ = fork();
    if (pid_ == 0) {
      const std::string cmd = std::string("exec ") + MOEINFER_BINARY_DIR + "/src/cli/moeinfer serve " + args + " > " + out_;
      execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
  }
  ~ServeProcess() {
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      int status = 0;
      waitpid(pid_, &status, 0);
    }
    std::remove(out_.c_str());
  }
  std::string output() const {
    std::ifstream in(out_);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  int wait_port() const {
    const std::regex re(R"(listening on http://[^:]+:(\d+))");
    for (int i = 0; i < 600; ++i) {
      std::smatch m;
      const std::string out = output();
      if (std::regex_search(out, m, re)) return std::stoi(m[1]);
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return -1;
  }

 private:
  pid_t pid_ = -1;
  std::string out_;
};

TEST(ServeBinary, HealthAndContextSplit) {
  ServeProcess p("-m " + model_path("r1-mini-q8_0") + " --port 0 -c 1024 -np 4 -t 1 -tb 1");
  const int port = p.wait_port();
  ASSERT_GT(port, 0) << p.output();
  httplib::Client c("127.0.0.1", port);
  int status = 0;
  for (int i = 0; i < 600; ++i) {
    auto h = c.Get("/health");
    ASSERT_TRUE(h);
    status = h->status;
    const json j = json::parse(h->body);
    if (status == 200) {
      EXPECT_EQ(j, json({{"status", "ok"}}));
      break;
    }
    EXPECT_EQ(status, 503);
    EXPECT_EQ(j["status"], "loading");
    EXPECT_TRUE(j["progress"].is_number());
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(status, 200);
  EXPECT_NE(p.output().find("1024 tokens in total, split over 4 slots: 256 tokens per slot"), std::string::npos)
      << p.output();
  auto r = c.Post("/v1/chat/completions",
                  json({{"messages", json::array({{{"role", "user"}, {"content", "hi"}}})}, {"max_tokens", 2}}).dump(),
                  "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
}

}  // namespace
}  // namespace moe::testing
