/**
 * `mesh_sessions_list`: every session of the mesh that this session may reach,
 * with the Gateway that owns it and the key to pass to `sessions_send`. The
 * built-in `sessions_list` shows remote sessions too (middleware.ts); this tool
 * adds a view by Gateway and works where the result middleware cannot run.
 */
import type { MeshStatus, PeerStatus, Resolution, ResolveOptions, SendOptions, SendResult, SessionAnnouncement, SessionEntry } from '../types.ts'
import type { HostConfig, HostTool, ToolContext, ToolResult } from './host.ts'
import { remoteRows } from './listing.ts'
import { jsonResult } from './results.ts'
import { optionalString } from './route.ts'

/** What the hooks, tools and the service need from a running mesh. */
export interface MeshLike {
  announce: (sessionKey: string, info?: SessionAnnouncement) => void | Promise<void>
  withdraw: (sessionKey: string) => void | Promise<void>
  send: (target: string, message: string, options?: SendOptions) => Promise<SendResult>
  resolve: (target: string, options?: ResolveOptions) => Resolution | Promise<Resolution>
  sessions: () => SessionEntry[]
  peers: () => PeerStatus[]
  status: () => MeshStatus
  stop: () => Promise<void>
}

/** The running mesh of this process, shared by every `register()` call's hooks and tools. */
export interface MeshHolder {
  mesh?: MeshLike
  defaultTimeoutSeconds: number
  /** Runs background work in the service's async context (see ExchangeDeps.detach). */
  detach?: (work: () => Promise<void>) => void
}

export const LIST_TOOL = 'mesh_sessions_list'

export function createListTool (holder: MeshHolder, config: () => HostConfig, ctx: ToolContext): HostTool {
  return {
    name: LIST_TOOL,
    label: 'Mesh Sessions',
    description: 'List sessions on the other OpenClaw Gateways connected to this one (for example a second Gateway on this machine, or one at another site), ' +
      'with the Gateway that owns each. To message one, call sessions_send with its `key` (gateway:<gateway>:<sessionKey>) as sessionKey. ' +
      'sessions_send also accepts a session ID or a key that exists only on another Gateway.',
    parameters: {
      type: 'object',
      properties: {
        gateway: { type: 'string', description: 'Only sessions of this Gateway (name, port or peer ID).' },
        search: { type: 'string', description: 'Only sessions whose key or label contains this text.' },
        limit: { type: 'integer', minimum: 1, description: 'At most this many rows (default 200).' }
      },
      additionalProperties: false
    },
    async execute (_toolCallId, params): Promise<ToolResult> {
      const mesh = holder.mesh
      if (mesh === undefined) return jsonResult({ status: 'error', error: 'The clawmesh service is not running on this Gateway; sessions on other Gateways are unavailable.' })
      const gateway = optionalString(params, 'gateway')
      const search = optionalString(params, 'search')
      const limit = typeof params.limit === 'number' && params.limit >= 1 ? Math.floor(params.limit) : 200
      const rows = remoteRows(mesh.sessions(), config(), (ctx.agentId ?? 'main').toLowerCase(), {
        ...(gateway === undefined ? {} : { gateway }),
        ...(search === undefined ? {} : { search })
      })
      const gateways = mesh.peers().map(p => ({ name: p.name, ...(p.gatewayPort === undefined ? {} : { gatewayPort: p.gatewayPort }), reachable: p.reachable, sessions: p.sessions }))
      return jsonResult({ count: Math.min(rows.length, limit), totalCount: rows.length, sessions: rows.slice(0, limit), gateways })
    }
  }
}
