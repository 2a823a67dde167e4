/**
 * Spreading news of applied records (lazy push). A goodbye is forwarded as it
 * is; for anything else, peers that are not linked to its origin (the origin
 * pushes to those itself) and not known to hold that version are sent a
 * partial digest, batched for a moment, and pull what they lack (from the
 * origin if they are linked to it by then). Forwarding whole records made every
 * node of a freshly formed full mesh send every snapshot to everyone.
 */
import { heldOf, type Registry } from '../registry/registry.ts'
import { compareHeld, type Digest } from '../registry/version.ts'
import { encodeFrame } from './wire.ts'
import type { Liveness } from './liveness.ts'
import type { PeerLink } from './peer-link.ts'

/** News of applied records is batched for this long. */
export const NEWS_DELAY_MS = 50

export class News {
  /** Origins whose new records we have not yet told peers about, with the peers that sent them. */
  private queue = new Map<string, Set<string>>()
  private timer?: ReturnType<typeof setTimeout>
  private readonly registry: Registry
  private readonly liveness: Liveness
  private readonly links: () => Iterable<PeerLink>

  constructor (registry: Registry, liveness: Liveness, links: () => Iterable<PeerLink>) {
    this.registry = registry
    this.liveness = liveness
    this.links = links
  }

  /** A record of `origin` from `from` was applied: tell the others soon. */
  recordApplied (origin: string, from: string): void {
    let senders = this.queue.get(origin)
    if (senders === undefined) this.queue.set(origin, senders = new Set())
    senders.add(from)
    if (this.timer !== undefined) return
    this.timer = setTimeout(() => {
      this.timer = undefined
      this.spread()
    }, NEWS_DELAY_MS)
    this.timer.unref?.()
  }

  /** A goodbye goes as it is to peers that cannot have it from the origin itself. */
  forwardBye (origin: string, from: string, bytes: Uint8Array): void {
    const frame = encodeFrame.record(bytes)
    for (const link of this.links()) {
      if (link.id !== from && link.id !== origin && !this.liveness.claimsLink(link.id, origin)) void link.send(frame)
    }
  }

  /** Sends each peer one partial digest of what it is missing. */
  spread (): void {
    const queue = this.queue
    this.queue = new Map()
    for (const link of this.links()) {
      if (!link.joined) continue
      const news: Digest = new Map()
      for (const [origin, senders] of queue) {
        const state = this.registry.get(origin)
        if (state === undefined || senders.has(link.id) || link.id === origin || this.liveness.claimsLink(link.id, origin)) continue
        const held = heldOf(state)
        const theirs = link.holds.get(origin)
        if (theirs !== undefined && compareHeld(held, theirs) <= 0) continue
        news.set(origin, held)
      }
      // `reply`: a partial digest is news, not a request for ours.
      if (news.size > 0) void link.send(encodeFrame.digest(news, true))
    }
  }

  stop (): void {
    if (this.timer !== undefined) clearTimeout(this.timer)
    this.timer = undefined
    this.queue.clear()
  }
}
