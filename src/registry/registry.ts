/**
 * The replicated ownership registry: pure state, no I/O, no clocks of its own.
 *
 * Each origin (Gateway) is the single writer of its own entries, so there are
 * no conflicts to resolve: "two Gateways own agent:main:main" is a fact kept
 * here, not a conflict. Per origin we hold its incarnation and sequence number,
 * its entries, and its signed log (latest checkpoint + deltas since, and its
 * goodbye), which is what we serve to peers that are behind. Dropped origins
 * leave a tombstone (see tombstones.ts).
 */
import { createHash } from 'node:crypto'
import { entryRanges } from './entry-bytes.ts'
import { PackedEntries } from './packed-entries.ts'
import { Tombstones } from './tombstones.ts'
import { compareHeld, compareVersions, sameEntry, type Digest, type Held, type Version } from './version.ts'
import { entryBytesOf, type ByeRecord, type DeltaRecord, type EntryData, type GatewayMeta, type RegistryRecord, type SignedRecord, type SnapshotRecord } from './records.ts'

export interface OriginState {
  origin: string
  incarnation: number
  seq: number
  gateway: GatewayMeta
  /** Its sessions, kept as the signed bytes they came in (see packed-entries.ts). */
  entries: PackedEntries
  reachable: boolean
  /** Epoch ms since when it is unreachable. */
  unreachableSince?: number
  /** Its signed `bye` (encoded), once it left on purpose: this run never comes back. */
  bye?: Uint8Array
  checkpoint: Uint8Array[]
  checkpointSeq: number
  checkpointBytes: number
  tail: Array<{ seq: number, bytes: Uint8Array }>
  tailBytes: number
}

/** What a state change did, for events. `added` includes updated entries. */
export interface RegistryChanges {
  added: Array<{ origin: string, entry: EntryData }>
  removed: Array<{ origin: string, entry: EntryData }>
}

export type ApplyOutcome =
  | { status: 'applied', changes: RegistryChanges }
  /** Already known, older, or buried: nothing to do, nothing to relay. */
  | { status: 'stale' }
  /** We are missing what comes before it: pull the origin's state. */
  | { status: 'gap' }
  /** Part of a snapshot whose other chunks have not arrived yet. */
  | { status: 'pending' }

/** One session on one origin. */
export interface OwnedKey {
  origin: string
  sessionKey: string
}

export type { Digest }

/**
 * The bytes as an array of their own. A received record is a view into the
 * chunk it arrived in (often 64 KiB of other frames): kept as it is, a small
 * delta would keep that whole chunk alive for as long as we hold the record.
 */
function owned (bytes: Uint8Array): Uint8Array {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : bytes.slice()
}

/** What `PackedEntries` indexes for `signed` (kept as `stored`): those very bytes when they are v2, else a v2 copy (see `entryBytesOf`). */
function packable (signed: SignedRecord, stored: Uint8Array): Uint8Array {
  const bytes = entryBytesOf(signed)
  return bytes === signed.bytes ? stored : bytes
}

function emptyChanges (): RegistryChanges {
  return { added: [], removed: [] }
}

export function versionOf (state: OriginState): Version {
  return [state.incarnation, state.seq]
}

export function heldOf (state: OriginState): Held {
  return { version: versionOf(state), departed: state.bye !== undefined }
}

interface Assembly { version: Version, chunks: Array<SignedRecord | undefined>, received: number }

export class Registry {
  private readonly origins = new Map<string, OriginState>()
  readonly tombstones = new Tombstones()
  /** Snapshot chunks being assembled, one snapshot per origin at most. */
  private readonly assembling = new Map<string, Assembly>()

  /**
   * True when applying `record` would change nothing (we hold it or newer, or it is buried).
   * Cheap, and safe before signature checks: a stale record is dropped either way,
   * so relayed copies of what we already have cost no verification.
   */
  isStale (record: RegistryRecord): boolean {
    const version: Version = [record.incarnation, record.seq]
    if (this.tombstones.buries(record.origin, version)) return true
    const known = this.origins.get(record.origin)
    const order = known === undefined ? 1 : compareVersions(version, versionOf(known))
    switch (record.kind) {
      case 'snap': {
        const pending = this.assembling.get(record.origin)
        if (pending !== undefined && compareVersions(pending.version, version) === 0 && pending.chunks.length === record.chunks && pending.chunks[record.chunk] !== undefined) return true
        return order < 0 || (order === 0 && known?.checkpointSeq === record.seq)
      }
      case 'delta':
        return order <= 0
      case 'bye':
        return known === undefined || known.incarnation !== record.incarnation || record.seq < known.seq || known.bye !== undefined
    }
  }

  apply (signed: SignedRecord, now: number): ApplyOutcome {
    if (this.isStale(signed.record)) return { status: 'stale' }
    const { record } = signed
    this.tombstones.lift(record.origin)
    switch (record.kind) {
      case 'snap': return this.applySnapshotChunk(signed as SignedRecord & { record: SnapshotRecord })
      case 'delta': return this.applyDelta(record, signed)
      case 'bye': return this.applyBye(record, signed.bytes, now)
    }
  }

