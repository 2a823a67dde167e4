/**
 * The mesh as the public API shows it: sessions, peers and status built from
 * the owner directory and the registry sync, and registry changes turned into
 * `session:add` / `session:remove` event details. Read-only: no view changes state.
 */
import { linkKind, type LinkKind } from './nat/links.ts'
import { formatQualifiedKey } from './routing/address.ts'
import { gatewayInfo, nameCounts, qualifiedKeyFor } from './routing/resolve.ts'
import type { OwnerDirectory } from './routing/directory.ts'
import type { RegistryChanges } from './registry/registry.ts'
import type { RegistryGossip } from './gossip/index.ts'
import type { GatewayInfo, PeerStatus, SessionEntry } from './types.ts'
import type { Connection } from '@libp2p/interface'

/** How a Gateway looks: from the registry when it has announced itself, else from what the link told us. */
export function infoFor (directory: OwnerDirectory, peerId: string, name: string | undefined, connected: boolean): GatewayInfo {
  const gateway = directory.gateway(peerId)
  if (gateway !== undefined) return gatewayInfo(gateway, directory.selfId)
  return { name: name ?? peerId, peerId, host: '', self: peerId === directory.selfId, reachable: connected }
}

/** What `peers()` says of the connections to one peer: their addresses, and whether the link is direct or relayed. */
export function linkOf (connections: Array<Pick<Connection, 'remoteAddr' | 'status'>>): { addresses: string[], link: LinkKind } {
  return { addresses: connections.map(c => c.remoteAddr.toString()), link: linkKind(connections) }
}

/** What `peers()` shows: each peer we hold a registry link with, how we reach it, its sessions, RTT and versions. */
export function peersView (gossip: RegistryGossip, connections: Connection[], info: (peerId: string, name: string | undefined) => GatewayInfo): PeerStatus[] {
  return gossip.connectedPeers().map(link => ({
    ...info(link.id, link.name),
    ...linkOf(connections.filter(c => c.remotePeer.toString() === link.id)),
    sessions: gossip.registry.get(link.id)?.entries.size ?? 0,
    ...(link.rttMs !== undefined ? { rttMs: link.rttMs } : {}),
    ...(link.protocolVersion !== undefined ? { protocolVersion: link.protocolVersion } : {}),
    ...(link.softwareVersion !== undefined && link.softwareVersion !== '' ? { softwareVersion: link.softwareVersion } : {})
  }))
}

/** Every session in the mesh, ours included, each with a qualified key that names exactly it. */
export function sessionsView (directory: OwnerDirectory): SessionEntry[] {
  const counts = nameCounts(directory)
  const out: SessionEntry[] = []
  for (const gateway of directory.gateways()) {
    const owner = gatewayInfo(gateway, directory.selfId)
    for (const entry of directory.sessions(gateway.peerId)) out.push({ ...entry, owner, qualifiedKey: qualifiedKeyFor(gateway, entry.sessionKey, counts) })
  }
  return out
}

/**
 * Registry changes as `session:add` / `session:remove` details. A snapshot
 * changes thousands of entries of one origin: each owner is described once.
 */
export function sessionChanges (directory: OwnerDirectory, changes: RegistryChanges, connected: (peerId: string) => boolean): { added: SessionEntry[], removed: SessionEntry[] } {
  const counts = nameCounts(directory)
  const owners = new Map<string, { info: GatewayInfo, qualify: (key: string) => string }>()
  const ownerOf = (origin: string): { info: GatewayInfo, qualify: (key: string) => string } => {
    let owner = owners.get(origin)
    if (owner === undefined) {
      const gateway = directory.gateway(origin)
      owner = gateway !== undefined
        ? { info: gatewayInfo(gateway, directory.selfId), qualify: key => qualifiedKeyFor(gateway, key, counts) }
        : { info: infoFor(directory, origin, undefined, connected(origin)), qualify: key => formatQualifiedKey(origin, key) }
      owners.set(origin, owner)
    }
    return owner
  }
  const entryOf = ({ origin, entry }: RegistryChanges['added'][number]): SessionEntry => {
    const owner = ownerOf(origin)
    return { ...entry, owner: owner.info, qualifiedKey: owner.qualify(entry.sessionKey) }
  }
  return { added: changes.added.map(entryOf), removed: changes.removed.map(entryOf) }
}
