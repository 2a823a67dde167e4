/**
 * The clawmesh libp2p service: registry gossip + delivery + addressing on a
 * libp2p node. `createMesh` builds a node with it; people who run their own
 * libp2p node add `clawmesh(init)` to its `services`.
 */
import { randomUUID } from 'node:crypto'
import { hostname } from 'node:os'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { TypedEventEmitter } from 'main-event'
import {
  DEFAULT_ANTI_ENTROPY_INTERVAL_MS, DEFAULT_DIAL_TIMEOUT_MS, DEFAULT_HEARTBEAT_INTERVAL_MS, DEFAULT_MAX_MESSAGE_BYTES,
  DEFAULT_PEER_SILENCE_MS, DEFAULT_SEND_TIMEOUT_MS, DEFAULT_UNREACHABLE_GRACE_MS, DELIVER_PROTOCOL, MAX_STREAMS_PER_PROTOCOL,
  REGISTRY_PROTOCOL, WIRE_VERSION
} from './constants.ts'
import { ChannelLost, DeliveryClient } from './delivery/client.ts'
import { DeliveryServer } from './delivery/server.ts'
import { MeshError } from './errors.ts'
import { RegistrySync } from './registry/sync.ts'
import { checkGatewayName, checkSessionKey, defaultGatewayName, formatQualifiedKey, MAX_SESSION_KEY_LENGTH } from './routing/address.ts'
import { NameConflicts } from './routing/conflicts.ts'
import type { OwnerDirectory } from './routing/directory.ts'
import { compilePolicy } from './routing/policy.ts'
import { registryDirectory } from './routing/registry-directory.ts'
import { gatewayInfo, nameCounts, qualifiedKeyFor, resolveTarget, type ResolveContext } from './routing/resolve.ts'
import { deadline, raceSignal } from './util/deadline.ts'
import type { GatewayMeta } from './registry/records.ts'
import type { OriginState, RegistryChanges } from './registry/registry.ts'
import type {
  DeliverHandler, GatewayInfo, MeshEvents, MeshServiceInit, MeshStatus, PeerStatus, RejectedPeer, Resolution, ResolveOptions,
  SendOptions, SendOutcome, SendResult, SessionAnnouncement, SessionEntry
} from './types.ts'
import type { ComponentLogger, Libp2pEvents, Logger, PeerId, PeerStore, PrivateKey, Startable, Stream } from '@libp2p/interface'
import type { AddressManager, ConnectionManager, Registrar } from '@libp2p/interface-internal'
import type { TypedEventTarget } from 'main-event'

/** The libp2p components the service uses. */
export interface MeshComponents {
  peerId: PeerId
  privateKey: PrivateKey
  registrar: Registrar
  connectionManager: ConnectionManager
  addressManager: AddressManager
  peerStore: PeerStore
  events: TypedEventTarget<Libp2pEvents>
  logger: ComponentLogger
}

const MAX_REJECTED_KEPT = 50

/** How a send ended, before the resolution's details are added. */
type Delivered = Pick<SendResult, 'status' | 'reply'>

export class MeshService extends TypedEventEmitter<MeshEvents> implements Startable {
  readonly [Symbol.toStringTag] = '@clawmesh/service'
  private readonly components: MeshComponents
  private readonly init: MeshServiceInit
  private readonly log: Logger
  private readonly sync: RegistrySync
  private readonly directory: OwnerDirectory
  private readonly conflicts: NameConflicts
  private readonly server: DeliveryServer
  private readonly client: DeliveryClient
  private readonly stopController = new AbortController()
  private readonly rejected: RejectedPeer[] = []
  private readonly counters = { sent: 0, received: 0, failed: 0, duplicates: 0 }
  private readonly host = hostname()
  private readonly name: string
  private readonly maxMessageBytes: number
  private deliverHandler?: DeliverHandler
  private startedAt = 0
  private running = false

