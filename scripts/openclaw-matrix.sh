#!/usr/bin/env bash
# The OpenClaw end-to-end test (test/openclaw/run.sh) against the pinned openclaw (the one clawmesh is
# built against, the oldest it supports) and against the newest openclaw on the npm registry. When the
# newest is the pinned one it runs once and says so (the e2e takes 3-5 minutes; CI's budget is 15).
#   CLAWMESH_OPENCLAW_NEWEST  skip the registry lookup and test this version as the newest
# Extra arguments and the environment go to run.sh (e.g. CLAWMESH_OPENCLAW_REQUIRED=1).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=/dev/null
. "$ROOT/scripts/ensure-node.sh"
pinned="$("$ROOT/scripts/openclaw-install.sh" --pinned)"
newest="${CLAWMESH_OPENCLAW_NEWEST:-$(npm view openclaw version 2>/dev/null || true)}"
if [ -z "$newest" ]; then
  echo "openclaw-matrix: could not ask the npm registry for the newest openclaw (npm view openclaw version)" >&2
  [ "${CI:-}" = true ] && exit 1
  newest="$pinned"
fi
echo "== test:openclaw against openclaw $pinned (pinned: the oldest supported)"
CLAWMESH_OPENCLAW_VERSION="$pinned" bash "$ROOT/test/openclaw/run.sh" "$@"
if [ "$newest" = "$pinned" ]; then
  echo "== the newest openclaw on the registry is $newest, the pinned version: tested once"
else
  echo "== test:openclaw against openclaw $newest (the newest on the registry)"
  CLAWMESH_OPENCLAW_VERSION="$newest" bash "$ROOT/test/openclaw/run.sh" "$@"
fi
