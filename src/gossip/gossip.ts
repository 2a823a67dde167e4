/**
 * Registry gossip over `/clawmesh/registry/2.0.0`, as a libp2p service.
 *
 * Gateways keep registry links with a bounded set of peers (links.ts: whom is
 * the link policy's choice, topology.ts), and the registry converges over that
 * graph. Each side of a link opens one long-lived outbound stream and writes
 * only its own frames on it; it reads the peer's on the inbound one. On open
 * both sides send a hello with their digest and each pulls what it lacks (one
 * peer per origin, see pull-tracker.ts), so a late joiner is current two round
 * trips after linking. Afterwards new signed records are pushed by their
 * origin and along links (news.ts); an idle link carries only heartbeats that
 * now and then carry a digest hash (anti-entropy). Each link has a failure
 * detector (link-watch.ts) scaled by our own health (local-health.ts); who is
 * reachable is decided by liveness.ts.
 */
import { repeatingTask, type RepeatingTask } from '@libp2p/utils'
import { TypedEventEmitter } from 'main-event'
import { MAX_REGISTRY_FRAME_BYTES, MAX_STREAMS_PER_PROTOCOL } from '../constants.ts'
import { RegistryWires } from '../compat/registry-wires.ts'
import { LocalLog } from '../registry/local-log.ts'
import { Registry, type RegistryChanges } from '../registry/registry.ts'
import { hasMemberConnection } from '../nat/links.ts'
import { FramedStream } from '../wire/framed-stream.ts'
import { receiveFrame } from './inbound.ts'
import { checkPeers } from './heartbeat.ts'
import { watchTiming, type WatchTiming } from './link-watch.ts'
import { dropLink, LINK_EVERY_CONNECTION, openLink, spreadDown, type LinkPolicy } from './links.ts'
import { Liveness } from './liveness.ts'
import { LocalHealth } from './local-health.ts'
import { registerGossipMetrics } from './metrics.ts'
import { News } from './news.ts'
import { gossipOptions, type GossipOptions } from './options.ts'
import { OwnRecords } from './own-records.ts'
import { runsOf, type PeerLink } from './peer-link.ts'
import { PullTracker } from './pull-tracker.ts'
import { encodeFrame } from './wire.ts'
import type { GossipCounters, GossipPeer, RegistryGossipComponents, RegistryGossipEvents, RegistryGossipInit } from './types.ts'
import type { Change, EntryData } from '../registry/records.ts'
import type { Connection, Logger, PeerId, Startable, Stream } from '@libp2p/interface'

/** How often silence is checked (at most); heartbeats go out every `heartbeatIntervalMs`. */
const LIVENESS_CHECK_MS = 250
/** We answer an accusation with a fresh record at most this often. */
const REFUTE_INTERVAL_MS = 2_000
/** How long `stop()` waits for goodbyes to be written. */
const BYE_TIMEOUT_MS = 500
/** A burst of joins and leaves is announced to peers once, this long after it starts. */
const LINKS_DELAY_MS = 50

export class RegistryGossip extends TypedEventEmitter<RegistryGossipEvents> implements Startable {
  readonly [Symbol.toStringTag] = '@clawmesh/registry-gossip'
  readonly registry = new Registry()
  readonly liveness = new Liveness(this.registry)
  readonly health = new LocalHealth()
  readonly timing: WatchTiming
  /** Whom we keep links with (the dialer's choice, see `setLinkPolicy`). */
  policy: LinkPolicy = LINK_EVERY_CONNECTION
  private verifier?: (origin: string) => Promise<void>
  private refutedAt = -Infinity
  readonly pulls: PullTracker
  readonly counters: GossipCounters = { recordsApplied: 0, recordsRejected: 0, recordsRedundant: 0, pullRequests: 0 }
  readonly selfId: string
  readonly log: Logger
  readonly now: () => number
  readonly links = new Map<string, PeerLink>()
  readonly news: News
  private readonly own: OwnRecords
  readonly components: RegistryGossipComponents
  readonly init: GossipOptions
  /** The registry protocol versions we speak, and how to read and write each (src/compat/). */
  readonly wires: RegistryWires
  private readonly allow?: Set<string>
  private readonly tasks: RepeatingTask[] = []
  private linksTimer?: ReturnType<typeof setTimeout>
  running = false
  /** When the liveness check last ran: a late run means this process was not running in between. */
  lastCheck = 0

