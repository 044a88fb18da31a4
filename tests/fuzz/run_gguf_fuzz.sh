#!/usr/bin/env bash
# Runs the GGUF parser fuzzer for SECONDS on a fresh seed corpus; exits non-zero on a crash
# (the crashing input is left in BUILD_DIR/fuzz/gguf_fuzz/artifacts/).
#   tests/fuzz/run_gguf_fuzz.sh BUILD_DIR [SECONDS]
# BUILD_DIR is configured with -DCMAKE_CXX_COMPILER=clang++ -DMOEINFER_FUZZ=ON; the two
# targets are built here if needed.
set -euo pipefail

default_seconds=60
source "$(dirname "${BASH_SOURCE[0]}")/fuzz_lib.sh"
fuzz_setup "$@"

cmake --build "$build_dir" --target gguf_fuzz gguf_fuzz_seeds

seeds=$build_dir/fuzz/gguf_fuzz/seeds  # rewritten every run
rm -rf "$seeds" && mkdir -p "$seeds"
"$build_dir/tests/fuzz/gguf_fuzz_seeds" "$seeds"
# A prefix of a real file: real keys and strings (it ends inside the token array).
head -c 16384 "$root/tests/data/models/deepseek-r1-vocab.gguf" > "$seeds/vocab_prefix.gguf"
# And a few truncations of the writer-made seeds.
for f in "$seeds"/all_types.gguf "$seeds"/aligned.gguf; do
  size=$(stat -c %s "$f")
  for n in 24 $((size / 2)) $((size - 1)); do head -c "$n" "$f" > "$f.cut$n"; done
done

fuzz_run gguf_fuzz -max_len=65536 -dict="$here/gguf.dict"
echo "gguf_fuzz: ${seconds}s clean"
