/**
 * Addressing (design §3): turns a target into exactly one owner and session,
 * or a `MeshError` that tells the caller what to use instead.
 *
 * Order: gateway-qualified key (`gateway:<gw>:<key>` or the `targetGateway`
 * option), session ID, bare key (local first, then the single remote owner),
 * label. Whatever matches several Gateways is `AMBIGUOUS`, listing qualified
 * keys that each name one: a name held by two Gateways is never guessed at,
 * and a session UUID announced by two origins goes to our own session, else
 * to nobody.
 */
import { MeshError } from '../errors.ts'
import { formatQualifiedKey, parseGatewayRef, parseTarget, type GatewayRef } from './address.ts'
import { displayName, type GatewayRecord, type OwnedKey, type OwnerDirectory } from './directory.ts'
import type { GatewayInfo, Resolution } from '../types.ts'

const LOCAL_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]', '::1'])

export interface ResolveContext {
  directory: OwnerDirectory
  /** Our host name: `localhost:<port>` names Gateways on it. */
  selfHost: string
  /** A bare key (or label) owned here goes here. */
  localFirst: boolean
}

export function gatewayInfo (gateway: GatewayRecord, selfId: string): GatewayInfo {
  return {
    name: displayName(gateway),
    peerId: gateway.peerId,
    ...(gateway.gatewayPort !== undefined ? { gatewayPort: gateway.gatewayPort } : {}),
    host: gateway.host,
    self: gateway.peerId === selfId,
    reachable: gateway.peerId === selfId || gateway.reachable,
    ...(gateway.peerId !== selfId && !gateway.reachable && gateway.unreachableSince !== undefined ? { unreachableSince: gateway.unreachableSince } : {})
  }
}

/** How many Gateways hold a name: a qualified key uses a name only when it is unique. */
export type NameCounts = (name: string) => number

/** Name counts for many lookups (a view of every session): one pass over the Gateways. */
export function nameCounts (directory: OwnerDirectory): NameCounts {
  const counts = new Map<string, number>()
  for (const g of directory.gateways()) if (g.name !== undefined) counts.set(g.name, (counts.get(g.name) ?? 0) + 1)
  return name => counts.get(name) ?? 0
}

/** Name counts for a lookup or two (a send): asks the directory. */
export function nameCountsOf (directory: OwnerDirectory): NameCounts {
  return name => directory.gatewaysNamed(name).length
}

/** `gateway:<name>:<key>`, or `gateway:<peer ID>:<key>` when the name is missing or shared: it names exactly this session. */
export function qualifiedKeyFor (gateway: GatewayRecord, sessionKey: string, counts: NameCounts): string {
  const unique = gateway.name !== undefined && counts(gateway.name) === 1
  return formatQualifiedKey(unique ? gateway.name as string : gateway.peerId, sessionKey)
}

function matches (gateway: GatewayRecord, ref: GatewayRef, ctx: ResolveContext): boolean {
  switch (ref.kind) {
    case 'peerId': return gateway.peerId === ref.peerId
    case 'name': return gateway.name === ref.name
    case 'port': return gateway.gatewayPort === ref.port
    case 'hostPort':
      return gateway.gatewayPort === ref.port && (gateway.host === ref.host || (LOCAL_HOSTS.has(ref.host) && gateway.host === ctx.selfHost))
  }
}

function knownGateways (ctx: ResolveContext): string {
  return [...ctx.directory.gateways()].map(g => `${displayName(g)}${g.gatewayPort !== undefined ? ` (port ${g.gatewayPort})` : ''}`).join(', ')
}

/** The one Gateway `text` names. Several → `AMBIGUOUS` with peer-ID-qualified choices; none → `NOT_FOUND`. */
export function findGateway (text: string, ctx: ResolveContext, sessionKey?: string): GatewayRecord {
  return findByRef(parseGatewayRef(text), text, ctx, sessionKey)
}

function findByRef (ref: GatewayRef, text: string, ctx: ResolveContext, sessionKey: string | undefined): GatewayRecord {
  const found = ref.kind === 'peerId'
    ? [ctx.directory.gateway(ref.peerId)].filter(g => g !== undefined)
    : ref.kind === 'name'
      ? ctx.directory.gatewaysNamed(ref.name).map(id => ctx.directory.gateway(id)).filter(g => g !== undefined)
      : [...ctx.directory.gateways()].filter(g => matches(g, ref, ctx))
  if (found.length === 1) return found[0] as GatewayRecord
  if (found.length > 1) {
    const candidates = found.map(g => formatQualifiedKey(g.peerId, sessionKey ?? '<sessionKey>')).sort()
    throw new MeshError('AMBIGUOUS', `"${text}" names ${found.length} Gateways (${found.map(displayName).join(', ')}); say which by peer ID: ${candidates.join(', ')}`, { candidates, hint: { kind: 'pick-candidate' } })
  }
  throw new MeshError('NOT_FOUND', `No Gateway "${text}" in the mesh. Known Gateways: ${knownGateways(ctx)}`, { gateway: text, hint: { kind: 'list-gateways' } })
}