  private applySnapshotChunk (signed: SignedRecord & { record: SnapshotRecord }): ApplyOutcome {
    const r = signed.record
    const version: Version = [r.incarnation, r.seq]
    let pending = this.assembling.get(r.origin)
    if (pending === undefined || compareVersions(pending.version, version) !== 0 || pending.chunks.length !== r.chunks) {
      if (pending !== undefined && compareVersions(pending.version, version) > 0) return { status: 'stale' }
      pending = { version, chunks: new Array<SignedRecord | undefined>(r.chunks).fill(undefined), received: 0 }
      this.assembling.set(r.origin, pending)
    }
    if (pending.chunks[r.chunk] === undefined) {
      pending.chunks[r.chunk] = signed
      pending.received++
    }
    if (pending.received < r.chunks) return { status: 'pending' }
    this.assembling.delete(r.origin)
    return { status: 'applied', changes: this.replaceOrigin(pending.chunks as SignedRecord[]) }
  }

  /** A complete snapshot replaces everything we held for the origin (a restart replaces stale entries wholesale). */
  private replaceOrigin (chunks: SignedRecord[]): RegistryChanges {
    const first = chunks[0]?.record as SnapshotRecord
    const origin = first.origin
    const known = this.origins.get(origin)
    const changes = emptyChanges()
    const stored = chunks.map(c => owned(c.bytes))
    const next = PackedEntries.fromSnapshot(chunks.map((c, i) => packable(c, stored[i] as Uint8Array)))
    for (const entry of known?.entries.values() ?? []) {
      if (!next.has(entry.sessionKey)) changes.removed.push({ origin, entry })
    }
    // Slot `i` of `next` is the `i`-th entry of the chunks: the live ones are what the snapshot says.
    let slot = 0
    for (const chunk of chunks) {
      for (const entry of (chunk.record as SnapshotRecord).entries) {
        const mine = slot++
        if (!next.isLive(mine)) continue
        if (known?.entries.holds(entry, next, mine) === true) continue
        changes.added.push({ origin, entry })
      }
    }
    next.tidy()
    const sameRun = known !== undefined && known.incarnation === first.incarnation
    const keepTail = sameRun ? known.tail.filter(t => t.seq > first.seq) : []
    this.origins.set(origin, {
      origin,
      incarnation: first.incarnation,
      seq: Math.max(first.seq, keepTail.at(-1)?.seq ?? 0),
      gateway: first.gateway,
      entries: next,
      // A compaction of the same run says nothing about liveness (the liveness rules decide); a new run is a new start.
      reachable: sameRun ? known.reachable : true,
      ...(sameRun && known.unreachableSince !== undefined ? { unreachableSince: known.unreachableSince } : {}),
      checkpoint: stored,
      checkpointSeq: first.seq,
      checkpointBytes: stored.reduce((n, b) => n + b.length, 0),
      tail: keepTail,
      tailBytes: keepTail.reduce((n, t) => n + t.bytes.length, 0)
    })
    return changes
  }

  private applyDelta (r: DeltaRecord, signed: SignedRecord): ApplyOutcome {
    const known = this.origins.get(r.origin)
    if (known === undefined || r.incarnation > known.incarnation || r.base !== known.seq) return { status: 'gap' }
    const changes = emptyChanges()
    const stored = owned(signed.bytes)
    const packed = packable(signed, stored)
    const ranges = entryRanges(packed)
    const source = known.entries.addSource(packed)
    r.changes.forEach((change, i) => {
      if (change.removed === true) {
        const old = known.entries.remove(change.sessionKey)
        if (old !== undefined) changes.removed.push({ origin: r.origin, entry: old })
        return
      }
      const entry: EntryData = { ...change }
      delete (entry as { removed?: true }).removed
      const old = known.entries.get(entry.sessionKey)
      if (old !== undefined && sameEntry(old, entry)) return
      known.entries.put(source, ranges[2 * i] as number, ranges[2 * i + 1] as number)
      changes.added.push({ origin: r.origin, entry })
    })
    known.entries.tidy()
    known.seq = r.seq
    known.tail.push({ seq: r.seq, bytes: stored })
    known.tailBytes += stored.length
    return { status: 'applied', changes }
  }

  private applyBye (r: ByeRecord, bytes: Uint8Array, now: number): ApplyOutcome {
    const known = this.origins.get(r.origin) as OriginState
    known.bye = owned(bytes)
    this.setReachable(r.origin, false, now)
    return { status: 'applied', changes: emptyChanges() }
  }

  /** Marks an origin (un)reachable. Returns true when that changed anything. A departed run stays unreachable. */
  setReachable (origin: string, reachable: boolean, now: number): boolean {
    const known = this.origins.get(origin)
    if (known === undefined || known.reachable === reachable) return false
    if (reachable && known.bye !== undefined) return false
    known.reachable = reachable
    if (reachable) delete known.unreachableSince
    else known.unreachableSince = now
    return true
  }

