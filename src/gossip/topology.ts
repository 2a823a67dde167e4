/**
 * Whom a Gateway keeps registry links with: pure, deterministic, no I/O.
 *
 * A mesh no larger than `degree + 1` is a full mesh, as before. Past that each
 * Gateway chooses `degree` peers among the candidates (peers discovery found,
 * and bootstrap peers):
 *
 * - **the nearest on a ring** (`ceil(degree / 2)`, alternately the next and the
 *   previous): every Gateway sits on a ring ordered by a hash of its peer ID, and
 *   links to its neighbours on both sides. The relation is mutual and, when
 *   Gateways know the same candidates, the ring alone connects everyone. A
 *   Gateway that joins or leaves changes only its neighbours' choices.
 * - **the rest at random**, by rendezvous hashing: candidates ranked by a hash
 *   of (our peer ID, theirs), lowest first. Random links give the graph a small
 *   diameter (a few hops at 100 Gateways), and the ranking is stable: a newcomer
 *   displaces a choice only if it ranks before it, so links do not churn.
 *
 * Links are symmetric (a link either side chose is a link for both), so a
 * Gateway has `degree` links or more: about 1.5 × `degree` on average.
 */
import { createHash } from 'node:crypto'

/** Ring positions and rendezvous ranks, by peer ID: hashing costs more than the choice itself. */
const MAX_CACHED = 8_192
const positions = new Map<string, bigint>()

function hash64 (text: string): bigint {
  return createHash('sha256').update(text).digest().readBigUInt64BE(0)
}

/** A peer's place on the ring. */
export function ringPosition (peerId: string): bigint {
  let position = positions.get(peerId)
  if (position === undefined) {
    position = hash64(peerId)
    if (positions.size >= MAX_CACHED) positions.clear()
    positions.set(peerId, position)
  }
  return position
}

/** `self`'s rank for `peer` in rendezvous hashing (lower ranks are chosen first). */
export function rendezvousRank (self: string, peer: string): bigint {
  return hash64(`${self}/${peer}`)
}

/** The peers `self` chooses to link with among `candidates` (which may include `self`). */
export function chooseLinks (self: string, candidates: Iterable<string>, degree: number): Set<string> {
  const others = new Set(candidates)
  others.delete(self)
  if (others.size <= degree) return others
  const chosen = new Set<string>()
  // The ring: everyone sorted by position, starting just after us.
  const own = ringPosition(self)
  const span = 1n << 64n
  const ahead = (peer: string): bigint => ((ringPosition(peer) - own) % span + span) % span
  const ring = [...others].sort((a, b) => {
    const d = ahead(a) - ahead(b)
    return d < 0n ? -1 : d > 0n ? 1 : a < b ? -1 : 1
  })
  const near = Math.ceil(degree / 2)
  for (let i = 0; chosen.size < near && chosen.size < ring.length; i++) {
    const next = ring[i >> 1]
    const previous = ring[ring.length - 1 - (i >> 1)]
    const pick = i % 2 === 0 ? next : previous
    if (pick !== undefined) chosen.add(pick)
  }
  // The rest at random, stably: the lowest rendezvous ranks among those not chosen yet.
  const rest = ring.filter(peer => !chosen.has(peer))
    .map(peer => ({ peer, rank: rendezvousRank(self, peer) }))
    .sort((a, b) => (a.rank < b.rank ? -1 : a.rank > b.rank ? 1 : 0))
  for (const { peer } of rest) {
    if (chosen.size >= degree) break
    chosen.add(peer)
  }
  return chosen
}
