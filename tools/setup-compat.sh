#!/usr/bin/env bash
# Installs the npm clients of the compatibility tests (tests/compat/node: @aws-sdk/client-sqs,
# sqs-producer, sqs-consumer) with `npm ci`, from the committed package-lock.json, when
# node_modules is missing or was installed from another lock file. Called by setup-deps.sh.
# A missing node/npm or a failed install is reported but not fatal here: the compat_node test
# then fails and names what is missing.
set -euo pipefail
cd "$(dirname "$0")/../tests/compat/node"

if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  echo "setup-compat: node or npm not found; compat_node will fail until Node.js >= 20 and" \
       "npm are installed" >&2
  exit 0
fi

stamp=node_modules/.lqs-package-lock.sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi

echo "setup-compat: npm ci in tests/compat/node" >&2
if npm ci --no-audit --no-fund --loglevel=error; then
  echo "$want" >"$stamp"
else
  echo "setup-compat: npm ci failed; compat_node will fail until it succeeds" >&2
fi
