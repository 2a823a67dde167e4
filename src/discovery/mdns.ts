/**
 * mDNS discovery tuned for a mesh: `@libp2p/mdns` with
 *
 * - a **service tag per mesh** (`_clawmesh-<meshId>._udp.local`, the mesh ID
 *   being a one-way hash of the secret): two meshes on one LAN never see each
 *   other, and neither sees IPFS or other libp2p apps (the default tag is
 *   shared with all of them);
 * - a **gratuitous announcement** at start: a newcomer answers a question
 *   nobody asked yet, so every member learns of it at once (plain
 *   `@libp2p/mdns` only answers queries, so members would find a newcomer only
 *   at their next query, up to `interval` later). The newcomer's own first
 *   query finds the members. Together: found within milliseconds;
 * - a **short query interval** (default 2 s) so a lost packet costs little;
 * - a **self-test**: multicast-dns loops our own query back to us (recognised
 *   by its source address being one of ours); if it never
 *   arrives, multicast is not working here (no multicast route, or another
 *   responder such as avahi holding port 5353) and we say so in the log and in
 *   {@link MeshMdns.healthy} instead of failing silently.
 *
 * Listen to this service's own `peer` event (it fires on every answer), not
 * libp2p's `peer:discovery` (once per peer ever).
 */

import { networkInterfaces } from 'node:os'
import { mdns } from '@libp2p/mdns'
import { peerDiscoverySymbol, serviceCapabilities, TypedEventEmitter } from '@libp2p/interface'
import type { MulticastDNSComponents } from '@libp2p/mdns'
import type { MdnsDiscoveryOptions } from '../types.ts'
import type { Libp2pEvents, TypedEventTarget, Logger, PeerDiscovery, PeerDiscoveryEvents, PeerInfo, Startable } from '@libp2p/interface'

/** Query interval: short, because mDNS packets get lost and each query costs only a few small packets. */
export const DEFAULT_MDNS_INTERVAL_MS = 2_000
/** Extra unsolicited announcements after start, in case the first one is lost (ms after start). */
const ANNOUNCE_AT_MS = [0, 150, 1_000]
/** Our own query must have looped back by then, or multicast does not work here. */
const SELF_TEST_MS = 3_000

/** `MdnsDiscoveryOptions` (the public option, see types.ts) plus what `createMesh` derives. */
export interface MeshMdnsInit extends MdnsDiscoveryOptions {
  /** The public mesh ID; the service tag is derived from it. */
  meshId: string
}

/** The mDNS service tag of a mesh. */
export function mdnsServiceTag (meshId: string): string {
  return `_clawmesh-${meshId.slice(0, 16)}._udp.local`
}

type QueryListener = (query: { questions?: Array<{ name?: string }> }, rinfo?: { address?: string }) => void

/** What we use of `@libp2p/mdns`'s service beyond the `PeerDiscovery` interface (public members of its class). */
interface MdnsInternals extends PeerDiscovery, Startable {
  mdns?: {
    on: (event: 'query', listener: QueryListener) => unknown
    removeListener: (event: 'query', listener: QueryListener) => unknown
  }
  _onMdnsQuery: (query: { questions: Array<{ name: string, type: string }> }) => void
}

export interface MeshMdnsComponents extends MulticastDNSComponents {
  events: TypedEventTarget<Libp2pEvents>
}

/** `services: { mdns: meshMdns({ meshId }) }` in `createLibp2p`. */
export function meshMdns (init: MeshMdnsInit): (components: MeshMdnsComponents) => MeshMdns {
  return (components) => new MeshMdns(components, init)
}

export class MeshMdns extends TypedEventEmitter<PeerDiscoveryEvents> implements PeerDiscovery, Startable {
  readonly [peerDiscoverySymbol] = this
  readonly [Symbol.toStringTag] = 'clawmesh:mdns'
  readonly [serviceCapabilities]: string[] = ['@libp2p/peer-discovery']

  readonly serviceTag: string
  /** False when our own query never looped back: multicast is not working on this host. Undefined until known. */
  healthy?: boolean
  private readonly inner: MdnsInternals
  private readonly init: MeshMdnsInit
  private readonly log: Logger
  private readonly events: TypedEventTarget<Libp2pEvents>
  private readonly timers: Array<ReturnType<typeof setTimeout>> = []
  private started = false

