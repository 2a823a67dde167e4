/**
 * The clawmesh libp2p service: lifecycle and the public methods. It wires the
 * registry gossip (src/gossip/), the owner directory over it, the delivery
 * server and the router; the work itself happens in those. `createMesh` builds a node with
 * it; people who run their own libp2p node add `clawmesh(init)` to `services`.
 */
import { hostname } from 'node:os'
import { TypedEventEmitter } from 'main-event'
import { DeliverWires } from './compat/deliver-wires.ts'
import { IncompatiblePeers } from './compat/incompatible.ts'
import { DEFAULT_DIAL_TIMEOUT_MS, DEFAULT_MAX_MESSAGE_BYTES, DEFAULT_SEND_TIMEOUT_MS, MAX_STREAMS_PER_PROTOCOL } from './constants.ts'
import { AddressFilter } from './delivery/address-filter.ts'
import { DeliveryClient } from './delivery/client.ts'
import { Connector } from './delivery/connector.ts'
import { DeliveryMetrics } from './delivery/metrics.ts'
import { Router } from './delivery/router.ts'
import { DeliveryServer } from './delivery/server.ts'
import { MeshError } from './errors.ts'
import { registryGossip, type RegistryGossip } from './gossip/index.ts'
import { peerIdFromString } from '@libp2p/peer-id'
import { attachMeshDialer } from './discovery/attach.ts'
import { checkGatewayName, checkSessionKey, defaultGatewayName, MAX_SESSION_KEY_LENGTH } from './routing/address.ts'
import { NameConflicts } from './routing/conflicts.ts'
import { compilePolicy } from './routing/policy.ts'
import { registryDirectory } from './routing/registry-directory.ts'
import { resolveTarget } from './routing/resolve.ts'
import { SOFTWARE_VERSION } from './version.ts'
import { infoFor, peersView, sessionChanges, sessionsView } from './views.ts'
import { pick } from './util/pick.ts'
import type { OwnerDirectory } from './routing/directory.ts'
import type { GatewayMeta } from './registry/records.ts'
import type { RegistryChanges } from './registry/registry.ts'
import type {
  DeliverHandler, GatewayInfo, MeshEvents, MeshServiceInit, MeshStatus, PeerStatus, RejectedPeer, Resolution, ResolveOptions,
  SendOptions, SendResult, SessionAnnouncement, SessionEntry
} from './types.ts'
import type { MeshComponents } from './components.ts'
import type { Connection, Logger, Startable } from '@libp2p/interface'

export type { MeshComponents }

const MAX_REJECTED_KEPT = 50
/** How often idle delivery connections are looked for. */
const IDLE_SWEEP_MS = 10_000

export class ClawmeshService extends TypedEventEmitter<MeshEvents> implements Startable {
  readonly [Symbol.toStringTag] = '@clawmesh/service'
  private readonly components: MeshComponents
  private readonly init: MeshServiceInit
  private readonly log: Logger
  private readonly gossip: RegistryGossip
  private readonly directory: OwnerDirectory
  private readonly conflicts: NameConflicts
  private readonly server: DeliveryServer
  private readonly client: DeliveryClient
  private readonly filter: AddressFilter
  private readonly connector: Connector
  private readonly router: Router
  /** The deliver versions we speak; the registry's are the gossip's (`gossip.wires`). */
  private readonly wires: DeliverWires
  private readonly incompatible: IncompatiblePeers
  private idleTimer?: ReturnType<typeof setInterval>
  private readonly stopController = new AbortController()
  private readonly rejected: RejectedPeer[] = []
  private readonly counters = { sent: 0, received: 0, failed: 0, duplicates: 0 }
  private readonly host = hostname()
  private readonly name: string
  private deliverHandler?: DeliverHandler
  private startedAt = 0
  private running = false

