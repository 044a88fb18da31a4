#!/usr/bin/env bash
# Installs the Debian 12 packages moeinfer builds and tests with (idempotent: only what is
# missing is installed). Uses sudo when not run as root.
set -euo pipefail
packages=(
  build-essential cmake ninja-build pkg-config git ca-certificates
  libgtest-dev libgmock-dev libbenchmark-dev   # tests and micro-benchmarks
  nlohmann-json3-dev                           # JSON: CLI output, server bodies, test oracles
  libcpp-httplib-dev                           # HTTP server (header-only, Debian-maintained)
  clang                                        # libFuzzer targets
  python3                                      # tools/ scripts
  prometheus                                   # promtool checks the /metrics format
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
# Node.js + npm for the OpenAI Node SDK server test: Debian's packages unless a Node.js
# (e.g. with its own bundled npm) is already installed.
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
