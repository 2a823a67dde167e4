/**
 * Hands the registry gossip to createMesh's dialer, when the node has one: the
 * dialer then chooses whom we keep registry links with (bounded degree) and skips
 * peers the registry knows to be down. Without it every connection is a link.
 */
import type { MeshDialer } from './dialer.ts'
import type { RegistryGossip } from '../gossip/index.ts'

export function attachMeshDialer (components: object, gossip: RegistryGossip): void {
  let dialer: MeshDialer | undefined
  try {
    // libp2p's components throw for a service that is not configured.
    dialer = (components as { dialer?: MeshDialer }).dialer
  } catch {
    return
  }
  if (dialer?.links === undefined) return
  gossip.setLinkPolicy(dialer.links)
  dialer.setLinkHealth(peerId => !gossip.failFast(peerId), peerId => gossip.isConnected(peerId))
  // Every Gateway the registry holds but ourselves: how big the mesh is, however its members were found.
  dialer.links.setMembers(() => Math.max(0, gossip.registry.originCount - 1))
}
