#!/usr/bin/env bash
# The main job on the embedded default: builds the release preset and starts lqsd in the
# foreground with the sample queue file — data in ./lqs-data, segments under
# /dev/shm/lqs/default, the SQS API and /metrics on http://127.0.0.1:9324. Ctrl-C stops it.
# Extra arguments go to lqsd (e.g. --listen 127.0.0.1:0). `tools/run.sh demo [messages]`
# runs the shared-memory demo instead (a producer and a consumer process, no daemon).
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup-deps.sh
cmake --preset release >/dev/null
if [ "${1:-}" = "demo" ]; then
  shift
  cmake --build --preset release -j "$(nproc)" --target lqs-demo
  exec build/release/lqs-demo "$@"
fi
cmake --build --preset release -j "$(nproc)" --target lqsd
exec build/release/lqsd --data-dir "${LQS_DATA_DIR:-lqs-data}" \
  --config "${LQS_CONFIG:-tools/lqsd/queues.sample.yaml}" "$@"
