/**
 * Lookups of the registry's entries by session key, session ID and label. A
 * session ID is indexed per origin: two origins may announce the same UUID (one
 * of them lying, or a copied session store), and the resolver decides, never
 * the order in which records arrived.
 */
import type { EntryData } from './records.ts'

/** One session on one origin. */
export interface OwnedKey {
  origin: string
  sessionKey: string
}

export class EntryIndexes {
  private readonly byKey = new Map<string, Set<string>>()
  private readonly bySessionId = new Map<string, Map<string, string>>()
  private readonly byLabel = new Map<string, Map<string, Set<string>>>()

  add (origin: string, entry: EntryData): void {
    let owners = this.byKey.get(entry.sessionKey)
    if (owners === undefined) this.byKey.set(entry.sessionKey, owners = new Set())
    owners.add(origin)
    if (entry.sessionId !== undefined) {
      let byOrigin = this.bySessionId.get(entry.sessionId)
      if (byOrigin === undefined) this.bySessionId.set(entry.sessionId, byOrigin = new Map())
      byOrigin.set(origin, entry.sessionKey)
    }
    if (entry.label !== undefined) {
      let byOrigin = this.byLabel.get(entry.label)
      if (byOrigin === undefined) this.byLabel.set(entry.label, byOrigin = new Map())
      let keys = byOrigin.get(origin)
      if (keys === undefined) byOrigin.set(origin, keys = new Set())
      keys.add(entry.sessionKey)
    }
  }

  remove (origin: string, entry: EntryData): void {
    const owners = this.byKey.get(entry.sessionKey)
    owners?.delete(origin)
    if (owners?.size === 0) this.byKey.delete(entry.sessionKey)
    if (entry.sessionId !== undefined) {
      const byOrigin = this.bySessionId.get(entry.sessionId)
      if (byOrigin?.get(origin) === entry.sessionKey) byOrigin.delete(origin)
      if (byOrigin?.size === 0) this.bySessionId.delete(entry.sessionId)
    }
    if (entry.label !== undefined) {
      const byOrigin = this.byLabel.get(entry.label)
      const keys = byOrigin?.get(origin)
      keys?.delete(entry.sessionKey)
      if (keys?.size === 0) byOrigin?.delete(origin)
      if (byOrigin?.size === 0) this.byLabel.delete(entry.label)
    }
  }

  ownersOfKey (sessionKey: string): string[] {
    return [...(this.byKey.get(sessionKey) ?? [])]
  }

  /** Every origin that announces this session ID, with its key for it. */
  ownersOfSessionId (sessionId: string): OwnedKey[] {
    return [...(this.bySessionId.get(sessionId) ?? [])].map(([origin, sessionKey]) => ({ origin, sessionKey }))
  }

  withLabel (label: string): OwnedKey[] {
    const out: OwnedKey[] = []
    for (const [origin, keys] of this.byLabel.get(label) ?? []) for (const sessionKey of keys) out.push({ origin, sessionKey })
    return out
  }
}
