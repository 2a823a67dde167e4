#!/usr/bin/env bash
# npm run test:openclaw: the end-to-end test against two real OpenClaw Gateways.
# Installs Node 24 and openclaw@2026.9.6 once (cached under ${XDG_CACHE_HOME:-~/.cache}/clawmesh),
# then runs test/openclaw/gateways.e2e.ts in a private network namespace whose only interface is lo
# (the Gateway contacts a hosted plugin catalog at startup; nothing may leave the machine).
# Needs root for `unshare -n`. Gateway state and logs: $CLAWMESH_E2E_DIR (default /tmp/clawmesh-openclaw-e2e).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
if [ "${1:-}" != "--inner" ]; then
  prefix="$("$ROOT/scripts/openclaw-install.sh" | tail -1)"
  if [ "$(id -u)" != 0 ]; then
    echo "test:openclaw: needs root for a private network namespace (unshare -n); skipped" >&2
    exit "${CLAWMESH_OPENCLAW_REQUIRED:+1}${CLAWMESH_OPENCLAW_REQUIRED:-0}"
  fi
  export CLAWMESH_OPENCLAW_PREFIX="$prefix"
  exec unshare -n bash "$0" --inner
fi
ip link set lo up
# shellcheck source=/dev/null
. "$ROOT/scripts/ensure-node.sh"
export CLAWMESH_IN_NETNS=1
start=$(date +%s)
cd "$ROOT"
node --test --test-concurrency=1 test/openclaw/gateways.e2e.ts
echo "test:openclaw: passed in $(($(date +%s) - start)) s"