  constructor (components: MeshComponents, init: MeshServiceInit = {}) {
    super()
    this.components = components
    this.init = init
    this.log = components.logger.forComponent('clawmesh:service')
    const selfId = components.peerId.toString()
    this.name = init.name !== undefined ? checkGatewayName(init.name) : defaultGatewayName(this.host, String(init.gatewayPort ?? selfId.slice(-6)))
    const maxMessageBytes = init.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES
    if (init.deliver !== undefined) this.deliverHandler = init.deliver
    this.wires = new DeliverWires(init.protocolVersions, this.name)
    this.incompatible = new IncompatiblePeers({ peerStore: components.peerStore, events: components.events, connections: peer => components.connectionManager.getConnections(peer) })
    this.gossip = registryGossip({
      incarnation: init.incarnation ?? Date.now(),
      gateway: () => this.gatewayMeta(maxMessageBytes),
      softwareVersion: SOFTWARE_VERSION,
      ...pick(init, ['heartbeatIntervalMs', 'peerSilenceMs', 'antiEntropyIntervalMs', 'unreachableGraceMs', 'allow', 'protocolVersions'])
    })(components)
    this.gossip.addEventListener('registry:change', e => { this.emitChanges(e.detail) })
    this.gossip.addEventListener('peer:join', e => {
      this.incompatible.forget(e.detail.id)
      this.safeDispatchEvent('peer:join', { detail: this.infoFor(e.detail.id, e.detail.name) })
    })
    this.gossip.addEventListener('peer:incompatible', e => {
      void this.incompatible.add(e.detail, this.stopController.signal).then(peer => {
        this.log.error('incompatible Gateway %s%s: %s (neither of us sees the other\'s sessions; docs/operations.md, rolling upgrade)', peer.peerId, peer.agentVersion !== undefined ? ` (${peer.agentVersion})` : '', peer.reason)
        this.safeDispatchEvent('peer:incompatible', { detail: peer })
      })
    })
    this.gossip.addEventListener('peer:leave', e => {
      this.client.drop(e.detail.id)
      this.safeDispatchEvent('peer:leave', { detail: this.infoFor(e.detail.id, e.detail.name) })
    })
    this.gossip.addEventListener('gateway:reachability', e => { this.safeDispatchEvent('gateway:reachability', { detail: this.infoFor(e.detail, undefined) }) })
    this.gossip.addEventListener('record:rejected', e => { this.recordRejection({ ...e.detail, at: Date.now() }) })
    this.directory = registryDirectory(this.gossip, selfId)
    this.conflicts = new NameConflicts(this.directory, conflict => {
      this.log.error('another Gateway shares our %s "%s" (%s): it is AMBIGUOUS in the mesh until one of us is renamed', conflict.kind === 'name' ? 'name' : 'host:port', conflict.value, conflict.peerIds.join(', '))
      this.safeDispatchEvent('gateway:conflict', { detail: conflict })
    })
    const metrics = new DeliveryMetrics(components.metrics)
    this.server = new DeliveryServer({
      log: components.logger.forComponent('clawmesh:deliver'),
      maxMessageBytes,
      handler: () => this.deliverHandler,
      exposed: keyOrId => this.localSession(keyOrId),
      authorize: compilePolicy(init.policy, this.directory),
      nameOf: peerId => this.directory.gateway(peerId)?.name,
      onDelivered: duplicate => {
        if (duplicate) this.counters.duplicates++
        else this.counters.received++
        metrics.received(duplicate)
      }
    })
    this.filter = new AddressFilter({ selfHost: this.host, ...(init.announcedAddresses !== undefined ? { policy: init.announcedAddresses } : {}) })
    const connector = new Connector({
      dialer: components.connectionManager,
      directory: this.directory,
      liveness: { failFast: peerId => this.gossip.failFast(peerId), isLinked: peerId => this.gossip.links.has(peerId) },
      filter: this.filter,
      dialTimeoutMs: init.dialTimeoutMs ?? DEFAULT_DIAL_TIMEOUT_MS, slowdown: () => this.gossip.health.multiplier
    })
    this.connector = connector
    // Hearsay is checked by a dial (or a ping) of our own, through the same filter as a send; a slow Gateway waits longer.
    this.gossip.setVerifier(async origin => {
      const owner = this.directory.gateway(origin)
      if (owner === undefined || owner.departed) return
      const outcome = await connector.check(owner, peerIdFromString(origin), (init.dialTimeoutMs ?? DEFAULT_DIAL_TIMEOUT_MS) * Math.min(4, this.gossip.health.multiplier))
      if (outcome === 'alive') this.gossip.reached(peerIdFromString(origin))
    })
    this.client = new DeliveryClient({
      log: components.logger.forComponent('clawmesh:send'),
      openStream: async (peer, protocols, signal) => await connector.openStream(peer, protocols, signal),
      maxReplyBytes: maxMessageBytes,
      wires: this.wires
    })
    this.router = new Router({
      name: this.name,
      directory: this.directory,
      client: this.client,
      connector,
      resolve: (target, options) => this.resolve(target, options),
      handler: () => this.deliverHandler,
      maxMessageBytes,
      defaultTimeoutMs: init.defaultTimeoutMs ?? DEFAULT_SEND_TIMEOUT_MS,
      log: components.logger.forComponent('clawmesh:router'),
      metrics,
      stopSignal: this.stopController.signal,
      onDone: (outcome, ok) => {
        if (ok) this.counters.sent++
        else this.counters.failed++
        this.safeDispatchEvent('send:done', { detail: outcome })
      }
    })
  }

