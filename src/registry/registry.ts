/**
 * The replicated ownership registry: pure state, no I/O, no clocks of its own.
 *
 * Each origin (Gateway) is the single writer of its own entries, so there are
 * no conflicts to resolve: "two Gateways own agent:main:main" is a fact kept
 * here, not a conflict. Per origin we hold its incarnation and sequence number,
 * its entries, and its signed log (latest checkpoint + deltas since), which is
 * what we relay to peers that are behind.
 */
import { createHash } from 'node:crypto'
import type { ByeRecord, DeltaRecord, EntryData, GatewayMeta, RegistryRecord, SignedRecord, SnapshotRecord } from './records.ts'

export interface OriginState {
  origin: string
  incarnation: number
  seq: number
  gateway: GatewayMeta
  entries: Map<string, EntryData>
  reachable: boolean
  /** Epoch ms since when it is unreachable. */
  unreachableSince?: number
  /** True after a signed `bye`: it left on purpose. */
  departed: boolean
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
  /** Already known or older: nothing to do, nothing to relay. */
  | { status: 'stale' }
  /** We are missing what comes before it: pull the origin's state. */
  | { status: 'gap' }
  /** Part of a snapshot whose other chunks have not arrived yet. */
  | { status: 'pending' }

/** `[incarnation, seq]` per origin: what a peer compares to find what it misses. */
export type Digest = Record<string, [number, number]>

/**
 * The bytes as an array of their own. A received record is a view into the
 * chunk it arrived in (often 64 KiB of other frames): kept as it is, a small
 * delta would keep that whole chunk alive for as long as we hold the record.
 */
function owned (bytes: Uint8Array): Uint8Array {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : bytes.slice()
}

function emptyChanges (): RegistryChanges {
  return { added: [], removed: [] }
}

export class Registry {
  private readonly origins = new Map<string, OriginState>()
  private readonly byKey = new Map<string, Set<string>>()
  /** Per origin: a UUID announced by two origins is kept twice, never last-writer-wins (the resolver decides). */
  private readonly bySessionId = new Map<string, Map<string, string>>()
  private readonly byLabel = new Map<string, Set<string>>()
  /** Snapshot chunks being assembled, one snapshot per origin at most. */
  private readonly assembling = new Map<string, { incarnation: number, seq: number, chunks: Array<SignedRecord | undefined>, received: number }>()

  /**
   * True when applying `record` would change nothing (we hold it or newer).
   * Cheap, and safe before signature checks: a stale record is dropped either way,
   * so relayed copies of what we already have cost no verification.
   */
  isStale (record: RegistryRecord): boolean {
    const known = this.origins.get(record.origin)
    switch (record.kind) {
      case 'snap': {
        const pending = this.assembling.get(record.origin)
        if (pending !== undefined && pending.incarnation === record.incarnation && pending.seq === record.seq && pending.chunks.length === record.chunks && pending.chunks[record.chunk] !== undefined) return true
        if (known === undefined) return false
        return record.incarnation < known.incarnation ||
          (record.incarnation === known.incarnation && (record.seq < known.seq || (record.seq === known.seq && known.checkpointSeq === record.seq)))
      }
      case 'delta':
        return known !== undefined && (record.incarnation < known.incarnation || (record.incarnation === known.incarnation && record.seq <= known.seq))
      case 'bye':
        return known === undefined || known.incarnation !== record.incarnation || record.seq < known.seq || known.departed
    }
  }

  apply (signed: SignedRecord, now: number): ApplyOutcome {
    const { record } = signed
    switch (record.kind) {
      case 'snap': return this.applySnapshotChunk(signed as SignedRecord & { record: SnapshotRecord })
      case 'delta': return this.applyDelta(record, signed.bytes)
      case 'bye': return this.applyBye(record, now)
    }
  }