  constructor (components: RegistryGossipComponents, init: RegistryGossipInit) {
    super()
    this.components = components
    this.init = gossipOptions(init)
    if (init.allow !== undefined) this.allow = new Set(init.allow)
    this.now = init.clock ?? Date.now
    this.selfId = components.peerId.toString()
    this.log = components.logger.forComponent('clawmesh:registry')
    this.own = new OwnRecords(this, new LocalLog({ origin: this.selfId, incarnation: init.incarnation, key: components.privateKey, gateway: init.gateway }))
    this.timing = watchTiming(this.init.heartbeatIntervalMs, this.init.peerSilenceMs)
    this.pulls = new PullTracker({ timeoutMs: this.init.pullTimeoutMs, maxPulls: 10_000, maxCandidates: 16 })
    this.news = new News(this.registry, this.liveness, () => this.links.values())
    this.wires = new RegistryWires({
      versions: init.protocolVersions, selfId: this.selfId, privateKey: components.privateKey, registry: this.registry,
      claimsLink: (peer, origin) => this.liveness.claimsLink(peer, origin),
      onIncompatible: detail => { this.safeDispatchEvent('peer:incompatible', { detail }) }
    })
    registerGossipMetrics(components.metrics, this)
  }

  // ---- lifecycle -----------------------------------------------------------

  async start (): Promise<void> {
    const limits = { maxInboundStreams: MAX_STREAMS_PER_PROTOCOL, maxOutboundStreams: MAX_STREAMS_PER_PROTOCOL, runOnLimitedConnection: true } // capped relayed circuits are "limited"
    await this.wires.handle(this.components.registrar, async (stream, connection) => { await this.handleInbound(stream, connection) }, limits)
    this.components.events.addEventListener('peer:connect', this.onPeerConnect)
    this.components.events.addEventListener('peer:disconnect', this.onPeerDisconnect)
    this.components.events.addEventListener('connection:open', this.onConnectionOpen)
  }

  /** Whom to keep links with (by default every connection is a link). */
  setLinkPolicy (policy: LinkPolicy): void {
    this.policy = policy
  }

  /** How to check an origin ourselves (a dial through the address filter, or a ping): resolves either way, reports through `reached`/`markUnreachable`. */
  setVerifier (verify: (origin: string) => Promise<void>): void {
    this.verifier = verify
  }

  /** Publishes our initial snapshot (addresses are known only once transports listen) and links connected peers. */
  async afterStart (): Promise<void> {
    this.running = true
    await this.own.publishSnapshot()
    this.lastCheck = this.now()
    const checkMs = this.checkMs
    this.tasks.push(repeatingTask(() => { this.check() }, checkMs))
    this.tasks.push(repeatingTask(() => { this.expire() }, Math.max(50, Math.min(1_000, this.init.unreachableGraceMs / 4))))
    for (const task of this.tasks) task.start()
    for (const connection of this.components.connectionManager.getConnections()) this.peerConnected(connection.remotePeer)
  }

  /** Says goodbye (peers mark us unreachable at once), then closes every stream. */
  async beforeStop (): Promise<void> {
    if (!this.running) return
    this.running = false
    for (const task of this.tasks) task.stop()
    this.tasks.length = 0
    if (this.linksTimer !== undefined) clearTimeout(this.linksTimer)
    this.news.stop()
    try {
      const bye = encodeFrame.record(await this.own.bye())
      // Best effort and bounded: a peer that does not read must not hold up our stop.
      let timer: ReturnType<typeof setTimeout> | undefined
      await Promise.race([
        Promise.all([...this.links.values()].map(async link => { await link.send(bye) })),
        new Promise(resolve => { timer = setTimeout(resolve, BYE_TIMEOUT_MS) })
      ])
      clearTimeout(timer)
    } catch (err) {
      this.log.error('could not say goodbye - %e', err)
    }
    for (const link of this.links.values()) link.close()
    this.links.clear()
  }