function resolution (origin: string, sessionKey: string, via: Resolution['via'], ctx: ResolveContext): Resolution {
  const gateway = ctx.directory.gateway(origin) as GatewayRecord
  const entry = ctx.directory.session(origin, sessionKey)
  return {
    owner: gatewayInfo(gateway, ctx.directory.selfId),
    sessionKey,
    ...(entry?.sessionId !== undefined ? { sessionId: entry.sessionId } : {}),
    ...(entry?.label !== undefined ? { label: entry.label } : {}),
    ...(entry?.agentId !== undefined ? { agentId: entry.agentId } : {}),
    qualifiedKey: qualifiedKeyFor(gateway, sessionKey, nameCountsOf(ctx.directory)),
    via
  }
}

function sample (keys: string[]): string {
  if (keys.length === 0) return '(none)'
  return keys.slice(0, 10).join(', ') + (keys.length > 10 ? `, … (${keys.length} in all)` : '')
}

/** A session on one known Gateway, by key, session ID or label. */
function onGateway (gateway: GatewayRecord, key: string, via: Resolution['via'], ctx: ResolveContext): Resolution {
  const d = ctx.directory
  if (d.session(gateway.peerId, key) !== undefined) return resolution(gateway.peerId, key, via, ctx)
  const byId = d.ownersOfSessionId(key).find(o => o.origin === gateway.peerId) ?? d.withLabel(key).find(o => o.origin === gateway.peerId)
  if (byId !== undefined) return resolution(gateway.peerId, byId.sessionKey, via, ctx)
  const keys = [...d.sessions(gateway.peerId)].map(s => s.sessionKey)
  throw new MeshError('NOT_FOUND', `Gateway ${displayName(gateway)} has no session "${key}". Its sessions: ${sample(keys)}`, { gateway: displayName(gateway), hint: { kind: 'list-sessions', gateway: displayName(gateway) } })
}

/** One of several owners: ours when allowed, the only one, or `AMBIGUOUS`. */
function pick (owned: OwnedKey[], localFirst: boolean, via: Resolution['via'], what: string, ctx: ResolveContext): Resolution | undefined {
  if (owned.length === 0) return undefined
  const local = localFirst ? owned.find(o => o.origin === ctx.directory.selfId) : undefined
  if (local !== undefined) return resolution(local.origin, local.sessionKey, via, ctx)
  if (owned.length === 1) return resolution((owned[0] as OwnedKey).origin, (owned[0] as OwnedKey).sessionKey, via, ctx)
  const counts = nameCounts(ctx.directory)
  const candidates = owned.map(o => qualifiedKeyFor(ctx.directory.gateway(o.origin) as GatewayRecord, o.sessionKey, counts)).sort()
  throw new MeshError('AMBIGUOUS', `${what} exists on ${owned.length} Gateways; say which one: ${candidates.join(', ')}`, { candidates, hint: { kind: 'pick-candidate' } })
}

export function resolveTarget (target: string, ctx: ResolveContext, targetGateway?: string): Resolution {
  const parsed = parseTarget(target)
  if (targetGateway !== undefined) {
    const key = parsed.kind === 'qualified' ? parsed.sessionKey : target
    return onGateway(findGateway(targetGateway, ctx, key), key, 'targetGateway', ctx)
  }
  const d = ctx.directory
  switch (parsed.kind) {
    case 'qualified': {
      return onGateway(findByRef(parsed.gateway, parsed.gatewayText, ctx, parsed.sessionKey), parsed.sessionKey, 'qualified', ctx)
    }
    case 'sessionId': {
      // A UUID is ours when we announce it, whatever others claim; otherwise it must be unique.
      const found = pick(d.ownersOfSessionId(parsed.sessionId), true, 'sessionId', `session ID ${parsed.sessionId}`, ctx)
      if (found === undefined) throw new MeshError('NOT_FOUND', `No session with ID ${parsed.sessionId} in the mesh`, { hint: { kind: 'list-sessions' } })
      return found
    }
    case 'key': {
      const byKey = pick(d.ownersOfKey(parsed.key).map(origin => ({ origin, sessionKey: parsed.key })), ctx.localFirst, 'key', `"${target}"`, ctx)
      if (byKey !== undefined) return byKey
      const labelled = pick(d.withLabel(parsed.key), ctx.localFirst, 'label', `label "${target}"`, ctx)
      if (labelled !== undefined) return labelled
      throw new MeshError('NOT_FOUND', `No session "${target}" in the mesh`, { hint: { kind: 'list-sessions' } })
    }
  }
}
