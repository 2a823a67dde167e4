/**
 * What stays of an origin after its entries were dropped: its last incarnation
 * and seq, and its signed goodbye if it said one. Records at or below a
 * tombstone are stale, so a copy of a dead Gateway that some peer still holds
 * (or pulled during the grace period) can never bring it back; only a newer
 * record (a fresh write of that run, or a new incarnation) does, or, for an
 * origin that did not say goodbye, a proof that it lives (src/gossip/liveness.ts
 * lifts the tombstone). Tombstones with a goodbye are served to peers, which
 * then drop the origin too.
 */
import { compareVersions, type Version } from './version.ts'

export interface Tombstone {
  version: Version
  /** The origin's signed `bye` (an encoded SignedRecord), when it left on purpose. */
  bye?: Uint8Array
  /** When it was laid (epoch ms). */
  at: number
}

/** Past this many, the oldest tombstones are forgotten first (a flood of made-up origins cannot grow memory). */
export const MAX_TOMBSTONES = 10_000

export class Tombstones {
  private readonly byOrigin = new Map<string, Tombstone>()

  lay (origin: string, tombstone: Tombstone): void {
    this.byOrigin.delete(origin)
    this.byOrigin.set(origin, tombstone)
    if (this.byOrigin.size > MAX_TOMBSTONES) {
      const oldest = this.byOrigin.keys().next().value
      if (oldest !== undefined) this.byOrigin.delete(oldest)
    }
  }

  get (origin: string): Tombstone | undefined {
    return this.byOrigin.get(origin)
  }

  /** True when a record of `origin` at `version` is buried: not newer than the tombstone. */
  buries (origin: string, version: Version): boolean {
    const t = this.byOrigin.get(origin)
    return t !== undefined && compareVersions(version, t.version) <= 0
  }

  /** A newer record of the origin arrived: it lives. */
  lift (origin: string): void {
    this.byOrigin.delete(origin)
  }

  /** Forgets tombstones older than `ttlMs`. */
  prune (now: number, ttlMs: number): void {
    for (const [origin, t] of this.byOrigin) {
      if (now - t.at < ttlMs) break
      this.byOrigin.delete(origin)
    }
  }

  entries (): IterableIterator<[string, Tombstone]> {
    return this.byOrigin.entries()
  }

  get size (): number {
    return this.byOrigin.size
  }
}
