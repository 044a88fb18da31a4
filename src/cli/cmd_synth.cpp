// `moeinfer synth --preset NAME --type TYPE -o FILE.gguf [--layers D+M] [--seed N] [--vocab FILE]`
// (TYPE: Q8_0, Q4_K_M, IQ4_XS, IQ3_XXS, ...: --type in `moeinfer synth --help`):
// writes a valid deepseek2 GGUF with the preset's real shapes and random weights, streaming
// tensor by tensor (engine/synth.h). The tokenizer (every `tokenizer.*` key) is copied from
// --vocab, by default the r1-mini fixture (4,113 tokens + the R1 chat template).
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include "base/cpu_features.h"
#include "base/timer.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "cli/default_vocab.h"
#include "engine/synth.h"
#include "gguf/gguf.h"
#include "model/model_info.h"
#include "model/weights.h"

namespace moe::cli {
namespace {

std::string presets_help() {
  std::string s = "preset: ";
  const std::vector<std::string> names = synth_preset_names();
  for (size_t i = 0; i < names.size(); ++i) s += (i ? ", " : "") + names[i];
  return s;
}

}  // namespace

int synth_main(int argc, char** argv) {
  const std::string preset_help = presets_help();
  Args args("synth", "Write a DeepSeek GGUF with real shapes and random weights (for benchmarks).",
            {{"--preset", "", "NAME", "r1-bench", preset_help},
             {"--type", "", "TYPE", "Q8_0",
              "F32, BF16, Q8_0, Q6_K, Q4_0, Q5_0, Q5_K_M, Q4_K_M or Q3_K_M (llama.cpp's mixes), "
              "Q2_K, IQ4_XS, IQ3_XXS, IQ3_S, IQ2_XS or IQ2_S (every matrix that type, output "
              "Q6_K), or IQ2_XXS, IQ1_M, IQ1_S (the dynamic 1-2 bit mixes: routed experts in those "
              "types)"},
             {"--output", "-o", "FILE", "", "output .gguf file"},
             {"--layers", "", "D+M", "", "dense + MoE layers (default: the preset's)"},
             {"--seed", "-s", "N", "42", "weights seed (same seed, same bytes)"},
             {"--vocab", "", "FILE", "",
              "GGUF whose tokenizer.* keys are copied (default: the r1-mini fixture)"},
             {"--threads", "-t", "N", "0", "generator threads (0: physical cores)"}});
  if (Status s = args.parse(argc, argv); !s) {
    std::fprintf(stderr, "moeinfer synth: %s\n%s", s.message().c_str(), args.usage().c_str());
    return 2;
  }
  if (args.help_requested()) {
    std::printf("%s", args.usage().c_str());
    return 0;
  }
  const std::string out_path = args.get("--output");
  if (out_path.empty()) return fail("synth", Status::error("no output file given (-o FILE.gguf)"));
  SynthOptions options;
  const std::string preset = args.get("--preset");
  auto preset_args = synth_preset(preset);
  if (!preset_args) return fail("synth", preset_args.status());
  options.args = *preset_args;
  if (args.given("--layers")) {
    if (Status s = set_synth_layers(args.get("--layers"), &options.args); !s)
      return fail("synth", s);
  }
  auto mix = parse_synth_mix(args.get("--type"));
  if (!mix) return fail("synth", mix.status());
  options.mix = *mix;
  auto seed = args.get_int("--seed", 0, INT64_MAX);
  if (!seed) return fail("synth", seed.status());
  options.seed = static_cast<uint64_t>(*seed);
  auto threads = args.get_int("--threads", 0, 1024);
  if (!threads) return fail("synth", threads.status());

  std::string vocab_path = args.get("--vocab");
  if (vocab_path.empty()) {
    auto found = default_vocab_path();
    if (!found) return fail("synth", found.status());
    vocab_path = *found;
  }
  auto vocab = GgufModel::open(vocab_path);
  if (!vocab) return fail("synth", vocab.status());
  options.name = "moeinfer synth " + preset + " " + std::string(synth_mix_name(options.mix)) + " (random weights, seed " +
                 std::to_string(options.seed) + ")";
  std::fprintf(stderr, "moeinfer synth: %s (%s), %s, %lld layers (%lld dense), vocabulary from %s\n",
               preset.c_str(), synth_preset_description(preset).c_str(),
               std::string(synth_mix_name(options.mix)).c_str(), static_cast<long long>(options.args.n_layers),
               static_cast<long long>(options.args.n_dense_layers), vocab_path.c_str());
  if (preset == "v2-lite" && !args.given("--vocab")) {
    std::fprintf(stderr, "moeinfer synth: note: v2-lite uses the fixture's 4,113-token vocabulary, not V2-Lite's "
                         "102,400 (token_embd and output are smaller than the real model's; pass --vocab to change)\n");
  }

  ThreadPool pool(*threads > 0 ? static_cast<int>(*threads) : physical_core_count());
  Timer timer;
  auto written = write_synth_gguf(options, vocab->metadata(), pool, out_path);
  if (!written) return fail("synth", written.status());
  const double seconds = timer.seconds();

  // Reopen what was written: the engine's own checks, and the bytes a token reads.
  auto file = GgufModel::open(out_path);
  if (!file) return fail("synth", file.status().with_context("reopening " + out_path));
  auto model_args = read_model_args(file->metadata());
  if (!model_args) return fail("synth", model_args.status().with_context(out_path));
  auto weights = bind_weights(*file, *model_args);
  if (!weights) return fail("synth", weights.status().with_context(out_path));
  const ModelFootprint f = model_footprint(*file, *model_args, weights->ignored_tensors);
  std::printf("wrote %s: %.3f GB (%zu tensors) in %.1f s; %.3f M params, bytes_per_token %.4f GB\n",
              out_path.c_str(), static_cast<double>(*written) / 1e9, file->tensors().size(), seconds,
              static_cast<double>(f.params_total) / 1e6, static_cast<double>(f.bytes_per_token) / 1e9);
  return 0;
}

}  // namespace moe::cli
