/**
 * Registry gossip over `/clawmesh/registry/1.0.0`.
 *
 * Each side of a peer pair opens one long-lived outbound stream and writes
 * only its own messages on it; it reads the peer's on the inbound one. On
 * open both sides send their digest and each asks for what it lacks (one peer
 * per origin), so a late joiner is current two round trips after connecting. Afterwards, new signed
 * records are pushed as they happen and relayed to every other peer; an
 * idle pair exchanges only heartbeats (liveness of a hung peer, which TCP
 * alone does not reveal) that now and then carry a digest hash (anti-entropy).
 */
import { REGISTRY_PROTOCOL, MAX_REGISTRY_FRAME_BYTES, DEFAULT_DELTA_BATCH_MS } from '../constants.ts'
import { MeshError } from '../errors.ts'
import { decodeJson, encodeJson, int, optInt, optStr, str, obj, type JsonObject } from '../wire/json-frame.ts'
import { FramedStream } from '../wire/framed-stream.ts'
import { LocalLog } from './local-log.ts'
import { decodeRecord, RECORD_TAG, verifyRecord, type GatewayMeta, type SignedRecord } from './records.ts'
import { Registry, type Digest, type RegistryChanges } from './registry.ts'
import type { Connection, Logger, PeerId, PrivateKey, Stream } from '@libp2p/interface'

/** How often silence is checked; heartbeats themselves go out every `heartbeatIntervalMs`. */
const LIVENESS_CHECK_MS = 500
/** An unanswered request for an origin's records may go to another peer after this long. */
const WANT_TIMEOUT_MS = 2_000
/** How long `stop()` waits for goodbyes to be written. */
const BYE_TIMEOUT_MS = 500
/** A burst of joins and leaves is announced to peers once, this long after it starts. */
const NEIGHBORS_DELAY_MS = 50
/** News of applied records is batched for this long, per peer. */
const NEWS_DELAY_MS = 50
/** More neighbors than this in one `links` frame is a malformed frame. */
const MAX_NEIGHBORS = 100_000
/** `wantFrom`: a request for that origin is already under way. */
const SKIP = Symbol('skip')

export interface RegistrySyncInit {
  self: PeerId
  privateKey: PrivateKey
  incarnation: number
  gateway: () => GatewayMeta
  log: Logger
  heartbeatIntervalMs: number
  peerSilenceMs: number
  antiEntropyIntervalMs: number
  unreachableGraceMs: number
  /** Opens a stream to a connected peer. */
  openStream: (peer: PeerId, protocol: string, signal: AbortSignal) => Promise<Stream>
  /** Closes all connections to a peer that went silent. */
  hangUp: (peer: PeerId, reason: Error) => void
  onChanges: (changes: RegistryChanges) => void
  onPeerJoin: (peerId: string, name: string | undefined) => void
  onPeerLeave: (peerId: string) => void
  onReachability: (origin: string) => void
  onRejected: (peerId: string, reason: string) => void
}

/** What we hold per connected peer. */
interface PeerLink {
  peer: PeerId
  id: string
  /** Our outbound stream; frames written in one tick go out in one write. */
  out?: FramedStream
  opening?: Promise<void>
  lastHeard: number
  /** When our unanswered heartbeat left (initiator side only). */
  pingSentAt?: number
  lastPing: number
  lastSum: number
  /** What this peer is known to hold per origin (its digests, and records seen going either way): no need to relay those. */
  holds: Map<string, [number, number]>
  /** The peers this peer says it is linked to: their own pushes reach it, so we do not relay theirs to it. */
  neighbors: Set<string>
  rttMs?: number
  name?: string
  joined: boolean
  closed: boolean
  controller: AbortController
}

/** A request for an origin's records that is under way. */
interface Want {
  /** When we asked, or last received one of the records: silence past WANT_TIMEOUT_MS means ask again. */
  at: number
  /** The newest version of the origin any peer has shown us, and that peer: where to ask again. */
  upTo: [number, number]
  source: string
}

