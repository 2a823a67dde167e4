/**
 * AutoNAT v2 (`@libp2p/autonat-v2`): other members dial our addresses back to
 * tell us whether we are reachable, and we do the same for them.
 *
 * v2 rather than `@libp2p/autonat` (v1): a v1 server "verifies" an address by
 * `openConnection`, which returns the connection it already has to us when
 * its address matches, so with dials from the listening port it would confirm
 * a NAT'd address. v2 forces a new connection and checks a nonce on it.
 *
 * Its dial-backs leave from a fresh port ({@link FRESH_PORT}): from our
 * listening port they could ride on (or be) a hole punch to the same peer and
 * call a NAT'd address reachable. They go to the transport manager directly,
 * which hands that option to the transport (the dial queue would drop it).
 */
import { isMultiaddr } from '@multiformats/multiaddr'
import { autoNATv2, type AutoNATv2Components, type AutoNATv2ServiceInit } from '@libp2p/autonat-v2'
import { FRESH_PORT } from './reuse-port-tcp.ts'
import { anySignal } from 'any-signal'
import type { ConnectionManager, TransportManager } from '@libp2p/interface-internal'

/** Bound on one dial-back (the server's own timeout applies as well). */
const DIAL_BACK_TIMEOUT_MS = 10_000

/** `services: { autoNAT: autoNat() }` in place of `autoNATv2()`. */
export function autoNat (init: AutoNATv2ServiceInit = {}): (components: AutoNATv2Components & { transportManager: TransportManager }) => unknown {
  const factory = autoNATv2(init)
  return (components) => factory({
    registrar: components.registrar,
    addressManager: components.addressManager,
    logger: components.logger,
    randomWalk: components.randomWalk,
    peerStore: components.peerStore,
    ...(components.metrics !== undefined ? { metrics: components.metrics } : {}),
    connectionManager: freshDialBacks(components.connectionManager, components.transportManager)
  })
}

/** The connection manager, with forced single-address dials (the dial-backs) made from a fresh port. */
function freshDialBacks (connectionManager: ConnectionManager, transportManager: TransportManager): ConnectionManager {
  const view = Object.create(connectionManager) as ConnectionManager
  view.openConnection = async (peer, options = {}) => {
    if (options.force !== true || Array.isArray(peer) || !isMultiaddr(peer)) return await connectionManager.openConnection(peer, options)
    // Our own signal, cleared once dialled: Node destroys a socket whose dial signal aborts later on.
    const signal = anySignal([options.signal, AbortSignal.timeout(DIAL_BACK_TIMEOUT_MS)])
    try {
      return await transportManager.dial(peer, { ...options, signal, [FRESH_PORT]: true } as Parameters<TransportManager['dial']>[1])
    } finally {
      signal.clear()
    }
  }
  return view
}
