#!/usr/bin/env bash
# A private network namespace whose only interface is loopback with multicast
# on, so the mDNS benchmark can multicast without anything leaving the host.
#   bench/netns.sh up NAME      create it (lo up, multicast on, 224.0.0.0/4 via lo)
#   bench/netns.sh down NAME    delete it
#   bench/netns.sh run CMD...   create one, run CMD inside, delete it afterwards
# Needs root (ip netns).
set -euo pipefail
up () {
  ip netns add "$1"
  ip -n "$1" link set lo up
  ip -n "$1" link set lo multicast on
  ip -n "$1" route add 224.0.0.0/4 dev lo
}
case "${1:-}" in
  up) up "$2" ;;
  down) ip netns del "$2" 2>/dev/null || true ;;
  run)
    shift
    ns="cmbench-$$-$RANDOM"
    up "$ns"
    trap 'ip netns del "$ns" 2>/dev/null || true' EXIT
    ip netns exec "$ns" "$@"
    ;;
  *) echo "usage: netns.sh up NAME | down NAME | run CMD [ARG...]" >&2; exit 2 ;;
esac
