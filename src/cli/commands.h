// The subcommand table: each cli/cmd_*.cpp defines one entry point.
#pragma once

#include <span>
#include <string_view>

namespace moe::cli {

struct Command {
  std::string_view name;
  int (*main)(int argc, char** argv);  // argv[0] is the command name
};

int info_main(int argc, char** argv);
int run_main(int argc, char** argv);

std::span<const Command> commands();

}  // namespace moe::cli
