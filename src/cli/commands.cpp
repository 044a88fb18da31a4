#include "cli/commands.h"

#include <array>

namespace moe::cli {

std::span<const Command> commands() {
  static constexpr std::array<Command, 2> kCommands = {{
      {"info", info_main},
      {"run", run_main},
  }};
  return kCommands;
}

}  // namespace moe::cli
