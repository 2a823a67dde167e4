/**
 * Who is reachable: the rules, as pure state over the registry (time passed in).
 *
 * Designed for a mesh that is not full: most Gateways are not linked to each
 * other, so most of what a node knows about an origin's liveness is what its
 * peers say. What a peer may say is limited to what it can know, and a node
 * checks hearsay itself before it relies on it:
 *
 * 1. **First-hand evidence.** A link is direct evidence of life. Our link to an
 *    origin closed (`lost`), or was declared down by the failure detector after
 *    suspicion and indirect probes (link-watch.ts, also `lost`), or our own dial
 *    to it failed (`dialFailed`): unreachable at once, and sends to it fail fast.
 * 2. **Hearsay.** A `down` is believed only from a peer that said (its `links`)
 *    it was linked to that origin, about the incarnation we hold, and only while
 *    no other peer of ours still says it is linked to it: one member cannot take
 *    down a Gateway that others still see. A believed `down` makes the origin
 *    unreachable by hearsay: it is listed as unreachable, but a send to it still
 *    tries the owner directly, and we check it ourselves (a dial) in the
 *    background. A `down` from a peer that was never linked to it is a rumour:
 *    believed by nobody, checked by whoever holds the origin as reachable.
 * 3. **Proof of life.** First-hand: a link, any frame on it, a new authenticated
 *    connection, our own check, or a fresh record (newer than what we held when
 *    it went down: the origin wrote since; a Gateway that hears it was accused
 *    writes one). Second-hand, which lifts hearsay and a lost link but not a dial
 *    of ours that failed: a peer newly saying it is linked to the origin, or an
 *    `alive` from a peer we asked (our `down` or `suspect` went to it): unasked,
 *    an `alive` is ignored. A proof names the run it proves where it can (the
 *    origin's own hello, a peer's `links` and `alive`, a record), and revives
 *    only that run: after a restart, the old run's entries never come back as
 *    reachable. A connection or a check of ours names no run: it lifts our own
 *    evidence (sends to the origin are tried again) but revives nothing. A proof
 *    of life for an origin we dropped lifts its tombstone, unless it said
 *    goodbye: its records are then pulled again.
 * 4. A signed goodbye is final for its incarnation; only a new incarnation
 *    (a restart) brings the origin back.
 *
 * A member that lies about its links can make an origin listed as unreachable
 * where it is the only witness, until that node's own check (or any send)
 * reaches the origin; it can keep a crashed origin listed only until a send or
 * check fails a dial; it can never revive one that said goodbye.
 */
import { compareVersions, newest, type Held, type Version } from '../registry/version.ts'
import { versionOf, type Registry } from '../registry/registry.ts'

/**
 * A run no Gateway has (runs count from 0). A peer that cannot say which run of an origin it is linked to
 * (a v1 peer: its `links` name none) names this one: its claims still count as links for rule 2, but
 * prove no run alive (rule 3), so they cannot revive a run that died and restarted behind it.
 */
export const NO_RUN = -1

/** What a proof of life changed: an origin we hold turned reachable, or one we had dropped is no longer buried (pull it again). */
export type Proof = { origin: string, revived: true } | { origin: string, unburied: Held }

/**
 * Why an origin is unreachable here. Only our own definite evidence (`lost`, `dialFailed`) makes sends fail fast;
 * `timedOut` (a dial or check of ours got no answer in time) is ours but not definite: an overloaded Gateway gives it too.
 */
export type Evidence = 'hearsay' | 'timedOut' | 'lost' | 'dialFailed'

/** What to make of a peer's `down`. */
export interface DownVerdict {
  /** The origin turned unreachable here (tell our peers). */
  changed: boolean
  /** Check it ourselves (a dial): hearsay is never the last word. */
  verify: boolean
}

/** An origin is checked by us at most this often. */
export const VERIFY_INTERVAL_MS = 10_000
/** Peers asked about one origin, remembered at most (one per link is plenty). */
const MAX_ASKED = 64

export class Liveness {
  private readonly registry: Registry
  /** Origins we have a live link to. */
  private readonly direct = new Set<string>()
  /** Per peer of ours, the peers it says it is linked to. */
  private readonly claimedLinks = new Map<string, Set<string>>()
  /** Per origin declared down: the newest version known then. Records up to it prove nothing. */
  private readonly downAt = new Map<string, Version>()
  /** Per unreachable origin: our evidence. */
  private readonly evidence = new Map<string, Evidence>()
  /** Per origin we are linked to: peers of ours that lost it and wait for word that we still hear it. */
  private readonly askers = new Map<string, Set<string>>()
  /** Per origin: peers we asked about it (our `down` or `suspect`); only their `alive` counts. */
  private readonly asked = new Map<string, Set<string>>()
  /** Per origin: when we last checked it ourselves. */
  private readonly verifiedAt = new Map<string, number>()

  constructor (registry: Registry) {
    this.registry = registry
  }

  isLinked (origin: string): boolean {
    return this.direct.has(origin)
  }

  /** The peers `peer` says it is linked to (a copy). */
  claimedBy (peer: string): ReadonlySet<string> {
    return new Set(this.claimedLinks.get(peer))
  }