  constructor (components: MeshMdnsComponents, init: MeshMdnsInit) {
    super()
    this.init = init
    this.events = components.events
    this.serviceTag = mdnsServiceTag(init.meshId)
    this.log = components.logger.forComponent('clawmesh:discovery:mdns')
    const options: Parameters<typeof mdns>[0] = { serviceTag: this.serviceTag, interval: init.intervalMs ?? DEFAULT_MDNS_INTERVAL_MS }
    if (init.port != null) options.port = init.port
    if (init.ip != null) options.ip = init.ip
    this.inner = mdns(options)(components) as MdnsInternals
    this.onInnerPeer = this.onInnerPeer.bind(this)
    this.onQuery = this.onQuery.bind(this)
    this.announce = this.announce.bind(this)
  }

  isStarted (): boolean {
    return this.started
  }

  async start (): Promise<void> {
    if (this.started) return
    this.started = true
    this.healthy = undefined
    this.inner.addEventListener('peer', this.onInnerPeer)
    await this.inner.start()
    // Listen before the first query goes out is impossible (start() sends it), but the loopback copy arrives asynchronously.
    this.inner.mdns?.on('query', this.onQuery)
    this.timers.push(setTimeout(() => {
      if (this.healthy === undefined && this.started) {
        this.healthy = false
        this.log.error('mDNS is not working on this host: our own query (%s) never came back. Multicast may be off on every interface (no route to 224.0.0.0/4), or another mDNS responder (avahi, Bonjour) holds UDP port 5353. Peers on this host are still found by local discovery; for other hosts, list them in `peers`', this.serviceTag)
      }
    }, SELF_TEST_MS))
  }

  /**
   * Announce our addresses unasked, so members find us at once: when a
   * transport starts listening (our first addresses), when they change, and a
   * few times after start in case a packet is lost.
   */
  async afterStart (): Promise<void> {
    if (this.init.announce === false) return
    this.events.addEventListener('transport:listening', this.announce)
    this.events.addEventListener('self:peer:update', this.announce)
    for (const at of ANNOUNCE_AT_MS) {
      this.timers.push(setTimeout(() => { this.announce() }, at))
    }
  }

  async stop (): Promise<void> {
    if (!this.started) return
    this.started = false
    for (const t of this.timers) clearTimeout(t)
    this.timers.length = 0
    this.events.removeEventListener('transport:listening', this.announce)
    this.events.removeEventListener('self:peer:update', this.announce)
    this.inner.mdns?.removeListener('query', this.onQuery)
    this.inner.removeEventListener('peer', this.onInnerPeer)
    await this.inner.stop()
  }

  /** Send an answer to the question "who serves this mesh's tag?" without being asked. */
  announce (): void {
    if (!this.started) return
    try {
      this.inner._onMdnsQuery({ questions: [{ name: this.serviceTag, type: 'PTR' }] })
    } catch (err) {
      this.log.error('could not announce - %e', err)
    }
  }

  /** Healthy once our own query comes back: we can send and receive (others' queries alone prove only receiving). */
  private onQuery (query: { questions?: Array<{ name?: string }> }, rinfo?: { address?: string }): void {
    if (this.healthy !== true && query.questions?.[0]?.name === this.serviceTag && isOwnAddress(rinfo?.address)) {
      if (this.healthy === false) this.log('mDNS works after all: a query for %s arrived', this.serviceTag)
      this.healthy = true
    }
  }

  /**
   * Pass the answer on without its loopback addresses when it has others:
   * another host's 127.0.0.1 is our own loopback, where a dial finds nothing or,
   * worse, an unrelated local process (a wasted dial, or a bogus "wrong secret").
   * Same-host peers are found by local discovery and keep their LAN addresses.
   */
  private onInnerPeer (evt: CustomEvent<PeerInfo>): void {
    const routable = evt.detail.multiaddrs.filter(ma => !isLoopback(ma.toString()))
    const detail = routable.length > 0 ? { ...evt.detail, multiaddrs: routable } : evt.detail
    this.safeDispatchEvent('peer', { detail })
  }
}

function isOwnAddress (address: string | undefined): boolean {
  if (address == null) return false
  return Object.values(networkInterfaces()).some(list => list?.some(i => i.address === address) === true)
}

function isLoopback (address: string): boolean {
  return address.startsWith('/ip4/127.') || address.startsWith('/ip6/::1/')
}