  constructor (components: MeshComponents, init: MeshServiceInit = {}) {
    super()
    this.components = components
    this.init = init
    this.log = components.logger.forComponent('clawmesh:service')
    this.name = init.name !== undefined ? checkGatewayName(init.name) : defaultGatewayName(this.host, String(init.gatewayPort ?? components.peerId.toString().slice(-6)))
    this.maxMessageBytes = init.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES
    if (init.deliver !== undefined) this.deliverHandler = init.deliver
    const openStream = async (peer: PeerId, protocol: string, signal: AbortSignal): Promise<Stream> =>
      await components.connectionManager.openStream(peer, protocol, { signal, maxOutboundStreams: MAX_STREAMS_PER_PROTOCOL })
    this.sync = new RegistrySync({
      self: components.peerId,
      privateKey: components.privateKey,
      incarnation: init.incarnation ?? Date.now(),
      gateway: () => this.gatewayMeta(),
      log: components.logger.forComponent('clawmesh:registry'),
      heartbeatIntervalMs: init.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS,
      peerSilenceMs: init.peerSilenceMs ?? DEFAULT_PEER_SILENCE_MS,
      antiEntropyIntervalMs: init.antiEntropyIntervalMs ?? DEFAULT_ANTI_ENTROPY_INTERVAL_MS,
      unreachableGraceMs: init.unreachableGraceMs ?? DEFAULT_UNREACHABLE_GRACE_MS,
      openStream,
      hangUp: (peer, reason) => {
        for (const connection of components.connectionManager.getConnections(peer)) connection.abort(reason)
      },
      onChanges: changes => { this.emitChanges(changes) },
      onPeerJoin: (peerId, name) => { this.safeDispatchEvent('peer:join', { detail: this.infoFor(peerId, name) }) },
      onPeerLeave: peerId => {
        this.client.drop(peerId)
        this.safeDispatchEvent('peer:leave', { detail: this.infoFor(peerId, undefined) })
      },
      onReachability: origin => { this.safeDispatchEvent('gateway:reachability', { detail: this.infoFor(origin, undefined) }) },
      onRejected: (peerId, reason) => { this.recordRejection({ peerId, reason, at: Date.now() }) }
    })
    this.directory = registryDirectory(this.sync, components.peerId.toString())
    this.conflicts = new NameConflicts(this.directory, conflict => {
      this.log.error('another Gateway shares our %s "%s" (%s): it is AMBIGUOUS in the mesh until one of us is renamed', conflict.kind === 'name' ? 'name' : 'host:port', conflict.value, conflict.peerIds.join(', '))
      this.safeDispatchEvent('gateway:conflict', { detail: conflict })
    })
    this.server = new DeliveryServer({
      log: components.logger.forComponent('clawmesh:deliver'),
      maxMessageBytes: this.maxMessageBytes,
      handler: () => this.deliverHandler,
      exposed: key => {
        const self = this.directory.selfId
        const entry = this.directory.session(self, key) ?? this.localBySessionId(key)
        return entry === undefined ? undefined : { sessionKey: entry.sessionKey, ...(entry.sessionId !== undefined ? { sessionId: entry.sessionId } : {}) }
      },
      authorize: compilePolicy(init.policy, this.directory),
      nameOf: peerId => this.directory.gateway(peerId)?.name,
      onDelivered: duplicate => {
        if (duplicate) this.counters.duplicates++
        else this.counters.received++
      }
    })
    this.client = new DeliveryClient({
      log: components.logger.forComponent('clawmesh:send'),
      openStream,
      // The largest frame an owner may answer with: a reply as large as our own limit.
      maxFrameBytes: this.maxMessageBytes * 2 + 64 * 1024
    })
  }

  // ---- lifecycle ---------------------------------------------------------

  async start (): Promise<void> {
    const options = { maxInboundStreams: MAX_STREAMS_PER_PROTOCOL, maxOutboundStreams: MAX_STREAMS_PER_PROTOCOL }
    await this.components.registrar.handle(REGISTRY_PROTOCOL, async (stream, connection) => { await this.sync.handleInbound(stream, connection) }, options)
    await this.components.registrar.handle(DELIVER_PROTOCOL, async (stream, connection) => { await this.server.handle(stream, connection) }, options)
    this.components.events.addEventListener('peer:connect', this.onPeerConnect)
    this.components.events.addEventListener('peer:disconnect', this.onPeerDisconnect)
    this.components.events.addEventListener('self:peer:update', this.onSelfUpdate)
    this.components.events.addEventListener('transport:listening', this.onSelfUpdate)
  }