  /** True when `peer` says it is linked to `origin`. */
  claimsLink (peer: string, origin: string): boolean {
    return this.claimedLinks.get(peer)?.has(origin) === true
  }

  /** Why `origin` is unreachable, if it is. */
  evidenceOf (origin: string): Evidence | undefined {
    return this.registry.get(origin)?.reachable === false ? this.evidence.get(origin) : undefined
  }

  /** True when a send to `origin` should fail at once: it said goodbye, or our own evidence says it is down. */
  failFast (origin: string): boolean {
    const state = this.registry.get(origin)
    if (state === undefined || state.reachable) return false
    if (state.bye !== undefined) return true
    const evidence = this.evidence.get(origin)
    return evidence === 'lost' || evidence === 'dialFailed'
  }

  /** Peers of ours (live links) that say they are linked to `origin`. */
  witnesses (origin: string): string[] {
    const out: string[] = []
    for (const [peer, links] of this.claimedLinks) if (links.has(origin) && this.direct.has(peer) && peer !== origin) out.push(peer)
    return out
  }

  // ---- first-hand evidence ---------------------------------------------------

  /** Rule 1: a dial (or check) of ours to `origin` failed (`timedOut`: got no answer in time). Returns true when it turned unreachable. */
  dialFailed (origin: string, now: number, timedOut = false): boolean {
    if (this.direct.has(origin)) return false
    return this.declareDown(origin, undefined, now, timedOut ? 'timedOut' : 'dialFailed')
  }

  /** Rule 1/3: our link to `peer` is up (its hello arrived, or it answered after a verdict); it runs incarnation `run` (its hello; 0: it has published nothing yet). */
  linked (peer: string, now: number, run?: number): Proof | undefined {
    this.direct.add(peer)
    return this.prove(peer, run, now, true)
  }

  /** Rule 1: our link to `peer` is gone (closed). Its claims about others no longer count. Returns true when it turned unreachable. */
  unlinked (peer: string, now: number): boolean {
    this.direct.delete(peer)
    this.claimedLinks.delete(peer)
    // Those waiting to hear from it get our own `down` instead.
    this.askers.delete(peer)
    return this.declareDown(peer, undefined, now, 'lost')
  }

  /** Rule 1: the failure detector declared our (still open) link to `peer` down. Its claims wait until it answers again. */
  linkDead (peer: string, now: number): boolean {
    this.direct.delete(peer)
    this.askers.delete(peer)
    return this.declareDown(peer, undefined, now, 'lost')
  }

  /** We closed the link on purpose, or it closed on purpose: no evidence either way. */
  unlinkedQuietly (peer: string): void {
    this.direct.delete(peer)
    this.claimedLinks.delete(peer)
    this.askers.delete(peer)
  }

  /**
   * Rule 3: a new authenticated connection to or from `peer`, or a check of ours that it answered. It names
   * no run (a restarted Gateway looks the same), so it revives nothing: it only lifts our own evidence, so
   * that sends try the owner again (the registry link it prompts names the run: see `linked`).
   */
  reached (peer: string, now: number): void {
    this.verifiedAt.set(peer, now)
    const evidence = this.evidence.get(peer)
    if (evidence === 'lost' || evidence === 'dialFailed') this.evidence.set(peer, 'hearsay')
  }

  /** True (and remembered) when we should check `origin` ourselves now: not linked to it, not checked lately. */
  shouldVerify (origin: string, now: number): boolean {
    if (this.direct.has(origin)) return false
    const last = this.verifiedAt.get(origin)
    if (last !== undefined && now - last < VERIFY_INTERVAL_MS) return false
    if (this.verifiedAt.size > 4_096) this.verifiedAt.clear()
    this.verifiedAt.set(origin, now)
    return true
  }

  /** Rule 3: a record of `origin` was applied; `fromOrigin` when it came from the origin itself. Returns true when it revived it. */
  recordApplied (origin: string, fromOrigin: boolean, now: number): boolean {
    const state = this.registry.get(origin)
    if (state === undefined || state.reachable) return false
    const deadAt = this.downAt.get(origin)
    if (!fromOrigin && deadAt !== undefined && compareVersions(versionOf(state), deadAt) <= 0) return false
    return this.revive(origin, now)
  }

  // ---- hearsay ---------------------------------------------------------------

  /** Rule 3: `peer` says it is linked to `links` now (running `runs`, where it says); newly listed origins are proven alive (second-hand). */
  peerLinks (peer: string, links: Set<string>, now: number, runs?: ReadonlyMap<string, number>): Proof[] {
    const before = this.claimedLinks.get(peer) ?? new Set<string>()
    this.claimedLinks.set(peer, links)
    const proofs: Proof[] = []
    for (const origin of links) {
      const proof = before.has(origin) ? undefined : this.prove(origin, runs?.get(origin), now, false)
      if (proof !== undefined) proofs.push(proof)
    }
    return proofs
  }

