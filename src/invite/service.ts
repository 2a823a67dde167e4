/**
 * Invites, on the inviting Gateway (and on the relay members it names).
 *
 * `create()` makes a one-off private-network key and a one-time token,
 * admits the key in the protector's keyring under the label `invite:<id>`
 * and asks each relay member we hold a slot on to admit it too (for the hop
 * to us only), so a newcomer that can reach us only through a relay gets
 * through. A connection admitted under an invite key may speak the join
 * protocol and nothing else (stream middleware closes anything else), and is
 * closed soon after. The join hands over the mesh secret once per invite:
 * redeeming spends it, drops its key here and at the relays.
 */
import { peerIdFromString } from '@libp2p/peer-id'
import { serviceCapabilities } from '@libp2p/interface'
import { MeshError } from '../errors.ts'
import { InviteBook } from './book.ts'
import { encodeInvite, inviteSecrets, MAX_INVITE_ADDRS } from './code.ts'
import { exchange, hopRequest, INVITE_HOP_PROTOCOL, JOIN_PROTOCOL, parseHopRequest, parseJoinRequest, serveOne } from './protocol.ts'
import { inviteAddresses } from './addresses.ts'
import { openMemberStream } from '../nat/links.ts'
import type { ComponentLogger, Connection, ConnectionGater, Libp2pEvents, Logger, PeerId, Startable, Stream, StreamHandler, TypedEventTarget } from '@libp2p/interface'
import type { AddressManager, ConnectionManager, Registrar, TransportManager } from '@libp2p/interface-internal'
import type { MeshSecret } from '../security/secret.ts'
import type { CreateInviteOptions, InviteInfo } from './types.ts'

/** How long an invite is valid unless asked otherwise. */
export const DEFAULT_INVITE_TTL_MS = 60 * 60_000
/** The longest validity an invite may be given. */
export const MAX_INVITE_TTL_MS = 7 * 24 * 60 * 60_000
/** A connection admitted under an invite key is closed this long after it opened, joined or not. */
const INVITEE_CONNECTION_MS = 60_000
/** Keys a relay member holds for one inviter at once. */
const MAX_HOP_KEYS_PER_INVITER = 16
/** Bound on telling a relay member about a key. */
const HOP_TIMEOUT_MS = 5_000
const EXPIRE_CHECK_MS = 15_000

/** The protector's keyring, as far as invites need it. */
export interface InviteKeyring {
  /** Accept connections under `psk` as well as the mesh secret, labelled `label`, until `expiresAt` (epoch ms). */
  admit: (label: string, psk: Uint8Array, expiresAt: number) => void
  /** Stop accepting `label`'s key (connections already admitted stay until closed). */
  drop: (label: string) => void
  /** The label of the key `connection` was admitted under; undefined for the mesh secret. */
  labelOf: (connection: Connection) => string | undefined
}

export interface InviteServiceInit {
  secret: Pick<MeshSecret, 'psk' | 'meshId'>
  keyring: InviteKeyring
}

export interface InviteServiceComponents {
  peerId: PeerId
  registrar: Registrar
  connectionManager: ConnectionManager
  addressManager: AddressManager
  transportManager: TransportManager
  events: TypedEventTarget<Libp2pEvents>
  logger: ComponentLogger
}

export interface CreatedInvite {
  code: string
  invite: InviteInfo
  addresses: string[]
}

/** Keyring labels: our own invites, and other members' invites admitted for the hop to them. */
const inviteLabel = (id: string): string => `invite:${id}`
const hopPrefix = (inviter: string): string => `invite-hop:${inviter}:`
const hopLabel = (inviter: string, id: string): string => `${hopPrefix(inviter)}${id}`

export class MeshInvites implements Startable {
  readonly [Symbol.toStringTag] = 'clawmesh:invites'
  readonly [serviceCapabilities]: string[] = []
  private readonly components: InviteServiceComponents
  private readonly init: InviteServiceInit
  private readonly log: Logger
  private readonly book = new InviteBook()
  /** Relay members told about each open invite. */
  private readonly toldRelays = new Map<string, PeerId[]>()
  /** Keys we hold for other inviters (as a relay member), by inviter. */
  private readonly hopKeys = new Map<string, Map<string, number>>()
  private timer?: ReturnType<typeof setInterval>
  private readonly controller = new AbortController()

