/**
 * DCUtR (`@libp2p/dcutr`) made to work over TCP behind NATs.
 *
 * Two things stand between js-libp2p's DCUtR and a punched TCP connection,
 * and both are bridged here without touching the protocol (who starts, the
 * RTT-timed sync, the retries, closing the relayed connection afterwards):
 *
 * 1. **Which addresses to offer.** The service offers only *confirmed*
 *    addresses, but a Gateway behind a NAT has none: its NAT's mapping of our
 *    listening port (what members observe, see `reachability.ts`) is exactly
 *    what cannot be confirmed from outside, and exactly what a simultaneous
 *    dial opens. So the service sees an address manager whose
 *    `getAddresses()` also lists the observed addresses, as go-libp2p's hole
 *    puncher does (not relayed ones: identify records those too).
 * 2. **Who upgrades as the responder.** Both sides dial at once and TCP makes
 *    one connection of the two SYNs, so one side must play the listener.
 *    DCUtR asks for that with `openConnection(…, { initiator: false })`, but
 *    libp2p's dial queue drops the option on its way to the transport, and
 *    both sides then speak first (the Noise handshake fails at once). Those
 *    dials go to the transport manager directly here, which hands the option
 *    to the transport and on to the upgrader.
 */
import { dcutr, type DCUtRServiceComponents, type DCUtRServiceInit } from '@libp2p/dcutr'
import { CODE_P2P, type Multiaddr } from '@multiformats/multiaddr'
import { Circuit } from '@multiformats/multiaddr-matcher'
import { anySignal } from 'any-signal'
import type { Connection, PeerId } from '@libp2p/interface'
import type { AddressManager, ConnectionManager, TransportManager } from '@libp2p/interface-internal'

/** Bound on a responder's dials (DCUtR's own timeout applies as well). */
const DEFAULT_PUNCH_DIAL_TIMEOUT_MS = 5_000

/** `services: { dcutr: holePunch() }` in place of `dcutr()`. */
export function holePunch (init: DCUtRServiceInit = {}): (components: DCUtRServiceComponents & { peerId: PeerId }) => unknown {
  const factory = dcutr(init)
  return (components) => factory({
    peerStore: components.peerStore,
    registrar: components.registrar,
    transportManager: components.transportManager,
    logger: components.logger,
    connectionManager: responderDialsDirect(components.connectionManager, components.transportManager),
    addressManager: withObservedAddresses(components.addressManager, components.peerId)
  })
}

/** The connection manager, with dials made with `initiator: false` going straight to the transport manager. */
function responderDialsDirect (connectionManager: ConnectionManager, transportManager: TransportManager): ConnectionManager {
  const view = Object.create(connectionManager) as ConnectionManager
  view.openConnection = async (peer, options = {}) => {
    if (options.initiator !== false || !Array.isArray(peer) || peer.length === 0) return await connectionManager.openConnection(peer, options)
    // A signal of our own, cleared once dialled: Node destroys a socket whose dial signal aborts later on,
    // and DCUtR's is a plain timeout (the dial queue, which this bypasses, detaches its signals the same way).
    const signal = anySignal([options.signal, AbortSignal.timeout(DEFAULT_PUNCH_DIAL_TIMEOUT_MS)])
    // Every address at once, as the dial queue would; the first connection wins, the others are dropped.
    const dials = peer.map(async ma => await transportManager.dial(ma, { signal, initiator: false } as Parameters<TransportManager['dial']>[1]))
    let connection: Connection
    try {
      connection = await Promise.any(dials)
    } finally {
      signal.clear()
    }
    void Promise.allSettled(dials).then(results => {
      for (const r of results) if (r.status === 'fulfilled' && r.value !== connection) r.value.abort(new Error('another hole-punched connection won'))
    })
    return connection
  }
  return view
}

/** The address manager, with observed (unconfirmed) addresses added to `getAddresses()`. */
export function withObservedAddresses (addressManager: AddressManager, self: PeerId): AddressManager {
  const view = Object.create(addressManager) as AddressManager
  view.getAddresses = (): Multiaddr[] => {
    const confirmed = addressManager.getAddresses()
    const seen = new Set(confirmed.map(a => a.toString()))
    const observed = addressManager.getObservedAddrs()
      .filter(a => !Circuit.matches(a))
      .map(a => a.getComponents().some(c => c.code === CODE_P2P) ? a : a.encapsulate(`/p2p/${self.toString()}`))
      .filter(a => !seen.has(a.toString()))
    return [...confirmed, ...observed]
  }
  return view
}
