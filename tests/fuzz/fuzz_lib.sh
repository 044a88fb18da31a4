# Shared by the run_*_fuzz.sh scripts (sourced, not run).
#   fuzz_setup "$@"      -> build_dir, seconds (default $default_seconds), here, root
#   fuzz_run TARGET ARGS -> runs build_dir/tests/fuzz/TARGET for $seconds on its corpus
#                           (grows across runs) and seeds (BUILD_DIR/fuzz/TARGET/seeds);
#                           exits non-zero on a finding, naming the reproducer(s).

fuzz_setup() {
  if [[ $# -lt 1 ]]; then
    echo "usage: $0 BUILD_DIR [SECONDS]" >&2
    exit 2
  fi
  build_dir=$(cd "$1" && pwd)
  seconds=${2:-$default_seconds}
  here=$(cd "$(dirname "${BASH_SOURCE[1]}")" && pwd)
  root=$(cd "$here/../.." && pwd)
}

fuzz_run() {
  local target=$1
  shift
  local work=$build_dir/fuzz/$target
  mkdir -p "$work/corpus" "$work/seeds" "$work/artifacts"
  echo "$target: $(ls "$work/seeds" | wc -l) seeds, $(ls "$work/corpus" | wc -l) corpus inputs, ${seconds}s"
  local status=0
  "$build_dir/tests/fuzz/$target" "$work/corpus" "$work/seeds" -max_total_time="$seconds" -timeout=10 \
    -rss_limit_mb=2048 -artifact_prefix="$work/artifacts/" -print_final_stats=1 "$@" || status=$?
  if [[ $status -ne 0 ]]; then
    echo "$target FAILED (exit $status); reproducer(s):" >&2
    ls -1 "$work/artifacts" >&2 || true
    exit "$status"
  fi
}
