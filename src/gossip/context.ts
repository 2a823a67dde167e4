/**
 * The gossip service as its parts see it: the state and effects that the
 * frame handlers (inbound.ts), the periodic check (heartbeat.ts) and the
 * metrics (metrics.ts) use. They depend on these interfaces, not on the
 * service class, so the service imports them without an import cycle.
 */
import type { RegistryWires } from '../compat/registry-wires.ts'
import type { Liveness } from './liveness.ts'
import type { News } from './news.ts'
import type { PeerLink } from './peer-link.ts'
import type { PullTracker } from './pull-tracker.ts'
import type { GossipCounters, GossipPeer, RegistryGossipEvents, RegistryGossipInit } from './types.ts'
import type { Registry, RegistryChanges } from '../registry/registry.ts'
import type { Logger, PeerId } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'
import type { TypedEventTarget } from 'main-event'

/** What the metrics read. */
export interface GossipView {
  readonly selfId: string
  readonly registry: Registry
  readonly pulls: PullTracker
  readonly counters: GossipCounters
  joinedPeers: () => string[]
  connectedPeers: () => GossipPeer[]
}

/** What the frame handlers use: the state, and the service's effects (its events, telling peers our links). */
export interface GossipContext extends GossipView, Pick<TypedEventTarget<RegistryGossipEvents>, 'safeDispatchEvent'> {
  readonly now: () => number
  readonly liveness: Liveness
  readonly news: News
  readonly links: Map<string, PeerLink>
  /** Decodes records in every form we accept. */
  readonly wires: Pick<RegistryWires, 'decodeRecord'>
  allowed: (origin: string) => boolean
  reachabilityChanged: (origin: string) => void
  emitChanges: (changes: RegistryChanges) => void
  rejected: (peerId: string, reason: string) => void
  scheduleLinks: () => void
}

/** What the periodic check uses besides: its timing, and hanging up on a silent peer. */
export interface CheckContext extends GossipContext {
  readonly log: Logger
  readonly checkMs: number
  lastCheck: number
  readonly init: Pick<Required<RegistryGossipInit>, 'heartbeatIntervalMs' | 'peerSilenceMs' | 'antiEntropyIntervalMs'>
  readonly components: { connectionManager: Pick<ConnectionManager, 'getConnections'> }
  peerDisconnected: (peer: PeerId) => void
}
