#!/usr/bin/env bash
# The main job on the embedded default: builds the release preset and runs the demo, in which
# a producer process and a consumer process exchange messages through one shared-memory
# queue, with no daemon. Arguments go to lqs-demo: [messages] [instance].
set -euo pipefail
cd "$(dirname "$0")/.."
tools/setup-deps.sh
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)" --target lqs-demo
exec build/release/lqs-demo "$@"
