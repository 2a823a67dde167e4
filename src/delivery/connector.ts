/**
 * Connecting to an owner for delivery. In a bounded-degree mesh most owners
 * are not linked to us: reuse a connection when there is one, else dial the
 * addresses it announced that the address filter allows (never anything else),
 * bounded by the dial timeout. A failed dial marks the owner unreachable by our
 * own evidence, so the next sends fail fast; an owner listed as unreachable
 * only because a peer said so is tried directly first (hearsay is not trusted
 * over a dial of our own). A delivery connection that carries no registry link
 * and no send for `idleMs` is closed.
 *
 * The same dial, or a ping over an open connection, is how the registry checks
 * an origin itself (`check`) instead of trusting what a peer said.
 */
import { PING_PROTOCOL } from '@libp2p/ping'
import { anySignal } from 'any-signal'
import { DEFAULT_IDLE_CONNECTION_MS, MAX_STREAMS_PER_PROTOCOL } from '../constants.ts'
import { MeshError } from '../errors.ts'
import { displayName, type GatewayRecord, type OwnerDirectory } from '../routing/directory.ts'
import { NotConnected } from './client.ts'
import { pickConnection } from '../nat/links.ts'
import type { AddressFilter } from './address-filter.ts'
import type { Connection, PeerId, Stream, AbortOptions } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** What the connector uses of libp2p's connection manager. */
export interface Dialer {
  getConnections: (peer?: PeerId) => Connection[]
  openConnection: (peer: Multiaddr[], options?: AbortOptions) => Promise<Connection>
}

/** What the connector asks the registry's liveness rules. */
export interface ConnectorLiveness {
  /** A send to it should fail at once: it said goodbye, or our own evidence says it is down. */
  failFast: (peerId: string) => boolean
  /** We keep a registry link with it: its connection is not ours to close. */
  isLinked: (peerId: string) => boolean
}

export interface ConnectorInit {
  dialer: Dialer
  directory: Pick<OwnerDirectory, 'markUnreachable'>
  liveness: ConnectorLiveness
  filter: AddressFilter
  dialTimeoutMs: number
  /**
   * Our own health multiplier (src/gossip/local-health.ts): a delivery dial may take `dialTimeoutMs` times this.
   * On an overloaded machine a handshake takes longer than on an idle one, and aborting it at the idle
   * machine's timeout only starts the next one from scratch (50 Gateways on 2 cores: the same pair's dials
   * timed out in the Noise handshake, retry after retry, for minutes). @default () => 1
   */
  slowdown?: () => number
  /** @default {@link DEFAULT_IDLE_CONNECTION_MS} */
  idleMs?: number
  /** @default Date.now */
  now?: () => number
}

export class Connector {
  private readonly init: ConnectorInit
  private readonly now: () => number
  /** Per owner: when a send last used it, and how many are under way. */
  private readonly use = new Map<string, { at: number, inFlight: number }>()

  constructor (init: ConnectorInit) {
    this.init = init
    this.now = init.now ?? Date.now
  }

  /** False when a send to `owner` should fail at once; an owner unreachable by hearsay alone, or still connected, is tried. */
  shouldTry (owner: GatewayRecord, peer: PeerId): boolean {
    if (owner.reachable) return true
    if (owner.departed) return false
    return this.isOpen(peer) || !this.init.liveness.failFast(owner.peerId)
  }

  /**
   * How long a send may wait on an owner that our own evidence says is down while its connection is
   * still open: a stall (it answers once it runs again) or a partition (it never will). As long as a
   * dial would take; undefined when the owner is not in that state.
   */
  silentOwnerWaitMs (owner: GatewayRecord, peer: PeerId): number | undefined {
    if (owner.reachable || owner.departed || !this.isOpen(peer) || !this.init.liveness.failFast(owner.peerId)) return undefined
    return this.init.dialTimeoutMs
  }

