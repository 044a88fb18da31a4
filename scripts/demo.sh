#!/usr/bin/env bash
# The main job on the bundled model: install, build, then generate with the small
# DeepSeek-R1-architecture fixture that ships in tests/data (random weights, real shapes).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh
scripts/build.sh
model=tests/data/models/r1-mini-q4_k_m.gguf
build/src/cli/moeinfer info -m "$model"
build/src/cli/moeinfer run -m "$model" --prompt-ids 0,671,2342,1911,294,447,84,730,344 -n 24 --greedy