  private applySnapshotChunk (signed: SignedRecord & { record: SnapshotRecord }): ApplyOutcome {
    const r = signed.record
    const known = this.origins.get(r.origin)
    if (known !== undefined && (r.incarnation < known.incarnation || (r.incarnation === known.incarnation && r.seq < known.seq))) {
      return { status: 'stale' }
    }
    if (known !== undefined && r.incarnation === known.incarnation && r.seq === known.seq && known.checkpointSeq === r.seq) {
      return { status: 'stale' }
    }
    let pending = this.assembling.get(r.origin)
    if (pending === undefined || pending.incarnation !== r.incarnation || pending.seq !== r.seq || pending.chunks.length !== r.chunks) {
      if (pending !== undefined && (pending.incarnation > r.incarnation || (pending.incarnation === r.incarnation && pending.seq > r.seq))) {
        return { status: 'stale' }
      }
      pending = { incarnation: r.incarnation, seq: r.seq, chunks: new Array(r.chunks).fill(undefined), received: 0 }
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
    const known = this.origins.get(first.origin)
    const changes = emptyChanges()
    const next = new Map<string, EntryData>()
    for (const chunk of chunks) {
      for (const entry of (chunk.record as SnapshotRecord).entries) next.set(entry.sessionKey, entry)
    }
    if (known !== undefined) {
      for (const [key, entry] of known.entries) {
        if (!next.has(key)) {
          this.unindex(first.origin, entry)
          changes.removed.push({ origin: first.origin, entry })
        }
      }
    }
    for (const [key, entry] of next) {
      const old = known?.entries.get(key)
      if (old !== undefined && sameEntry(old, entry)) continue
      if (old !== undefined) this.unindex(first.origin, old)
      this.index(first.origin, entry)
      changes.added.push({ origin: first.origin, entry })
    }
    const checkpointBytes = chunks.reduce((n, c) => n + c.bytes.length, 0)
    const sameRun = known !== undefined && known.incarnation === first.incarnation
    const keepTail = sameRun ? known.tail.filter(t => t.seq > first.seq) : []
    this.origins.set(first.origin, {
      origin: first.origin,
      incarnation: first.incarnation,
      seq: Math.max(first.seq, keepTail.at(-1)?.seq ?? 0),
      gateway: first.gateway,
      entries: next,
      // A compaction of the same run says nothing about liveness; a new run means it is back.
      reachable: sameRun ? known.reachable : true,
      ...(sameRun && known.unreachableSince !== undefined ? { unreachableSince: known.unreachableSince } : {}),
      departed: sameRun ? known.departed : false,
      checkpoint: chunks.map(c => owned(c.bytes)),
      checkpointSeq: first.seq,
      checkpointBytes,
      tail: keepTail,
      tailBytes: keepTail.reduce((n, t) => n + t.bytes.length, 0)
    })
    return changes
  }

  private applyDelta (r: DeltaRecord, bytes: Uint8Array): ApplyOutcome {
    const known = this.origins.get(r.origin)
    if (known === undefined || r.incarnation > known.incarnation) return { status: 'gap' }
    if (r.incarnation < known.incarnation || r.seq <= known.seq) return { status: 'stale' }
    if (r.base !== known.seq) return { status: 'gap' }
    const changes = emptyChanges()
    for (const change of r.changes) {
      const old = known.entries.get(change.sessionKey)
      if (change.removed === true) {
        if (old === undefined) continue
        known.entries.delete(change.sessionKey)
        this.unindex(r.origin, old)
        changes.removed.push({ origin: r.origin, entry: old })
        continue
      }
      const entry: EntryData = { ...change }
      delete (entry as { removed?: true }).removed
      if (old !== undefined && sameEntry(old, entry)) continue
      if (old !== undefined) this.unindex(r.origin, old)
      known.entries.set(entry.sessionKey, entry)
      this.index(r.origin, entry)
      changes.added.push({ origin: r.origin, entry })
    }
    known.seq = r.seq
    known.tail.push({ seq: r.seq, bytes: owned(bytes) })
    known.tailBytes += bytes.length
    return { status: 'applied', changes }
  }

  private applyBye (r: ByeRecord, now: number): ApplyOutcome {
    const known = this.origins.get(r.origin)
    if (known === undefined || known.incarnation !== r.incarnation || r.seq < known.seq || known.departed) return { status: 'stale' }
    known.departed = true
    this.setReachable(r.origin, false, now)
    return { status: 'applied', changes: emptyChanges() }
  }

  /** Marks an origin (un)reachable. Returns true when that changed anything. */
  setReachable (origin: string, reachable: boolean, now: number): boolean {
    const known = this.origins.get(origin)
    if (known === undefined || known.reachable === reachable) return false
    if (reachable && known.departed) return false
    known.reachable = reachable
    if (reachable) delete known.unreachableSince
    else known.unreachableSince = now
    return true
  }

  /** Drops origins unreachable for longer than `graceMs`. */
  expire (now: number, graceMs: number, keep?: string): RegistryChanges {
    const changes = emptyChanges()
    for (const state of [...this.origins.values()]) {
      if (state.origin === keep || state.reachable || state.unreachableSince === undefined) continue
      if (now - state.unreachableSince < graceMs) continue
      for (const entry of this.removeOrigin(state.origin)) changes.removed.push({ origin: state.origin, entry })
    }
    return changes
  }

  removeOrigin (origin: string): EntryData[] {
    const known = this.origins.get(origin)
    if (known === undefined) return []
    for (const entry of known.entries.values()) this.unindex(origin, entry)
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

  ownersOfKey (sessionKey: string): string[] {
    return [...(this.byKey.get(sessionKey) ?? [])]
  }

  /** Every origin that announces this session ID, with its key for it. */
  ownersOfSessionId (sessionId: string): Array<{ origin: string, sessionKey: string }> {
    return [...(this.bySessionId.get(sessionId) ?? [])].map(([origin, sessionKey]) => ({ origin, sessionKey }))
  }

  withLabel (label: string): Array<{ origin: string, sessionKey: string }> {
    return [...(this.byLabel.get(label) ?? [])].map(id => {
      const cut = id.indexOf('\n')
      return { origin: id.slice(0, cut), sessionKey: id.slice(cut + 1) }
    })
  }

  digest (): Digest {
    const out: Digest = {}
    for (const s of this.origins.values()) out[s.origin] = [s.incarnation, s.seq]
    return out
  }

  /** A short hash of the digest: equal hashes mean equal registries, so idle peers exchange only this. */
  digestHash (): string {
    const lines = [...this.origins.values()].map(s => `${s.origin}:${s.incarnation}:${s.seq}`).sort()
    return createHash('sha256').update(lines.join('\n')).digest('base64url').slice(0, 22)
  }

  /** True when the peer's `[incarnation, seq]` is behind ours for this origin. */
  isAhead (origin: string, theirs: [number, number] | undefined): boolean {
    const ours = this.origins.get(origin)
    if (ours === undefined) return false
    if (theirs === undefined) return true
    return ours.incarnation > theirs[0] || (ours.incarnation === theirs[0] && ours.seq > theirs[1])
  }

  /** True when the peer's `[incarnation, seq]` is ahead of ours (or we do not know the origin). */
  isBehind (origin: string, theirs: [number, number]): boolean {
    const ours = this.origins.get(origin)
    if (ours === undefined) return true
    return theirs[0] > ours.incarnation || (theirs[0] === ours.incarnation && theirs[1] > ours.seq)
  }

  /** The signed records that bring a peer at `theirs` up to date with our copy of `origin`. */
  recordsSince (origin: string, theirs: [number, number] | undefined): Uint8Array[] {
    const ours = this.origins.get(origin)
    if (ours === undefined) return []
    if (theirs !== undefined && theirs[0] === ours.incarnation && theirs[1] >= ours.checkpointSeq) {
      return ours.tail.filter(t => t.seq > theirs[1]).map(t => t.bytes)
    }
    return [...ours.checkpoint, ...ours.tail.map(t => t.bytes)]
  }

  private index (origin: string, entry: EntryData): void {
    let owners = this.byKey.get(entry.sessionKey)
    if (owners === undefined) this.byKey.set(entry.sessionKey, owners = new Set())
    owners.add(origin)
    if (entry.sessionId !== undefined) {
      let byOrigin = this.bySessionId.get(entry.sessionId)
      if (byOrigin === undefined) this.bySessionId.set(entry.sessionId, byOrigin = new Map())
      byOrigin.set(origin, entry.sessionKey)
    }
    if (entry.label !== undefined) {
      let set = this.byLabel.get(entry.label)
      if (set === undefined) this.byLabel.set(entry.label, set = new Set())
      set.add(`${origin}\n${entry.sessionKey}`)
    }
  }

  private unindex (origin: string, entry: EntryData): void {
    const owners = this.byKey.get(entry.sessionKey)
    owners?.delete(origin)
    if (owners?.size === 0) this.byKey.delete(entry.sessionKey)
    if (entry.sessionId !== undefined) {
      const byOrigin = this.bySessionId.get(entry.sessionId)
      if (byOrigin?.get(origin) === entry.sessionKey) byOrigin.delete(origin)
      if (byOrigin?.size === 0) this.bySessionId.delete(entry.sessionId)
    }
    if (entry.label !== undefined) {
      const set = this.byLabel.get(entry.label)
      set?.delete(`${origin}\n${entry.sessionKey}`)
      if (set?.size === 0) this.byLabel.delete(entry.label)
    }
  }
}

function sameEntry (a: EntryData, b: EntryData): boolean {
  return a.sessionKey === b.sessionKey && a.sessionId === b.sessionId && a.label === b.label && a.agentId === b.agentId
}