  /** A send to `peerId` starts: its connection is not idle until `release`. */
  hold (peerId: string): () => void {
    let entry = this.use.get(peerId)
    if (entry === undefined) this.use.set(peerId, entry = { at: this.now(), inFlight: 0 })
    entry.inFlight++
    entry.at = this.now()
    let released = false
    return () => {
      if (released) return
      released = true
      entry.inFlight--
      entry.at = this.now()
    }
  }

  /** Dials `owner` unless already connected. Throws `UNREACHABLE` (and marks it) when the dial fails. */
  async ensureConnected (owner: GatewayRecord, peer: PeerId, signal: AbortSignal): Promise<void> {
    if (this.isOpen(peer)) return
    await this.dial(owner, signal)
  }

  /**
   * Checks `owner` ourselves: a ping over an open connection, else a dial (its handshake proves it runs).
   * `alive` when it answered; `down` (and marked unreachable) when it did not; `unknown` when we may not dial it.
   */
  async check (owner: GatewayRecord, peer: PeerId, timeoutMs: number): Promise<'alive' | 'down' | 'unknown'> {
    if (this.init.filter.allowed(owner).length === 0 && !this.isOpen(peer)) return 'unknown'
    const signal = AbortSignal.timeout(timeoutMs)
    try {
      const connection = this.init.dialer.getConnections(peer).find(c => c.status === 'open')
      if (connection === undefined) {
        await this.init.dialer.openConnection(this.init.filter.allowed(owner), { signal })
        return 'alive'
      }
      // Negotiating a stream needs the peer's event loop: an open connection alone proves nothing.
      const stream = await connection.newStream(PING_PROTOCOL, { signal })
      stream.abort(new Error('only a check'))
      return 'alive'
    } catch (err) {
      // It answered, to say it does not speak ping: it runs.
      if ((err as { name?: string }).name === 'UnsupportedProtocolError') return 'alive'
      this.init.directory.markUnreachable(owner.peerId, signal.aborted || isTimeout(err))
      return 'down'
    }
  }

  /** A new stream on an open connection to `peer`: never a dial (that goes through `ensureConnected`'s filter). */
  async openStream (peer: PeerId, protocol: string | string[], signal: AbortSignal): Promise<Stream> {
    // Direct before relayed (nat/links.ts); a relayed connection a relay caps is "limited", and still used.
    const connection = pickConnection(this.init.dialer.getConnections(peer))
    // The connection dropped since `ensureConnected`: the router dials again and resends.
    if (connection === undefined) throw new NotConnected(new MeshError('UNREACHABLE', `no connection to ${peer.toString()}`))
    try {
      return await connection.newStream(protocol, { signal, maxOutboundStreams: MAX_STREAMS_PER_PROTOCOL, runOnLimitedConnection: true })
    } catch (err) {
      // It closed under us (the owner's idle sweep, a hang-up) before anything was sent: dial again and resend.
      if (!signal.aborted && (connection.status !== 'open' || (err as { name?: string }).name === 'ConnectionClosedError')) throw new NotConnected(err)
      throw err
    }
  }

  /**
   * Closes connections that carry no registry link and have had no send for `idleMs` (we dialled them to
   * deliver; the owner's own sends keep theirs). Returns the peers whose connections it closed.
   */
  closeIdle (): string[] {
    const now = this.now()
    const idleMs = this.init.idleMs ?? DEFAULT_IDLE_CONNECTION_MS
    const closed: string[] = []
    for (const connection of this.init.dialer.getConnections()) {
      const id = connection.remotePeer.toString()
      if (connection.direction !== 'outbound' || this.init.liveness.isLinked(id)) continue
      const use = this.use.get(id)
      const last = Math.max(use?.at ?? 0, connection.timeline.open)
      // Streams open on it: the owner may be sending to us over the connection we dialled.
      if ((use?.inFlight ?? 0) > 0 || now - last < idleMs || connection.streams.length > 0) continue
      closed.push(id)
      this.use.delete(id)
      connection.close().catch(err => { connection.abort(err instanceof Error ? err : new Error(String(err))) })
    }
    for (const [id, use] of this.use) if (use.inFlight === 0 && now - use.at > idleMs * 2) this.use.delete(id)
    return closed
  }