  async stop (): Promise<void> {
    this.components.events.removeEventListener('peer:connect', this.onPeerConnect)
    this.components.events.removeEventListener('peer:disconnect', this.onPeerDisconnect)
    this.components.events.removeEventListener('connection:open', this.onConnectionOpen)
    await this.wires.unhandle(this.components.registrar)
  }

  private readonly onPeerConnect = (evt: CustomEvent<PeerId>): void => { if (hasMemberConnection(this.components.connectionManager.getConnections(evt.detail))) this.peerConnected(evt.detail) }
  private readonly onPeerDisconnect = (evt: CustomEvent<PeerId>): void => { this.peerDisconnected(evt.detail) }
  /** A new authenticated connection proves its peer runs. */
  private readonly onConnectionOpen = (evt: CustomEvent<Connection>): void => { this.reached(evt.detail.remotePeer) }

  // ---- our own sessions ----------------------------------------------------

  get incarnation (): number {
    return this.own.incarnation
  }

  /** Our own entry for `sessionKey`, staged changes included. */
  ownEntry (sessionKey: string): EntryData | undefined {
    return this.own.get(sessionKey)
  }

  /** Stages a change of our own sessions; returns false when it changes nothing. Signed and pushed within a few ms. */
  stage (change: Change): boolean {
    return this.own.stage(change)
  }

  /** Resolves once every staged change is signed, applied locally and sent to connected peers. */
  async flushed (): Promise<void> {
    await this.own.flushed()
  }

  /** Publishes a fresh snapshot after our own description (addresses) changed. */
  async republish (): Promise<void> {
    if (this.running) await this.own.republish()
  }

  /** A peer declared us down (we were too slow for it): a fresh record proves to the whole mesh that we run. */
  accused (): void {
    const now = this.now()
    this.health.accused(now)
    if (!this.running || now - this.refutedAt < REFUTE_INTERVAL_MS) return
    this.refutedAt = now
    this.log('a peer declared us down: refuting with a fresh record')
    this.own.refute()
  }

  // ---- peers -----------------------------------------------------------------

  /** A connection to `peer` opened (or it opened a registry stream to us: `theirChoice`): link, if either side chose the other. */
  peerConnected (peer: PeerId, theirChoice = false): PeerLink | undefined {
    if (!this.running) return undefined
    return openLink(this, peer, theirChoice)
  }

  /** The last connection to `peer` closed: if it carried a link, that is first-hand evidence. */
  peerDisconnected (peer: PeerId): void {
    dropLink(this, peer.toString(), true)
  }

  /**
   * A new connection to `peer`, or a check of ours that it answered: the peer ID runs, but which run?
   * Sends to it are tried again at once; if we list it as unreachable, a registry link (its hello names
   * its run) revives it only if it is the run we hold, and otherwise brings us the new run's records.
   * The link closes again by itself when neither side chooses it.
   */
  reached (peerId: PeerId): void {
    const state = this.registry.get(peerId.toString())
    if (state === undefined) return
    this.liveness.reached(peerId.toString(), this.now())
    if (!state.reachable && state.bye === undefined) openLink(this, peerId, true)
  }

  /** Checks `origin` ourselves in the background (rate-limited by the caller through `liveness.shouldVerify`). */
  verify (origin: string): void {
    if (this.verifier === undefined || !this.running) return
    this.verifier(origin).catch(err => { this.log('check of %s failed - %e', origin, err) })
  }

  /** Linked peers (not declared down), with what they told us about themselves. */
  connectedPeers (): GossipPeer[] {
    return [...this.links.values()].filter(l => l.live).map(l => l.describe())
  }

  isConnected (peerId: string): boolean {
    return this.links.get(peerId)?.live === true
  }