  // ---- lifecycle ---------------------------------------------------------

  async start (): Promise<void> {
    const options = { maxInboundStreams: MAX_STREAMS_PER_PROTOCOL, maxOutboundStreams: MAX_STREAMS_PER_PROTOCOL, runOnLimitedConnection: true } // capped relayed circuits are "limited"
    attachMeshDialer(this.components, this.gossip)
    await this.gossip.start()
    for (const protocol of this.wires.protocols) {
      await this.components.registrar.handle(protocol, async (stream, connection) => { await this.server.handle(stream, connection, this.wires.codecFor(stream.protocol)) }, options)
    }
    this.components.events.addEventListener('connection:open', this.onConnectionOpen)
    this.components.events.addEventListener('self:peer:update', this.onSelfUpdate)
    this.components.events.addEventListener('transport:listening', this.onSelfUpdate)
  }

  /** Addresses are known only once transports listen: publish our first snapshot then. */
  async afterStart (): Promise<void> {
    this.startedAt = Date.now()
    this.running = true
    await this.gossip.afterStart()
    this.idleTimer = setInterval(() => {
      for (const peerId of this.connector.closeIdle()) this.client.drop(peerId)
    }, IDLE_SWEEP_MS)
    this.idleTimer.unref()
    this.onSelfUpdate()
    for (const connection of this.components.connectionManager.getConnections()) this.filter.noteConnection(connection.remotePeer.toString(), connection.remoteAddr)
  }

  async beforeStop (): Promise<void> {
    // Say goodbye while the connections are still open.
    this.running = false
    clearInterval(this.idleTimer)
    this.stopController.abort(new MeshError('STOPPED', 'the mesh is stopping'))
    this.server.stop()
    this.client.stop()
    await this.gossip.beforeStop()
  }

  async stop (): Promise<void> {
    this.components.events.removeEventListener('connection:open', this.onConnectionOpen)
    this.components.events.removeEventListener('self:peer:update', this.onSelfUpdate)
    this.components.events.removeEventListener('transport:listening', this.onSelfUpdate)
    await this.gossip.stop()
    for (const protocol of this.wires.protocols) await this.components.registrar.unhandle(protocol)
  }