export interface SyncCounters {
  deltasApplied: number
  deltasRejected: number
  recordsRedundant: number
}

export class RegistrySync {
  readonly registry = new Registry()
  readonly local: LocalLog
  readonly counters: SyncCounters = { deltasApplied: 0, deltasRejected: 0, recordsRedundant: 0 }
  private readonly init: RegistrySyncInit
  private readonly links = new Map<string, PeerLink>()
  /** Origins whose records we asked for: one request per origin under way at a time. */
  private readonly wanted = new Map<string, Want>()
  private readonly timers: Array<ReturnType<typeof setInterval>> = []
  private flushTimer?: ReturnType<typeof setTimeout>
  private neighborsTimer?: ReturnType<typeof setTimeout>
  /** Origins whose new records we have not yet told other peers about, with the peers that sent them. */
  private newsQueue = new Map<string, Set<string>>()
  private newsTimer?: ReturnType<typeof setTimeout>
  private flushing: Promise<void> = Promise.resolve()
  private readonly selfId: string
  private running = false
  /** When the liveness check last ran: a late run means this process was not running in between. */
  private lastLivenessCheck = 0

  constructor (init: RegistrySyncInit) {
    this.init = init
    this.selfId = init.self.toString()
    this.local = new LocalLog({ origin: this.selfId, incarnation: init.incarnation, key: init.privateKey, gateway: init.gateway })
  }

  /** Publishes our initial (empty or restored) snapshot; call once addresses are known. */
  async start (): Promise<void> {
    this.running = true
    await this.applyOwn(await this.local.snapshot())
    // Liveness is checked often (cheap, local); heartbeats are sent at their own pace.
    this.lastLivenessCheck = Date.now()
    this.timers.push(setInterval(() => { this.heartbeat() }, this.livenessCheckMs))
    this.timers.push(setInterval(() => { this.expire() }, Math.max(50, Math.min(1_000, this.init.unreachableGraceMs / 4))))
    for (const t of this.timers) t.unref?.()
  }

  /** Says goodbye (peers mark us unreachable at once), then closes every stream. */
  async stop (): Promise<void> {
    if (!this.running) return
    this.running = false
    for (const t of this.timers) clearInterval(t)
    if (this.flushTimer !== undefined) clearTimeout(this.flushTimer)
    if (this.neighborsTimer !== undefined) clearTimeout(this.neighborsTimer)
    if (this.newsTimer !== undefined) clearTimeout(this.newsTimer)
    this.newsQueue.clear()
    try {
      await this.flushNow()
      const bye = await this.local.bye()
      // Best effort and bounded: a peer that does not read must not hold up our stop.
      await Promise.race([
        Promise.all([...this.links.values()].map(async link => { await this.write(link, bye.bytes) })),
        new Promise(resolve => setTimeout(resolve, BYE_TIMEOUT_MS).unref())
      ])
    } catch (err) {
      this.init.log.error('could not say goodbye - %e', err)
    }
    for (const link of this.links.values()) this.closeLink(link)
    this.links.clear()
  }

  // ---- local writes ----------------------------------------------------

