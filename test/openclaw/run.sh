#!/usr/bin/env bash
# npm run test:openclaw: the end-to-end test against two real OpenClaw Gateways.
# Installs Node 24 and openclaw@$CLAWMESH_OPENCLAW_VERSION (default: the pinned one, see
# scripts/openclaw-install.sh) once (cached under ${XDG_CACHE_HOME:-~/.cache}/clawmesh),
# packs this checkout (`npm pack`, which builds dist/) for one Gateway to install, then runs
# test/openclaw/gateways.e2e.ts in a private network namespace whose only interface is lo
# (the Gateway contacts a hosted plugin catalog at startup; nothing may leave the machine).
# Needs root for `unshare -n`. Gateway state and logs: $CLAWMESH_E2E_DIR (default: a fresh folder in
# /tmp, removed when the test passes and kept, with its path printed, when it fails).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
if [ "${1:-}" != "--inner" ]; then
  prefix="$("$ROOT/scripts/openclaw-install.sh" | tail -1)"
  if [ "$(id -u)" != 0 ]; then
    echo "test:openclaw: needs root for a private network namespace (unshare -n); skipped" >&2
    exit "${CLAWMESH_OPENCLAW_REQUIRED:+1}${CLAWMESH_OPENCLAW_REQUIRED:-0}"
  fi
  # shellcheck source=/dev/null
  . "$ROOT/scripts/ensure-node.sh"
  : "${CLAWMESH_CACHE:=${XDG_CACHE_HOME:-$HOME/.cache}/clawmesh}"
  pack_dir="$(mktemp -d)"
  trap 'rm -rf "$pack_dir"' EXIT
  # The plugin as users get it: the packed package (prepack builds dist/).
  tarball="$pack_dir/$(cd "$ROOT" && npm pack --silent --pack-destination "$pack_dir" | tail -1)"
  # `openclaw plugins install` runs `npm install` in the unpacked plugin; inside the namespace
  # there is no registry, so warm an npm cache with the same install here (openclaw's arguments and
  # settings, devDependencies removed from package.json as it does, so both resolve one tree) and
  # let it install offline there. Skipped
  # while the dependencies are unchanged (the marker lives in the cache: deleting one deletes both).
  npm_cache="$CLAWMESH_CACHE/npm-plugin-cache"
  marker="$npm_cache/.clawmesh-warm2-$(node -p 'require("crypto").createHash("sha256").update(JSON.stringify(require(process.argv[1]).dependencies)+process.versions.node).digest("hex").slice(0,16)' "$ROOT/package.json")"
  if [ ! -f "$marker" ]; then
    echo "test:openclaw: warming $npm_cache with the plugin's dependencies" >&2
    mkdir -p "$pack_dir/warm" && tar -xzf "$tarball" -C "$pack_dir/warm"
    node -e 'const f=process.argv[1], p=JSON.parse(require("fs").readFileSync(f)); delete p.devDependencies; require("fs").writeFileSync(f, JSON.stringify(p))' "$pack_dir/warm/package/package.json"
    (cd "$pack_dir/warm/package" && npm_config_cache="$npm_cache" npm_config_package_lock=false npm_config_audit=false npm_config_fund=false \
      npm_config_strict_peer_deps=false npm_config_legacy_peer_deps=false npm install --omit=dev --ignore-scripts --workspaces=false --loglevel=error >/dev/null)
    touch "$marker"
  fi
  export CLAWMESH_OPENCLAW_PREFIX="$prefix" CLAWMESH_PLUGIN_TARBALL="$tarball" CLAWMESH_NPM_CACHE="$npm_cache"
  unshare -n bash "$0" --inner
  exit
fi
ip link set lo up
# shellcheck source=/dev/null
. "$ROOT/scripts/ensure-node.sh"
export CLAWMESH_IN_NETNS=1
start=$(date +%s)
cd "$ROOT"
# A folder of its own: two runs on one machine (each in its own namespace) must not share state.
own_dir=""
if [ -z "${CLAWMESH_E2E_DIR:-}" ]; then own_dir="$(mktemp -d /tmp/clawmesh-openclaw-e2e.XXXXXX)"; export CLAWMESH_E2E_DIR="$own_dir"; fi
if ! node --test --test-concurrency=1 test/openclaw/gateways.e2e.ts; then
  echo "test:openclaw: failed; Gateway state and logs are in $CLAWMESH_E2E_DIR" >&2
  exit 1
fi
[ -z "$own_dir" ] || rm -rf "$own_dir"
echo "test:openclaw: passed against openclaw $(node -p 'require(process.argv[1]).version' "$CLAWMESH_OPENCLAW_PREFIX/node_modules/openclaw/package.json") in $(($(date +%s) - start)) s"
