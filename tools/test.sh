#!/usr/bin/env bash
# Builds and runs every test: the release build (unit, integration, crash, fuzz-corpus
# replay), then ASan+UBSan (unit, integration, crash, with crash points compiled in) and
# TSan (the threaded tests over one mapping). This is the README's test command; .ci/run
# calls it. Set LQS_TEST_FAST=1 to run only the release suite.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup-deps.sh

jobs=$(nproc)
run_preset() {
  local preset=$1
  echo "=== ${preset}: configure + build"
  cmake --preset "$preset" >/dev/null
  cmake --build --preset "$preset" -j "$jobs"
  echo "=== ${preset}: test"
  ctest --preset "$preset" -j "$jobs"
}

run_preset release
if [ "${LQS_TEST_FAST:-0}" != "1" ]; then
  LQS_CRASH_KILLS=${LQS_CRASH_KILLS_ASAN:-200} run_preset asan
  run_preset tsan
fi
echo "=== all test presets passed"
