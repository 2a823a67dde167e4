/**
 * The owner directory (./directory.ts) over the registry gossip (src/gossip/). The only
 * module of routing and delivery that knows the registry's shape: re-point it
 * when the registry moves, and nothing else changes.
 */
import { isValidGatewayName } from './address.ts'
import type { GatewayRecord, OwnerDirectory, SessionRecord } from './directory.ts'
import type { OriginState } from '../registry/registry.ts'
import type { RegistryGossip } from '../gossip/index.ts'

/** Names seen, and whether they follow the rules (checking parses peer IDs, so not on every lookup). */
const validNames = new Map<string, boolean>()

function validName (name: string): boolean {
  let valid = validNames.get(name)
  if (valid === undefined) {
    valid = isValidGatewayName(name)
    if (validNames.size > 10_000) validNames.clear()
    validNames.set(name, valid)
  }
  return valid
}

function recordOf (state: OriginState): GatewayRecord {
  const g = state.gateway
  return {
    peerId: state.origin,
    // A name that breaks the naming rules (a colon, a peer ID's shape) is ignored: such a Gateway goes by its peer ID.
    ...(validName(g.name) ? { name: g.name } : {}),
    host: g.host,
    ...(g.gatewayPort !== undefined ? { gatewayPort: g.gatewayPort } : {}),
    addrs: g.addrs,
    maxMessageBytes: g.maxMessageBytes,
    reachable: state.reachable,
    departed: state.bye !== undefined,
    ...(state.unreachableSince !== undefined ? { unreachableSince: state.unreachableSince } : {})
  }
}

export function registryDirectory (gossip: Pick<RegistryGossip, 'registry' | 'markUnreachable'>, selfId: string): OwnerDirectory {
  const registry = gossip.registry
  return {
    selfId,
    * gateways () {
      for (const state of registry.all()) yield recordOf(state)
    },
    gateway: peerId => {
      const state = registry.get(peerId)
      return state === undefined ? undefined : recordOf(state)
    },
    session: (peerId, sessionKey): SessionRecord | undefined => registry.get(peerId)?.entries.get(sessionKey),
    sessions: peerId => registry.get(peerId)?.entries.values() ?? [],
    ownersOfKey: sessionKey => registry.ownersOfKey(sessionKey),
    ownersOfSessionId: sessionId => registry.ownersOfSessionId(sessionId),
    withLabel: label => registry.withLabel(label),
    gatewaysNamed: name => {
      const out: string[] = []
      for (const state of registry.all()) if (state.gateway.name === name && validName(name)) out.push(state.origin)
      return out
    },
    markUnreachable: (peerId, timedOut) => { gossip.markUnreachable(peerId, timedOut) }
  }
}
