/**
 * Remote sessions for agents to discover: the rows the built-in `sessions_list`
 * gains (through the result middleware) and what `mesh_sessions_list` shows.
 * Each row's `key` is the Gateway-qualified key that `sessions_send` accepts.
 * The caller's Gateway config decides what it may see (access.ts, action `list`).
 */
import type { SessionEntry } from '../types.ts'
import { agentIdOfKey, crossGatewayDenial } from './access.ts'
import type { HostConfig } from './host.ts'
import { optionalString } from './route.ts'

export interface RemoteRow {
  key: string
  sessionKey: string
  sessionId?: string
  label?: string
  agentId?: string
  kind: 'other'
  channel: 'clawmesh'
  gateway: string
  gatewayPort?: number
  reachable: boolean
  /** ISO time since when its Gateway is unreachable (about when it was last heard of); its sends fail with UNREACHABLE. */
  unreachableSince?: string
  remote: true
}

export interface RowFilter {
  gateway?: string
  search?: string
  label?: string
  agentId?: string
}

export function remoteRows (sessions: SessionEntry[], cfg: HostConfig, requesterAgentId: string, filter: RowFilter = {}): RemoteRow[] {
  const search = filter.search?.toLowerCase()
  const gw = filter.gateway
  return sessions
    .filter(s => !s.owner.self)
    .filter(s => gw === undefined || s.owner.name === gw || String(s.owner.gatewayPort) === gw || s.owner.peerId === gw)
    .filter(s => search === undefined || s.sessionKey.toLowerCase().includes(search) || (s.label ?? '').toLowerCase().includes(search) || s.qualifiedKey.toLowerCase().includes(search))
    .filter(s => filter.label === undefined || s.label === filter.label)
    .filter(s => filter.agentId === undefined || (s.agentId ?? agentIdOfKey(s.sessionKey)) === filter.agentId.toLowerCase())
    .filter(s => crossGatewayDenial(cfg, 'list', requesterAgentId, s.agentId ?? agentIdOfKey(s.sessionKey) ?? 'main') === undefined)
    .map(s => ({
      key: s.qualifiedKey,
      sessionKey: s.sessionKey,
      ...(s.sessionId === undefined ? {} : { sessionId: s.sessionId }),
      ...(s.label === undefined ? {} : { label: s.label }),
      ...(s.agentId === undefined ? {} : { agentId: s.agentId }),
      kind: 'other' as const,
      channel: 'clawmesh' as const,
      gateway: s.owner.name,
      ...(s.owner.gatewayPort === undefined ? {} : { gatewayPort: s.owner.gatewayPort }),
      reachable: s.owner.reachable,
      ...(s.owner.unreachableSince === undefined ? {} : { unreachableSince: new Date(s.owner.unreachableSince).toISOString() }),
      remote: true as const
    }))
}

/** `sessions_list` filters that remote rows cannot honour: with any of them, no remote rows are added. */
const LOCAL_ONLY_FILTERS = ['kinds', 'relationship', 'ownerId', 'creatorId', 'projectId', 'workspaceDir', 'group', 'pinned', 'activeMinutes', 'activeOnly', 'archived']

/** The built-in `sessions_list` result with remote rows after the local ones, on its first page only. */
export function withRemoteRows (details: unknown, args: Record<string, unknown>, rows: (filter: RowFilter) => RemoteRow[]): Record<string, unknown> | undefined {
  if (details === null || typeof details !== 'object' || !Array.isArray((details as { sessions?: unknown }).sessions)) return undefined
  const offset = args.offset
  if (typeof offset === 'number' && offset > 0) return undefined
  if (LOCAL_ONLY_FILTERS.some(f => args[f] !== undefined && args[f] !== false)) return undefined
  const search = optionalString(args, 'search')
  const label = optionalString(args, 'label')
  const agentId = optionalString(args, 'agentId')
  const found = rows({ ...(search === undefined ? {} : { search }), ...(label === undefined ? {} : { label }), ...(agentId === undefined ? {} : { agentId }) })
  if (found.length === 0) return undefined
  const d = details as Record<string, unknown> & { sessions: unknown[] }
  const limit = typeof args.limit === 'number' && args.limit >= 1 ? Math.floor(args.limit) : undefined
  const room = limit === undefined ? found.length : Math.max(0, limit - d.sessions.length)
  const added = found.slice(0, room)
  return {
    ...d,
    count: (typeof d.count === 'number' ? d.count : d.sessions.length) + added.length,
    sessions: [...d.sessions, ...added],
    remoteSessions: { count: added.length, total: found.length, note: 'Sessions on other OpenClaw Gateways: pass their key (gateway:<gateway>:<sessionKey>) to sessions_send.' }
  }
}