  /** Addresses are known only once transports listen: publish our first snapshot then. */
  async afterStart (): Promise<void> {
    this.startedAt = Date.now()
    this.running = true
    await this.sync.start()
    this.onSelfUpdate()
    for (const connection of this.components.connectionManager.getConnections()) this.sync.peerConnected(connection.remotePeer)
  }

  async beforeStop (): Promise<void> {
    // Say goodbye while the connections are still open.
    this.running = false
    this.stopController.abort(new MeshError('STOPPED', 'the mesh is stopping'))
    this.server.stop()
    this.client.stop()
    await this.sync.stop()
  }

  async stop (): Promise<void> {
    this.components.events.removeEventListener('peer:connect', this.onPeerConnect)
    this.components.events.removeEventListener('peer:disconnect', this.onPeerDisconnect)
    this.components.events.removeEventListener('self:peer:update', this.onSelfUpdate)
    this.components.events.removeEventListener('transport:listening', this.onSelfUpdate)
    await this.components.registrar.unhandle(REGISTRY_PROTOCOL)
    await this.components.registrar.unhandle(DELIVER_PROTOCOL)
  }

  private readonly onPeerConnect = (evt: CustomEvent<PeerId>): void => { this.sync.peerConnected(evt.detail) }
  private readonly onPeerDisconnect = (evt: CustomEvent<PeerId>): void => { this.sync.peerDisconnected(evt.detail) }
  /** Peers that learn of us by relay dial the addresses we announce: keep them current. */
  private readonly onSelfUpdate = (): void => {
    const published = this.sync.registry.get(this.components.peerId.toString())?.gateway.addrs ?? []
    if (this.running && published.join() !== this.gatewayMeta().addrs.join()) {
      this.sync.republish().catch(err => { this.log.error('could not republish our addresses - %e', err) })
    }
  }

  // ---- ownership -----------------------------------------------------------

  /** Announces that this Gateway owns `sessionKey`. Resolves once the change is signed and pushed to connected peers. */
  async announce (sessionKey: string, details: SessionAnnouncement = {}): Promise<void> {
    checkSessionKey(sessionKey)
    for (const field of ['sessionId', 'label', 'agentId'] as const) {
      const value = details[field]
      if (value !== undefined && (typeof value !== 'string' || value.length === 0 || value.length > MAX_SESSION_KEY_LENGTH)) {
        throw new MeshError('BAD_REQUEST', `${field} must be a non-empty string of at most ${MAX_SESSION_KEY_LENGTH} characters`)
      }
    }
    this.sync.stage({
      sessionKey,
      ...(details.sessionId !== undefined ? { sessionId: details.sessionId } : {}),
      ...(details.label !== undefined ? { label: details.label } : {}),
      ...(details.agentId !== undefined ? { agentId: details.agentId } : {})
    })
    await this.sync.flushed()
  }

  /** This Gateway no longer owns `sessionKey`. */
  async withdraw (sessionKey: string): Promise<void> {
    checkSessionKey(sessionKey)
    this.sync.stage({ sessionKey, removed: true })
    await this.sync.flushed()
  }

  /** Sets (or replaces) the handler for inbound messages. */
  setDeliverHandler (handler: DeliverHandler | undefined): void {
    this.deliverHandler = handler
  }

  // ---- addressing ----------------------------------------------------------

  resolve (target: string, options: ResolveOptions = {}): Resolution {
    const ctx: ResolveContext = {
      directory: this.directory,
      selfHost: this.host,
      localFirst: options.localFirst ?? this.init.localFirst ?? true
    }
    return resolveTarget(target, ctx, options.targetGateway)
  }

  // ---- sending ---------------------------------------------------------------

