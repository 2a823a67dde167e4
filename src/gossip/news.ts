/**
 * Spreading applied records to peers that are not linked to their origin (the
 * origin pushes to those itself) and not known to hold them yet. Small records
 * (deltas, goodbyes: a churn of sessions) are pushed as they are, so a change
 * crosses a bounded-degree mesh in a few hops of one frame each. Snapshots go
 * as news (lazy push): a partial digest, batched for a moment, and peers pull
 * what they lack (one pull per origin); forwarding whole snapshots made every
 * node of a freshly formed mesh send every snapshot to everyone.
 */
import { heldOf, type Registry } from '../registry/registry.ts'
import { compareHeld, type Digest, type Held } from '../registry/version.ts'
import { encodeFrame } from './wire.ts'
import type { Liveness } from './liveness.ts'
import type { PeerLink } from './peer-link.ts'

/** News of applied records is batched for this long. */
export const NEWS_DELAY_MS = 50
/** Records up to this size are pushed as they are; larger ones (snapshot chunks) go as news. */
export const PUSH_MAX_BYTES = 8 * 1024

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

  /**
   * A small record of `origin` (`held`: what it brings us to) goes as it is to peers that cannot have it
   * from the origin itself and are not known to hold it. A peer that has not said whom it links to since
   * it linked to us (a newcomer's hello names nobody: it links to many at once) may be getting it from
   * the origin right now: it gets news instead, and pulls only what its own links do not bring it.
   */
  push (origin: string, from: string, bytes: Uint8Array, held: Held): void {
    const frame = encodeFrame.record(bytes)
    for (const link of this.links()) {
      if (!link.live || link.id === from || link.id === origin || this.liveness.claimsLink(link.id, origin)) continue
      const theirs = link.holds.get(origin)
      if (theirs !== undefined && compareHeld(held, theirs) <= 0) continue
      if (!link.linksHeard) {
        this.recordApplied(origin, from)
        continue
      }
      link.noteHolds(origin, held)
      void link.send(frame)
    }
  }

  /** Sends each peer one partial digest of what it is missing. */
  spread (): void {
    const queue = this.queue
    this.queue = new Map()
    for (const link of this.links()) {
      if (!link.live) continue
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
