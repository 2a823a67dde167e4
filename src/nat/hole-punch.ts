/**
 * DCUtR (`@libp2p/dcutr`), offering the addresses a hole punch needs.
 *
 * DCUtR tells the other side which of our addresses to dial at the agreed
 * instant. js-libp2p's service offers only *confirmed* addresses, but a
 * Gateway behind a NAT has none: its NAT's mapping of our listening port
 * (what members observe, see `reachability.ts`) is exactly what cannot be
 * confirmed from outside, and exactly what a simultaneous dial opens. So the
 * service here sees an address manager whose `getAddresses()` also lists the
 * observed addresses, as go-libp2p's hole puncher does. Nothing else changes:
 * who starts, the RTT-timed sync, the retries, closing the relayed connection
 * once the direct one is up.
 */
import { dcutr, type DCUtRServiceComponents, type DCUtRServiceInit } from '@libp2p/dcutr'
import { CODE_P2P } from '@multiformats/multiaddr'
import type { PeerId } from '@libp2p/interface'
import type { AddressManager } from '@libp2p/interface-internal'
import type { Multiaddr } from '@multiformats/multiaddr'

/** `services: { dcutr: holePunch() }` in place of `dcutr()`. */
export function holePunch (init: DCUtRServiceInit = {}): (components: DCUtRServiceComponents & { peerId: PeerId }) => unknown {
  const factory = dcutr(init)
  return (components) => factory({
    peerStore: components.peerStore,
    connectionManager: components.connectionManager,
    registrar: components.registrar,
    transportManager: components.transportManager,
    logger: components.logger,
    addressManager: withObservedAddresses(components.addressManager, components.peerId)
  })
}

/** The address manager, with observed (unconfirmed) addresses added to `getAddresses()`. */
export function withObservedAddresses (addressManager: AddressManager, self: PeerId): AddressManager {
  const view = Object.create(addressManager) as AddressManager
  view.getAddresses = (): Multiaddr[] => {
    const confirmed = addressManager.getAddresses()
    const seen = new Set(confirmed.map(a => a.toString()))
    const observed = addressManager.getObservedAddrs()
      .map(a => a.getComponents().some(c => c.code === CODE_P2P) ? a : a.encapsulate(`/p2p/${self.toString()}`))
      .filter(a => !seen.has(a.toString()))
    return [...confirmed, ...observed]
  }
  return view
}
