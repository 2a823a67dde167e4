/**
 * The gossip service as its parts see it: the state and effects that the
 * frame handlers (inbound.ts), the link lifecycle (links.ts), the periodic
 * check (heartbeat.ts) and the metrics (metrics.ts) use. They depend on these
 * interfaces, not on the service class, so the service imports them without
 * an import cycle.
 */
import type { RegistryWires } from '../compat/registry-wires.ts'
import type { LinkPolicy } from './links.ts'
import type { WatchTiming } from './link-watch.ts'
import type { Liveness } from './liveness.ts'
import type { LocalHealth } from './local-health.ts'
import type { News } from './news.ts'
import type { PeerLink } from './peer-link.ts'
import type { PullTracker } from './pull-tracker.ts'
import type { GossipCounters, GossipPeer, RegistryGossipEvents, RegistryGossipInit } from './types.ts'
import type { Registry, RegistryChanges } from '../registry/registry.ts'
import type { Logger } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'
import type { TypedEventTarget } from 'main-event'

/** What the metrics read. */
export interface GossipView {
  readonly selfId: string
  readonly registry: Registry
  readonly pulls: PullTracker
  readonly counters: GossipCounters
  readonly health: LocalHealth
  joinedPeers: () => string[]
  connectedPeers: () => GossipPeer[]
}

/** What the frame handlers and the link lifecycle use: the state, and the service's effects. */
export interface GossipContext extends GossipView, Pick<TypedEventTarget<RegistryGossipEvents>, 'safeDispatchEvent'> {
  readonly now: () => number
  readonly log: Logger
  readonly running: boolean
  readonly liveness: Liveness
  readonly news: News
  readonly links: Map<string, PeerLink>
  /** Decodes records in every form we accept. */
  readonly wires: Pick<RegistryWires, 'decodeRecord' | 'protocols' | 'writerFor' | 'openFailed'>
  readonly policy: LinkPolicy
  readonly timing: WatchTiming
  readonly init: Pick<Required<RegistryGossipInit>, 'gateway' | 'heartbeatIntervalMs' | 'antiEntropyIntervalMs'> & Pick<RegistryGossipInit, 'softwareVersion'>
  readonly components: { connectionManager: Pick<ConnectionManager, 'getConnections' | 'openStream' | 'openConnection'> }
  allowed: (origin: string) => boolean
  reachabilityChanged: (origin: string) => void
  emitChanges: (changes: RegistryChanges) => void
  rejected: (peerId: string, reason: string) => void
  scheduleLinks: () => void
  /** A peer said we are down: we were slow; prove to the mesh that we run (rate-limited). */
  accused: () => void
  /** Check `origin` ourselves (a dial, or a ping on an open connection), in the background. */
  verify: (origin: string) => void
}

/** What the periodic check uses besides: its timing. */
export interface CheckContext extends GossipContext {
  readonly checkMs: number
  lastCheck: number
}
