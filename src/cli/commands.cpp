#include "cli/commands.h"

#include <array>
#include <cstdio>

namespace moe::cli {

std::span<const Command> commands() {
  static constexpr std::array<Command, 10> kCommands = {{
      {"info", info_main},
      {"run", run_main},
      {"serve", serve_main},
      {"chat", chat_main},
      {"tokenize", tokenize_main},
      {"template", template_main},
      {"bench", bench_main},
      {"synth", synth_main},
      {"plan", plan_main},
      {"perplexity", perplexity_main},
  }};
  return kCommands;
}

int fail(std::string_view command, const Status& s) {
  std::fprintf(stderr, "moeinfer %.*s: %s\n", static_cast<int>(command.size()), command.data(),
               s.message().c_str());
  return 1;
}

}  // namespace moe::cli
