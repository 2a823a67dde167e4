/**
 * The dialer: libp2p does not dial what discovery finds, so this service does,
 * and it chooses whom to keep registry links with (link-choice.ts).
 *
 * - **Discovered peers** (every `peer` event of the named discovery services,
 *   e.g. mDNS and local discovery, which re-announce peers periodically) are
 *   candidates; the dialer keeps `degree` of them linked (all of them in a mesh
 *   of at most `degree + 1`), and re-chooses as peers come, go or turn out to be
 *   down. A chosen peer is dialled: the side with the lower peer ID at once, the
 *   other only if no connection has appeared after `yieldMs`. So a pair
 *   normally gets exactly one connection, and still connects if only one side
 *   chose the other. Peers not chosen are dialled on demand by delivery.
 *   A failed peer is not redialed before its backoff expires (1 s doubling to
 *   `maxBackoffMs`), so a stranger with another secret is not hammered.
 * - **Bootstrap peers** (`peers`: multiaddrs, normally with `/p2p/<id>`) are
 *   dialed at start, tagged `keep-alive` (libp2p keeps them and reconnects
 *   at once when they drop) and watched forever: whenever one is disconnected
 *   it is redialed with exponential backoff and jitter, capped at `maxBackoffMs`.
 *
 * Every dial is bounded by `dialTimeoutMs`.
 */

import { KEEP_ALIVE, serviceCapabilities } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { DEFAULT_DEGREE, DEFAULT_DIAL_TIMEOUT_MS, DEFAULT_MAX_BACKOFF_MS, DEFAULT_MIN_BACKOFF_MS, DEFAULT_YIELD_MS } from '../constants.ts'
import { backoffDelay } from '../util/backoff.ts'
import { LinkChoice } from './link-choice.ts'
import type { MeshServiceInit } from '../types.ts'
import type { ComponentLogger, Connection, Logger, PeerDiscovery, PeerId, PeerInfo, PeerStore, Startable, TypedEventTarget, Libp2pEvents, AbortOptions } from '@libp2p/interface'

/** How often bootstrap and chosen peers are checked. */
const MAINTAIN_INTERVAL_MS = 1_000
/** The tag that marks bootstrap peers in the peer store. */
export const BOOTSTRAP_TAG = `${KEEP_ALIVE}-clawmesh-bootstrap`

export interface MeshDialerInit extends Pick<MeshServiceInit, 'dialTimeoutMs'> {
  /** Bootstrap multiaddrs to dial and keep connected. */
  peers?: string[]
  /** Names of the discovery services (in `services`) whose `peer` events to dial. @default ['mdns', 'local'] */
  discovery?: string[]
  /** @default {@link DEFAULT_YIELD_MS} */
  yieldMs?: number
  /** @default {@link DEFAULT_MIN_BACKOFF_MS} */
  minBackoffMs?: number
  /** @default {@link DEFAULT_MAX_BACKOFF_MS} */
  maxBackoffMs?: number
  /** Peers never to dial (e.g. not on the allowlist). */
  shouldDial?: (peerId: PeerId) => boolean
  /** Registry links each Gateway chooses (see src/gossip/topology.ts). @default {@link DEFAULT_DEGREE} */
  degree?: number
}

export interface MeshDialerComponents {
  peerId: PeerId
  peerStore: PeerStore
  connectionManager: {
    openConnection: (peer: PeerId | Multiaddr | Multiaddr[], options?: AbortOptions) => Promise<Connection>
    getConnections: (peerId?: PeerId) => Connection[]
  }
  events: TypedEventTarget<Libp2pEvents>
  logger: ComponentLogger
}

interface Backoff {
  failures: number
  notBefore: number
}

interface BootstrapTarget {
  address: Multiaddr
  /** Known from `/p2p/<id>` or learnt from the first connection. */
  peerId?: PeerId
  backoff: Backoff
}

/** `services: { dialer: meshDialer({ peers }) }` in `createLibp2p`. */
export function meshDialer (init: MeshDialerInit = {}): (components: MeshDialerComponents) => MeshDialer {
  return (components) => new MeshDialer(components, init)
}

export class MeshDialer implements Startable {
  readonly [Symbol.toStringTag] = 'clawmesh:dialer'
  readonly [serviceCapabilities]: string[] = []

  private readonly components: MeshDialerComponents & Record<string, unknown>
  private readonly init: MeshDialerInit
  private readonly log: Logger
  private readonly bootstrap: BootstrapTarget[]
  private readonly backoffs = new Map<string, Backoff>()
  private readonly dialing = new Set<string>()
  private readonly yieldTimers = new Map<string, ReturnType<typeof setTimeout>>()
  /** Whom we keep registry links with: the gossip's link policy (see `links`). */
  readonly links: LinkChoice
  private healthy: (peer: string) => boolean = () => true
  private linked: (peer: string) => boolean = () => false
  /** When each chosen peer was first chosen (the higher peer ID waits `yieldMs` before it dials). */
  private readonly chosenSince = new Map<string, number>()
  private readonly sources: PeerDiscovery[] = []
  private maintainTimer?: ReturnType<typeof setInterval>
  private controller = new AbortController()
  private started = false
  private firstRound: Promise<unknown> = Promise.resolve()

