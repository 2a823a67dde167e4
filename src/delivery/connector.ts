/**
 * Connecting to an owner for delivery: reuse a connection when there is one,
 * else dial the addresses it announced that the address filter allows (never
 * anything else), bounded by the dial timeout. A failed dial marks the owner
 * unreachable in the directory, so the next sends fail fast.
 */
import { anySignal } from 'any-signal'
import { MAX_STREAMS_PER_PROTOCOL } from '../constants.ts'
import { MeshError } from '../errors.ts'
import { displayName, type GatewayRecord, type OwnerDirectory } from '../routing/directory.ts'
import { ChannelLost } from './client.ts'
import { pickConnection } from '../nat/links.ts'
import type { AddressFilter } from './address-filter.ts'
import type { Connection, PeerId, Stream, AbortOptions } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** What the connector uses of libp2p's connection manager. */
export interface Dialer {
  getConnections: (peer?: PeerId) => Connection[]
  openConnection: (peer: Multiaddr[], options?: AbortOptions) => Promise<Connection>
}

export interface ConnectorInit {
  dialer: Dialer
  directory: Pick<OwnerDirectory, 'markUnreachable'>
  filter: AddressFilter
  dialTimeoutMs: number
}

export class Connector {
  private readonly init: ConnectorInit

  constructor (init: ConnectorInit) {
    this.init = init
  }

  /** Dials `owner` unless already connected. Throws `UNREACHABLE` (and marks it) when the dial fails. */
  async ensureConnected (owner: GatewayRecord, peer: PeerId, signal: AbortSignal): Promise<void> {
    if (this.init.dialer.getConnections(peer).some(c => c.status === 'open')) return
    const addresses = this.init.filter.allowed(owner)
    if (addresses.length === 0) {
      throw new MeshError('UNREACHABLE', `Gateway ${displayName(owner)} (${owner.peerId}) is not connected, and none of the addresses it announced is one this Gateway dials (option announcedAddresses)`, { gateway: displayName(owner), hint: { kind: 'check-gateway', gateway: displayName(owner) } })
    }
    const dialSignal = anySignal([signal, AbortSignal.timeout(this.init.dialTimeoutMs)])
    try {
      await this.init.dialer.openConnection(addresses, { signal: dialSignal })
    } catch (err) {
      if (signal.aborted) throw err
      this.init.directory.markUnreachable(owner.peerId)
      throw unreachable(owner, err)
    } finally {
      dialSignal.clear()
    }
  }

  /** A new stream on an open connection to `peer`: never a dial (that goes through `ensureConnected`'s filter). */
  async openStream (peer: PeerId, protocol: string | string[], signal: AbortSignal): Promise<Stream> {
    // Direct before relayed (nat/links.ts); a relayed connection a relay caps is "limited", and still used.
    const connection = pickConnection(this.init.dialer.getConnections(peer))
    // The connection dropped since `ensureConnected`: the router dials again and resends.
    if (connection === undefined) throw new ChannelLost(false, new MeshError('UNREACHABLE', `no connection to ${peer.toString()}`))
    return await connection.newStream(protocol, { signal, maxOutboundStreams: MAX_STREAMS_PER_PROTOCOL, runOnLimitedConnection: true })
  }
}

/** The error of a send to an owner that cannot be reached. */
export function unreachable (owner: GatewayRecord, cause?: unknown): MeshError {
  const since = owner.unreachableSince !== undefined ? ` since ${new Date(owner.unreachableSince).toISOString()}` : ''
  const why = owner.departed ? ' (it stopped)' : ''
  const name = displayName(owner)
  return new MeshError('UNREACHABLE', `Gateway ${name} (${owner.peerId}) is unreachable${since}${why}; its sessions cannot receive messages until it is back`, { gateway: name, cause, hint: { kind: 'check-gateway', gateway: name } })
}
