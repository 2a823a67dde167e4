/**
 * Which of a peer's connections to use, and what kind of link that is.
 *
 * A peer on another site may be connected through a relay member (a
 * "relayed" connection, `…/p2p-circuit/…`) and, once DCUtR punched a hole,
 * directly as well. Streams go over the best open one: direct first, then
 * relayed. libp2p's own `openStream(peer)` would dial again rather than use a
 * relayed connection the relay caps ("limited"): that would open a new
 * circuit for every stream.
 */
import { Circuit } from '@multiformats/multiaddr-matcher'
import { connectionKey } from '../security/protector.ts'
import { MeshError } from '../errors.ts'
import type { AbortOptions, Connection, NewStreamOptions, PeerId, Stream } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'

export type LinkKind = 'direct' | 'relayed'

export function isRelayed (connection: Pick<Connection, 'remoteAddr'>): boolean {
  return Circuit.matches(connection.remoteAddr)
}

/** `direct` when any open connection is not relayed. */
export function linkKind (connections: Array<Pick<Connection, 'remoteAddr' | 'status'>>): LinkKind {
  return connections.some(c => c.status === 'open' && !isRelayed(c)) ? 'direct' : 'relayed'
}

/**
 * Admitted under an invite key (a newcomer's join, or its hop through a relay member): it serves the
 * join protocol only, and we never open a stream on it (see src/invite/service.ts).
 */
export function isInviteConnection (connection: Pick<Connection, 'timeline'>): boolean {
  return connectionKey(connection)?.label.startsWith('invite') === true
}

/**
 * Whether `connections` hold an open one admitted under the mesh secret. A peer connected under an
 * invite key only holds a code, and is no member: the registry opens no link to it (once it joined,
 * its own registry stream to us opens one).
 */
export function hasMemberConnection (connections: Array<Pick<Connection, 'status' | 'timeline'>>): boolean {
  return connections.some(c => c.status === 'open' && !isInviteConnection(c))
}

/**
 * The open connection to use for new streams: direct before relayed, uncapped before capped; never one
 * admitted under an invite key (a newcomer's, which may still be open beside its member connection: it
 * serves the join protocol only).
 */
export function pickConnection<C extends Pick<Connection, 'remoteAddr' | 'status' | 'limits' | 'timeline'>> (connections: C[]): C | undefined {
  let best: C | undefined
  let bestRank = Infinity
  for (const c of connections) {
    if (c.status !== 'open' || isInviteConnection(c)) continue
    const rank = (isRelayed(c) ? 2 : 0) + (c.limits !== undefined ? 1 : 0)
    if (rank < bestRank) { best = c; bestRank = rank }
  }
  return best
}

/**
 * A new stream to `peer` over {@link pickConnection}'s choice, else a connection libp2p opens (or hands
 * back: it may be one admitted under an invite key, which members never use: a code holder is no member).
 */
export async function openMemberStream (connectionManager: Pick<ConnectionManager, 'getConnections' | 'openConnection'>, peer: PeerId, protocol: string | string[], options: NewStreamOptions & Required<AbortOptions>): Promise<Stream> {
  const connection = pickConnection(connectionManager.getConnections(peer)) ?? await connectionManager.openConnection(peer, { signal: options.signal })
  if (isInviteConnection(connection)) throw new MeshError('UNREACHABLE', `${peer.toString()} is connected under an invite key only`)
  return await connection.newStream(protocol, { ...options, runOnLimitedConnection: true })
}
