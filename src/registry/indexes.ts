/**
 * Lookups of the registry's entries by session key, session ID and label. A
 * session ID is indexed per origin: two origins may announce the same UUID (one
 * of them lying, or a copied session store), and the resolver decides, never
 * the order in which records arrived.
 *
 * Nearly every key and session ID has one owner, and these maps hold one slot
 * per entry of the registry: a slot holds that one owner as it is (an origin
 * string, an `OwnedKey`) and turns into a collection only when a second owner
 * comes. A `Set` or `Map` per slot cost ~400 B per entry (measured, 10k entries).
 */
import type { EntryData } from './records.ts'

/** One session on one origin. */
export interface OwnedKey {
  origin: string
  sessionKey: string
}

export class EntryIndexes {
  /** Session key → its owner's origin, or the set of them. */
  private readonly byKey = new Map<string, string | Set<string>>()
  /** Session ID → the one origin (and its key for it) that announces it, or all of them. */
  private readonly bySessionId = new Map<string, OwnedKey | OwnedKey[]>()
  /** Label → origin → keys (labels are few and shared). */
  private readonly byLabel = new Map<string, Map<string, Set<string>>>()

  add (origin: string, entry: EntryData): void {
    const owners = this.byKey.get(entry.sessionKey)
    if (owners === undefined) this.byKey.set(entry.sessionKey, origin)
    else if (typeof owners === 'string') { if (owners !== origin) this.byKey.set(entry.sessionKey, new Set([owners, origin])) } else owners.add(origin)
    if (entry.sessionId !== undefined) this.addSessionId(entry.sessionId, { origin, sessionKey: entry.sessionKey })
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
    if (owners === origin) this.byKey.delete(entry.sessionKey)
    else if (owners instanceof Set) {
      owners.delete(origin)
      if (owners.size === 1) this.byKey.set(entry.sessionKey, owners.values().next().value as string)
    }
    if (entry.sessionId !== undefined) this.removeSessionId(entry.sessionId, origin, entry.sessionKey)
    if (entry.label !== undefined) {
      const byOrigin = this.byLabel.get(entry.label)
      const keys = byOrigin?.get(origin)
      keys?.delete(entry.sessionKey)
      if (keys?.size === 0) byOrigin?.delete(origin)
      if (byOrigin?.size === 0) this.byLabel.delete(entry.label)
    }
  }

  ownersOfKey (sessionKey: string): string[] {
    const owners = this.byKey.get(sessionKey)
    return owners === undefined ? [] : typeof owners === 'string' ? [owners] : [...owners]
  }

  /** Every origin that announces this session ID, with its key for it. */
  ownersOfSessionId (sessionId: string): OwnedKey[] {
    const owners = this.bySessionId.get(sessionId)
    return owners === undefined ? [] : Array.isArray(owners) ? owners.map(o => ({ ...o })) : [{ ...owners }]
  }

  withLabel (label: string): OwnedKey[] {
    const out: OwnedKey[] = []
    for (const [origin, keys] of this.byLabel.get(label) ?? []) for (const sessionKey of keys) out.push({ origin, sessionKey })
    return out
  }

  /** One key per origin and session ID: an origin that moves the ID to another key replaces its own. */
  private addSessionId (sessionId: string, owned: OwnedKey): void {
    const owners = this.bySessionId.get(sessionId)
    if (owners === undefined || (!Array.isArray(owners) && owners.origin === owned.origin)) {
      this.bySessionId.set(sessionId, owned)
      return
    }
    const list = Array.isArray(owners) ? owners.filter(o => o.origin !== owned.origin) : [owners]
    list.push(owned)
    this.bySessionId.set(sessionId, list)
  }

  private removeSessionId (sessionId: string, origin: string, sessionKey: string): void {
    const owners = this.bySessionId.get(sessionId)
    if (owners === undefined) return
    const list = (Array.isArray(owners) ? owners : [owners]).filter(o => o.origin !== origin || o.sessionKey !== sessionKey)
    if (list.length === 0) this.bySessionId.delete(sessionId)
    else this.bySessionId.set(sessionId, list.length === 1 ? list[0] as OwnedKey : list)
  }
}
