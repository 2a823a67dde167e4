/**
 * A map that forgets: entries expire after `ttlMs`, and the oldest go first
 * once `maxEntries` is reached, so remote input cannot grow it without bound.
 * Relies on Map's insertion order, so eviction is O(1).
 */
export class SeenCache<V> {
  private readonly entries = new Map<string, { value: V, expires: number }>()
  private readonly ttlMs: number
  private readonly maxEntries: number
  private readonly onEvict?: (value: V) => void

  constructor (ttlMs: number, maxEntries: number, onEvict?: (value: V) => void) {
    this.ttlMs = ttlMs
    this.maxEntries = maxEntries
    if (onEvict !== undefined) this.onEvict = onEvict
  }

  get (key: string): V | undefined {
    const entry = this.entries.get(key)
    if (entry === undefined) return undefined
    if (entry.expires < Date.now()) {
      this.entries.delete(key)
      this.onEvict?.(entry.value)
      return undefined
    }
    return entry.value
  }

  set (key: string, value: V): void {
    const old = this.entries.get(key)
    this.entries.delete(key)
    if (old !== undefined) this.onEvict?.(old.value)
    this.entries.set(key, { value, expires: Date.now() + this.ttlMs })
    this.evict()
  }

  /** Values from oldest to newest. */
  * values (): Generator<V> {
    for (const entry of this.entries.values()) yield entry.value
  }

  get size (): number {
    return this.entries.size
  }

  private evict (): void {
    const now = Date.now()
    for (const [key, entry] of this.entries) {
      if (this.entries.size <= this.maxEntries && entry.expires >= now) break
      this.entries.delete(key)
      this.onEvict?.(entry.value)
    }
  }
}
