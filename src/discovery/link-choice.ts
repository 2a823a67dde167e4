/**
 * The dialer's choice of whom to keep registry links with (the gossip's link
 * policy, src/gossip/links.ts): discovery offers every peer it finds, and the
 * choice is `degree` of them by src/gossip/topology.ts (nearest on a ring plus
 * random), among those worth a link right now: seen lately, not backing off
 * after failed dials, and not known to be down (the gossip's own evidence).
 * Bootstrap peers are always kept, on top of the choice.
 */
import { chooseLinks } from '../gossip/topology.ts'
import type { LinkPolicy } from '../gossip/links.ts'

/** A candidate not offered again (re-announced by discovery) for this long is forgotten. */
export const CANDIDATE_TTL_MS = 120_000
/** The choice is recomputed at most this often (liveness changes it without telling us). */
const RECHOOSE_MS = 500
/** Candidates remembered at most. */
const MAX_CANDIDATES = 4_096

export interface LinkChoiceInit {
  self: string
  degree: number
  /** @default Date.now */
  now?: () => number
}

export class LinkChoice implements LinkPolicy {
  private readonly init: LinkChoiceInit
  private readonly now: () => number
  /** Discovered peers: when each was last offered. */
  private readonly candidates = new Map<string, number>()
  /** Peers kept whatever the choice (bootstrap). */
  private readonly always = new Set<string>()
  private usable: (peer: string) => boolean = () => true
  /** Other Gateways known some other way (the registry), found by discovery or not. */
  private members: () => number = () => 0
  private cached?: { at: number, chosen: Set<string> }

  constructor (init: LinkChoiceInit) {
    this.init = init
    this.now = init.now ?? Date.now
  }

  /** Discovery found `peer` (again). Returns true when it is among the chosen. */
  offer (peer: string): boolean {
    if (peer === this.init.self) return false
    if (!this.candidates.has(peer)) {
      if (this.candidates.size >= MAX_CANDIDATES) this.forgetOldest()
      this.cached = undefined
    }
    this.candidates.set(peer, this.now())
    return this.wants(peer)
  }

  /** A bootstrap peer: always linked. */
  keep (peer: string): void {
    this.always.add(peer)
  }

  /** Which candidates are worth a link now (the dialer's backoff, the gossip's evidence). */
  setUsable (usable: (peer: string) => boolean): void {
    this.usable = usable
    this.cached = undefined
  }

  /** How many other Gateways we know of besides the candidates (the registry's count). */
  setMembers (members: () => number): void {
    this.members = members
  }

  /**
   * In a mesh of fewer members than the degree (counting peers reached by a dial of their own rather
   * than found by discovery: an invite, a relayed address), any member we are connected to is worth a
   * link, as in a full mesh. Counted over every member we know of, usable or not: counted over the
   * usable ones only, an overloaded Gateway whose dials time out (and back off) would link with every
   * connection it holds, delivery ones included, and turn into a hub that overloads it further.
   */
  wants (peer: string): boolean {
    if (this.always.has(peer)) return true
    return this.chosen().has(peer) || this.known() < this.init.degree
  }

  /** Members we know of (discovered lately, or in the registry), usable or not. */
  private known (): number {
    return Math.max(this.candidates.size, this.members())
  }

  chosen (): Set<string> {
    const now = this.now()
    if (this.cached !== undefined && now - this.cached.at < RECHOOSE_MS) return this.cached.chosen
    const live: string[] = []
    for (const [peer, seen] of this.candidates) {
      if (now - seen > CANDIDATE_TTL_MS) this.candidates.delete(peer)
      else if (this.usable(peer)) live.push(peer)
    }
    const chosen = chooseLinks(this.init.self, live, this.init.degree)
    for (const peer of this.always) chosen.add(peer)
    this.cached = { at: now, chosen }
    return chosen
  }

  private forgetOldest (): void {
    let oldest: [string, number] | undefined
    for (const entry of this.candidates) if (oldest === undefined || entry[1] < oldest[1]) oldest = entry
    if (oldest !== undefined) this.candidates.delete(oldest[0])
  }
}