  async send (target: string, message: string, options: SendOptions = {}): Promise<SendResult> {
    if (typeof message !== 'string') throw new MeshError('BAD_REQUEST', 'message must be a string')
    const size = Buffer.byteLength(message)
    if (size > this.maxMessageBytes) {
      throw new MeshError('TOO_LARGE', `message is ${size} bytes; this Gateway sends at most ${this.maxMessageBytes}`, { hint: { kind: 'raise-limit', option: 'maxMessageBytes', limit: this.maxMessageBytes } })
    }
    if (!this.running) throw new MeshError('STOPPED', 'the mesh is not running')
    const timeoutMs = options.timeoutMs ?? this.init.defaultTimeoutMs ?? DEFAULT_SEND_TIMEOUT_MS
    if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new MeshError('BAD_REQUEST', 'timeoutMs must be a positive number')
    const waitForReply = options.waitForReply ?? true
    const messageId = options.messageId ?? randomUUID()
    const dl = deadline(timeoutMs, `send to ${target}`, options.signal, this.stopController.signal)
    const started = performance.now()
    let owner: string | undefined
    try {
      const to = this.resolve(target, {
        ...(options.targetGateway !== undefined ? { targetGateway: options.targetGateway } : {}),
        ...(options.localFirst !== undefined ? { localFirst: options.localFirst } : {})
      })
      owner = to.owner.name
      const delivered = to.owner.self
        ? await this.sendLocal(to, message, messageId, waitForReply, options, dl)
        : await this.sendRemote(to, message, messageId, waitForReply, options, dl)
      this.counters.sent++
      this.sendDone(target, delivered.status, started, owner)
      return {
        ...delivered,
        owner: to.owner,
        sessionKey: to.sessionKey,
        ...(to.sessionId !== undefined ? { sessionId: to.sessionId } : {}),
        qualifiedKey: to.qualifiedKey,
        messageId
      }
    } catch (err) {
      this.counters.failed++
      this.sendDone(target, err instanceof MeshError ? err.code : 'REMOTE_ERROR', started, owner)
      throw err
    } finally {
      dl.clear()
    }
  }

  private sendDone (target: string, outcome: SendOutcome['outcome'], started: number, owner: string | undefined): void {
    this.safeDispatchEvent('send:done', { detail: { target, outcome, durationMs: performance.now() - started, ...(owner !== undefined ? { owner } : {}) } })
  }

  private async sendLocal (to: Resolution, text: string, id: string, waitForReply: boolean, options: SendOptions, dl: ReturnType<typeof deadline>): Promise<Delivered> {
    const handler = this.deliverHandler
    if (handler === undefined) throw new MeshError('NOT_FOUND', 'this Gateway has no deliver handler')
    const delivered = handler({
      id,
      from: { gateway: this.name, peerId: this.components.peerId.toString(), ...(options.fromSessionKey !== undefined ? { sessionKey: options.fromSessionKey } : {}) },
      sessionKey: to.sessionKey,
      ...(to.sessionId !== undefined ? { sessionId: to.sessionId } : {}),
      text,
      ...(options.meta !== undefined ? { meta: options.meta } : {}),
      waitForReply,
      deadline: dl.at
    }, { signal: dl.signal })
    if (!waitForReply) {
      delivered.catch(err => { this.log('local delivery of %s failed - %e', id, err) })
      return { status: 'accepted' }
    }
    const result = await raceSignal(delivered, dl.signal, `send to ${to.qualifiedKey}`)
    return result?.reply !== undefined ? { status: 'ok', reply: result.reply } : { status: 'ok' }
  }

