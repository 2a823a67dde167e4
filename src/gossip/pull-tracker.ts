/**
 * Which origins we are pulling, from whom: pure state, time passed in.
 *
 * One pull per origin is under way at a time, so a joiner linked to five peers
 * receives each origin once. A pull waits for the version its peer claimed;
 * what other peers claim meanwhile is kept as candidates and never raises the
 * version we wait for (a claim is only a claim until records prove it). A pull
 * whose peer stops delivering for `timeoutMs` fails: that peer's claims about
 * that origin are ignored until it delivers one of its records or for
 * `distrustMs`, and the pull moves to the candidate with the newest claim.
 * Distrust expires because a peer that was only slow (an overloaded machine)
 * may be the only one left that holds what we lack: distrusted for good, the
 * gap would never be repaired.
 */
import { compareHeld, type Held } from '../registry/version.ts'

export interface PullTrackerOptions {
  /** Silence after which a pull fails over to another peer. */
  timeoutMs: number
  /** Origins pulled at once; claims past it wait for the next digest. */
  maxPulls: number
  /** Candidate claims kept per origin. */
  maxCandidates: number
  /** How long a peer's claims about an origin it did not deliver are ignored. @default 15 × timeoutMs */
  distrustMs?: number
}

interface Pull {
  peer: string
  /** When we asked, or last received one of its records. */
  at: number
  /** The version `peer` claimed: the pull is done once we hold it. */
  target: Held
  /** Other peers' claims, kept to move to if `peer` does not deliver. */
  candidates: Map<string, Held>
}

/** Ask `peer` for `origin` now. */
export interface Ask {
  peer: string
  origin: string
}

export class PullTracker {
  private readonly pulls = new Map<string, Pull>()
  /** Per peer, origins it claimed and did not deliver, with when our distrust ends. */
  private readonly distrust = new Map<string, Map<string, number>>()
  private readonly options: PullTrackerOptions

  constructor (options: PullTrackerOptions) {
    this.options = options
  }

  /**
   * `peer` showed it holds `origin` at `claim`, newer than ours. Returns true
   * when we should ask it now (no pull under way); otherwise keeps the claim as
   * a candidate.
   */
  claim (peer: string, origin: string, claim: Held, now: number): boolean {
    if (this.distrusted(peer, origin, now)) return false
    const pull = this.pulls.get(origin)
    if (pull === undefined) {
      if (this.pulls.size >= this.options.maxPulls) return false
      this.pulls.set(origin, { peer, at: now, target: claim, candidates: new Map() })
      return true
    }
    if (pull.peer === peer) {
      // The peer we are pulling from moved on itself: what it sends will include that.
      if (compareHeld(claim, pull.target) > 0) pull.target = claim
      return false
    }
    if (pull.candidates.has(peer) || pull.candidates.size < this.options.maxCandidates) pull.candidates.set(peer, claim)
    return false
  }

  /**
   * A record of `origin` from `peer` was applied; `held` is what we hold now.
   * The peer proved it serves that origin. Returns a peer to ask next when the
   * pull is done but a candidate claims more.
   */
  progress (peer: string, origin: string, held: Held, now: number): Ask | undefined {
    this.distrust.get(peer)?.delete(origin)
    const pull = this.pulls.get(origin)
    if (pull === undefined) return undefined
    if (compareHeld(held, pull.target) < 0) {
      if (peer === pull.peer) pull.at = now
      return undefined
    }
    this.pulls.delete(origin)
    return this.next(origin, pull, held, now)
  }

  /** Pulls whose peer went silent: distrust it for that origin and ask the best remaining candidate. */
  expire (now: number, heldOf: (origin: string) => Held | undefined): Ask[] {
    const asks: Ask[] = []
    for (const [origin, pull] of [...this.pulls]) {
      if (now - pull.at < this.options.timeoutMs) continue
      this.pulls.delete(origin)
      let set = this.distrust.get(pull.peer)
      if (set === undefined) this.distrust.set(pull.peer, set = new Map())
      set.set(origin, now + (this.options.distrustMs ?? this.options.timeoutMs * 15))
      const ask = this.next(origin, pull, heldOf(origin), now)
      if (ask !== undefined) asks.push(ask)
    }
    return asks
  }

  /** A peer's link closed: its pulls fail over at the next expiry, its claims and our distrust are forgotten. */
  peerGone (peer: string): void {
    this.distrust.delete(peer)
    for (const pull of this.pulls.values()) {
      pull.candidates.delete(peer)
      if (pull.peer === peer) pull.at = -Infinity
    }
  }

  /** The origin is gone from the registry (or never existed): stop pulling it. */
  forget (origin: string): void {
    this.pulls.delete(origin)
  }

  /** The peer a pull of `origin` waits on, if any. */
  pulling (origin: string): string | undefined {
    return this.pulls.get(origin)?.peer
  }

  get size (): number {
    return this.pulls.size
  }

  private distrusted (peer: string, origin: string, now: number): boolean {
    const set = this.distrust.get(peer)
    const until = set?.get(origin)
    if (until === undefined) return false
    if (until > now) return true
    set!.delete(origin)
    if (set!.size === 0) this.distrust.delete(peer)
    return false
  }

  private next (origin: string, pull: Pull, held: Held | undefined, now: number): Ask | undefined {
    let best: [string, Held] | undefined
    for (const [peer, claim] of pull.candidates) {
      if (this.distrusted(peer, origin, now)) continue
      if (held !== undefined && compareHeld(claim, held) <= 0) continue
      if (best === undefined || compareHeld(claim, best[1]) > 0) best = [peer, claim]
    }
    if (best === undefined) return undefined
    pull.candidates.delete(best[0])
    this.pulls.set(origin, { peer: best[0], at: now, target: best[1], candidates: pull.candidates })
    return { peer: best[0], origin }
  }
}