  constructor (components: MeshDialerComponents, init: MeshDialerInit) {
    this.components = components as MeshDialerComponents & Record<string, unknown>
    this.init = init
    this.log = components.logger.forComponent('clawmesh:dialer')
    this.bootstrap = (init.peers ?? []).map(a => {
      const address = multiaddr(a)
      const id = address.getComponents().findLast(c => c.name === 'p2p')?.value
      const target: BootstrapTarget = { address, backoff: { failures: 0, notBefore: 0 } }
      if (id != null) target.peerId = peerIdFromString(id)
      return target
    })
    this.links = new LinkChoice({ self: components.peerId.toString(), degree: init.degree ?? DEFAULT_DEGREE })
    for (const target of this.bootstrap) if (target.peerId != null) this.links.keep(target.peerId.toString())
    // A peer we hold a live link with stays chosen whatever its dial history: under overload, dials time out
    // and back off, and dropping working links for new ones (more handshakes) would feed the overload.
    this.links.setUsable(peer => this.linked(peer) || (!this.backingOff(peer) && this.healthy(peer)))
    this.onPeer = this.onPeer.bind(this)
    this.onDisconnect = this.onDisconnect.bind(this)
  }

  /** Which peers are worth a link as far as the registry knows (not known to be down). */
  setLinkHealth (healthy: (peer: string) => boolean, linked: (peer: string) => boolean = () => false): void {
    this.healthy = healthy
    this.linked = linked
  }

  private backingOff (peer: string): boolean {
    const b = this.backoffs.get(peer)
    return b != null && Date.now() < b.notBefore
  }

  isStarted (): boolean {
    return this.started
  }

  async start (): Promise<void> {
    this.started = true
    this.controller = new AbortController()
  }

  async afterStart (): Promise<void> {
    for (const name of this.init.discovery ?? ['mdns', 'local']) {
      let service: PeerDiscovery | undefined
      try {
        // libp2p's components object throws for a service that is not configured.
        service = this.components[name] as PeerDiscovery | undefined
      } catch {
        continue
      }
      if (service?.addEventListener == null) continue
      service.addEventListener('peer', this.onPeer)
      this.sources.push(service)
    }
    this.components.events.addEventListener('peer:disconnect', this.onDisconnect)
    for (const target of this.bootstrap) {
      if (target.peerId != null) {
        await this.components.peerStore.merge(target.peerId, {
          multiaddrs: [target.address],
          tags: { [BOOTSTRAP_TAG]: { value: 100 } }
        }).catch(err => { this.log.error('could not tag bootstrap peer %p - %e', target.peerId, err) })
      }
    }
    this.firstRound = Promise.allSettled(this.maintainBootstrap())
    this.maintainTimer = setInterval(() => {
      void Promise.allSettled(this.maintainBootstrap())
      this.dialChosen()
    }, MAINTAIN_INTERVAL_MS)
    this.maintainTimer.unref()
  }

  async beforeStop (): Promise<void> {
    for (const s of this.sources) s.removeEventListener('peer', this.onPeer)
    this.sources.length = 0
    this.components.events.removeEventListener('peer:disconnect', this.onDisconnect)
  }

  async stop (): Promise<void> {
    this.started = false
    this.controller.abort()
    clearInterval(this.maintainTimer)
    for (const t of this.yieldTimers.values()) clearTimeout(t)
    this.yieldTimers.clear()
  }

  /** Dial a peer now (used by the discovery handlers; exposed for tests and the core). */
  async dial (peer: PeerId | Multiaddr, why: string, addresses: Multiaddr[] = []): Promise<Connection | undefined> {
    const key = peer.toString()
    if (!this.started || this.dialing.has(key)) return undefined
    this.dialing.add(key)
    const signal = AbortSignal.any([this.controller.signal, AbortSignal.timeout(this.init.dialTimeoutMs ?? DEFAULT_DIAL_TIMEOUT_MS)])
    try {
      const connection = await this.components.connectionManager.openConnection(addresses.length > 0 ? addresses : peer, { signal })
      this.backoffs.delete(connection.remotePeer.toString())
      this.backoffs.delete(key)
      this.log('connected to %p (%s)', connection.remotePeer, why)
      return connection
    } catch (err) {
      if (!this.started) return undefined
      const b = this.backoffs.get(key) ?? { failures: 0, notBefore: 0 }
      b.failures++
      b.notBefore = Date.now() + this.delay(b.failures)
      this.backoffs.set(key, b)
      const timedOut = signal.aborted && !this.controller.signal.aborted
      this.log('dial to %s (%s) failed%s, attempt %d - %e', key, why,
        timedOut ? ` after ${this.init.dialTimeoutMs ?? DEFAULT_DIAL_TIMEOUT_MS} ms (unreachable, or a pnet handshake stalled: a different mesh secret?)` : '',
        b.failures, err)
      return undefined
    } finally {
      this.dialing.delete(key)
    }
  }