  /** Drops origins unreachable for longer than `graceMs`, leaving tombstones; forgets tombstones older than `tombstoneMs`. */
  expire (now: number, graceMs: number, tombstoneMs: number, keep?: string): RegistryChanges & { dropped: string[] } {
    const changes = { ...emptyChanges(), dropped: [] as string[] }
    for (const state of [...this.origins.values()]) {
      if (state.origin === keep || state.reachable || state.unreachableSince === undefined) continue
      if (now - state.unreachableSince < graceMs) continue
      for (const entry of this.removeOrigin(state.origin)) changes.removed.push({ origin: state.origin, entry })
      changes.dropped.push(state.origin)
      this.tombstones.lay(state.origin, { version: versionOf(state), at: now, ...(state.bye !== undefined ? { bye: state.bye } : {}) })
    }
    this.tombstones.prune(now, tombstoneMs)
    return changes
  }

  private removeOrigin (origin: string): EntryData[] {
    const known = this.origins.get(origin)
    if (known === undefined) return []
    this.origins.delete(origin)
    this.assembling.delete(origin)
    return [...known.entries.values()]
  }

  get (origin: string): OriginState | undefined {
    return this.origins.get(origin)
  }

  all (): IterableIterator<OriginState> {
    return this.origins.values()
  }

  get size (): number {
    let n = 0
    for (const state of this.origins.values()) n += state.entries.size
    return n
  }

  get originCount (): number {
    return this.origins.size
  }

  /** Every origin that announces `sessionKey`. */
  ownersOfKey (sessionKey: string): string[] {
    const out: string[] = []
    for (const state of this.origins.values()) if (state.entries.has(sessionKey)) out.push(state.origin)
    return out
  }

  /** Every origin that announces `sessionId` (normally one; the resolver decides when there are more), with its newest key for it. */
  ownersOfSessionId (sessionId: string): OwnedKey[] {
    const out: OwnedKey[] = []
    for (const state of this.origins.values()) {
      const entry = state.entries.withSessionId(sessionId)
      if (entry !== undefined) out.push({ origin: state.origin, sessionKey: entry.sessionKey })
    }
    return out
  }

  withLabel (label: string): OwnedKey[] {
    const out: OwnedKey[] = []
    for (const state of this.origins.values()) for (const sessionKey of state.entries.withLabel(label)) out.push({ origin: state.origin, sessionKey })
    return out
  }

  /** What we hold of `origin`, a tombstone included. */
  held (origin: string): Held | undefined {
    const state = this.origins.get(origin)
    if (state !== undefined) return heldOf(state)
    const t = this.tombstones.get(origin)
    return t === undefined ? undefined : { version: t.version, departed: t.bye !== undefined }
  }

  /** What we can serve: every origin we hold, and every goodbye we keep of dropped ones. */
  digest (): Digest {
    const out: Digest = new Map()
    for (const s of this.origins.values()) out.set(s.origin, heldOf(s))
    for (const [origin, t] of this.tombstones.entries()) if (t.bye !== undefined) out.set(origin, { version: t.version, departed: true })
    return out
  }

  /** A short hash of the digest: equal hashes mean equal registries, so idle peers exchange only this. */
  digestHash (): Uint8Array {
    const lines = [...this.digest()].map(([o, h]) => `${o}:${h.version[0]}:${h.version[1]}${h.departed ? ':bye' : ''}`).sort()
    return createHash('sha256').update(lines.join('\n')).digest().subarray(0, 16)
  }

  /** True when a peer holding `theirs` lacks something we can serve of `origin`. */
  isAhead (origin: string, theirs: Held | undefined): boolean {
    const ours = this.digestEntry(origin)
    return ours !== undefined && (theirs === undefined || compareHeld(ours, theirs) > 0)
  }

  /** True when `theirs` is newer than anything we hold of `origin` (tombstones included). */
  isBehind (origin: string, theirs: Held): boolean {
    const ours = this.held(origin)
    return ours === undefined || compareHeld(theirs, ours) > 0
  }

  private digestEntry (origin: string): Held | undefined {
    const held = this.held(origin)
    return held !== undefined && (this.origins.has(origin) || held.departed) ? held : undefined
  }

  /** The signed records that bring a peer at `theirs` up to date with our copy of `origin`. */
  recordsSince (origin: string, theirs: Version | undefined): Uint8Array[] {
    const ours = this.origins.get(origin)
    if (ours === undefined) {
      const bye = this.tombstones.get(origin)?.bye
      return bye !== undefined ? [bye] : []
    }
    const bye = ours.bye !== undefined ? [ours.bye] : []
    if (theirs !== undefined && theirs[0] === ours.incarnation && theirs[1] >= ours.checkpointSeq) {
      return [...ours.tail.filter(t => t.seq > theirs[1]).map(t => t.bytes), ...bye]
    }
    return [...ours.checkpoint, ...ours.tail.map(t => t.bytes), ...bye]
  }
}
