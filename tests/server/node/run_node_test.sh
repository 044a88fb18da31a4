#!/usr/bin/env bash
# Runs the OpenAI Node SDK test against the real binary. Exit 77 (ctest: skipped) when
# node/npm are missing; installs the pinned SDK (package-lock.json) when node_modules is.
# Usage: run_node_test.sh MOEINFER_BIN MODEL
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
if ! command -v node > /dev/null || ! command -v npm > /dev/null; then
  echo "SKIPPED: node/npm not installed (apt-get install nodejs npm)"
  exit 77
fi
major="$(node -p 'process.versions.node.split(".")[0]')"
if [ "$major" -lt 18 ]; then
  echo "SKIPPED: node $major is older than 18 (openai@4 needs 18+)"
  exit 77
fi
bin="$(realpath "$1")"
model="$(realpath "$2")"
cd "$here"
if [ ! -d node_modules/openai ]; then
  npm ci --no-audit --no-fund
fi
MOEINFER_BIN="$bin" MOEINFER_MODEL="$model" node --test openai_sdk.test.js
