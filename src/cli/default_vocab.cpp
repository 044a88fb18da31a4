#include "cli/default_vocab.h"

#include <filesystem>
#include <system_error>
#include <vector>

namespace moe::cli {

Result<std::string> default_vocab_path() {
  namespace fs = std::filesystem;
  constexpr const char* kDefaultVocab = "tests/data/models/r1-mini-q8_0.gguf";
  std::vector<fs::path> candidates = {fs::path(kDefaultVocab)};
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    fs::path dir = exe.parent_path();
    for (int up = 0; up < 4 && !dir.empty(); ++up, dir = dir.parent_path())
      candidates.push_back(dir / kDefaultVocab);
  }
  for (const fs::path& p : candidates) {
    if (fs::is_regular_file(p, ec)) return p.string();
  }
  return Status::error(std::string("no vocabulary given and ") + kDefaultVocab +
                       " not found (run from the repository root or pass --vocab FILE)");
}

}  // namespace moe::cli
