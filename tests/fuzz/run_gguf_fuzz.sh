#!/usr/bin/env bash
# Runs the GGUF parser fuzzer for SECONDS on a fresh seed corpus; exits non-zero on a crash
# (the crashing input is left in BUILD_DIR/fuzz/gguf/artifacts/).
#   tests/fuzz/run_gguf_fuzz.sh BUILD_DIR [SECONDS]
# BUILD_DIR is configured with -DCMAKE_CXX_COMPILER=clang++ -DMOEINFER_FUZZ=ON; the two
# targets are built here if needed.
set -euo pipefail

if [[ $# -lt 1 ]]; then
  echo "usage: $0 BUILD_DIR [SECONDS]" >&2
  exit 2
fi
build_dir=$(cd "$1" && pwd)
seconds=${2:-60}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)

cmake --build "$build_dir" --target gguf_fuzz gguf_fuzz_seeds

work=$build_dir/fuzz/gguf
corpus=$work/corpus      # grows across runs: libFuzzer adds inputs that found new coverage
seeds=$work/seeds        # rewritten every run
artifacts=$work/artifacts
mkdir -p "$corpus" "$artifacts"
rm -rf "$seeds" && mkdir -p "$seeds"

"$build_dir/tests/fuzz/gguf_fuzz_seeds" "$seeds"
# A prefix of a real file: real keys and strings (it ends inside the token array).
head -c 16384 "$root/tests/data/models/deepseek-r1-vocab.gguf" > "$seeds/vocab_prefix.gguf"
# And a few truncations of the writer-made seeds.
for f in "$seeds"/all_types.gguf "$seeds"/aligned.gguf; do
  size=$(stat -c %s "$f")
  for n in 24 $((size / 2)) $((size - 1)); do head -c "$n" "$f" > "$f.cut$n"; done
done

echo "gguf_fuzz: $(ls "$seeds" | wc -l) seeds, $(ls "$corpus" | wc -l) corpus inputs, ${seconds}s"
status=0
"$build_dir/tests/fuzz/gguf_fuzz" "$corpus" "$seeds" \
  -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
  -dict="$here/gguf.dict" -artifact_prefix="$artifacts/" -print_final_stats=1 || status=$?
if [[ $status -ne 0 ]]; then
  echo "gguf_fuzz FAILED (exit $status); reproducer(s):" >&2
  ls -1 "$artifacts" >&2 || true
  exit "$status"
fi
echo "gguf_fuzz: ${seconds}s clean"