  /**
   * A dial (or check) of ours to `origin` failed: sends to it fail fast until it proves it lives; our peers are told.
   * `timedOut`: no answer in time, which an overloaded Gateway also gives: listed as unreachable, sends still tried, nobody told.
   */
  markUnreachable (origin: string, timedOut = false): void {
    if (!this.liveness.dialFailed(origin, this.now(), timedOut)) return
    this.reachabilityChanged(origin)
    if (!timedOut) spreadDown(this, origin)
  }

  /** True when a send to `origin` should fail at once (a goodbye, or our own evidence); hearsay is tried. */
  failFast (origin: string): boolean {
    return this.liveness.failFast(origin)
  }

  /** True when records of `origin` may be accepted: every origin, or only those in the allowlist. */
  allowed (origin: string): boolean {
    return this.allow === undefined || origin === this.selfId || this.allow.has(origin)
  }

  /** The peers we are linked to (not declared down): what we tell peers in `links`. */
  joinedPeers (): string[] {
    return [...this.links.values()].filter(l => l.live).map(l => l.id)
  }

  /** Tells every peer whom we are linked to, shortly after that changed (one frame for a burst of joins). */
  scheduleLinks (): void {
    if (this.linksTimer !== undefined || !this.running) return
    this.linksTimer = setTimeout(() => {
      this.linksTimer = undefined
      const frame = encodeFrame.links(this.joinedPeers(), runsOf(this.links.values()))
      for (const link of this.links.values()) void link.send(frame)
    }, LINKS_DELAY_MS)
    this.linksTimer.unref?.()
  }

  // ---- inbound ---------------------------------------------------------------

  /** Reads a peer's registry stream until it ends. */
  async handleInbound (stream: Stream, connection: Connection): Promise<void> {
    const id = connection.remotePeer.toString()
    this.peerConnected(connection.remotePeer, true)
    const framed = new FramedStream(stream, MAX_REGISTRY_FRAME_BYTES)
    const read = this.wires.readerFor(stream, id)
    try {
      while (this.running) {
        const frame = await framed.read()
        const link = this.links.get(id)
        if (link === undefined) {
          // The link was closed on purpose (or hung up on): this stream goes with it.
          stream.abort(new Error('unlinked'))
          break
        }
        await receiveFrame(this, link, frame, read)
      }
    } catch (err) {
      if (this.running && stream.status === 'open') {
        this.log('registry stream from %s failed - %e', id, err)
        this.wires.readFailed(id, err)
        stream.abort(err instanceof Error ? err : new Error(String(err)))
      }
    }
  }

  // ---- events ----------------------------------------------------------------

  emitChanges (changes: RegistryChanges): void {
    if (changes.added.length > 0 || changes.removed.length > 0) this.safeDispatchEvent('registry:change', { detail: changes })
  }

  reachabilityChanged (origin: string): void {
    this.safeDispatchEvent('gateway:reachability', { detail: origin })
  }

  rejected (peerId: string, reason: string): void {
    this.counters.recordsRejected++
    this.safeDispatchEvent('record:rejected', { detail: { peerId, reason } })
  }

  // ---- periodic work -----------------------------------------------------------

  get checkMs (): number { return Math.min(LIVENESS_CHECK_MS, this.init.heartbeatIntervalMs) }

  /** Silence, heartbeats and stalled pulls (see heartbeat.ts). */
  check (): void {
    checkPeers(this)
  }

  /** Checks unreachable origins ourselves now and then (backing off); drops those unreachable past the grace period (they leave tombstones). */
  expire (): void {
    const now = this.now()
    for (const state of this.registry.all()) {
      if (!state.reachable && state.bye === undefined && state.origin !== this.selfId && this.liveness.shouldVerify(state.origin, now)) this.verify(state.origin)
    }
    const changes = this.registry.expire(now, this.init.unreachableGraceMs, this.init.tombstoneMs, this.selfId)
    for (const origin of changes.dropped) {
      this.liveness.forget(origin)
      this.pulls.forget(origin)
    }
    this.emitChanges(changes)
  }
}
