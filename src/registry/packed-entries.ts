/**
 * One origin's sessions, kept as the signed bytes they arrived in.
 *
 * The registry must keep every origin's signed records anyway (it serves them to
 * peers that are behind), and those bytes hold every entry in a compact form
 * (~31 B per entry in the benchmark). So instead of a JS object, strings and
 * `Map` slots per entry (~370 B measured at 10k entries), an entry here is a
 * *slot*: where its `Entry` message lies in those bytes, plus the hashes of its
 * session key and session ID in two open-addressing tables of slot numbers
 * (typed arrays: ~30-50 B per entry in all). An entry is decoded when asked for
 * (a lookup, a listing), from bytes that were decoded, validated and
 * signature-checked when they arrived.
 *
 * Why our own tables rather than a `Map`: a `Map` slot costs ~37 B per entry
 * here, and a `Map` keyed by strings needs the strings, which is what this
 * avoids keeping. A table holds only slot numbers; a hash match is confirmed by
 * comparing the entry's bytes (keys) or its decoded value (session IDs).
 *
 * Slots are appended in the order entries arrive, so among several live
 * entries with the same session ID the newest is the one with the highest
 * slot. Removed and replaced entries leave dead slots; past a threshold the
 * slots are compacted (in order) and records with no live entry are let go.
 */
import { entryRanges, fullKey, idHash, keyHash, keyIs, labelOf, sameBytes, scan, textHash } from './entry-bytes.ts'
import { entryFromBytes, type EntryData } from './records.ts'
import { SlotTable } from './slot-table.ts'
import { sameEntry } from './version.ts'

/** A slot whose entry was removed or replaced. */
const DEAD = 0xffffffff
const HAS_ID = 1
const HAS_LABEL = 2

/** The UTF-8 and hash of a text looked up, remembered for the next call: the registry asks every origin with the same text in a row. */
let lastText: string | undefined
let lastUtf8 = new Uint8Array(0)
let lastHash = 0

function lookup (text: string): { utf8: Uint8Array, hash: number } {
  if (text !== lastText) {
    lastText = text
    lastUtf8 = Buffer.from(text, 'utf8')
    lastHash = textHash(lastUtf8)
  }
  return { utf8: lastUtf8, hash: lastHash }
}

export class PackedEntries {
  /** Encoded signed records holding entries; `undefined` once none of their entries is live. */
  private sources: Array<Uint8Array | undefined> = []
  private sourceLive: number[] = []
  /** Per slot: its source, where its `Entry` starts and ends, and its hashes. */
  private source = new Uint32Array(0)
  private start = new Uint32Array(0)
  private end = new Uint32Array(0)
  private keyHashes = new Int32Array(0)
  private idHashes = new Int32Array(0)
  /** Per slot: HAS_ID, HAS_LABEL. */
  private flags = new Uint8Array(0)
  private slots = 0
  private live = 0
  private readonly byKey = new SlotTable(slot => this.keyHashes[slot] as number)
  private readonly byId = new SlotTable(slot => this.idHashes[slot] as number)
  /** Label → slots: labels are few and shared, and many entries have none. */
  private labels = new Map<string, Set<number>>()

  /**
   * The entries of a complete snapshot (its chunks, in order): slot `i` is the `i`-th entry; a
   * later duplicate of a key replaces the earlier one. Call `tidy()` once done with slot numbers.
   */
  static fromSnapshot (chunks: Uint8Array[]): PackedEntries {
    const packed = new PackedEntries()
    const ranges = chunks.map(entryRanges)
    const count = ranges.reduce((n, r) => n + r.length / 2, 0)
    packed.reserve(count)
    packed.byKey.reset(count)
    packed.byId.reset(count)
    for (let c = 0; c < chunks.length; c++) {
      const source = packed.addSource(chunks[c] as Uint8Array)
      const r = ranges[c] as number[]
      for (let i = 0; i < r.length; i += 2) packed.put(source, r[i] as number, r[i + 1] as number)
    }
    return packed
  }

  get size (): number {
    return this.live
  }

  /** Records some live entry still points into (the others were let go by `tidy`). */
  get heldRecords (): number {
    return this.sources.filter(s => s !== undefined).length
  }