  private isOpen (peer: PeerId): boolean {
    return this.init.dialer.getConnections(peer).some(c => c.status === 'open')
  }

  private async dial (owner: GatewayRecord, signal: AbortSignal): Promise<void> {
    const addresses = this.init.filter.allowed(owner)
    if (addresses.length === 0) {
      throw new MeshError('UNREACHABLE', `Gateway ${displayName(owner)} (${owner.peerId}) is not connected, and none of the addresses it announced is one this Gateway dials (option announcedAddresses)`, { gateway: displayName(owner), hint: { kind: 'check-gateway', gateway: displayName(owner) } })
    }
    // Never past the send's own deadline (`signal`).
    const timeout = AbortSignal.timeout(this.init.dialTimeoutMs * Math.max(1, this.init.slowdown?.() ?? 1))
    const dialSignal = anySignal([signal, timeout])
    try {
      await this.init.dialer.openConnection(addresses, { signal: dialSignal })
    } catch (err) {
      if (signal.aborted) throw err
      // No answer in time (ours, or a timeout inside the upgrade) is what an overloaded owner gives too: the
      // router dials again within the send's deadline. So is a connection it accepted and then reset in the
      // handshake (its own upgrade timeout fired: 50 Gateways on 2 cores). A refusal or a failed handshake is definite.
      const timedOut = timeout.aborted || isTimeout(err) || isReset(err)
      this.init.directory.markUnreachable(owner.peerId, timedOut)
      if (timedOut) throw new NotConnected(unreachable(owner, err))
      throw unreachable(owner, err)
    } finally {
      dialSignal.clear()
    }
  }
}

/** True when `err` (or what caused it) is a timeout or an abort: a layer of the dial gave up waiting, nobody refused. */
export function isTimeout (err: unknown): boolean {
  for (let e = err as { name?: string, cause?: unknown } | undefined, depth = 0; e != null && depth < 5; e = e.cause as typeof e, depth++) {
    if (e.name === 'TimeoutError' || e.name === 'AbortError') return true
    // libp2p wraps the upgrade's timeout (a DOMException TimeoutError) in its own error, keeping only its message.
    if (e instanceof Error && /aborted due to timeout|timed out/i.test(e.message)) return true
  }
  return false
}

/**
 * True when `err` (or what caused it) is a connection the owner accepted and then reset: a live process
 * dropped us (an overloaded owner whose handshake timeout fired), unlike a refused connection (none listens).
 */
export function isReset (err: unknown): boolean {
  for (let e = err as { code?: string, cause?: unknown } | undefined, depth = 0; e != null && depth < 5; e = e.cause as typeof e, depth++) {
    if (e.code === 'ECONNRESET' || e.code === 'EPIPE') return true
    // libp2p's encrypter wraps the socket error, keeping only its message ("write ECONNRESET").
    if (e instanceof Error && /\b(ECONNRESET|EPIPE)\b/.test(e.message)) return true
  }
  return false
}

/** The error of a send to an owner that cannot be reached. */
export function unreachable (owner: GatewayRecord, cause?: unknown): MeshError {
  const since = owner.unreachableSince !== undefined ? ` since ${new Date(owner.unreachableSince).toISOString()}` : ''
  const why = owner.departed ? ' (it stopped)' : ''
  const name = displayName(owner)
  return new MeshError('UNREACHABLE', `Gateway ${name} (${owner.peerId}) is unreachable${since}${why}; its sessions cannot receive messages until it is back`, { gateway: name, cause, hint: { kind: 'check-gateway', gateway: name } })
}
