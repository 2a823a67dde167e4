/**
 * The writer side of the registry: this Gateway's own sessions. Changes are
 * batched for a few ms, then signed as one delta; when the deltas outweigh the
 * last snapshot, a fresh signed snapshot replaces them (so relays hold at most
 * about twice the state).
 */
import { SNAPSHOT_CHUNK_ENTRIES } from '../constants.ts'
import { signRecord } from './records.ts'
import { recordSigner, type RecordSigner } from './signing.ts'
import { sameEntry } from './version.ts'
import type { Change, EntryData, GatewayMeta, SignedRecord } from './records.ts'
import type { PrivateKey } from '@libp2p/interface'

export interface LocalLogInit {
  origin: string
  incarnation: number
  key: PrivateKey
  gateway: () => GatewayMeta
}

/** Compact once the deltas since the checkpoint weigh more than this plus the checkpoint itself. */
const COMPACTION_SLACK_BYTES = 16 * 1024

export class LocalLog {
  readonly origin: string
  readonly incarnation: number
  private readonly key: RecordSigner
  private readonly gateway: () => GatewayMeta
  private readonly entries = new Map<string, EntryData>()
  private readonly pending = new Map<string, Change>()
  private seq = 0

  constructor (init: LocalLogInit) {
    this.origin = init.origin
    this.incarnation = init.incarnation
    this.key = recordSigner(init.key)
    this.gateway = init.gateway
  }

  /** Records a change; returns false when it changes nothing. */
  stage (change: Change): boolean {
    const current = this.get(change.sessionKey)
    const noop = change.removed === true ? current === undefined : current !== undefined && sameEntry(current, change)
    if (noop) return false
    this.pending.set(change.sessionKey, change)
    return true
  }

  get hasPending (): boolean {
    return this.pending.size > 0
  }

  has (sessionKey: string): boolean {
    const p = this.pending.get(sessionKey)
    if (p !== undefined) return p.removed !== true
    return this.entries.has(sessionKey)
  }

  get (sessionKey: string): EntryData | undefined {
    const p = this.pending.get(sessionKey)
    if (p !== undefined) return p.removed === true ? undefined : p
    return this.entries.get(sessionKey)
  }

  /** Signs the staged changes as one delta (or nothing when no change is staged). */
  async flush (): Promise<SignedRecord | undefined> {
    if (this.pending.size === 0) return undefined
    const changes = [...this.pending.values()]
    this.pending.clear()
    for (const change of changes) {
      if (change.removed === true) this.entries.delete(change.sessionKey)
      else this.entries.set(change.sessionKey, change)
    }
    const base = this.seq
    this.seq++
    return await signRecord({ kind: 'delta', origin: this.origin, incarnation: this.incarnation, seq: this.seq, base, changes }, this.key)
  }

  /**
   * A signed delta that changes nothing: a fresh record, newer than anything peers hold of us, so it
   * proves to the whole mesh that we are running (our answer to a peer that declared us down).
   */
  async touch (): Promise<SignedRecord> {
    const base = this.seq
    this.seq++
    return await signRecord({ kind: 'delta', origin: this.origin, incarnation: this.incarnation, seq: this.seq, base, changes: [] }, this.key)
  }

  /** A full signed snapshot at the current seq, in chunks. */
  async snapshot (): Promise<SignedRecord[]> {
    const all = [...this.entries.values()]
    const chunks = Math.max(1, Math.ceil(all.length / SNAPSHOT_CHUNK_ENTRIES))
    const gateway = this.gateway()
    const out: SignedRecord[] = []
    for (let chunk = 0; chunk < chunks; chunk++) {
      const entries = all.slice(chunk * SNAPSHOT_CHUNK_ENTRIES, (chunk + 1) * SNAPSHOT_CHUNK_ENTRIES)
      out.push(await signRecord({ kind: 'snap', origin: this.origin, incarnation: this.incarnation, seq: this.seq, chunk, chunks, gateway, entries }, this.key))
    }
    return out
  }

  /**
   * Our description changed (new listen addresses): a snapshot at a new seq, so
   * peers that already hold the current one take it.
   */
  async republish (): Promise<SignedRecord[]> {
    this.seq++
    return await this.snapshot()
  }

  /** A signed goodbye: peers mark our sessions unreachable at once instead of waiting for a timeout. */
  async bye (): Promise<SignedRecord> {
    return await signRecord({ kind: 'bye', origin: this.origin, incarnation: this.incarnation, seq: this.seq }, this.key)
  }

  static shouldCompact (checkpointBytes: number, tailBytes: number): boolean {
    return tailBytes > checkpointBytes + COMPACTION_SLACK_BYTES
  }
}
