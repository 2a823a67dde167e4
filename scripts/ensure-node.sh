#!/usr/bin/env bash
# Source this file: it puts a Node >= 22 first on PATH.
# libp2p 3 needs Node 22+ (Promise.withResolvers); when the system node is older we
# fetch Node 24 from the npm registry into a cache folder (scripts/fetch-node.sh).
_clawmesh_node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0; }
if [ "$(_clawmesh_node_major)" -lt 22 ]; then
  _bin="$(bash "$(dirname "${BASH_SOURCE[0]}")/fetch-node.sh" 24)" || { return 1 2>/dev/null || exit 1; }
  export PATH="$_bin:$PATH"
  unset _bin
fi
unset -f _clawmesh_node_major
