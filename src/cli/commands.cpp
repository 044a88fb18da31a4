#include "cli/commands.h"

#include <array>

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

}  // namespace moe::cli
