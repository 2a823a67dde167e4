/** The registry gossip service's options, components, events and views. */
import type { WireVersion } from '../compat/protocols.ts'
import type { IncompatibleReport } from '../compat/types.ts'
import type { GatewayMeta } from '../registry/records.ts'
import type { RegistryChanges } from '../registry/registry.ts'
import type { ComponentLogger, Libp2pEvents, Metrics, PeerId, PrivateKey } from '@libp2p/interface'
import type { ConnectionManager, Registrar } from '@libp2p/interface-internal'
import type { TypedEventTarget } from 'main-event'

export interface RegistryGossipInit {
  /** This run's incarnation: grows on every start, so peers replace what they held of the last run. */
  incarnation: number
  /** How we describe ourselves in our snapshots (read at each snapshot). */
  gateway: () => GatewayMeta
  /** Our clawmesh version, shown to peers in `hello`. */
  softwareVersion?: string
  /** The registry protocol versions to speak, newest first. @default [2, 1] */
  protocolVersions?: readonly WireVersion[]
  /** @default 2000 */
  heartbeatIntervalMs?: number
  /** A peer silent this long is hung: hang up. @default 4500 */
  peerSilenceMs?: number
  /** How often a digest hash rides on a heartbeat. @default 10000 */
  antiEntropyIntervalMs?: number
  /** Unreachable origins are dropped after this long. @default 60000 */
  unreachableGraceMs?: number
  /** Dropped origins' tombstones are kept this long. @default 10 × unreachableGraceMs */
  tombstoneMs?: number
  /** A pull whose records stop coming for this long moves to another peer. @default 2000 */
  pullTimeoutMs?: number
  /** Peer IDs whose records we accept (relayed ones included). @default every origin */
  allow?: string[]
  /** The clock (epoch ms). @default Date.now */
  clock?: () => number
}

export interface RegistryGossipComponents {
  peerId: PeerId
  privateKey: PrivateKey
  registrar: Registrar
  connectionManager: ConnectionManager
  events: TypedEventTarget<Libp2pEvents>
  logger: ComponentLogger
  metrics?: Metrics
}

/** A linked peer, as it described itself in its hello. */
export interface GossipPeer {
  id: string
  name?: string
  rttMs?: number
  /** The registry protocol version of its hello: the one we talk with it (2, or 1 for a Gateway not yet upgraded). */
  protocolVersion?: number
  /** Its clawmesh version. */
  softwareVersion?: string
}

export interface GossipCounters {
  recordsApplied: number
  /** Bad signature, malformed, or from an origin outside the allowlist. */
  recordsRejected: number
  /** Already held (gossip overlap). */
  recordsRedundant: number
  /** Wants sent: records we lacked and asked a peer for (a pull, a gap, a fail-over). */
  pullRequests: number
}

export interface RegistryGossipEvents {
  /** Entries were added, updated or removed. */
  'registry:change': CustomEvent<RegistryChanges>
  /** A peer's hello arrived: it is linked. */
  'peer:join': CustomEvent<GossipPeer>
  'peer:leave': CustomEvent<GossipPeer>
  /** An origin's reachability changed (detail: its peer ID). */
  'gateway:reachability': CustomEvent<string>
  /** A record or frame from a peer was refused. */
  'record:rejected': CustomEvent<{ peerId: string, reason: string }>
  /** A peer speaks none of our registry versions, or writes frames we cannot read. */
  'peer:incompatible': CustomEvent<IncompatibleReport>
}
