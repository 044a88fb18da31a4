// Runs the built `moeinfer` binary and captures its output (real process, real files).
#pragma once

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

namespace moe::testing {

inline std::string data_path(const std::string& rel) { return std::string(MOEINFER_TEST_DATA_DIR) + "/" + rel; }
inline std::string model_path(const std::string& name) { return data_path("models/" + name + ".gguf"); }
inline std::string binary() { return std::string(MOEINFER_BINARY_DIR) + "/src/cli/moeinfer"; }

struct ProcessResult {
  int exit_code = -1;
  std::string out;  // stdout only (stderr goes to the test log unless redirected in `args`)
};

inline ProcessResult run_moeinfer(const std::string& args) {
  ProcessResult r;
  const std::string cmd = binary() + " " + args;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  const int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

}  // namespace moe::testing