  constructor (components: InviteServiceComponents, init: InviteServiceInit) {
    this.components = components
    this.init = init
    this.log = components.logger.forComponent('clawmesh:invites')
  }

  // Identify runs on member connections only (src/deferred-identify.ts). On one admitted under an invite
  // key it would tell us the protocols the code holder claims, and every service with a topology would act
  // on them: reserve a relay slot on it (then hand it the keys of our next invites as our "relay"), ask it for AutoNAT.

  async start (): Promise<void> {
    const options = { maxInboundStreams: 4, maxOutboundStreams: 4, runOnLimitedConnection: true }
    await this.components.registrar.handle(JOIN_PROTOCOL, async (stream, connection) => { await this.handleJoin(stream, connection) }, options)
    await this.components.registrar.handle(INVITE_HOP_PROTOCOL, async (stream, connection) => { await this.handleHop(stream, connection) }, options)
    this.components.events.addEventListener('connection:open', this.onConnection)
    this.timer = setInterval(() => { this.expire() }, EXPIRE_CHECK_MS)
    this.timer.unref?.()
  }

  /**
   * Every protocol registered by now refuses invitee connections, but the join and the hop to their
   * inviter: each handler is wrapped (re-registered with `force`). Not with stream middleware: libp2p
   * appends the handler to the very middleware list it keeps, so a list of ours would grow with each stream.
   */
  async afterStart (): Promise<void> {
    const registrar = this.components.registrar
    for (const protocol of registrar.getProtocols()) {
      if (protocol === JOIN_PROTOCOL) continue
      const { handler, options } = registrar.getHandler(protocol)
      await registrar.handle(protocol, this.refuseInvitees(protocol, handler), { ...options, force: true })
    }
  }

  async stop (): Promise<void> {
    this.controller.abort()
    clearInterval(this.timer)
    this.components.events.removeEventListener('connection:open', this.onConnection)
    for (const id of this.book.open()) this.init.keyring.drop(inviteLabel(id))
    for (const [inviter, keys] of this.hopKeys) for (const id of keys.keys()) this.init.keyring.drop(hopLabel(inviter, id))
    await this.components.registrar.unhandle(JOIN_PROTOCOL)
    await this.components.registrar.unhandle(INVITE_HOP_PROTOCOL)
  }

  async create (options: CreateInviteOptions = {}): Promise<CreatedInvite> {
    const ttlMs = options.ttlMs ?? DEFAULT_INVITE_TTL_MS
    if (!Number.isFinite(ttlMs) || ttlMs < 1_000 || ttlMs > MAX_INVITE_TTL_MS) {
      throw new MeshError('BAD_REQUEST', `an invite is valid for 1 s to ${MAX_INVITE_TTL_MS / 86_400_000} days`)
    }
    const self = this.components.peerId.toString()
    const addresses = inviteAddresses(options.addresses, this.components.addressManager, this.components.transportManager, self).slice(0, MAX_INVITE_ADDRS)
    if (addresses.length === 0) throw new MeshError('BAD_REQUEST', 'this Gateway has no address to put in an invite')
    const { id, key, token } = inviteSecrets()
    // Whole seconds, as the code says: the inviter must not honour a code a moment longer than it reads.
    const expiresAtMs = Math.floor((Date.now() + ttlMs) / 1000) * 1000
    const invite = this.book.add(id, key, token, expiresAtMs)
    this.init.keyring.admit(inviteLabel(id), key, expiresAtMs)
    // Relay members we hold a slot on admit the key too, for the hop to us.
    const relays = relaysIn(addresses)
    this.toldRelays.set(id, relays)
    await Promise.all(relays.map(async relay => { await this.tellRelay(relay, { op: 'admit', id, key, expiresAt: expiresAtMs / 1000 }) }))
    const code = encodeInvite({ id, key, token, peer: self, addrs: addresses, expiresAt: expiresAtMs / 1000, meshId: this.init.secret.meshId })
    this.log('invite %s created, valid until %s, %d address(es)', id, new Date(expiresAtMs).toISOString(), addresses.length)
    return { code, invite, addresses }
  }

