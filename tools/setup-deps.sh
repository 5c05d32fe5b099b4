#!/usr/bin/env bash
# Installs the Debian packages lqs needs, only those missing, then the npm packages of the
# compat tests (tools/setup-compat.sh). Idempotent; needs root (or sudo) when something is
# missing. Called by the README's two commands and by .ci/run.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  libboost-dev          # Boost.Interprocess (benchmark peer), later Asio/Beast
  libssl-dev            # MD5 digests (libcrypto)
  nlohmann-json3-dev    # lqsd: queue metadata, config files
  libcli11-dev          # lqsd: command-line options
  libyaml-cpp-dev       # lqsd: YAML queue files
  liburing-dev          # lqsd: the write-ahead log's io_uring backend (pkg-config)
  libgtest-dev          # tests
  libbenchmark-dev      # micro benchmarks
  clang clang-format clang-tidy   # fuzz preset (libFuzzer), formatting, static analysis
  python3-boto3         # compat tests: boto3 1.26 / botocore 1.29, the Query protocol
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup-deps: installing ${missing[*]}" >&2
  SUDO=""
  if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
  fi
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

"$(dirname "$0")/setup-compat.sh"
