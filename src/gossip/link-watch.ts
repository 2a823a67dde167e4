/**
 * The failure detector of one registry link: pure state, time passed in.
 *
 * SWIM with Lifeguard's refinements (as memberlist and Serf run it), over our
 * long-lived links instead of UDP pings:
 *
 * 1. **Direct probe.** A peer silent past `probeAfterMs` is asked for a sign of
 *    life (a heartbeat, answered at once), again every heartbeat interval.
 * 2. **Suspicion.** Silent past `suspectAfterMs`, it is suspect: still reachable
 *    (sends to it go ahead), and peers linked to it are asked to probe it for us
 *    (`Suspect` frames: an indirect probe, which tells apart a dead peer from a
 *    bad link between the two of us).
 * 3. **Verdict.** A suspicion lasts `suspicionMaxMs`, shortened towards
 *    `suspicionMinMs` as independent peers confirm it (they lost the peer too,
 *    or suspect it themselves): a lone observer waits longest, because a lone
 *    observer is most likely to be the slow one. Any frame from the peer clears
 *    it (the peer answered); a witness that hears the peer (a solicited `Alive`)
 *    extends it once. Then the peer is declared down.
 * 4. **After the verdict** the connection stays open and the peer is still
 *    probed: a peer that was only stalled answers the moment it runs again and
 *    is reachable at once (it reads our accusation and refutes it mesh-wide).
 *    Past `deadLinkMs` we hang up.
 *
 * Every duration is multiplied by our own health multiplier (local-health.ts):
 * a node that is itself slow waits longer before it accuses anyone.
 */

export interface WatchTiming {
  /** How often a probe may be repeated. */
  heartbeatMs: number
  probeAfterMs: number
  suspectAfterMs: number
  suspicionMinMs: number
  suspicionMaxMs: number
  /** Independent confirmations after which a suspicion lasts only `suspicionMinMs`. */
  confirmations: number
  /** A peer declared down whose link stays silent this long is hung up on. */
  deadLinkMs: number
}

/** Timing for a given `peerSilenceMs` (what a healthy node takes to declare a hung peer with a confirmation). */
export function watchTiming (heartbeatMs: number, peerSilenceMs: number): WatchTiming {
  const suspectAfterMs = Math.round(peerSilenceMs * 0.625)
  const suspicionMinMs = peerSilenceMs - suspectAfterMs
  return {
    heartbeatMs,
    probeAfterMs: Math.min(Math.round(heartbeatMs * 1.5), suspectAfterMs),
    suspectAfterMs,
    suspicionMinMs,
    suspicionMaxMs: suspicionMinMs * 3,
    confirmations: 2,
    deadLinkMs: Math.max(30_000, peerSilenceMs * 4)
  }
}

export type WatchAction = 'none' | 'probe' | 'suspect' | 'declare' | 'hangUp'

export type WatchState = 'alive' | 'suspect' | 'dead'

export class LinkWatch {
  /** When we last heard any frame from the peer. */
  lastHeard: number
  private suspectSince?: number
  private deadSince?: number
  private lastProbe = -Infinity
  /** Peers we asked to probe it (the suspicion's witnesses). */
  private readonly asked = new Set<string>()
  private readonly confirmers = new Set<string>()
  private extended = false

  constructor (now: number) {
    this.lastHeard = now
  }

  get state (): WatchState {
    return this.deadSince !== undefined ? 'dead' : this.suspectSince !== undefined ? 'suspect' : 'alive'
  }

  /** Any frame from the peer. Returns the state it was in (a `dead` peer is back). */
  heard (now: number): WatchState {
    const was = this.state
    this.lastHeard = now
    this.clear()
    return was
  }

  /** We did not run for `ms` (our own stall): that time was not the peer's silence. */
  excuse (ms: number, now: number): void {
    this.lastHeard = Math.min(now, this.lastHeard + ms)
    if (this.suspectSince !== undefined) this.suspectSince = Math.min(now, this.suspectSince + ms)
    if (this.deadSince !== undefined) this.deadSince = Math.min(now, this.deadSince + ms)
  }

  /** What to do now; `multiplier` is our own health multiplier. */
  step (now: number, multiplier: number, t: WatchTiming): WatchAction {
    const silence = now - this.lastHeard
    if (this.deadSince !== undefined) {
      if (now - this.deadSince >= t.deadLinkMs * multiplier) return 'hangUp'
      return this.probeDue(now, multiplier, t) ? 'probe' : 'none'
    }
    if (this.suspectSince !== undefined) {
      if (now - this.suspectSince >= this.suspicionMs(multiplier, t)) {
        this.deadSince = now
        this.suspectSince = undefined
        return 'declare'
      }
      return this.probeDue(now, multiplier, t) ? 'probe' : 'none'
    }
    if (silence >= t.suspectAfterMs * multiplier) {
      this.suspectSince = now
      this.lastProbe = now
      return 'suspect'
    }
    if (silence >= t.probeAfterMs * multiplier && this.probeDue(now, multiplier, t)) return 'probe'
    return 'none'
  }

  /** The suspicion started: we asked these peers to probe it. */
  asking (witnesses: Iterable<string>): void {
    for (const w of witnesses) this.asked.add(w)
  }

  /**
   * `from` lost it too, or suspects it too: an independent confirmation. Kept until we next hear
   * from the peer, so one that arrives just before our own suspicion starts still counts.
   */
  confirm (from: string): void {
    if (this.deadSince === undefined && this.confirmers.size < 16) this.confirmers.add(from)
  }

  /**
   * `from`, a peer we asked, hears it (a solicited `Alive`): the link between us may be what is broken.
   * Extends the suspicion once; returns false if `from` was not asked or it was extended already.
   */
  indirectAck (from: string, now: number, multiplier: number, t: WatchTiming): boolean {
    if (this.suspectSince === undefined || this.extended || !this.asked.has(from)) return false
    this.extended = true
    this.asked.delete(from)
    // Another full suspicion from now: the peer itself must answer us by then.
    this.suspectSince = now - (this.suspicionMs(multiplier, t) - t.suspicionMaxMs * multiplier)
    return true
  }

  /** Lifeguard's dynamic suspicion timeout: from max down to min as confirmations arrive (log scale). */
  suspicionMs (multiplier: number, t: WatchTiming): number {
    const min = t.suspicionMinMs * multiplier
    const max = t.suspicionMaxMs * multiplier
    const involved = new Set([...this.asked, ...this.confirmers]).size
    const k = Math.min(t.confirmations, involved)
    if (k === 0) return max
    const c = Math.min(this.confirmers.size, k)
    return Math.max(min, max - (max - min) * Math.log(c + 1) / Math.log(k + 1))
  }

  private probeDue (now: number, multiplier: number, t: WatchTiming): boolean {
    if (now - this.lastProbe < t.heartbeatMs * multiplier) return false
    this.lastProbe = now
    return true
  }

  private clear (): void {
    this.suspectSince = undefined
    this.deadSince = undefined
    this.asked.clear()
    this.confirmers.clear()
    this.extended = false
  }
}