  stage (change: Parameters<LocalLog['stage']>[0]): boolean {
    const changed = this.local.stage(change)
    if (changed) this.scheduleFlush()
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

  private scheduleFlush (): void {
    if (this.flushTimer !== undefined) return
    this.flushTimer = setTimeout(() => {
      this.flushTimer = undefined
      this.flushing = this.flushing.then(async () => { await this.flushNow() }).catch(err => {
        this.init.log.error('flush failed - %e', err)
      })
    }, DEFAULT_DELTA_BATCH_MS)
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
      const outcome = this.registry.apply(signed, Date.now())
      if (outcome.status === 'applied') this.init.onChanges(outcome.changes)
      this.broadcast(signed.bytes, undefined)
    }
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

  // ---- peers -----------------------------------------------------------

  /** A connection to `peer` opened: open our outbound registry stream. */
  peerConnected (peer: PeerId): void {
    if (!this.running) return
    const id = peer.toString()
    let link = this.links.get(id)
    if (link === undefined) {
      link = { peer, id, lastHeard: Date.now(), lastPing: 0, lastSum: Date.now(), holds: new Map(), neighbors: new Set(), joined: false, closed: false, controller: new AbortController() }
      this.links.set(id, link)
    }
    this.ensureOutbound(link)
  }

  /** The last connection to `peer` closed. */
  peerDisconnected (peer: PeerId): void {
    const id = peer.toString()
    const link = this.links.get(id)
    if (link !== undefined) {
      this.closeLink(link)
      this.links.delete(id)
      if (link.joined) {
        this.init.onPeerLeave(id)
        this.scheduleNeighbors()
      }
    }
    this.markUnreachable(id)
    // Tell the others, so peers that only heard of it by relay fail fast too.
    const state = this.registry.get(id)
    if (state !== undefined && this.running) {
      this.broadcastJson({ t: 'down', o: id, i: state.incarnation }, undefined)
    }
  }

  connectedPeers (): Array<{ id: string, rttMs?: number, name?: string }> {
    return [...this.links.values()].filter(l => l.joined).map(l => ({ id: l.id, ...(l.rttMs !== undefined ? { rttMs: l.rttMs } : {}), ...(l.name !== undefined ? { name: l.name } : {}) }))
  }

  isConnected (peerId: string): boolean {
    return this.links.get(peerId)?.joined === true
  }

  private ensureOutbound (link: PeerLink): void {
    if (link.out !== undefined || link.opening !== undefined || link.closed) return
    link.opening = (async () => {
      try {
        const signal = AbortSignal.any([link.controller.signal, AbortSignal.timeout(10_000)])
        const stream = await this.init.openStream(link.peer, REGISTRY_PROTOCOL, signal)
        if (link.closed) {
          stream.abort(new Error('peer link closed'))
          return
        }
        const out = new FramedStream(stream, MAX_REGISTRY_FRAME_BYTES)
        link.out = out
        stream.addEventListener('close', () => {
          if (link.out === out) delete link.out
        })
        // Queued, not awaited: writes wait for `opening`, which is this very task.
        void this.sendJson(link, { t: 'hello', v: 1, name: this.init.gateway().name, d: this.registry.digest(), p: this.joinedPeers() })
      } catch (err) {
        if (!link.closed) this.init.log('could not open registry stream to %s - %e', link.id, err)
      } finally {
        link.opening = undefined
      }
    })()
  }

  private closeLink (link: PeerLink): void {
    link.closed = true
    link.controller.abort()
    try {
      link.out?.stream.abort(new Error('closing'))
    } catch {
      // Already closed: nothing left to release.
    }
    delete link.out
  }

  // ---- inbound ---------------------------------------------------------

  /** Reads a peer's registry stream until it ends. */
  async handleInbound (stream: Stream, connection: Connection): Promise<void> {
    const peer = connection.remotePeer
    const id = peer.toString()
    this.peerConnected(peer)
    const framed = new FramedStream(stream, MAX_REGISTRY_FRAME_BYTES)
    try {
      while (this.running) {
        const frame = await framed.read()
        const link = this.links.get(id)
        if (link === undefined) break
        link.lastHeard = Date.now()
        await this.handleFrame(link, frame)
      }
    } catch (err) {
      if (this.running && stream.status === 'open') {
        this.init.log('registry stream from %s failed - %e', id, err)
        stream.abort(err instanceof Error ? err : new Error(String(err)))
      }
    }
  }

  private async handleFrame (link: PeerLink, frame: Uint8Array): Promise<void> {
    if (frame[0] === RECORD_TAG) {
      await this.handleRecord(link, frame)
      return
    }
    const msg = decodeJson(frame)
    switch (msg.t) {
      case 'hello': {
        link.name = optStr(msg, 'name', 128)
        if (msg.p !== undefined) link.neighbors = parseNeighbors(msg.p)
        if (!link.joined) {
          link.joined = true
          if (this.registry.setReachable(link.id, true, Date.now())) this.init.onReachability(link.id)
          this.init.onPeerJoin(link.id, link.name)
          this.scheduleNeighbors()
        }
        // Both sides send hello, so each learns the other's digest: no need to answer with ours.
        this.requestMissing(link, noteHolds(link, parseDigest(obj(msg, 'd'))), true)
        break
      }
      case 'digest':
        this.requestMissing(link, noteHolds(link, parseDigest(obj(msg, 'd'))), msg.r === true)
        break
      case 'want':
        // Not awaited: the read loop must keep draining while we send, or two large transfers deadlock.
        void this.serveWants(link, parseWants(obj(msg, 'w')))
        break
      case 'hb': {
        // The initiator shares the RTT it measured and, now and then, its digest hash.
        const rtt = optInt(msg, 'r')
        if (rtt !== undefined) link.rttMs = rtt
        void this.sendJson(link, { t: 'hback' })
        const h = optStr(msg, 'h', 64)
        if (h !== undefined && h !== this.registry.digestHash()) void this.sendJson(link, { t: 'digest', d: this.registry.digest() })
        break
      }
      case 'links':
        link.neighbors = parseNeighbors(msg.p)
        break
      case 'hback':
        if (link.pingSentAt !== undefined) link.rttMs = Date.now() - link.pingSentAt
        delete link.pingSentAt
        break
      case 'down': {
        // Hearsay about reachability only: it can never add or remove entries.
        const origin = str(msg, 'o', 128)
        const state = this.registry.get(origin)
        if (state !== undefined && state.incarnation === int(msg, 'i') && origin !== this.selfId && !this.isConnected(origin)) {
          this.markUnreachable(origin)
        }
        break
      }
      default:
        // Unknown frame types are ignored so that newer peers can add some.
        break
    }
  }

  private async handleRecord (link: PeerLink, frame: Uint8Array): Promise<void> {
    let signed: SignedRecord
    try {
      const decoded = decodeRecord(frame)
      // Our own records come back relayed (or from a previous run): they prove nothing. And most
      // relayed copies are of records we already hold: drop them before paying for a signature check.
      if (decoded.record.origin === this.selfId || this.registry.isStale(decoded.record)) {
        this.counters.recordsRedundant++
        return
      }
      signed = await verifyRecord(decoded)
    } catch (err) {
      this.counters.deltasRejected++
      const reason = err instanceof MeshError && err.code === 'FORBIDDEN' ? 'bad signature' : 'malformed record'
      this.init.onRejected(link.id, `${reason}: ${(err as Error).message}`)
      return
    }
    // The sender holds what it sent us.
    noteHolds(link, { [signed.record.origin]: [signed.record.incarnation, signed.record.seq] })
    const outcome = this.registry.apply(signed, Date.now())
    switch (outcome.status) {
      case 'applied':
        this.counters.deltasApplied++
        this.noteProgress(signed.record.origin)
        if ((signed.record.origin === link.id || this.isConnected(signed.record.origin)) && this.registry.setReachable(signed.record.origin, true, Date.now())) {
          this.init.onReachability(signed.record.origin)
        }
        this.init.onChanges(outcome.changes)
        if (signed.record.kind === 'bye') this.init.onReachability(signed.record.origin)
        this.relay(signed, link.id)
        break
      case 'pending':
        // Peers hear of a snapshot once it is whole.
        break
      case 'gap': {
        // We missed something of this origin: ask this peer for it, from where we are (unless already asked).
        const { origin, incarnation, seq } = signed.record
        const from = this.wantFrom(link, origin, [incarnation, seq], Date.now())
        if (from !== SKIP) void this.sendJson(link, { t: 'want', w: { [origin]: from } })
        break
      }
      case 'stale':
        this.counters.recordsRedundant++
        break
    }
  }

  /**
   * Asks `link` for what its digest shows we lack: pull, so that a joiner
   * connected to five peers receives each origin once, not five times. An origin
   * we are connected to is asked itself (on its own hello); otherwise one
   * request per origin at a time, asked again (of the peer that showed the
   * newest version) only if its records stop coming for WANT_TIMEOUT_MS.
   */
  private requestMissing (link: PeerLink, theirs: Digest, isReply: boolean): void {
    const now = Date.now()
    const want: Record<string, [number, number] | null> = {}
    let wanting = false
    for (const [origin, version] of Object.entries(theirs)) {
      if (origin === this.selfId || !this.registry.isBehind(origin, version)) continue
      if (origin !== link.id && this.isConnected(origin)) continue
      const from = this.wantFrom(link, origin, version, now)
      if (from === SKIP) continue
      want[origin] = from
      wanting = true
    }
    if (wanting) void this.sendJson(link, { t: 'want', w: want })
    // They lack something we hold: show our digest so they can ask (once: not in reply to a reply).
    if (isReply) return
    for (const state of this.registry.all()) {
      if (state.origin !== link.id && this.registry.isAhead(state.origin, theirs[state.origin])) {
        void this.sendJson(link, { t: 'digest', d: this.registry.digest(), r: true })
        return
      }
    }
  }

  /**
   * Records that `link` holds `origin` at `version`, and decides whether to ask it now:
   * returns where to ask from (our version, or null for everything), or SKIP while an
   * earlier request for that origin is still delivering.
   */
  private wantFrom (link: PeerLink, origin: string, version: [number, number], now: number): [number, number] | null | typeof SKIP {
    const asked = this.wanted.get(origin)
    if (asked !== undefined && now - asked.at < WANT_TIMEOUT_MS) {
      if (isNewer(version, asked.upTo)) {
        asked.upTo = version
        asked.source = link.id
      }
      return SKIP
    }
    this.wanted.set(origin, { at: now, upTo: version, source: link.id })
    const ours = this.registry.get(origin)
    return ours === undefined ? null : [ours.incarnation, ours.seq]
  }

  /** A record of `origin` was applied: the request for it is alive, or done once we hold what was shown. */
  private noteProgress (origin: string): void {
    const asked = this.wanted.get(origin)
    if (asked === undefined) return
    if (this.registry.isBehind(origin, asked.upTo)) asked.at = Date.now()
    else this.wanted.delete(origin)
  }

  /** Requests whose records stopped coming: ask the peer that showed the newest version again. */
  private retryWants (now: number): void {
    for (const [origin, asked] of [...this.wanted]) {
      if (now - asked.at < WANT_TIMEOUT_MS) continue
      this.wanted.delete(origin)
      const link = this.links.get(asked.source)
      if (link === undefined || !link.joined || !this.registry.isBehind(origin, asked.upTo)) continue
      const from = this.wantFrom(link, origin, asked.upTo, now)
      if (from !== SKIP) void this.sendJson(link, { t: 'want', w: { [origin]: from } })
    }
  }

  /** Sends the records asked for, from where the asker is. */
  private async serveWants (link: PeerLink, wants: Record<string, [number, number] | undefined>): Promise<void> {
    for (const [origin, theirs] of Object.entries(wants)) {
      for (const bytes of this.registry.recordsSince(origin, theirs)) await this.write(link, bytes)
    }
  }

  // ---- periodic work ---------------------------------------------------

  private get livenessCheckMs (): number {
    return Math.min(LIVENESS_CHECK_MS, this.init.heartbeatIntervalMs)
  }

  /**
   * One side of each pair (the lower peer ID) sends a tiny heartbeat every
   * `heartbeatIntervalMs`, carrying its digest hash every `antiEntropyIntervalMs`;
   * the other answers. Both hear each other once per interval, at about half
   * the bytes of two-sided heartbeats. A peer heard from by neither frame for
   * `peerSilenceMs` is hung: hang up.
   */
  private heartbeat (): void {
    const now = Date.now()
    // Time this process did not run (a long GC, a starved CPU, a laptop waking up) is time we
    // could not hear anyone: it must not count as their silence. Frames that arrived meanwhile
    // are still waiting to be read, after this timer.
    const stalled = now - this.lastLivenessCheck - this.livenessCheckMs
    this.lastLivenessCheck = now
    if (stalled > this.livenessCheckMs) {
      for (const link of this.links.values()) link.lastHeard = Math.min(now, link.lastHeard + stalled)
    }
    this.retryWants(now)
    for (const link of [...this.links.values()]) {
      if (now - link.lastHeard > this.init.peerSilenceMs) {
        this.init.log('peer %s silent for %d ms, hanging up', link.id, now - link.lastHeard)
        this.init.hangUp(link.peer, new MeshError('UNREACHABLE', 'peer went silent (no heartbeat)'))
        this.peerDisconnected(link.peer)
        continue
      }
      if (this.selfId > link.id || now - link.lastPing < this.init.heartbeatIntervalMs) continue
      const frame: JsonObject = { t: 'hb' }
      if (link.rttMs !== undefined) frame.r = link.rttMs
      if (now - link.lastSum >= this.init.antiEntropyIntervalMs) {
        frame.h = this.registry.digestHash()
        link.lastSum = now
      }
      link.lastPing = now
      link.pingSentAt = now
      void this.sendJson(link, frame)
    }
  }

  private joinedPeers (): string[] {
    return [...this.links.values()].filter(l => l.joined).map(l => l.id)
  }

  /**
   * Tells every peer whom we are linked to, shortly after that changed (one frame
   * for a burst of joins). A peer linked to an origin gets that origin's records
   * straight from it, so nobody relays them to it: in a full mesh nothing is relayed.
   */
  private scheduleNeighbors (): void {
    if (this.neighborsTimer !== undefined || !this.running) return
    this.neighborsTimer = setTimeout(() => {
      this.neighborsTimer = undefined
      this.broadcastJson({ t: 'links', p: this.joinedPeers() }, undefined)
    }, NEIGHBORS_DELAY_MS)
    this.neighborsTimer.unref?.()
  }

  private expire (): void {
    const changes = this.registry.expire(Date.now(), this.init.unreachableGraceMs, this.selfId)
    if (changes.removed.length > 0) this.init.onChanges(changes)
  }

  /** Marks an origin unreachable (and tells the service) unless it already was. */
  markUnreachable (origin: string): void {
    if (this.registry.setReachable(origin, false, Date.now())) this.init.onReachability(origin)
  }

  // ---- writing ---------------------------------------------------------

  /**
   * Spreads news of a record we applied (lazy push). A goodbye is forwarded as it
   * is; for anything else, peers that are not linked to its origin (the origin
   * pushes to those itself) and not known to hold it are sent a partial digest,
   * batched for a moment, and pull what they lack (from the origin if they are
   * linked to it by then). Forwarding whole records made every node of a
   * freshly formed full mesh send every snapshot to everyone.
   */
  private relay (signed: SignedRecord, from: string): void {
    const { origin } = signed.record
    if (signed.record.kind === 'bye') {
      for (const link of this.links.values()) {
        if (link.id !== from && link.id !== origin && !link.neighbors.has(origin)) void this.write(link, signed.bytes)
      }
      return
    }
    let senders = this.newsQueue.get(origin)
    if (senders === undefined) this.newsQueue.set(origin, senders = new Set())
    senders.add(from)
    if (this.newsTimer !== undefined) return
    this.newsTimer = setTimeout(() => {
      this.newsTimer = undefined
      this.spreadNews()
    }, NEWS_DELAY_MS)
    this.newsTimer.unref?.()
  }

  private spreadNews (): void {
    const queue = this.newsQueue
    this.newsQueue = new Map()
    for (const link of this.links.values()) {
      if (!link.joined) continue
      const news: Digest = {}
      let any = false
      for (const [origin, senders] of queue) {
        const state = this.registry.get(origin)
        if (state === undefined || senders.has(link.id) || link.id === origin || link.neighbors.has(origin)) continue
        if (!this.registry.isAhead(origin, link.holds.get(origin))) continue
        news[origin] = [state.incarnation, state.seq]
        any = true
      }
      // `r: true`: a partial digest is news, not a request for ours.
      if (any) void this.sendJson(link, { t: 'digest', d: news, r: true })
    }
  }

  private broadcast (bytes: Uint8Array, except: string | undefined): void {
    for (const link of this.links.values()) {
      if (link.id !== except) void this.write(link, bytes)
    }
  }

  private broadcastJson (msg: JsonObject, except: string | undefined): void {
    this.broadcast(encodeJson(msg), except)
  }

  private async sendJson (link: PeerLink, msg: JsonObject): Promise<void> {
    await this.write(link, encodeJson(msg))
  }

  /** Queues a frame on the peer's outbound stream; never throws (a broken stream is reopened). */
  private async write (link: PeerLink, bytes: Uint8Array): Promise<void> {
    // Frames queued while the stream opens resume in order once it is open.
    if (link.out === undefined && link.opening !== undefined) await link.opening
    const out = link.out
    if (out === undefined || link.closed) return
    try {
      await out.write(bytes)
    } catch (err) {
      if (link.closed) return
      this.init.log('registry write to %s failed - %e', link.id, err)
      out.stream.abort(err instanceof Error ? err : new Error(String(err)))
      if (link.out === out) delete link.out
      // Reopen; anti-entropy repairs whatever was lost.
      this.ensureOutbound(link)
    }
  }
}

/** Raises what `link` is known to hold to `digest`'s versions (never lowers it); returns `digest`. */
function noteHolds (link: PeerLink, digest: Digest): Digest {
  for (const [origin, version] of Object.entries(digest)) {
    const held = link.holds.get(origin)
    if (held === undefined || isNewer(version, held)) link.holds.set(origin, version)
  }
  return digest
}

function parseWants (w: JsonObject): Record<string, [number, number] | undefined> {
  const out: Record<string, [number, number] | undefined> = {}
  const origins = Object.entries(w)
  if (origins.length > 100_000) throw new MeshError('BAD_REQUEST', 'want too large')
  for (const [origin, value] of origins) {
    if (value === null) {
      out[origin] = undefined
      continue
    }
    if (!Array.isArray(value) || value.length !== 2 || !Number.isSafeInteger(value[0]) || !Number.isSafeInteger(value[1])) {
      throw new MeshError('BAD_REQUEST', 'bad want entry')
    }
    out[origin] = [value[0] as number, value[1] as number]
  }
  return out
}

function isNewer (a: [number, number], b: [number, number]): boolean {
  return a[0] > b[0] || (a[0] === b[0] && a[1] > b[1])
}

function parseNeighbors (p: unknown): Set<string> {
  if (!Array.isArray(p) || p.length > MAX_NEIGHBORS || !p.every(id => typeof id === 'string' && id.length <= 128)) {
    throw new MeshError('BAD_REQUEST', 'bad links frame')
  }
  return new Set(p as string[])
}

function parseDigest (d: JsonObject): Digest {
  const out: Digest = {}
  const origins = Object.entries(d)
  if (origins.length > 100_000) throw new MeshError('BAD_REQUEST', 'digest too large')
  for (const [origin, value] of origins) {
    if (!Array.isArray(value) || value.length !== 2 || !Number.isSafeInteger(value[0]) || !Number.isSafeInteger(value[1])) {
      throw new MeshError('BAD_REQUEST', 'bad digest entry')
    }
    out[origin] = [value[0] as number, value[1] as number]
  }
  return out
}
