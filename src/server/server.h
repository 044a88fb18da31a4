// The HTTP server: binds first (so /health can answer 503 "loading" while the model loads),
// serves on a background thread, and becomes ready when the model side is handed over.
// Authentication (Bearer --api-key, constant-time compare; /health open), CORS (off unless
// --cors-origin), the 16 MiB body limit (413) and OpenAI error bodies for every error
// status are applied here, around the endpoints (one file each).
#pragma once

#include <memory>
#include <string>
#include <thread>

#include "base/status.h"
#include "server/server_context.h"

namespace httplib {
class Server;
}

namespace moe {

class Server {
 public:
  explicit Server(ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds host:port (port 0: any free one) and returns the bound port.
  Result<int> bind();
  void start();  // serves on a background thread
  void stop();   // stops serving, joins
  void set_progress(float p) { ctx_.progress = p; }
  // Hands over the model side and marks the server ready (/health 200).
  Status set_model(std::unique_ptr<ServerModel> model);
  ServerContext& context() { return ctx_; }

 private:
  ServerContext ctx_;
  std::unique_ptr<httplib::Server> http_;
  std::unique_ptr<ServerModel> model_;
  std::thread thread_;
};

// Constant-time comparison (the time does not depend on where the strings differ).
bool constant_time_equal(const std::string& a, const std::string& b);

}  // namespace moe