  /** Where members are actually reached: what the address filter lets us dial later. */
  private readonly onConnectionOpen = (evt: CustomEvent<Connection>): void => { this.filter.noteConnection(evt.detail.remotePeer.toString(), evt.detail.remoteAddr) }
  /** Peers that learn of us by relay dial the addresses we announce: keep them current. */
  private readonly onSelfUpdate = (): void => {
    const published = this.gossip.registry.get(this.components.peerId.toString())?.gateway.addrs ?? []
    if (this.running && published.join() !== this.currentAddrs().join()) {
      this.gossip.republish().catch(err => { this.log.error('could not republish our addresses - %e', err) })
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
    this.gossip.stage({
      sessionKey,
      ...(details.sessionId !== undefined ? { sessionId: details.sessionId } : {}),
      ...(details.label !== undefined ? { label: details.label } : {}),
      ...(details.agentId !== undefined ? { agentId: details.agentId } : {})
    })
    await this.gossip.flushed()
  }

  /** This Gateway no longer owns `sessionKey`. */
  async withdraw (sessionKey: string): Promise<void> {
    checkSessionKey(sessionKey)
    this.gossip.stage({ sessionKey, removed: true })
    await this.gossip.flushed()
  }

  /** Sets (or replaces) the handler for inbound messages. */
  setDeliverHandler (handler: DeliverHandler | undefined): void {
    this.deliverHandler = handler
  }

  // ---- addressing and sending ----------------------------------------------

  resolve (target: string, options: ResolveOptions = {}): Resolution {
    return resolveTarget(target, { directory: this.directory, selfHost: this.host, localFirst: options.localFirst ?? this.init.localFirst ?? true }, options.targetGateway)
  }

  async send (target: string, message: string, options: SendOptions = {}): Promise<SendResult> {
    if (!this.running) throw new MeshError('STOPPED', 'the mesh is not running')
    return await this.router.send(target, message, options)
  }

  // ---- views -----------------------------------------------------------------

  /** Every session in the mesh, ours included. */
  sessions (): SessionEntry[] {
    return sessionsView(this.directory)
  }

  /** Connected mesh peers. */
  peers (): PeerStatus[] {
    return peersView(this.gossip, this.components.connectionManager.getConnections(), (id, name) => this.infoFor(id, name))
  }

  status (): MeshStatus {
    const self = this.gossip.registry.get(this.directory.selfId)
    return {
      self: this.infoFor(this.directory.selfId, this.name),
      addresses: this.components.addressManager.getAddresses().map(a => a.toString()),
      peers: this.gossip.connectedPeers().length,
      sessions: this.gossip.registry.size,
      localSessions: self?.entries.size ?? 0,
      gateways: this.gossip.registry.originCount,
      incarnation: this.gossip.incarnation,
      startedAt: this.startedAt,
      rejected: [...this.rejected],
      versions: { software: SOFTWARE_VERSION, protocols: [...this.wires.versions] },
      incompatible: this.incompatible.list(),
      conflicts: this.conflicts.list(),
      counters: { ...this.counters, deltasApplied: this.gossip.counters.recordsApplied, deltasRejected: this.gossip.counters.recordsRejected, recordsRedundant: this.gossip.counters.recordsRedundant, pullRequests: this.gossip.counters.pullRequests }
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
    return infoFor(this.directory, peerId, name, this.gossip.isConnected(peerId))
  }

  /** Our own session a key or session ID names: others announcing the same UUID never hide ours. */
  private localSession (keyOrId: string): { sessionKey: string, sessionId?: string } | undefined {
    const self = this.directory.selfId
    const byId = this.directory.ownersOfSessionId(keyOrId).find(o => o.origin === self)
    const entry = this.directory.session(self, byId?.sessionKey ?? keyOrId)
    return entry === undefined ? undefined : { sessionKey: entry.sessionKey, ...(entry.sessionId !== undefined ? { sessionId: entry.sessionId } : {}) }
  }

  private currentAddrs (): string[] {
    return this.components.addressManager.getAddresses().map(a => a.toString()).slice(0, 16)
  }

  private gatewayMeta (maxMessageBytes: number): GatewayMeta {
    return {
      name: this.name,
      host: this.host,
      ...(this.init.gatewayPort !== undefined ? { gatewayPort: this.init.gatewayPort } : {}),
      addrs: this.currentAddrs(),
      maxMessageBytes
    }
  }

  private emitChanges (changes: RegistryChanges): void {
    if (!this.running) return
    this.conflicts.check()
    // Nobody listening (the usual case for a Gateway): a snapshot of thousands of entries costs no events.
    const wanted = {
      added: this.listenerCount('session:add') > 0 ? changes.added : [],
      removed: this.listenerCount('session:remove') > 0 ? changes.removed : []
    }
    if (wanted.added.length === 0 && wanted.removed.length === 0) return
    const { added, removed } = sessionChanges(this.directory, wanted, peerId => this.gossip.isConnected(peerId))
    for (const detail of removed) this.safeDispatchEvent('session:remove', { detail })
    for (const detail of added) this.safeDispatchEvent('session:add', { detail })
  }
}

/** The clawmesh service factory, for a libp2p node's `services`. */
export function clawmesh (init: MeshServiceInit = {}): (components: MeshComponents) => ClawmeshService {
  return (components) => new ClawmeshService(components, init)
}
