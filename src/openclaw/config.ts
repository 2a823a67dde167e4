/** The plugin's config (`plugins.entries.clawmesh.config`), validated and given its defaults. */
import path from 'node:path'
import type { InboundPolicy, PolicyRule } from '../types.ts'
import type { HostConfig } from './host.ts'

export interface PluginConfig {
  /** Mesh name of this Gateway. @default the core's `<host>-<gatewayPort>` */
  name?: string
  /** The Gateway's port as peers address it. @default the port the Gateway listens on */
  gatewayPort: number
  /** Mesh secret (issue 3: passed through to the core when set). */
  secret?: string
  /** An invite code, redeemed on first start (passed through to the core's `join`). */
  join?: string
  /** Serve as a relay member for other sites (passed through to the core's `relay`). @default false */
  relay?: boolean
  /** Multiaddrs the mesh listens on. @default the core's default */
  listen?: string[]
  /** Bootstrap multiaddrs of other Gateways' mesh nodes. */
  peers?: string[]
  /** Multicast DNS on the LAN. @default the core's default */
  mdns?: boolean
  /** Discovery switches (issue 3), passed through as is. */
  discovery?: Record<string, unknown>
  /** Who may reach which local sessions. @default everyone in the mesh, every announced session */
  policy?: InboundPolicy
  /** Peer identity and incarnation. @default `<stateDir>/clawmesh` */
  dataDir: string
  /** sessions_send's default wait when the model passes no `timeoutSeconds`. @default 30 */
  defaultTimeoutSeconds: number
}

export const DEFAULT_TIMEOUT_SECONDS = 30

function stringList (value: unknown, field: string): string[] | undefined {
  if (value === undefined) return undefined
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string')) {
    throw new TypeError(`clawmesh config: ${field} must be a list of strings`)
  }
  return value
}

function rules (value: unknown, field: string): PolicyRule[] | undefined {
  if (value === undefined) return undefined
  if (!Array.isArray(value)) throw new TypeError(`clawmesh config: ${field} must be a list of {from?, sessionKey?}`)
  return value.map((rule: unknown, i) => {
    if (rule === null || typeof rule !== 'object') throw new TypeError(`clawmesh config: ${field}[${i}] must be an object`)
    const { from, sessionKey } = rule as Record<string, unknown>
    if (from !== undefined && typeof from !== 'string') throw new TypeError(`clawmesh config: ${field}[${i}].from must be a string`)
    if (sessionKey !== undefined && typeof sessionKey !== 'string') throw new TypeError(`clawmesh config: ${field}[${i}].sessionKey must be a string`)
    return { ...(from === undefined ? {} : { from }), ...(sessionKey === undefined ? {} : { sessionKey }) }
  })
}

/** The port this Gateway serves on: the Gateway sets `OPENCLAW_GATEWAY_PORT` at startup, whatever set it (`--port`, env, config). */
export function gatewayPortOf (host: HostConfig, env: NodeJS.ProcessEnv = process.env): number {
  const fromEnv = Number.parseInt(env.OPENCLAW_GATEWAY_PORT ?? '', 10)
  if (Number.isInteger(fromEnv) && fromEnv > 0) return fromEnv
  const fromConfig = host.gateway?.port
  if (typeof fromConfig === 'number' && Number.isInteger(fromConfig) && fromConfig > 0) return fromConfig
  return 18789
}

export function parsePluginConfig (raw: Record<string, unknown> | undefined, host: HostConfig, stateDir: string): PluginConfig {
  const c = raw ?? {}
  const str = (field: string): string | undefined => {
    const v = c[field]
    if (v === undefined) return undefined
    if (typeof v !== 'string' || v === '') throw new TypeError(`clawmesh config: ${field} must be a non-empty string`)
    return v
  }
  const port = c.gatewayPort
  if (port !== undefined && (typeof port !== 'number' || !Number.isInteger(port) || port <= 0)) {
    throw new TypeError('clawmesh config: gatewayPort must be a positive integer')
  }
  const timeout = c.defaultTimeoutSeconds
  if (timeout !== undefined && (typeof timeout !== 'number' || timeout < 0)) {
    throw new TypeError('clawmesh config: defaultTimeoutSeconds must be a number >= 0')
  }
  const mdns = c.mdns
  if (mdns !== undefined && typeof mdns !== 'boolean') throw new TypeError('clawmesh config: mdns must be true or false')
  const relay = c.relay
  if (relay !== undefined && typeof relay !== 'boolean') throw new TypeError('clawmesh config: relay must be true or false')
  const discovery = c.discovery
  if (discovery !== undefined && (discovery === null || typeof discovery !== 'object' || Array.isArray(discovery))) {
    throw new TypeError('clawmesh config: discovery must be an object')
  }
  const policyRaw = c.policy
  let policy: InboundPolicy | undefined
  if (policyRaw !== undefined) {
    if (policyRaw === null || typeof policyRaw !== 'object') throw new TypeError('clawmesh config: policy must be an object')
    const p = policyRaw as Record<string, unknown>
    const allow = rules(p.allow, 'policy.allow')
    const deny = rules(p.deny, 'policy.deny')
    policy = { ...(allow === undefined ? {} : { allow }), ...(deny === undefined ? {} : { deny }) }
  }
  const name = str('name')
  const secret = str('secret')
  const join = str('join')
  const listen = stringList(c.listen, 'listen')
  const peers = stringList(c.peers, 'peers')
  const dataDir = str('dataDir')
  return {
    ...(name === undefined ? {} : { name }),
    gatewayPort: port ?? gatewayPortOf(host),
    ...(secret === undefined ? {} : { secret }),
    ...(join === undefined ? {} : { join }),
    ...(listen === undefined ? {} : { listen }),
    ...(peers === undefined ? {} : { peers }),
    ...(mdns === undefined ? {} : { mdns }),
    ...(relay === undefined ? {} : { relay }),
    ...(discovery === undefined ? {} : { discovery: discovery as Record<string, unknown> }),
    ...(policy === undefined ? {} : { policy }),
    dataDir: dataDir === undefined ? path.join(stateDir, 'clawmesh') : path.resolve(stateDir, dataDir),
    defaultTimeoutSeconds: timeout ?? DEFAULT_TIMEOUT_SECONDS
  }
}

/** The configured agent IDs (`agents.entries` keys, legacy `agents.list`), `main` when none are. */
export function configuredAgentIds (host: HostConfig): string[] {
  const ids = new Set<string>()
  for (const id of Object.keys(host.agents?.entries ?? {})) ids.add(id.toLowerCase())
  for (const a of host.agents?.list ?? []) if (typeof a.id === 'string' && a.id !== '') ids.add(a.id.toLowerCase())
  if (ids.size === 0) ids.add('main')
  return [...ids]
}