  private async sendRemote (to: Resolution, text: string, id: string, waitForReply: boolean, options: SendOptions, dl: ReturnType<typeof deadline>): Promise<Delivered> {
    const owner = this.sync.registry.get(to.owner.peerId) as OriginState
    const size = Buffer.byteLength(text)
    if (size > owner.gateway.maxMessageBytes) {
      throw new MeshError('TOO_LARGE', `message is ${size} bytes; Gateway ${owner.gateway.name} accepts at most ${owner.gateway.maxMessageBytes}`, { gateway: owner.gateway.name, hint: { kind: 'raise-limit', option: 'maxMessageBytes', limit: owner.gateway.maxMessageBytes, gateway: owner.gateway.name } })
    }
    if (!to.owner.reachable) throw this.unreachable(owner)
    const peer = peerIdFromStringCached(owner.origin)
    for (let attempt = 0; ; attempt++) {
      try {
        await this.ensureConnected(owner, peer, dl.signal)
        const answer = await this.client.request(peer, {
          t: 'req',
          v: WIRE_VERSION,
          id,
          from: { gw: this.name, ...(options.fromSessionKey !== undefined ? { s: options.fromSessionKey } : {}) },
          to: { k: to.sessionKey },
          text,
          ...(options.meta !== undefined ? { meta: options.meta } : {}),
          wait: waitForReply,
          ttl: dl.remaining()
        }, dl.signal)
        if ('accepted' in answer) return { status: 'accepted' }
        return answer.reply !== undefined ? { status: 'ok', reply: answer.reply } : { status: 'ok' }
      } catch (err) {
        if (dl.signal.aborted) throw dl.signal.reason instanceof MeshError ? dl.signal.reason : new MeshError('ABORTED', 'send was aborted')
        if (err instanceof MeshError) {
          if (err.remote) throw new MeshError(err.code, err.summary, { remote: true, gateway: owner.gateway.name, cause: err, ...(err.hint !== undefined ? { hint: err.hint } : {}) })
          throw err
        }
        if (!(err instanceof ChannelLost) || owner.departed) throw this.unreachable(owner, err)
        // The stream broke before the final answer: send again with the same ID (never delivered twice).
        this.log('send %s to %s lost its stream (attempt %d), retrying', id, owner.gateway.name, attempt + 1)
        await sleep(Math.min(25 * 2 ** attempt, 500), dl.signal).catch(() => {})
      }
    }
  }

  /** Dials the owner when we have no connection yet, using the addresses it announced. */
  private async ensureConnected (owner: OriginState, peer: PeerId, signal: AbortSignal): Promise<void> {
    if (this.components.connectionManager.getConnections(peer).length > 0) return
    try {
      await this.components.peerStore.merge(peer, { multiaddrs: owner.gateway.addrs.map(a => multiaddr(a)) })
      const dialSignal = AbortSignal.any([signal, AbortSignal.timeout(this.init.dialTimeoutMs ?? DEFAULT_DIAL_TIMEOUT_MS)])
      await this.components.connectionManager.openConnection(peer, { signal: dialSignal })
    } catch (err) {
      if (signal.aborted) throw err
      this.sync.markUnreachable(owner.origin)
      throw this.unreachable(owner, err)
    }
  }

  private unreachable (owner: OriginState, cause?: unknown): MeshError {
    const since = owner.unreachableSince !== undefined ? ` since ${new Date(owner.unreachableSince).toISOString()}` : ''
    const why = owner.departed ? ' (it stopped)' : ''
    return new MeshError('UNREACHABLE', `Gateway ${owner.gateway.name} (${owner.origin}) is unreachable${since}${why}; its sessions cannot receive messages until it is back`, { gateway: owner.gateway.name, cause, hint: { kind: 'check-gateway', gateway: owner.gateway.name } })
  }

  // ---- views -----------------------------------------------------------------

  /** Every session in the mesh, ours included. */
  sessions (): SessionEntry[] {
    const counts = nameCounts(this.directory)
    const out: SessionEntry[] = []
    for (const gateway of this.directory.gateways()) {
      const owner = gatewayInfo(gateway, this.directory.selfId)
      for (const entry of this.directory.sessions(gateway.peerId)) out.push({ ...entry, owner, qualifiedKey: qualifiedKeyFor(gateway, entry.sessionKey, counts) })
    }
    return out
  }

  /** Connected mesh peers. */
  peers (): PeerStatus[] {
    return this.sync.connectedPeers().map(link => {
      const state = this.sync.registry.get(link.id)
      const addresses = this.components.connectionManager.getConnections().filter(c => c.remotePeer.toString() === link.id).map(c => c.remoteAddr.toString())
      return {
        ...this.infoFor(link.id, link.name),
        addresses,
        sessions: state?.entries.size ?? 0,
        ...(link.rttMs !== undefined ? { rttMs: link.rttMs } : {})
      }
    })
  }

  status (): MeshStatus {
    const self = this.sync.registry.get(this.components.peerId.toString())
    return {
      self: this.infoFor(this.components.peerId.toString(), this.name),
      addresses: this.components.addressManager.getAddresses().map(a => a.toString()),
      peers: this.sync.connectedPeers().length,
      sessions: this.sync.registry.size,
      localSessions: self?.entries.size ?? 0,
      gateways: this.sync.registry.originCount,
      incarnation: this.sync.local.incarnation,
      startedAt: this.startedAt,
      rejected: [...this.rejected],
      conflicts: this.conflicts.list(),
      counters: { ...this.counters, ...this.sync.counters }
    }
  }

