/**
 * Registry gossip over `/clawmesh/registry/2.0.0`, as a libp2p service.
 *
 * Each side of a peer pair opens one long-lived outbound stream and writes
 * only its own frames on it; it reads the peer's on the inbound one. On open
 * both sides send a hello with their digest and each pulls what it lacks (one
 * peer per origin, see pull-tracker.ts), so a late joiner is current two round
 * trips after connecting. Afterwards new signed records are pushed by their
 * origin and spread as news (news.ts); an idle pair exchanges only heartbeats
 * (a hung peer, which TCP alone does not reveal) that now and then carry a
 * digest hash (anti-entropy). Who is reachable is decided by liveness.ts.
 */
import { repeatingTask, type RepeatingTask } from '@libp2p/utils'
import { TypedEventEmitter } from 'main-event'
import { DEFAULT_DELTA_BATCH_MS, MAX_REGISTRY_FRAME_BYTES, MAX_STREAMS_PER_PROTOCOL } from '../constants.ts'
import { RegistryWires } from '../compat/registry-wires.ts'
import { LocalLog } from '../registry/local-log.ts'
import { Registry, heldOf, type RegistryChanges } from '../registry/registry.ts'
import { hasMemberConnection, openMemberStream } from '../nat/links.ts'
import { FramedStream } from '../wire/framed-stream.ts'
import { receiveFrame } from './inbound.ts'
import { checkPeers } from './heartbeat.ts'
import { Liveness } from './liveness.ts'
import { registerGossipMetrics } from './metrics.ts'
import { News } from './news.ts'
import { gossipOptions, type GossipOptions } from './options.ts'
import { PeerLink, runsOf } from './peer-link.ts'
import { PullTracker } from './pull-tracker.ts'
import { encodeFrame, REGISTRY_PROTOCOL_VERSION } from './wire.ts'
import type { GossipCounters, GossipPeer, RegistryGossipComponents, RegistryGossipEvents, RegistryGossipInit } from './types.ts'
import type { Change, EntryData, SignedRecord } from '../registry/records.ts'
import type { Connection, Logger, PeerId, Startable, Stream } from '@libp2p/interface'

/** How often silence is checked (at most); heartbeats go out every `heartbeatIntervalMs`. */
const LIVENESS_CHECK_MS = 500
/** How long `stop()` waits for goodbyes to be written. */
const BYE_TIMEOUT_MS = 500
/** A burst of joins and leaves is announced to peers once, this long after it starts. */
const LINKS_DELAY_MS = 50

