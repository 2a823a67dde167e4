#!/usr/bin/env bash
# Regenerates the wire codecs from src/pb/*.proto with protons (the libp2p ecosystem's codec).
#
# protons emits TypeScript with namespaces and enums, which Node's type stripping (how this
# repo runs its TypeScript) cannot execute; so each generated file is transpiled once more to
# plain JavaScript plus a declaration file, and both are committed: src/pb/<name>.js + .d.ts.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/ensure-node.sh
for proto in src/pb/*.proto; do
  npx protons "$proto"
  ts="${proto%.proto}.ts"
  npx tsc "$ts" --declaration --target ES2023 --module NodeNext --moduleResolution NodeNext \
    --skipLibCheck --removeComments false --outDir src/pb
  rm "$ts"
done