  private onPeer (evt: CustomEvent<PeerInfo>): void {
    const { id, multiaddrs } = evt.detail
    const self = this.components.peerId
    if (id.equals(self) || !this.started) return
    if (this.init.shouldDial != null && !this.init.shouldDial(id)) return
    const key = id.toString()
    // Not chosen: known (delivery dials it on demand from its announced addresses), not linked.
    if (!this.links.offer(key)) return
    if (this.components.connectionManager.getConnections(id).length > 0) return
    if (this.backingOff(key)) return
    const go = (): void => {
      this.yieldTimers.delete(key)
      if (!this.started || this.components.connectionManager.getConnections(id).length > 0) return
      // The addresses are kept for later dials by peer ID, but this dial does not wait for that write
      // (in a newcomer's first milliseconds the peer store's first write took 4-11 ms).
      this.components.peerStore.merge(id, { multiaddrs })
        .catch(err => { this.log.error('could not store the addresses of discovered peer %p - %e', id, err) })
      void this.dial(id, 'discovered', multiaddrs.map(a => withPeer(a, key)))
    }
    // The lower peer ID dials; the higher one waits in case the lower side did not discover it.
    if (self.toString() < key) {
      go()
    } else if (!this.yieldTimers.has(key)) {
      this.yieldTimers.set(key, setTimeout(go, this.init.yieldMs ?? DEFAULT_YIELD_MS))
    }
  }

  private onDisconnect (evt: CustomEvent<PeerId>): void {
    // A bootstrap peer dropped: retry soon (libp2p's reconnect queue also tries, and gives up after 5 attempts; we do not).
    if (this.bootstrap.some(t => t.peerId?.equals(evt.detail) === true)) {
      this.log('bootstrap peer %p disconnected, reconnecting', evt.detail)
      setTimeout(() => { void Promise.allSettled(this.maintainBootstrap()) }, 0).unref()
    }
  }

  /** Dials chosen peers that are not connected (the choice changes as peers come, go or fail). */
  private dialChosen (): void {
    if (!this.started) return
    const now = Date.now()
    const self = this.components.peerId.toString()
    const chosen = this.links.chosen()
    for (const id of this.chosenSince.keys()) if (!chosen.has(id)) this.chosenSince.delete(id)
    for (const id of chosen) {
      if (!this.chosenSince.has(id)) this.chosenSince.set(id, now)
      if (this.dialing.has(id) || this.backingOff(id) || this.bootstrap.some(t => t.peerId?.toString() === id)) continue
      // The lower peer ID dials; the higher one gives it `yieldMs` first.
      if (self > id && now - (this.chosenSince.get(id) ?? now) < (this.init.yieldMs ?? DEFAULT_YIELD_MS)) continue
      const peer = peerIdFromString(id)
      if (this.components.connectionManager.getConnections(peer).length > 0) continue
      void this.dial(peer, 'chosen')
    }
  }

  /** Resolves once the first dial of every bootstrap peer has succeeded or failed (never rejects). */
  async bootstrapped (): Promise<void> {
    await this.firstRound
  }

  /** Dials the bootstrap peers that are not connected and not backing off; returns those dials. */
  private maintainBootstrap (): Array<Promise<void>> {
    const dials: Array<Promise<void>> = []
    if (!this.started) return dials
    const now = Date.now()
    for (const target of this.bootstrap) {
      if (target.peerId != null && this.components.connectionManager.getConnections(target.peerId).length > 0) continue
      if (now < target.backoff.notBefore) continue
      const peer = target.peerId ?? target.address
      if (this.dialing.has(peer.toString())) continue
      // Dial the configured address (the peer store may hold other, stale ones too).
      dials.push(this.dialBootstrap(target))
    }
    return dials
  }

  private async dialBootstrap (target: BootstrapTarget): Promise<void> {
    const connection = await this.dial(target.address, 'bootstrap')
    if (connection != null) {
      target.backoff = { failures: 0, notBefore: 0 }
      if (target.peerId == null) {
        target.peerId = connection.remotePeer
        this.links.keep(connection.remotePeer.toString())
        await this.components.peerStore.merge(connection.remotePeer, { tags: { [BOOTSTRAP_TAG]: { value: 100 } } }).catch(() => {})
      }
    } else {
      target.backoff.failures++
      target.backoff.notBefore = Date.now() + this.delay(target.backoff.failures)
    }
  }

  private delay (failures: number): number {
    return backoffDelay(failures, { minMs: this.init.minBackoffMs ?? DEFAULT_MIN_BACKOFF_MS, maxMs: this.init.maxBackoffMs ?? DEFAULT_MAX_BACKOFF_MS })
  }
}

/** `address` ending in `/p2p/<peer>`, as libp2p wants addresses it dials for a known peer. */
function withPeer (address: Multiaddr, peer: string): Multiaddr {
  return address.getComponents().some(c => c.name === 'p2p') ? address : address.encapsulate(`/p2p/${peer}`)
}
