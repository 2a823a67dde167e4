/**
 * Ownership: keeps the mesh's view of this Gateway's sessions in step with the
 * Gateway's own session store. A snapshot at start (`listSessionEntries`), then
 * the Gateway's `sessions.changed` notices (`gatewayEvents.onSessionsChanged`):
 * no polling. Only keys the `announce` setting lets through are announced
 * (defaults.ts: not direct-message or cron keys unless configured); the others
 * stay invisible to other Gateways, and the mesh delivers nothing to them.
 */
import type { SessionAnnouncement } from '../types.ts'
import { agentIdOfKey } from './access.ts'
import type { HostRuntime, HostSessionEntry, PluginLogger, SessionsChangedEvent } from './host.ts'

/** What the sync needs from the mesh. */
export interface Announcer {
  announce: (sessionKey: string, info: SessionAnnouncement) => void | Promise<void>
  withdraw: (sessionKey: string) => void | Promise<void>
}

/** Sessions no other session may see (incognito) are never announced. */
export function isAnnounceable (sessionKey: string): boolean {
  return sessionKey !== '' && !sessionKey.includes(':incognito-')
}

const REMOVAL_REASONS = new Set(['delete', 'deleted', 'archive', 'archived'])

export class SessionSync {
  private readonly announced = new Map<string, string>()
  private readonly runtime: HostRuntime
  private readonly mesh: Announcer
  private readonly log: PluginLogger
  /** `agent:<id>:main` for every configured agent: sessions_send treats them as existing even before their first turn. */
  private readonly mainKeys: Set<string>
  private readonly announces: (sessionKey: string) => boolean

  constructor (runtime: HostRuntime, mesh: Announcer, log: PluginLogger, agentIds: string[], announce: (sessionKey: string) => boolean = () => true) {
    this.runtime = runtime
    this.mesh = mesh
    this.log = log
    this.mainKeys = new Set(agentIds.map((id) => `agent:${id}:main`))
    this.announces = (key) => isAnnounceable(key) && announce(key)
  }

  /** Announces every session the store holds, plus the configured agents' main sessions. */
  snapshot (agentIds: string[]): number {
    for (const agentId of agentIds) {
      let rows: Array<{ sessionKey: string, entry: HostSessionEntry }> = []
      try {
        rows = this.runtime.agent.session.listSessionEntries({ agentId })
      } catch (err) {
        this.log.warn(`clawmesh: could not list the sessions of agent ${agentId}: ${String(err)}`)
      }
      for (const { sessionKey, entry } of rows) this.put(sessionKey, entry)
    }
    for (const key of this.mainKeys) if (!this.announced.has(key)) this.put(key, undefined)
    return this.announced.size
  }

  /** One `sessions.changed` notice. */
  onChanged (event: SessionsChangedEvent): void {
    const key = event.sessionKey
    if (typeof key !== 'string' || !this.announces(key)) return
    const agentId = event.agentId ?? agentIdOfKey(key)
    let entry: HostSessionEntry | undefined
    if (!REMOVAL_REASONS.has(event.reason ?? '')) {
      try {
        entry = this.runtime.agent.session.getSessionEntry({ ...(agentId === undefined ? {} : { agentId }), sessionKey: key })
      } catch (err) {
        this.log.warn(`clawmesh: could not read session ${key}: ${String(err)}`)
        return
      }
    }
    if (entry === undefined || entry.archivedAt !== undefined) {
      // A configured agent's main session stays addressable: sending to it creates it again.
      if (this.mainKeys.has(key)) this.put(key, undefined)
      else this.remove(key)
      return
    }
    this.put(key, entry)
  }

  private put (sessionKey: string, entry: HostSessionEntry | undefined): void {
    if (!this.announces(sessionKey)) return
    if (entry?.archivedAt !== undefined) return
    const agentId = agentIdOfKey(sessionKey)
    const label = entry?.label ?? undefined
    const info: SessionAnnouncement = {
      ...(entry?.sessionId === undefined ? {} : { sessionId: entry.sessionId }),
      ...(label === undefined || label === '' ? {} : { label }),
      ...(agentId === undefined ? {} : { agentId })
    }
    const fingerprint = JSON.stringify(info)
    // Most notices (a turn started, a message was sent) change nothing the mesh knows.
    if (this.announced.get(sessionKey) === fingerprint) return
    this.announced.set(sessionKey, fingerprint)
    this.settle(this.mesh.announce(sessionKey, info), `announce ${sessionKey}`)
  }

  private remove (sessionKey: string): void {
    if (!this.announced.delete(sessionKey)) return
    this.settle(this.mesh.withdraw(sessionKey), `withdraw ${sessionKey}`)
  }

  private settle (result: void | Promise<void>, what: string): void {
    if (result instanceof Promise) {
      result.catch((err: unknown) => { this.log.warn(`clawmesh: ${what} failed: ${String(err)}`) })
    }
  }

  get size (): number {
    return this.announced.size
  }
}