  /** Rule 2: `from` says it lost `origin`, holding `version` of it. */
  down (from: string, origin: string, version: Version, now: number): DownVerdict {
    const state = this.registry.get(origin)
    const none = { changed: false, verify: false }
    if (state === undefined || state.incarnation !== version[0] || from === origin || this.direct.has(origin)) return none
    const links = this.claimedLinks.get(from)
    if (links?.has(origin) === true) {
      links.delete(origin)
      if (this.witnesses(origin).length > 0) return none
      const changed = this.declareDown(origin, version, now, 'hearsay')
      return { changed, verify: changed && this.shouldVerify(origin, now) }
    }
    // A rumour: nobody believes it, whoever thinks the origin reachable checks.
    return { changed: false, verify: state.reachable && this.shouldVerify(origin, now) }
  }

  /** We asked `peers` about `origin` (our `down` or `suspect` went to them): their `alive` will count. */
  asking (origin: string, peers: Iterable<string>): void {
    let set = this.asked.get(origin)
    if (set === undefined) this.asked.set(origin, set = new Set())
    for (const peer of peers) if (set.size < MAX_ASKED && peer !== origin) set.add(peer)
  }

  /**
   * Rule 3, the witness's side: peer `from` lost or suspects `origin`. Returns
   * true when we are linked to `origin`: answer `from` with `alive` once we
   * next hear from it (see `heard`).
   */
  askedBy (from: string, origin: string): boolean {
    if (!this.direct.has(origin) || !this.direct.has(from) || from === origin) return false
    let waiting = this.askers.get(origin)
    if (waiting === undefined) this.askers.set(origin, waiting = new Set())
    if (waiting.size < MAX_ASKED) waiting.add(from)
    return true
  }

  /** We heard from `origin` on our link: the peers to answer with `alive` (each once). */
  heard (origin: string): string[] {
    const waiting = this.askers.get(origin)
    if (waiting === undefined) return []
    this.askers.delete(origin)
    return [...waiting].filter(peer => this.direct.has(peer))
  }

  /**
   * Rule 3: `from`, a peer of ours that we asked, is linked to `origin` (run `version[0]`) and heard from
   * it after we asked. Lifts hearsay and a lost link of ours, never a dial of ours that failed.
   */
  alive (from: string, origin: string, version: Version, now: number): Proof | undefined {
    if (!this.direct.has(from) || from === origin) return undefined
    // Unasked, an `alive` is only a claim: a member could keep a crashed Gateway listed with it.
    if (this.asked.get(origin)?.delete(from) !== true) return undefined
    let links = this.claimedLinks.get(from)
    if (links === undefined) this.claimedLinks.set(from, links = new Set())
    links.add(origin)
    return this.prove(origin, version[0], now, false)
  }

  /** The origin left the registry: forget what we know about its liveness. */
  forget (origin: string): void {
    this.downAt.delete(origin)
    this.evidence.delete(origin)
    this.asked.delete(origin)
    this.verifiedAt.delete(origin)
  }

  // ---- state -----------------------------------------------------------------

  private declareDown (origin: string, claimed: Version | undefined, now: number, evidence: Evidence): boolean {
    const state = this.registry.get(origin)
    if (state === undefined) return false
    const known = this.evidence.get(origin)
    // Our own evidence outranks hearsay, and a failed dial outranks a lost link.
    if (!state.reachable && known !== undefined && rank(evidence) <= rank(known)) return false
    this.evidence.set(origin, evidence)
    if (!state.reachable) return false
    const held = versionOf(state)
    this.downAt.set(origin, claimed !== undefined && claimed[0] === held[0] ? newest(claimed, held) : held)
    return this.registry.setReachable(origin, false, now)
  }

  /**
   * `origin` (run `incarnation`, when the proof names one) lives; `firstHand` proofs lift any evidence.
   * A proof of another run revives nothing: a restarted Gateway's previous run is over, and its entries
   * stay unreachable until the new run's records replace them.
   */
  private prove (origin: string, incarnation: number | undefined, now: number, firstHand: boolean): Proof | undefined {
    const state = this.registry.get(origin)
    if (state !== undefined) {
      if (incarnation !== undefined && incarnation !== state.incarnation) return undefined
      if (!firstHand && this.evidence.get(origin) === 'dialFailed' && !state.reachable) return undefined
      return this.revive(origin, now) ? { origin, revived: true } : undefined
    }
    // Dropped: a tombstone buries the records we would need. A goodbye stays final.
    const tombstone = this.registry.tombstones.get(origin)
    if (tombstone === undefined || tombstone.bye !== undefined || (incarnation !== undefined && incarnation < tombstone.version[0])) return undefined
    this.registry.tombstones.lift(origin)
    return { origin, unburied: { version: tombstone.version, departed: false } }
  }

  private revive (origin: string, now: number): boolean {
    const changed = this.registry.setReachable(origin, true, now)
    if (changed) {
      this.downAt.delete(origin)
      this.evidence.delete(origin)
      this.asked.delete(origin)
    }
    return changed
  }
}

function rank (evidence: Evidence): number {
  return evidence === 'hearsay' ? 0 : evidence === 'timedOut' ? 1 : evidence === 'lost' ? 2 : 3
}