export class RegistryGossip extends TypedEventEmitter<RegistryGossipEvents> implements Startable {
  readonly [Symbol.toStringTag] = '@clawmesh/registry-gossip'
  readonly registry = new Registry()
  readonly liveness = new Liveness(this.registry)
  readonly pulls: PullTracker
  readonly counters: GossipCounters = { recordsApplied: 0, recordsRejected: 0, recordsRedundant: 0, pullRequests: 0 }
  readonly selfId: string
  readonly log: Logger
  readonly now: () => number
  readonly links = new Map<string, PeerLink>()
  readonly news: News
  private readonly local: LocalLog
  readonly components: RegistryGossipComponents
  readonly init: GossipOptions
  /** The registry protocol versions we speak, and how to read and write each (src/compat/). */
  readonly wires: RegistryWires
  private readonly allow?: Set<string>
  private readonly tasks: RepeatingTask[] = []
  private flushTimer?: ReturnType<typeof setTimeout>
  private linksTimer?: ReturnType<typeof setTimeout>
  private flushing: Promise<void> = Promise.resolve()
  private running = false
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
    this.local = new LocalLog({ origin: this.selfId, incarnation: init.incarnation, key: components.privateKey, gateway: init.gateway })
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
  }

  /** Publishes our initial snapshot (addresses are known only once transports listen) and links connected peers. */
  async afterStart (): Promise<void> {
    this.running = true
    await this.applyOwn(await this.local.snapshot())
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
    if (this.flushTimer !== undefined) clearTimeout(this.flushTimer)
    if (this.linksTimer !== undefined) clearTimeout(this.linksTimer)
    this.news.stop()
    try {
      await this.flushNow()
      const bye = encodeFrame.record((await this.local.bye()).bytes)
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
    await this.wires.unhandle(this.components.registrar)
  }

  private readonly onPeerConnect = (evt: CustomEvent<PeerId>): void => { if (hasMemberConnection(this.components.connectionManager.getConnections(evt.detail))) this.peerConnected(evt.detail) }
  private readonly onPeerDisconnect = (evt: CustomEvent<PeerId>): void => { this.peerDisconnected(evt.detail) }

  // ---- our own sessions ----------------------------------------------------

  get incarnation (): number {
    return this.local.incarnation
  }

  /** Our own entry for `sessionKey`, staged changes included. */
  ownEntry (sessionKey: string): EntryData | undefined {
    return this.local.get(sessionKey)
  }

  /** Stages a change of our own sessions; returns false when it changes nothing. Signed and pushed within a few ms. */
  stage (change: Change): boolean {
    const changed = this.local.stage(change)
    if (changed && this.flushTimer === undefined) {
      this.flushTimer = setTimeout(() => {
        this.flushTimer = undefined
        this.flushing = this.flushing.then(async () => { await this.flushNow() }).catch(err => { this.log.error('flush failed - %e', err) })
      }, DEFAULT_DELTA_BATCH_MS)
    }
    return changed
  }

  /** Resolves once every staged change is signed, applied locally and sent to connected peers. */
  async flushed (): Promise<void> {
    if (this.flushTimer !== undefined) {
      clearTimeout(this.flushTimer)
      this.flushTimer = undefined
      this.flushing = this.flushing.then(async () => { await this.flushNow() })
    }
    await this.flushing
  }

  /** Publishes a fresh snapshot after our own description (addresses) changed. */
  async republish (): Promise<void> {
    if (!this.running) return
    this.flushing = this.flushing.then(async () => {
      await this.flushNow()
      await this.applyOwn(await this.local.republish())
    })
    await this.flushing
  }

  private async flushNow (): Promise<void> {
    const delta = await this.local.flush()
    if (delta === undefined) return
    const own = this.registry.get(this.selfId)
    // A delta that would be compacted at once (a burst of announces) goes out only as the
    // snapshot that includes it: peers receive those entries once, not twice.
    if (own !== undefined && LocalLog.shouldCompact(own.checkpointBytes, own.tailBytes + delta.bytes.length)) {
      await this.applyOwn(await this.local.snapshot())
      return
    }
    await this.applyOwn([delta])
  }

  private async applyOwn (records: SignedRecord[]): Promise<void> {
    for (const signed of records) {
      const outcome = this.registry.apply(signed, this.now())
      if (outcome.status === 'applied') this.emitChanges(outcome.changes)
      const frame = encodeFrame.record(signed.bytes)
      for (const link of this.links.values()) void link.send(frame)
    }
  }

  // ---- peers -----------------------------------------------------------------

  /** A connection to `peer` opened: open our outbound registry stream. */
  peerConnected (peer: PeerId): PeerLink | undefined {
    if (!this.running) return undefined
    const id = peer.toString()
    let link = this.links.get(id)
    if (link === undefined) {
      link = new PeerLink({
        peer,
        now: this.now(),
        log: this.log,
        open: async (p, signal) => await openMemberStream(this.components.connectionManager, p, this.wires.protocols, { signal, maxOutboundStreams: MAX_STREAMS_PER_PROTOCOL }),
        wireFor: stream => this.wires.writerFor(stream, id),
        onOpenFailed: err => { this.wires.openFailed(id, err) },
        hello: () => encodeFrame.hello({ protocolVersion: REGISTRY_PROTOCOL_VERSION, softwareVersion: this.init.softwareVersion ?? '', name: this.init.gateway().name, digest: this.registry.digest(), links: new Set(this.joinedPeers()), runs: runsOf(this.links.values()) })
      })
      this.links.set(id, link)
    }
    link.ensureOpen()
    return link
  }

  /** The last connection to `peer` closed (or it went silent). */
  peerDisconnected (peer: PeerId): void {
    const id = peer.toString()
    const link = this.links.get(id)
    if (link !== undefined) {
      link.close()
      this.links.delete(id)
      this.pulls.peerGone(id)
      if (link.joined) {
        this.safeDispatchEvent('peer:leave', { detail: link.describe() })
        this.scheduleLinks()
      }
    }
    if (this.liveness.unlinked(id, this.now())) this.reachabilityChanged(id)
    this.tellDown(id, this.links.keys())
  }

  /** Tells `peers` we lost `origin`: those that know it only through us fail fast too, those linked to it answer `alive`. */
  private tellDown (origin: string, peers: Iterable<string>): void {
    const state = this.registry.get(origin)
    if (state === undefined || !this.running) return
    const frame = encodeFrame.down(origin, heldOf(state).version)
    for (const peer of peers) void this.links.get(peer)?.send(frame)
  }

  /** Joined peers, with what they told us about themselves. */
  connectedPeers (): GossipPeer[] {
    return [...this.links.values()].filter(l => l.joined).map(l => l.describe())
  }

  isConnected (peerId: string): boolean {
    return this.links.get(peerId)?.joined === true
  }

  /** A dial to `origin` failed: its sessions are unreachable until it proves it lives (peers linked to it are asked). */
  markUnreachable (origin: string): void {
    if (!this.liveness.dialFailed(origin, this.now())) return
    this.reachabilityChanged(origin)
    this.tellDown(origin, this.liveness.witnesses(origin))
  }

  /** True when records of `origin` may be accepted: every origin, or only those in the allowlist. */
  allowed (origin: string): boolean {
    return this.allow === undefined || origin === this.selfId || this.allow.has(origin)
  }

  joinedPeers (): string[] {
    return [...this.links.values()].filter(l => l.joined).map(l => l.id)
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
    this.peerConnected(connection.remotePeer)
    const framed = new FramedStream(stream, MAX_REGISTRY_FRAME_BYTES)
    const read = this.wires.readerFor(stream, id)
    try {
      while (this.running) {
        const frame = await framed.read()
        const link = this.links.get(id)
        if (link === undefined) break
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

  /** Drops origins unreachable past the grace period (they leave tombstones). */
  expire (): void {
    const changes = this.registry.expire(this.now(), this.init.unreachableGraceMs, this.init.tombstoneMs, this.selfId)
    for (const origin of changes.dropped) {
      this.liveness.forget(origin)
      this.pulls.forget(origin)
    }
    this.emitChanges(changes)
  }
}