  list (): InviteInfo[] {
    return this.book.list()
  }

  /** Revokes an open invite: its key is no longer accepted here or at the relays. */
  async revoke (id: string): Promise<boolean> {
    if (!this.book.revoke(id)) return false
    await this.retire(id)
    return true
  }

  private async retire (id: string): Promise<void> {
    this.init.keyring.drop(inviteLabel(id))
    const relays = this.toldRelays.get(id) ?? []
    this.toldRelays.delete(id)
    await Promise.all(relays.map(async relay => { await this.tellRelay(relay, { op: 'drop', id }) }))
  }

  private expire (): void {
    for (const id of this.book.expire()) void this.retire(id)
    const now = Date.now()
    for (const [inviter, keys] of this.hopKeys) {
      for (const [id, expiresAt] of keys) {
        if (now < expiresAt) continue
        keys.delete(id)
        this.init.keyring.drop(hopLabel(inviter, id))
      }
      if (keys.size === 0) this.hopKeys.delete(inviter)
    }
  }

  private async tellRelay (relay: PeerId, request: Parameters<typeof hopRequest>[0]): Promise<void> {
    try {
      const signal = AbortSignal.any([this.controller.signal, AbortSignal.timeout(HOP_TIMEOUT_MS)])
      // Over a member connection only: a peer connected under an invite key is not our relay.
      const stream = await openMemberStream(this.components.connectionManager, relay, INVITE_HOP_PROTOCOL, { signal })
      const answer = await exchange(stream, hopRequest(request), { signal })
      if (answer.ok !== true) this.log.error('relay %p refused to %s the key of invite %s: %s', relay, request.op, request.id, String(answer.error))
    } catch (err) {
      this.log.error('could not tell relay %p to %s the key of invite %s - %e', relay, request.op, request.id, err)
    }
  }

  private async handleJoin (stream: Stream, connection: Connection): Promise<void> {
    const label = this.init.keyring.labelOf(connection)
    const signal = AbortSignal.any([this.controller.signal, AbortSignal.timeout(HOP_TIMEOUT_MS * 2)])
    // Members have nothing to join; a hop key is for the relay, not for us.
    if (label?.startsWith('invite:') !== true) {
      stream.abort(new Error('join is only for a connection admitted under an invite key'))
      return
    }
    const peer = connection.remotePeer.toString()
    let redeemed: string | undefined
    try {
      await serveOne(stream, (frame) => {
        const request = parseJoinRequest(frame)
        // The code for one invite does not redeem another.
        if (inviteLabel(request.id) !== label) return { ok: false, error: 'unknown' }
        const result = this.book.redeem(request.id, request.token, peer)
        if (!result.ok) return { ok: false, error: result.why }
        redeemed = request.id
        this.log('invite %s redeemed by %p', request.id, connection.remotePeer)
        const self = this.components.peerId.toString()
        return {
          ok: true,
          secret: Buffer.from(this.init.secret.psk).toString('hex'),
          mesh: this.init.secret.meshId,
          peers: inviteAddresses(undefined, this.components.addressManager, this.components.transportManager, self).slice(0, MAX_INVITE_ADDRS)
        }
      }, { signal })
    } catch (err) {
      this.log('join from %p failed - %e', connection.remotePeer, err)
      stream.abort(err instanceof Error ? err : new Error(String(err)))
    } finally {
      if (redeemed !== undefined) await this.retire(redeemed)
      // The newcomer comes back under the mesh secret; this connection has served its purpose.
      setTimeout(() => { void connection.close().catch(() => {}) }, 1_000).unref?.()
    }
  }