  /** Whether slot `slot` still holds a live entry (it was not replaced by a later one). */
  isLive (slot: number): boolean {
    return slot < this.slots && this.source[slot] !== DEAD
  }

  has (sessionKey: string): boolean {
    return this.slotOf(sessionKey) >= 0
  }

  get (sessionKey: string): EntryData | undefined {
    const slot = this.slotOf(sessionKey)
    return slot < 0 ? undefined : this.decode(slot)
  }

  /** Whether we hold `entry` as it is (it sits in `other`'s slot `slot`): byte for byte, or the same once decoded. */
  holds (entry: EntryData, other: PackedEntries, slot: number): boolean {
    const mine = this.slotOf(entry.sessionKey)
    if (mine < 0) return false
    const length = (this.end[mine] as number) - (this.start[mine] as number)
    if (length === (other.end[slot] as number) - (other.start[slot] as number) &&
      sameBytes(this.bytesOf(mine), this.start[mine] as number, other.bytesOf(slot), other.start[slot] as number, length)) return true
    return sameEntry(this.decode(mine), entry)
  }

  * values (): IterableIterator<EntryData> {
    for (let slot = 0; slot < this.slots; slot++) if (this.source[slot] !== DEAD) yield this.decode(slot)
  }

  * keys (): IterableIterator<string> {
    for (const entry of this.values()) yield entry.sessionKey
  }

  /** Our newest entry announcing `sessionId`, if any. */
  withSessionId (sessionId: string): EntryData | undefined {
    let found: EntryData | undefined
    let best = -1
    this.byId.find(lookup(sessionId).hash, slot => {
      if (slot > best) {
        const entry = this.decode(slot)
        if (entry.sessionId === sessionId) {
          best = slot
          found = entry
        }
      }
      return false
    })
    return found
  }

  /** The keys of our entries labelled `label`. */
  withLabel (label: string): string[] {
    return [...this.labels.get(label) ?? []].sort((a, b) => a - b).map(slot => this.decode(slot).sessionKey)
  }

  /** Adds an encoded signed record whose entries some slots will point into; returns its number. */
  addSource (bytes: Uint8Array): number {
    this.sources.push(bytes)
    this.sourceLive.push(0)
    return this.sources.length - 1
  }

  /** Makes the `Entry` at `bytes[start..end]` of `source` the entry of its key (replacing ours, if any); returns its slot. */
  put (source: number, start: number, end: number): number {
    const bytes = this.sources[source] as Uint8Array
    const f = scan(bytes, start, end)
    const key = keyHash(bytes, f)
    const id = idHash(bytes, f)
    const label = f.label >= 0 ? labelOf(bytes, f) : undefined
    // The key's UTF-8 as this entry spells it, to confirm a hash match (built before reading candidates reuses `f`; only `agent:` keys need a copy).
    const keyText = f.agent < 0 ? bytes.subarray(f.key, f.keyEnd) : this.byKey.has(key) ? fullKey(bytes, f) : undefined
    const old = keyText === undefined ? -1 : this.slotOfBytes(key, keyText)
    if (old >= 0) this.kill(old)
    if (this.slots === this.source.length) this.reserve(Math.max(16, Math.ceil(this.slots * 1.5)))
    const slot = this.slots++
    this.source[slot] = source
    this.start[slot] = start
    this.end[slot] = end
    this.keyHashes[slot] = key
    this.idHashes[slot] = id ?? 0
    this.flags[slot] = (id !== undefined ? HAS_ID : 0) | (label !== undefined ? HAS_LABEL : 0)
    this.live++
    ;(this.sourceLive[source] as number)++
    if (!this.byKey.add(key, slot) || (id !== undefined && !this.byId.add(id, slot))) this.rebuildTables()
    if (label !== undefined) {
      let set = this.labels.get(label)
      if (set === undefined) this.labels.set(label, set = new Set())
      set.add(slot)
    }
    return slot
  }

