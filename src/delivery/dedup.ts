/**
 * What the receiver remembers per (sender, message ID), so that a retry never
 * reaches the session twice:
 *
 * - a delivery **in flight** is always kept (never evicted): a retry joins it;
 * - a **finished** one is kept from its completion for the dedup window, which
 *   is also the longest deadline a sender may give (ttl is capped at it);
 * - memory is bounded by quotas **per sender**: past its own quota a sender's
 *   oldest entries go first, and past the global cap the sender holding the
 *   most loses its oldest. So one sender's flood evicts only its own history.
 * - replies are kept to answer duplicates, within a byte budget: past it the
 *   largest holder's oldest replies are forgotten (their IDs stay, so the
 *   message is still never redelivered).
 *
 * Pure state with an injected clock.
 */
import { MeshError } from '../errors.ts'

/** How a delivery ended. */
export type Outcome = { reply?: string } | { error: MeshError }

export interface DedupLimits {
  windowMs: number
  /** Finished entries kept per sender. */
  maxPerSender: number
  /** Finished entries kept in all. */
  maxEntries: number
  /** Reply bytes kept in all. */
  maxReplyBytes: number
  now: () => number
}

interface Finished {
  outcome: Outcome
  expires: number
  replyBytes: number
}

interface SenderLog<T> {
  inflight: Map<string, T>
  /** In completion order, so expiry order too. */
  finished: Map<string, Finished>
  replyBytes: number
}

const FORGOTTEN: Outcome = { error: new MeshError('REMOTE_ERROR', 'this message was already delivered; its reply is no longer kept') }

export class DedupStore<T> {
  private readonly limits: DedupLimits
  private readonly senders = new Map<string, SenderLog<T>>()
  private finishedCount = 0
  private replyBytes = 0

  constructor (limits: DedupLimits) {
    this.limits = limits
  }

  /** The delivery under way, or how it ended (within the window), or undefined for a new message. */
  get (sender: string, id: string): { inflight: T } | { finished: Outcome } | undefined {
    const log = this.senders.get(sender)
    if (log === undefined) return undefined
    const running = log.inflight.get(id)
    if (running !== undefined) return { inflight: running }
    this.expire(sender, log)
    const done = log.finished.get(id)
    return done === undefined ? undefined : { finished: done.outcome }
  }

  /** A new delivery started: kept until `finish`, whatever else arrives. */
  begin (sender: string, id: string, delivery: T): void {
    let log = this.senders.get(sender)
    if (log === undefined) this.senders.set(sender, log = { inflight: new Map(), finished: new Map(), replyBytes: 0 })
    log.inflight.set(id, delivery)
  }

  /** The delivery ended: remembered for the window from now. */
  finish (sender: string, id: string, outcome: Outcome): void {
    const log = this.senders.get(sender)
    if (log === undefined || !log.inflight.delete(id)) return
    const replyBytes = 'reply' in outcome && outcome.reply !== undefined ? outcome.reply.length : 0
    log.finished.set(id, { outcome, expires: this.limits.now() + this.limits.windowMs, replyBytes })
    log.replyBytes += replyBytes
    this.replyBytes += replyBytes
    this.finishedCount++
    this.expire(sender, log)
    while (log.finished.size > this.limits.maxPerSender) this.dropOldest(sender, log)
    while (this.finishedCount > this.limits.maxEntries) {
      const [largest, largestLog] = this.largest(l => l.finished.size)
      this.dropOldest(largest, largestLog)
    }
    while (this.replyBytes > this.limits.maxReplyBytes) {
      const [, largestLog] = this.largest(l => l.replyBytes)
      if (!this.forgetOldestReply(largestLog)) break
    }
  }

  /** Deliveries under way, in all. */
  get inflightCount (): number {
    let n = 0
    for (const log of this.senders.values()) n += log.inflight.size
    return n
  }

  get finishedEntries (): number {
    return this.finishedCount
  }

  get retainedReplyBytes (): number {
    return this.replyBytes
  }

  private expire (sender: string, log: SenderLog<T>): void {
    const now = this.limits.now()
    for (const [id, done] of log.finished) {
      if (done.expires > now) break
      this.remove(log, id, done)
    }
    this.dropIfEmpty(sender, log)
  }

  private dropOldest (sender: string, log: SenderLog<T>): void {
    const first = log.finished.entries().next()
    if (first.done !== true) this.remove(log, first.value[0], first.value[1])
    this.dropIfEmpty(sender, log)
  }

  private remove (log: SenderLog<T>, id: string, done: Finished): void {
    log.finished.delete(id)
    log.replyBytes -= done.replyBytes
    this.replyBytes -= done.replyBytes
    this.finishedCount--
  }

  private dropIfEmpty (sender: string, log: SenderLog<T>): void {
    if (log.inflight.size === 0 && log.finished.size === 0) this.senders.delete(sender)
  }

  /** The sender with the most of something; only called past a cap, so a scan is cheap enough. */
  private largest (measure: (log: SenderLog<T>) => number): [string, SenderLog<T>] {
    let best: [string, SenderLog<T>] | undefined
    for (const entry of this.senders) if (best === undefined || measure(entry[1]) > measure(best[1])) best = entry
    return best as [string, SenderLog<T>]
  }

  private forgetOldestReply (log: SenderLog<T>): boolean {
    for (const done of log.finished.values()) {
      if (done.replyBytes === 0) continue
      log.replyBytes -= done.replyBytes
      this.replyBytes -= done.replyBytes
      done.replyBytes = 0
      done.outcome = FORGOTTEN
      return true
    }
    return false
  }
}
