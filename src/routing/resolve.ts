/**
 * Addressing (design §3): turns a target string into exactly one owner and
 * session, or a `MeshError` that tells the caller what to use instead.
 *
 * Order: gateway-qualified key (`gateway:<gw>:<key>` or the `targetGateway`
 * option), session ID, bare key (local first, then the single remote owner),
 * label.
 */
import { MeshError } from '../errors.ts'
import type { OriginState, Registry } from '../registry/registry.ts'
import type { GatewayInfo, Resolution } from '../types.ts'

const SESSION_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
const QUALIFIED_PREFIX = 'gateway:'
const LOCAL_HOSTS = ['localhost', '127.0.0.1', '[::1]', '::1']

export interface ResolveContext {
  registry: Registry
  selfId: string
  selfHost: string
  /** A bare key owned here goes here. */
  localFirst: boolean
}

export function gatewayInfo (state: OriginState, selfId: string): GatewayInfo {
  return {
    name: state.gateway.name,
    peerId: state.origin,
    ...(state.gateway.gatewayPort !== undefined ? { gatewayPort: state.gateway.gatewayPort } : {}),
    host: state.gateway.host,
    self: state.origin === selfId,
    reachable: state.origin === selfId || state.reachable
  }
}

/** `gateway:<name>:<sessionKey>`: names exactly one session. */
export function qualifiedKeyOf (gatewayName: string, sessionKey: string): string {
  return `${QUALIFIED_PREFIX}${gatewayName}:${sessionKey}`
}

export function qualify (state: OriginState, sessionKey: string): string {
  return qualifiedKeyOf(state.gateway.name, sessionKey)
}

/** Every string that names this Gateway: name, peer ID, port, host:port (and localhost:port on our host). */
function namesOf (state: OriginState, ctx: ResolveContext): string[] {
  const names = [state.gateway.name, state.origin]
  const port = state.gateway.gatewayPort
  if (port !== undefined) {
    names.push(String(port), `${state.gateway.host}:${port}`)
    if (state.gateway.host === ctx.selfHost) names.push(...LOCAL_HOSTS.map(h => `${h}:${port}`))
  }
  return names
}

/** Finds the Gateway a token names. Several Gateways with the same name or port → `AMBIGUOUS`. */
export function findGateway (token: string, ctx: ResolveContext, sessionKey?: string): OriginState {
  const matches = [...ctx.registry.all()].filter(state => namesOf(state, ctx).includes(token))
  if (matches.length === 1) return matches[0] as OriginState
  if (matches.length > 1) {
    const candidates = matches.map(s => `${QUALIFIED_PREFIX}${s.origin}:${sessionKey ?? '<sessionKey>'}`)
    throw new MeshError('AMBIGUOUS', `"${token}" names ${matches.length} Gateways (${matches.map(s => s.gateway.name).join(', ')}); use a peer ID: ${candidates.join(', ')}`, { candidates, hint: { kind: 'pick-candidate' } })
  }
  throw new MeshError('NOT_FOUND', `No Gateway "${token}" in the mesh. Known Gateways: ${knownGateways(ctx)}`, { gateway: token, hint: { kind: 'list-gateways' } })
}

function knownGateways (ctx: ResolveContext): string {
  return [...ctx.registry.all()].map(s => `${s.gateway.name}${s.gateway.gatewayPort !== undefined ? ` (port ${s.gateway.gatewayPort})` : ''}`).join(', ')
}

/**
 * Splits `gateway:<gw>:<key>`. `<gw>` may itself contain a colon (`host:port`),
 * so we try every known Gateway name as a prefix and keep the longest match.
 */
function splitQualified (target: string, ctx: ResolveContext): { gateway: string, key: string } {
  const rest = target.slice(QUALIFIED_PREFIX.length)
  let best: { gateway: string, key: string } | undefined
  for (const state of ctx.registry.all()) {
    for (const name of namesOf(state, ctx)) {
      if (rest.startsWith(`${name}:`) && rest.length > name.length + 1 && (best === undefined || name.length > best.gateway.length)) {
        best = { gateway: name, key: rest.slice(name.length + 1) }
      }
    }
  }
  if (best !== undefined) return best
  const cut = rest.indexOf(':')
  const gateway = cut < 0 ? rest : rest.slice(0, cut)
  if (cut < 0 || cut === rest.length - 1) {
    throw new MeshError('BAD_REQUEST', `"${target}" is not gateway:<gateway>:<sessionKey>`)
  }
  throw new MeshError('NOT_FOUND', `No Gateway "${gateway}" in the mesh. Known Gateways: ${knownGateways(ctx)}`, { gateway, hint: { kind: 'list-gateways' } })
}