  /** Records a refused peer or record (also used by discovery and the connection gater). */
  recordRejection (rejection: RejectedPeer): void {
    this.log.error('rejected %s: %s', rejection.peerId ?? rejection.address ?? 'a peer', rejection.reason)
    this.rejected.push(rejection)
    if (this.rejected.length > MAX_REJECTED_KEPT) this.rejected.shift()
    this.safeDispatchEvent('peer:rejected', { detail: rejection })
  }

  private infoFor (peerId: string, name: string | undefined): GatewayInfo {
    const gateway = this.directory.gateway(peerId)
    if (gateway !== undefined) return gatewayInfo(gateway, this.directory.selfId)
    return { name: name ?? peerId, peerId, host: '', self: peerId === this.components.peerId.toString(), reachable: this.sync.isConnected(peerId) }
  }

  /** Our own session with this ID: others announcing the same UUID never hide ours. */
  private localBySessionId (sessionId: string): { sessionKey: string, sessionId?: string } | undefined {
    const self = this.directory.selfId
    const at = this.directory.ownersOfSessionId(sessionId).find(o => o.origin === self)
    return at === undefined ? undefined : this.directory.session(self, at.sessionKey)
  }

  private gatewayMeta (): GatewayMeta {
    return {
      name: this.name,
      host: this.host,
      ...(this.init.gatewayPort !== undefined ? { gatewayPort: this.init.gatewayPort } : {}),
      addrs: this.components.addressManager.getAddresses().map(a => a.toString()).slice(0, 16),
      maxMessageBytes: this.maxMessageBytes
    }
  }

  private emitChanges (changes: RegistryChanges): void {
    if (!this.running) return
    this.conflicts.check()
    // Nobody listening (the usual case for a Gateway): a snapshot of thousands of entries costs no events.
    const removed = this.listenerCount('session:remove') > 0 ? changes.removed : []
    const added = this.listenerCount('session:add') > 0 ? changes.added : []
    if (removed.length === 0 && added.length === 0) return
    // A snapshot changes thousands of entries of one origin: describe each owner once.
    const counts = nameCounts(this.directory)
    const owners = new Map<string, { info: GatewayInfo, qualify: (key: string) => string }>()
    const ownerOf = (origin: string): { info: GatewayInfo, qualify: (key: string) => string } => {
      let owner = owners.get(origin)
      if (owner === undefined) {
        const gateway = this.directory.gateway(origin)
        owner = gateway !== undefined
          ? { info: gatewayInfo(gateway, this.directory.selfId), qualify: key => qualifiedKeyFor(gateway, key, counts) }
          : { info: this.infoFor(origin, undefined), qualify: key => formatQualifiedKey(origin, key) }
        owners.set(origin, owner)
      }
      return owner
    }
    for (const { origin, entry } of removed) {
      const owner = ownerOf(origin)
      this.safeDispatchEvent('session:remove', { detail: { ...entry, owner: owner.info, qualifiedKey: owner.qualify(entry.sessionKey) } })
    }
    for (const { origin, entry } of added) {
      const owner = ownerOf(origin)
      this.safeDispatchEvent('session:add', { detail: { ...entry, owner: owner.info, qualifiedKey: owner.qualify(entry.sessionKey) } })
    }
  }
}

async function sleep (ms: number, signal: AbortSignal): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, ms)
    signal.addEventListener('abort', () => { clearTimeout(timer); reject(signal.reason) }, { once: true })
  })
}

/** The clawmesh service factory, for a libp2p node's `services`. */
export function clawmesh (init: MeshServiceInit = {}): (components: MeshComponents) => MeshService {
  return (components) => new MeshService(components, init)
}

/** Parsed peer IDs by string: parsing (base58 + multihash) is not free on the send path. */
const peerIds = new Map<string, PeerId>()
function peerIdFromStringCached (id: string): PeerId {
  let peer = peerIds.get(id)
  if (peer === undefined) {
    peer = peerIdFromString(id)
    if (peerIds.size > 10_000) peerIds.clear()
    peerIds.set(id, peer)
  }
  return peer
}
