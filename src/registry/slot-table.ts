/**
 * A table of slot numbers by hash, for `PackedEntries` (why not a `Map`: see there).
 *
 * Open addressing with linear probing over an `Int32Array`: a cell holds `slot + 1`, 0 when
 * empty, -1 when deleted. Several cells may hold the same hash (callers confirm a match).
 * Kept at most half full: 8 to 16 bytes per entry.
 */
export class SlotTable {
  private cells = new Int32Array(16)
  private mask = 15
  /** Cells not empty (deleted ones included): what the load is judged by. */
  private used = 0
  private readonly hashOf: (slot: number) => number

  constructor (hashOf: (slot: number) => number) {
    this.hashOf = hashOf
  }

  /** Empties the table, sized for `entries`. */
  reset (entries: number): void {
    let size = 16
    while (size < entries * 4) size *= 2
    this.cells = new Int32Array(size)
    this.mask = size - 1
    this.used = 0
  }

  /** Adds `slot`; false when the table is due a rebuild first (it is then left unchanged). */
  add (hash: number, slot: number): boolean {
    if ((this.used + 1) * 2 > this.cells.length) return false
    let i = hash & this.mask
    let reuse = -1
    for (let c = this.cells[i] as number; c !== 0; c = this.cells[i] as number) {
      if (c === -1 && reuse < 0) reuse = i
      i = (i + 1) & this.mask
    }
    if (reuse >= 0) {
      this.cells[reuse] = slot + 1
    } else {
      this.cells[i] = slot + 1
      this.used++
    }
    return true
  }

  remove (hash: number, slot: number): void {
    for (let i = hash & this.mask, c = this.cells[i] as number; c !== 0; i = (i + 1) & this.mask, c = this.cells[i] as number) {
      if (c === slot + 1) {
        this.cells[i] = -1
        return
      }
    }
  }

  /** Whether some slot has this hash (a quick "certainly not here" for most keys). */
  has (hash: number): boolean {
    let any = false
    this.find(hash, () => { any = true; return true })
    return any
  }

  /** Calls `visit` for each slot whose hash is `hash` until it returns true. */
  find (hash: number, visit: (slot: number) => boolean): void {
    for (let i = hash & this.mask, c = this.cells[i] as number; c !== 0; i = (i + 1) & this.mask, c = this.cells[i] as number) {
      if (c > 0 && this.hashOf(c - 1) === hash && visit(c - 1)) return
    }
  }
}
