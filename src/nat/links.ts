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
import type { Connection } from '@libp2p/interface'

export type LinkKind = 'direct' | 'relayed'

export function isRelayed (connection: Pick<Connection, 'remoteAddr'>): boolean {
  return Circuit.matches(connection.remoteAddr)
}

/** `direct` when any open connection is not relayed. */
export function linkKind (connections: Array<Pick<Connection, 'remoteAddr' | 'status'>>): LinkKind {
  return connections.some(c => c.status === 'open' && !isRelayed(c)) ? 'direct' : 'relayed'
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
    if (c.status !== 'open' || connectionKey(c)?.label.startsWith('invite') === true) continue
    const rank = (isRelayed(c) ? 2 : 0) + (c.limits !== undefined ? 1 : 0)
    if (rank < bestRank) { best = c; bestRank = rank }
  }
  return best
}
