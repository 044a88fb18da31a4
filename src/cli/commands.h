// The subcommand table: each cli/cmd_*.cpp defines one entry point.
#pragma once

#include <span>
#include <string_view>

#include "base/status.h"

namespace moe::cli {

struct Command {
  std::string_view name;
  int (*main)(int argc, char** argv);  // argv[0] is the command name
};

int info_main(int argc, char** argv);
int run_main(int argc, char** argv);
int serve_main(int argc, char** argv);
int chat_main(int argc, char** argv);
int tokenize_main(int argc, char** argv);
int template_main(int argc, char** argv);
int bench_main(int argc, char** argv);
int synth_main(int argc, char** argv);
int plan_main(int argc, char** argv);
int perplexity_main(int argc, char** argv);

std::span<const Command> commands();

// Prints "moeinfer COMMAND: message" on stderr and returns the exit status 1.
int fail(std::string_view command, const Status& s);

}  // namespace moe::cli
