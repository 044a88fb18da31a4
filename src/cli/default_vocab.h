// The vocabulary `synth` and `plan --measure` use when none is given: the fixture r1-mini.
#pragma once

#include <string>

#include "base/status.h"

namespace moe::cli {

// tests/data/models/r1-mini-q8_0.gguf relative to the working directory, else to the
// repository the binary was built in (build-*/src/cli/moeinfer).
Result<std::string> default_vocab_path();

}  // namespace moe::cli
