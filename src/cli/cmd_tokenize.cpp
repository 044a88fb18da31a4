// `moeinfer tokenize -m MODEL [--no-bos] [--pieces] [--stdin | TEXT]`: token ids as one JSON
// list on one line (like llama-tokenize --ids); special tokens in the text are recognized.
#include <cstdio>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "cli/args.h"
#include "cli/commands.h"
#include "gguf/gguf.h"
#include "tokenizer/tokenizer.h"

namespace moe::cli {

int tokenize_main(int argc, char** argv) {
  Args args("tokenize", "Print the token ids of a text as a JSON list.",
            {{"--model", "-m", "FILE", "", "GGUF model (a vocab-only file is enough)"},
             {"--no-bos", "", "", "", "do not add BOS even if the model asks for it"},
             {"--pieces", "", "", "", "print [[id, \"piece\"], ...] instead of ids"},
             {"--stdin", "", "", "", "read the text from standard input"}});
  if (Status s = args.parse(argc, argv); !s) {
    std::fprintf(stderr, "moeinfer tokenize: %s\n%s", s.message().c_str(), args.usage().c_str());
    return 2;
  }
  if (args.help_requested()) {
    std::printf("%s", args.usage().c_str());
    return 0;
  }
  std::string text;
  if (args.flag("--stdin")) {
    text.assign(std::istreambuf_iterator<char>(std::cin), std::istreambuf_iterator<char>());
  } else if (args.positionals().size() == 1) {
    text = args.positionals()[0];
  } else {
    std::fprintf(stderr, "moeinfer tokenize: give one TEXT argument or --stdin\n");
    return 2;
  }
  auto file = GgufModel::open(args.get("--model"));
  if (!file) {
    std::fprintf(stderr, "moeinfer tokenize: %s\n", file.status().message().c_str());
    return 1;
  }
  auto tokenizer = load_tokenizer(*file);
  if (!tokenizer) {
    std::fprintf(stderr, "moeinfer tokenize: %s\n", tokenizer.status().message().c_str());
    return 1;
  }
  const bool bos = tokenizer->add_bos_token() && !args.flag("--no-bos");
  const std::vector<TokenId> ids = tokenizer->encode(text, bos);
  nlohmann::json out = nlohmann::json::array();
  for (TokenId id : ids) {
    if (args.flag("--pieces")) {
      const std::string_view piece = tokenizer->token_to_piece(id, true);
      out.push_back({id, std::string(piece)});
    } else {
      out.push_back(id);
    }
  }
  // Pieces may be partial UTF-8: replace rather than fail.
  std::printf("%s\n", out.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
  return 0;
}

}  // namespace moe::cli