function resolution (state: OriginState, sessionKey: string, via: Resolution['via'], ctx: ResolveContext): Resolution {
  const entry = state.entries.get(sessionKey)
  return {
    owner: gatewayInfo(state, ctx.selfId),
    sessionKey,
    ...(entry?.sessionId !== undefined ? { sessionId: entry.sessionId } : {}),
    ...(entry?.label !== undefined ? { label: entry.label } : {}),
    ...(entry?.agentId !== undefined ? { agentId: entry.agentId } : {}),
    qualifiedKey: qualify(state, sessionKey),
    via
  }
}

/** Finds a session on one known Gateway by key, session ID or label. */
function onGateway (state: OriginState, key: string, via: Resolution['via'], ctx: ResolveContext): Resolution {
  if (state.entries.has(key)) return resolution(state, key, via, ctx)
  for (const entry of state.entries.values()) {
    if (entry.sessionId === key || entry.label === key) return resolution(state, entry.sessionKey, via, ctx)
  }
  throw new MeshError('NOT_FOUND', `Gateway ${state.gateway.name} has no session "${key}". Its sessions: ${sample([...state.entries.keys()])}`, { gateway: state.gateway.name, hint: { kind: 'list-sessions', gateway: state.gateway.name } })
}

function sample (keys: string[]): string {
  if (keys.length === 0) return '(none)'
  return keys.slice(0, 10).join(', ') + (keys.length > 10 ? `, … (${keys.length} in all)` : '')
}

/** One owner among several (`origins`), local first. */
function pick (origins: string[], key: string, via: Resolution['via'], ctx: ResolveContext, target: string): Resolution | undefined {
  if (origins.length === 0) return undefined
  if (ctx.localFirst && origins.includes(ctx.selfId)) {
    return resolution(ctx.registry.get(ctx.selfId) as OriginState, key, via, ctx)
  }
  if (origins.length === 1) return resolution(ctx.registry.get(origins[0] as string) as OriginState, key, via, ctx)
  const candidates = origins.map(o => qualify(ctx.registry.get(o) as OriginState, key)).sort()
  throw new MeshError('AMBIGUOUS', `"${target}" exists on ${origins.length} Gateways; say which one: ${candidates.join(', ')}`, { candidates, hint: { kind: 'pick-candidate' } })
}

export function resolveTarget (target: string, ctx: ResolveContext, targetGateway?: string): Resolution {
  if (typeof target !== 'string' || target.length === 0) throw new MeshError('BAD_REQUEST', 'target must be a non-empty string')
  if (targetGateway !== undefined) {
    const key = target.startsWith(QUALIFIED_PREFIX) ? splitQualified(target, ctx).key : target
    return onGateway(findGateway(targetGateway, ctx, key), key, 'targetGateway', ctx)
  }
  if (target.startsWith(QUALIFIED_PREFIX)) {
    const { gateway, key } = splitQualified(target, ctx)
    return onGateway(findGateway(gateway, ctx, key), key, 'qualified', ctx)
  }
  if (SESSION_ID.test(target)) {
    const at = ctx.registry.bySession(target)
    if (at === undefined) throw new MeshError('NOT_FOUND', `No session with ID ${target} in the mesh`, { hint: { kind: 'list-sessions' } })
    return resolution(ctx.registry.get(at.origin) as OriginState, at.sessionKey, 'sessionId', ctx)
  }
  const byKey = pick(ctx.registry.ownersOfKey(target), target, 'key', ctx, target)
  if (byKey !== undefined) return byKey
  const labelled = ctx.registry.withLabel(target)
  if (labelled.length > 0) {
    const local = ctx.localFirst ? labelled.find(l => l.origin === ctx.selfId) : undefined
    if (local !== undefined) return resolution(ctx.registry.get(local.origin) as OriginState, local.sessionKey, 'label', ctx)
    if (labelled.length === 1) {
      const only = labelled[0] as { origin: string, sessionKey: string }
      return resolution(ctx.registry.get(only.origin) as OriginState, only.sessionKey, 'label', ctx)
    }
    const candidates = labelled.map(l => qualify(ctx.registry.get(l.origin) as OriginState, l.sessionKey)).sort()
    throw new MeshError('AMBIGUOUS', `label "${target}" is used on ${labelled.length} sessions; say which one: ${candidates.join(', ')}`, { candidates, hint: { kind: 'pick-candidate' } })
  }
  throw new MeshError('NOT_FOUND', `No session "${target}" in the mesh`, { hint: { kind: 'list-sessions' } })
}