  /** As a relay member: admit (or drop) another member's invite key, for the hop to that member only. */
  private async handleHop (stream: Stream, connection: Connection): Promise<void> {
    const signal = AbortSignal.any([this.controller.signal, AbortSignal.timeout(HOP_TIMEOUT_MS)])
    if (this.init.keyring.labelOf(connection) !== undefined) {
      stream.abort(new Error('only members may ask to admit invite keys'))
      return
    }
    const inviter = connection.remotePeer.toString()
    await serveOne(stream, (frame) => {
      const request = parseHopRequest(frame)
      const keys = this.hopKeys.get(inviter) ?? new Map<string, number>()
      if (request.op === 'drop') {
        keys.delete(request.id)
        this.init.keyring.drop(hopLabel(inviter, request.id))
        return { ok: true }
      }
      if (!keys.has(request.id) && keys.size >= MAX_HOP_KEYS_PER_INVITER) return { ok: false, error: 'too many invite keys for this inviter' }
      const expiresAt = Math.min(request.expiresAt * 1000, Date.now() + MAX_INVITE_TTL_MS)
      keys.set(request.id, expiresAt)
      this.hopKeys.set(inviter, keys)
      this.init.keyring.admit(hopLabel(inviter, request.id), request.key, expiresAt)
      return { ok: true }
    }, { signal }).catch(err => {
      this.log('invite-hop from %p failed - %e', connection.remotePeer, err)
      stream.abort(err instanceof Error ? err : new Error(String(err)))
    })
  }

  /** `handler`, for connections not admitted under an invite key (the hop, to its inviter, aside). */
  private refuseInvitees (protocol: string, handler: StreamHandler): StreamHandler {
    return async (stream, connection) => {
      const label = this.init.keyring.labelOf(connection)
      if (label === undefined || (label.startsWith('invite-hop:') && protocol.startsWith('/libp2p/circuit/relay/'))) {
        await handler(stream, connection)
        return
      }
      stream.abort(new Error(`${protocol} is not open to a connection admitted under an invite key`))
    }
  }

  private readonly onConnection = (evt: CustomEvent<Connection>): void => {
    const connection = evt.detail
    if (this.init.keyring.labelOf(connection) === undefined) return
    setTimeout(() => { void connection.close().catch(() => {}) }, INVITEE_CONNECTION_MS).unref?.()
  }

  /**
   * For the connection gater: may `source` reserve a slot / have a circuit opened to `destination`? A peer
   * with a member connection is a member (a newcomer that just joined may still have its invite connection
   * open beside it); one with only invite connections may reach the inviter those were for, nothing else.
   */
  mayRelay (source: PeerId, destination?: PeerId): boolean {
    const labels = this.components.connectionManager.getConnections(source).filter(c => c.status === 'open').map(c => this.init.keyring.labelOf(c))
    if (labels.length === 0 || labels.some(l => l === undefined)) return true
    if (destination === undefined) return false
    const prefix = hopPrefix(destination.toString())
    return labels.some(l => l?.startsWith(prefix) === true)
  }
}

/**
 * The connection gater's part of invites, on a relay member: a connection admitted under an invite
 * key may neither reserve a slot nor have a circuit opened but to the member that made the invite.
 */
export function relayGate (service: () => MeshInvites | undefined): Pick<ConnectionGater, 'denyInboundRelayReservation' | 'denyOutboundRelayedConnection'> {
  return {
    denyInboundRelayReservation: async (source) => service()?.mayRelay(source) === false,
    denyOutboundRelayedConnection: async (source, destination) => service()?.mayRelay(source, destination) === false
  }
}

/** Relay members named in our relayed addresses. */
function relaysIn (addresses: string[]): PeerId[] {
  const ids = new Set<string>()
  for (const a of addresses) {
    const m = /\/p2p\/([^/]+)\/p2p-circuit\//.exec(a)
    if (m?.[1] !== undefined) ids.add(m[1])
  }
  return [...ids].map(id => peerIdFromString(id))
}

export function meshInvites (init: InviteServiceInit): (components: InviteServiceComponents) => MeshInvites {
  return (components) => new MeshInvites(components, init)
}

