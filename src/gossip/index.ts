/**
 * The registry gossip: replicates the ownership registry over
 * `/clawmesh/registry/2.0.0` and decides who is reachable. A libp2p service:
 * `registryGossip(init)(components)`.
 */
import { RegistryGossip } from './gossip.ts'
import type { RegistryGossipComponents, RegistryGossipInit } from './types.ts'

export { RegistryGossip }
export type { GossipCounters, GossipPeer, RegistryGossipComponents, RegistryGossipEvents, RegistryGossipInit } from './types.ts'

/** The registry gossip service factory. */
export function registryGossip (init: RegistryGossipInit): (components: RegistryGossipComponents) => RegistryGossip {
  return (components) => new RegistryGossip(components, init)
}
