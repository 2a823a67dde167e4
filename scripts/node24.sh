#!/usr/bin/env bash
# Runs node with Node >= 22 (fetching Node 24 from the npm registry when the system
# node is older), so `npm test` and `npm run example` work on a fresh machine.
set -euo pipefail
# shellcheck source=scripts/ensure-node.sh
. "$(dirname "$0")/ensure-node.sh"
exec node "$@"
