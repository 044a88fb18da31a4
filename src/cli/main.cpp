// moeinfer: one executable, one subcommand per file (cli/cmd_*.cpp).
#include <cstdio>
#include <cstring>
#include <string>
#include <string_view>

#include "cli/commands.h"

namespace {

void print_usage() {
  std::fprintf(stderr,
               "usage: moeinfer <command> [options]\n"
               "commands:\n"
               "  info   describe a GGUF model (-m MODEL [--json])\n"
               "  run    generate from a prompt (-m MODEL --prompt-ids 0,1,2 -n 16 ...)\n"
               "run `moeinfer <command> --help` for a command's options\n");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0) {
    print_usage();
    return argc < 2 ? 2 : 0;
  }
  const std::string_view command = argv[1];
  for (const moe::cli::Command& c : moe::cli::commands()) {
    if (command == c.name) return c.main(argc - 1, argv + 1);
  }
  std::fprintf(stderr, "moeinfer: unknown command '%s'\n", argv[1]);
  print_usage();
  return 2;
}
