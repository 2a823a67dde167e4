/**
 * Would OpenClaw's own `sessions_send` find this target on this Gateway? Asked
 * of the Gateway's session store, not of the mesh registry: the registry holds
 * only what this Gateway announces, and a session the built-in would reach here
 * must stay here (local first), whether or not it is announced.
 */
import { agentIdOfKey } from './access.ts'
import { configuredAgentIds } from './config.ts'
import type { HostConfig, HostRuntime, HostSessionEntry } from './host.ts'

const SESSION_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

export interface LocalTarget {
  sessionKey?: string
  label?: string
  agentId?: string
}

export class LocalSessions {
  private readonly runtime: HostRuntime
  private readonly config: () => HostConfig

  constructor (runtime: HostRuntime, config: () => HostConfig) {
    this.runtime = runtime
    this.config = config
  }

  /** True when the built-in tool resolves the target here, or may (aliases, shapes we do not route). */
  has (target: LocalTarget, callerAgentId: string | undefined): boolean {
    const agents = configuredAgentIds(this.config())
    const { sessionKey, label, agentId } = target
    if (sessionKey !== undefined) {
      if (SESSION_ID.test(sessionKey)) return this.entries(agents, callerAgentId).some(e => e.entry.sessionId?.toLowerCase() === sessionKey.toLowerCase())
      // Aliases (`main`, `current`, `global`), client IDs, `hook:` and other shapes: OpenClaw's to resolve.
      const owner = agentIdOfKey(sessionKey)
      if (owner === undefined) return true
      // A configured agent's main session counts as existing: sessions_send creates it on demand.
      if (agents.includes(owner) && sessionKey.toLowerCase() === `agent:${owner}:main`) return true
      return this.entry(owner, sessionKey) !== undefined
    }
    if (label !== undefined) {
      const scope = agentId === undefined ? agents : [agentId.toLowerCase()]
      return this.entries(scope, undefined).some(e => e.entry.label === label)
    }
    if (agentId !== undefined) return agents.includes(agentId.toLowerCase())
    return true
  }

  private entry (agentId: string, sessionKey: string): HostSessionEntry | undefined {
    try {
      return this.runtime.agent.session.getSessionEntry({ agentId, sessionKey })
    } catch {
      return undefined
    }
  }

  private entries (agents: string[], extra: string | undefined): Array<{ sessionKey: string, entry: HostSessionEntry }> {
    const ids = new Set(agents)
    if (extra !== undefined) ids.add(extra.toLowerCase())
    const rows: Array<{ sessionKey: string, entry: HostSessionEntry }> = []
    for (const agentId of ids) {
      try {
        rows.push(...this.runtime.agent.session.listSessionEntries({ agentId }))
      } catch {
        // An agent without a session store has no sessions to find.
      }
    }
    return rows
  }
}
