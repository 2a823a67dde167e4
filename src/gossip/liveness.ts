/**
 * Who is reachable: the rules, as pure state over the registry (time passed in).
 *
 * Designed for a mesh that is not full: most Gateways are not linked to each
 * other, so most of what a node knows about an origin's liveness is what its
 * peers say. What a peer may say is limited to what it can know:
 *
 * 1. A link is direct evidence. Linked to an origin: reachable. Our link to it
 *    closed or went silent, or a dial to it failed: unreachable at once.
 * 2. `down` (a peer lost its link to the origin) is believed only from a peer
 *    that said it was linked to that origin (its `links`), about the incarnation
 *    we hold, and only while no other peer of ours still says it is linked to it:
 *    one member cannot take down a Gateway that others still see.
 * 3. Life is proven by a direct link, by a fresh record (newer than the version
 *    we held when it was declared down: the origin wrote since), by a peer newly
 *    saying it is linked to the origin (a flap healed behind a relay), or by a
 *    peer's `alive`: a peer linked to the origin answers our `down` once it next
 *    hears from it. So an idle origin that only we lost is back within a
 *    heartbeat while anyone linked to it still hears it. A proof names the run
 *    it proves where it can (the origin's own hello, a peer's `links` and
 *    `alive`), and revives only that run: after a restart, the old run's entries
 *    never come back as reachable. A proof of life for an
 *    origin we dropped lifts its tombstone, unless it said goodbye: its records
 *    are then pulled again.
 * 4. A signed goodbye is final for its incarnation; only a new incarnation
 *    (a restart) brings the origin back.
 *
 * A member that lies about its links can keep a crashed origin listed (sends
 * to it then fail UNREACHABLE after a dial), never revive one that said
 * goodbye, and never take down one that another peer of ours still sees.
 *
 * The seam for suspicion and indirect probes (bounded degree): `down` and
 * `unlinked` are the only ways to an unreachable state, and both go through
 * `declareDown`, which a suspicion stage can sit in front of; `asked`/`heard`
 * are a one-hop indirect probe.
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

export class Liveness {
  private readonly registry: Registry
  /** Origins we have a joined link to. */
  private readonly direct = new Set<string>()
  /** Per peer of ours, the peers it says it is linked to. */
  private readonly claimedLinks = new Map<string, Set<string>>()
  /** Per origin declared down: the newest version known then. Records up to it prove nothing. */
  private readonly downAt = new Map<string, Version>()
  /** Per origin we are linked to: peers of ours that lost it and wait for word that we still hear it. */
  private readonly askers = new Map<string, Set<string>>()

  constructor (registry: Registry) {
    this.registry = registry
  }

  isLinked (origin: string): boolean {
    return this.direct.has(origin)
  }

  /** True when `peer` says it is linked to `origin`. */
  claimsLink (peer: string, origin: string): boolean {
    return this.claimedLinks.get(peer)?.has(origin) === true
  }

  /** Rule 1: a dial to `origin` failed (we are not linked to it). Returns true when it turned unreachable. */
  dialFailed (origin: string, now: number): boolean {
    return !this.direct.has(origin) && this.declareDown(origin, undefined, now)
  }

  /** Peers of ours that say they are linked to `origin`. */
  witnesses (origin: string): string[] {
    const out: string[] = []
    for (const [peer, links] of this.claimedLinks) if (links.has(origin) && this.direct.has(peer)) out.push(peer)
    return out
  }

  /** Rule 1: we are linked to `peer`, which says it runs incarnation `run` (its hello; 0: it has published nothing yet). */
  linked (peer: string, now: number, run?: number): Proof | undefined {
    this.direct.add(peer)
    return this.prove(peer, run, now)
  }

  /** Rule 1: our link to `peer` is gone (closed, or silent). Its claims about others no longer count. Returns true when it turned unreachable. */
  unlinked (peer: string, now: number): boolean {
    this.direct.delete(peer)
    this.claimedLinks.delete(peer)
    // Those waiting to hear from it get our own `down` instead.
    this.askers.delete(peer)
    return this.declareDown(peer, undefined, now)
  }

  /** Rule 3: `peer` says it is linked to `links` now (running `runs`, where it says); newly listed origins are proven alive. */
  peerLinks (peer: string, links: Set<string>, now: number, runs?: ReadonlyMap<string, number>): Proof[] {
    const before = this.claimedLinks.get(peer) ?? new Set<string>()
    this.claimedLinks.set(peer, links)
    const proofs: Proof[] = []
    for (const origin of links) {
      const proof = before.has(origin) ? undefined : this.prove(origin, runs?.get(origin), now)
      if (proof !== undefined) proofs.push(proof)
    }
    return proofs
  }

  /** Rule 2: `from` says it lost its link to `origin`, holding `version` of it. Returns true when `origin` turned unreachable. */
  down (from: string, origin: string, version: Version, now: number): boolean {
    const links = this.claimedLinks.get(from)
    const state = this.registry.get(origin)
    if (links?.has(origin) !== true || state === undefined || state.incarnation !== version[0]) return false
    links.delete(origin)
    if (this.direct.has(origin) || this.witnesses(origin).length > 0) return false
    return this.declareDown(origin, version, now)
  }

  /**
   * Rule 3, the witness's side: peer `from` lost `origin` (its `down`). Returns
   * true when we are linked to `origin`: answer `from` with `alive` once we
   * next hear from it (see `heard`).
   */
  asked (from: string, origin: string): boolean {
    if (!this.direct.has(origin) || !this.direct.has(from) || from === origin) return false
    let waiting = this.askers.get(origin)
    if (waiting === undefined) this.askers.set(origin, waiting = new Set())
    waiting.add(from)
    return true
  }

  /** We heard from `origin` on our link: the peers to answer with `alive` (each once). */
  heard (origin: string): string[] {
    const waiting = this.askers.get(origin)
    if (waiting === undefined) return []
    this.askers.delete(origin)
    return [...waiting].filter(peer => this.direct.has(peer))
  }

  /** Rule 3: `from`, a peer of ours, is linked to `origin` (run `version[0]`) and heard from it after our `down`. */
  alive (from: string, origin: string, version: Version, now: number): Proof | undefined {
    if (!this.direct.has(from) || from === origin) return undefined
    let links = this.claimedLinks.get(from)
    if (links === undefined) this.claimedLinks.set(from, links = new Set())
    links.add(origin)
    return this.prove(origin, version[0], now)
  }

  /** Rule 3: a record of `origin` was applied; `fresh` when it came from the origin itself. Returns true when it revived it. */
  recordApplied (origin: string, fromOrigin: boolean, now: number): boolean {
    const state = this.registry.get(origin)
    if (state === undefined || state.reachable) return false
    const deadAt = this.downAt.get(origin)
    if (!fromOrigin && deadAt !== undefined && compareVersions(versionOf(state), deadAt) <= 0) return false
    return this.revive(origin, now)
  }

  /** The origin left the registry: forget what we know about its liveness. */
  forget (origin: string): void {
    this.downAt.delete(origin)
  }

  private declareDown (origin: string, claimed: Version | undefined, now: number): boolean {
    const state = this.registry.get(origin)
    if (state === undefined) return false
    const held = versionOf(state)
    this.downAt.set(origin, claimed !== undefined && claimed[0] === held[0] ? newest(claimed, held) : held)
    return this.registry.setReachable(origin, false, now)
  }

  /**
   * `origin` (run `incarnation`, when the proof names one) lives. A proof of
   * another run revives nothing: a restarted Gateway's previous run is over, and
   * its entries stay unreachable until the new run's records replace them.
   */
  private prove (origin: string, incarnation: number | undefined, now: number): Proof | undefined {
    const state = this.registry.get(origin)
    if (state !== undefined) {
      if (incarnation !== undefined && incarnation !== state.incarnation) return undefined
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
    if (changed) this.downAt.delete(origin)
    return changed
  }
}
