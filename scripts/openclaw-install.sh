#!/usr/bin/env bash
# Installs what the OpenClaw end-to-end test needs, once, into a cache folder:
#   - Node 24 (openclaw refuses Node 20: "node:sqlite is unavailable"), through scripts/ensure-node.sh
#   - openclaw@$CLAWMESH_OPENCLAW_VERSION and ws, in one npm prefix
# Skips what is already there. Prints the npm prefix on the last line of stdout.
#   CLAWMESH_CACHE            default ${XDG_CACHE_HOME:-~/.cache}/clawmesh
#   CLAWMESH_OPENCLAW_VERSION default the pinned version below (the one clawmesh is built against)
# `openclaw-install.sh --pinned` prints the pinned version and installs nothing.
set -euo pipefail
# The OpenClaw release clawmesh is built and tested against; package.json's openclaw.compat.pluginApi and
# openclaw.install.minHostVersion name it as the oldest supported. CI also tests the newest on the registry.
PINNED=2026.9.6
if [ "${1:-}" = --pinned ]; then echo "$PINNED"; exit 0; fi
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
# shellcheck source=/dev/null
. "$ROOT/scripts/ensure-node.sh"
: "${CLAWMESH_CACHE:=${XDG_CACHE_HOME:-$HOME/.cache}/clawmesh}"
: "${CLAWMESH_OPENCLAW_VERSION:=$PINNED}"
WS_VERSION=8.21.3   # the ws version openclaw 2026.9.6 pins, so npm keeps one copy
prefix="$CLAWMESH_CACHE/openclaw-$CLAWMESH_OPENCLAW_VERSION"
major="$(node -p 'process.versions.node.split(".")[0]')"
[ "$major" -ge 24 ] || { echo "openclaw-install: openclaw needs Node 24; $(node --version) is first on PATH" >&2; exit 1; }
mkdir -p "$prefix"
exec 9>"$prefix/.install.lock"
command -v flock >/dev/null && flock 9
want="openclaw@$CLAWMESH_OPENCLAW_VERSION ws@$WS_VERSION"
marker="$prefix/.clawmesh-installed"
if [ -f "$marker" ] && [ "$(cat "$marker")" = "$want" ] && [ -x "$prefix/node_modules/.bin/openclaw" ]; then
  echo "openclaw-install: $want already in $prefix" >&2
else
  echo "openclaw-install: installing $want into $prefix (about 650 MB, a minute or two)" >&2
  rm -f "$marker"
  [ -f "$prefix/package.json" ] || echo '{ "name": "clawmesh-openclaw-host", "private": true }' >"$prefix/package.json"
  # --ignore-scripts: openclaw's and its dependencies' install scripts only print warnings,
  # prune files or check prebuilt binaries that already ship in the packages.
  (cd "$prefix" && npm install --no-audit --no-fund --ignore-scripts --save-exact "openclaw@$CLAWMESH_OPENCLAW_VERSION" "ws@$WS_VERSION" >&2)
  [ -x "$prefix/node_modules/.bin/openclaw" ] || { echo "openclaw-install: npm finished but openclaw is missing" >&2; exit 1; }
  echo "$want" >"$marker"
fi
echo "$prefix"
