#!/usr/bin/env bash
# The test suite: install, build, run every ctest test (needs nothing outside the repo).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh
scripts/build.sh
ctest --test-dir build --output-on-failure -j "${JOBS:-2}"
