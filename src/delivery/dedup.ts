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
 * Pure state with an injected clock. Finished entries leave only from the front
 * (expired or oldest), so each sender keeps them in a queue beside the map: a
 * `Map` iterated from its start after many deletions from its front walks the
 * deleted slots first (V8 keeps them until it rehashes), which cost ~100 µs per
 * message once a busy sender reached its quota.
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
  finished: Map<string, Finished>
  /** IDs of `finished` in completion order, so expiry order too; `order[head]` is the oldest. */
  order: string[]
  head: number
  /** Entries of `order` before this one hold no reply any more (replies are forgotten oldest first). */
  replyCursor: number
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
    if (log === undefined) this.senders.set(sender, log = { inflight: new Map(), finished: new Map(), order: [], head: 0, replyCursor: 0, replyBytes: 0 })
    log.inflight.set(id, delivery)
  }

  /** The delivery ended: remembered for the window from now. */
  finish (sender: string, id: string, outcome: Outcome): void {
    const log = this.senders.get(sender)
    if (log === undefined || !log.inflight.delete(id)) return
    const replyBytes = 'reply' in outcome && outcome.reply !== undefined ? outcome.reply.length : 0
    log.finished.set(id, { outcome, expires: this.limits.now() + this.limits.windowMs, replyBytes })
    log.order.push(id)
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
    while (log.head < log.order.length) {
      const done = log.finished.get(log.order[log.head] as string) as Finished
      if (done.expires > now) break
      this.removeOldest(log)
    }
    this.dropIfEmpty(sender, log)
  }

  private dropOldest (sender: string, log: SenderLog<T>): void {
    if (log.head < log.order.length) this.removeOldest(log)
    this.dropIfEmpty(sender, log)
  }

  private removeOldest (log: SenderLog<T>): void {
    const id = log.order[log.head] as string
    const done = log.finished.get(id) as Finished
    log.finished.delete(id)
    log.replyBytes -= done.replyBytes
    this.replyBytes -= done.replyBytes
    this.finishedCount--
    // Drop the consumed front of the queue now and then (amortised O(1) per entry).
    if (++log.head > 1024 && log.head * 2 > log.order.length) {
      log.order = log.order.slice(log.head)
      log.replyCursor = Math.max(0, log.replyCursor - log.head)
      log.head = 0
    }
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
    for (let i = Math.max(log.head, log.replyCursor); i < log.order.length; i++) {
      log.replyCursor = i
      const done = log.finished.get(log.order[i] as string) as Finished
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
