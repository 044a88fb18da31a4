#!/usr/bin/env bash
# The main job on the bundled model: install, build, then generate with the small
# DeepSeek-R1-architecture fixture that ships in tests/data (random weights, real shapes).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh
scripts/build.sh
model=tests/data/models/r1-mini-q4_k_m.gguf
build/src/cli/moeinfer info -m "$model"
build/src/cli/moeinfer run -m "$model" --chat -p "Why is the sky blue?" -n 48
echo
echo "Next: build/src/cli/moeinfer chat -m $model   (interactive)"
echo "      build/src/cli/moeinfer serve -m $model   (OpenAI-compatible server on 127.0.0.1:8080)"