  /** Removes the entry of `sessionKey`; returns it (decoded) when there was one. */
  remove (sessionKey: string): EntryData | undefined {
    const slot = this.slotOf(sessionKey)
    if (slot < 0) return undefined
    const entry = this.decode(slot)
    this.kill(slot)
    return entry
  }

  /** Lets go of records none of whose entries is live, and compacts the slots (renumbering them) when many are dead. */
  tidy (): void {
    for (let s = 0; s < this.sources.length; s++) if (this.sourceLive[s] === 0) this.sources[s] = undefined
    const dead = this.slots - this.live
    if (dead > 64 && dead > this.live) this.compact()
  }

  // ---- internals ------------------------------------------------------------------------------

  private slotOf (sessionKey: string): number {
    const { utf8, hash } = lookup(sessionKey)
    return this.slotOfBytes(hash, utf8)
  }

  private slotOfBytes (hash: number, text: Uint8Array): number {
    let found = -1
    this.byKey.find(hash, slot => {
      const bytes = this.bytesOf(slot)
      if (keyIs(bytes, scan(bytes, this.start[slot] as number, this.end[slot] as number), text)) found = slot
      return found >= 0
    })
    return found
  }

  private bytesOf (slot: number): Uint8Array {
    return this.sources[this.source[slot] as number] as Uint8Array
  }

  private decode (slot: number): EntryData {
    const entry = entryFromBytes(this.bytesOf(slot).subarray(this.start[slot] as number, this.end[slot] as number))
    delete (entry as { removed?: true }).removed
    return entry
  }

  private kill (slot: number): void {
    const flags = this.flags[slot] as number
    this.byKey.remove(this.keyHashes[slot] as number, slot)
    if ((flags & HAS_ID) !== 0) this.byId.remove(this.idHashes[slot] as number, slot)
    if ((flags & HAS_LABEL) !== 0) {
      const bytes = this.bytesOf(slot)
      const label = labelOf(bytes, scan(bytes, this.start[slot] as number, this.end[slot] as number))
      const set = this.labels.get(label)
      set?.delete(slot)
      if (set?.size === 0) this.labels.delete(label)
    }
    ;(this.sourceLive[this.source[slot] as number] as number)--
    this.source[slot] = DEAD
    this.live--
  }

  /** Room for `slots` slots. */
  private reserve (slots: number): void {
    if (slots <= this.source.length) return
    const grow = <T extends Uint32Array | Int32Array | Uint8Array>(a: T, b: T): T => { b.set(a); return b }
    this.source = grow(this.source, new Uint32Array(slots))
    this.start = grow(this.start, new Uint32Array(slots))
    this.end = grow(this.end, new Uint32Array(slots))
    this.keyHashes = grow(this.keyHashes, new Int32Array(slots))
    this.idHashes = grow(this.idHashes, new Int32Array(slots))
    this.flags = grow(this.flags, new Uint8Array(slots))
  }

  /** Refills both tables from the live slots. */
  private rebuildTables (): void {
    this.byKey.reset(this.live)
    this.byId.reset(this.live)
    for (let slot = 0; slot < this.slots; slot++) {
      if (this.source[slot] === DEAD) continue
      this.byKey.add(this.keyHashes[slot] as number, slot)
      if (((this.flags[slot] as number) & HAS_ID) !== 0) this.byId.add(this.idHashes[slot] as number, slot)
    }
  }

  /** Drops the dead slots (keeping the order of the live ones) and the records no live slot points into. */
  private compact (): void {
    const renumber = new Map<number, number>()
    let next = 0
    for (let slot = 0; slot < this.slots; slot++) {
      if (this.source[slot] === DEAD) continue
      renumber.set(slot, next)
      this.source[next] = this.source[slot] as number
      this.start[next] = this.start[slot] as number
      this.end[next] = this.end[slot] as number
      this.keyHashes[next] = this.keyHashes[slot] as number
      this.idHashes[next] = this.idHashes[slot] as number
      this.flags[next] = this.flags[slot] as number
      next++
    }
    this.slots = next
    const labels = new Map<string, Set<number>>()
    for (const [label, set] of this.labels) labels.set(label, new Set([...set].map(s => renumber.get(s) as number)))
    this.labels = labels
    this.rebuildTables()
  }
}
