/**
 * Our own records: changes staged by `announce`/`withdraw` are batched for a
 * few ms, signed as one delta (or, when deltas would outweigh it, a fresh
 * snapshot), applied to our registry and pushed to every live link. One chain
 * of work, so records leave in the order they were signed.
 */
import { DEFAULT_DELTA_BATCH_MS } from '../constants.ts'
import { LocalLog } from '../registry/local-log.ts'
import { encodeFrame } from './wire.ts'
import type { PeerLink } from './peer-link.ts'
import type { Change, EntryData, SignedRecord } from '../registry/records.ts'
import type { Registry, RegistryChanges } from '../registry/registry.ts'
import type { Logger } from '@libp2p/interface'

export interface OwnRecordsContext {
  readonly selfId: string
  readonly registry: Registry
  readonly links: Map<string, PeerLink>
  readonly now: () => number
  readonly log: Logger
  emitChanges: (changes: RegistryChanges) => void
}

export class OwnRecords {
  private readonly gossip: OwnRecordsContext
  private readonly local: LocalLog
  private flushTimer?: ReturnType<typeof setTimeout>
  private flushing: Promise<void> = Promise.resolve()

  constructor (gossip: OwnRecordsContext, local: LocalLog) {
    this.gossip = gossip
    this.local = local
  }

  get incarnation (): number {
    return this.local.incarnation
  }

  /** Our own entry for `sessionKey`, staged changes included. */
  get (sessionKey: string): EntryData | undefined {
    return this.local.get(sessionKey)
  }

  /** Stages a change; returns false when it changes nothing. Signed and pushed within a few ms. */
  stage (change: Change): boolean {
    const changed = this.local.stage(change)
    if (changed && this.flushTimer === undefined) {
      this.flushTimer = setTimeout(() => {
        this.flushTimer = undefined
        this.then(async () => { await this.flushNow() }, 'flush')
      }, DEFAULT_DELTA_BATCH_MS)
    }
    return changed
  }

  /** Resolves once every staged change is signed, applied locally and sent to linked peers. */
  async flushed (): Promise<void> {
    if (this.flushTimer !== undefined) {
      clearTimeout(this.flushTimer)
      this.flushTimer = undefined
      this.flushing = this.flushing.then(async () => { await this.flushNow() })
    }
    await this.flushing
  }

  /** Our first snapshot of this run. */
  async publishSnapshot (): Promise<void> {
    await this.apply(await this.local.snapshot())
  }

  /** A fresh snapshot after our own description (addresses) changed. */
  async republish (): Promise<void> {
    this.flushing = this.flushing.then(async () => {
      await this.flushNow()
      await this.apply(await this.local.republish())
    })
    await this.flushing
  }

  /** A fresh record that changes nothing: proof to the whole mesh that we run. */
  refute (): void {
    this.then(async () => {
      await this.flushNow()
      await this.apply([await this.local.touch()])
    }, 'refute')
  }

  /** Flushes what is staged, then signs our goodbye; returns its bytes. */
  async bye (): Promise<Uint8Array> {
    if (this.flushTimer !== undefined) clearTimeout(this.flushTimer)
    this.flushTimer = undefined
    await this.flushing.catch(() => {})
    await this.flushNow()
    return (await this.local.bye()).bytes
  }

  private then (work: () => Promise<void>, what: string): void {
    this.flushing = this.flushing.then(work).catch(err => { this.gossip.log.error('%s failed - %e', what, err) })
  }

  private async flushNow (): Promise<void> {
    const delta = await this.local.flush()
    if (delta === undefined) return
    const own = this.gossip.registry.get(this.gossip.selfId)
    // A delta that would be compacted at once (a burst of announces) goes out only as the
    // snapshot that includes it: peers receive those entries once, not twice.
    if (own !== undefined && LocalLog.shouldCompact(own.checkpointBytes, own.tailBytes + delta.bytes.length)) {
      await this.apply(await this.local.snapshot())
      return
    }
    await this.apply([delta])
  }

  private async apply (records: SignedRecord[]): Promise<void> {
    for (const signed of records) {
      const outcome = this.gossip.registry.apply(signed, this.gossip.now())
      if (outcome.status === 'applied') this.gossip.emitChanges(outcome.changes)
      const frame = encodeFrame.record(signed.bytes)
      const held = { version: [signed.record.incarnation, signed.record.seq] as [number, number], departed: signed.record.kind === 'bye' }
      // Not to links declared down: a hung peer would only queue them. It catches up by anti-entropy once it answers.
      for (const link of this.gossip.links.values()) {
        if (link.joined && !link.live) continue
        link.noteHolds(this.gossip.selfId, held)
        void link.send(frame)
      }
    }
  }
}
