/**
 * How healthy this Gateway itself is, as Lifeguard (the SWIM refinement behind
 * memberlist and Serf) measures it: pure state, time passed in.
 *
 * A node that is itself slow (its timers fire late because its event loop is
 * busy, its process was descheduled, or it was suspended) hears its peers late
 * too, and would take their silence for death. So the score rises when our own
 * periodic check runs late, and when a peer tells us it suspected us (we were
 * slow to answer); it falls back one step per quiet interval (5 s: a node
 * that stalled once is likely to stall again soon, as under a CPU overload). Every liveness
 * timeout is multiplied by `1 + score`, so a struggling node waits longer
 * before it accuses anyone, and a healthy one detects a hang quickly.
 */

export interface LocalHealthOptions {
  /** The highest score (the multiplier is at most `1 + max`). @default 8 */
  max?: number
  /** A check later than this (beyond its interval) counts as a stall. @default 250 */
  lateMs?: number
  /** The score falls by one after this long without a stall or an accusation. @default 5000 */
  recoverMs?: number
}

export class LocalHealth {
  private readonly max: number
  private readonly lateMs: number
  private readonly recoverMs: number
  private current = 0
  /** When the score last rose or fell. */
  private changedAt = 0

  constructor (options: LocalHealthOptions = {}) {
    this.max = options.max ?? 8
    this.lateMs = options.lateMs ?? 250
    this.recoverMs = options.recoverMs ?? 5_000
  }

  /** 0 (healthy) to `max`. */
  get score (): number {
    return this.current
  }

  /** What our liveness timeouts are multiplied by. */
  get multiplier (): number {
    return 1 + this.current
  }

  /** Our periodic check ran at `now`, `lateBy` ms after it was due. */
  checked (now: number, lateBy: number): void {
    if (lateBy > this.lateMs) {
      // One step per late check, more for a long stall (a second or more), up to the cap.
      this.raise(now, Math.max(1, Math.round(lateBy / 1_000)))
      return
    }
    if (this.current > 0 && now - this.changedAt >= this.recoverMs) {
      this.current--
      this.changedAt = now
    }
  }

  /** A peer suspected us or declared us down: we were slow to answer it. */
  accused (now: number): void {
    this.raise(now, 1)
  }

  private raise (now: number, by: number): void {
    this.current = Math.min(this.max, this.current + by)
    this.changedAt = now
  }
}
