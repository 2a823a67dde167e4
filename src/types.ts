/** Public types of clawmesh: what a Gateway embedding the mesh sees. */
import type { IncompatiblePeer, VersionInfo } from './compat/types.ts'
import type { MeshErrorCode } from './errors.ts'
import type { InboundLimits } from './security/inbound-limit.ts'
import type { AcceptedKeyOption, KeyringOption, SecretOption } from './security/keyring.ts'
import type { ReachabilityOptions, ReachabilityStatus, RelayServerOptions, SitesOptions } from './nat/types.ts'
import type { CreateInviteOptions, InviteInfo, InviteResult } from './invite/types.ts'

export type { AcceptedKeyOption, IncompatiblePeer, InboundLimits, KeyringOption, SecretOption, VersionInfo }
export type { ReachabilityOptions, ReachabilityStatus, RelayServerOptions, SitesOptions, CreateInviteOptions, InviteInfo, InviteResult }
export type { InboundPolicy, PolicyRule, MeshServiceInit, MeshOptions, DiscoveryOptions, MdnsDiscoveryOptions, LocalDiscoveryOptions } from './options.ts'

/** How a Gateway is known in the mesh. */
export interface GatewayInfo {
  /** Human name, unique in the mesh (`hq`, `hangzhou`); defaults to `<host>-<gatewayPort>`. */
  name: string
  /** The libp2p peer ID (base58), the Gateway's cryptographic identity. */
  peerId: string
  /** The OpenClaw Gateway's own port, so `18790` or `localhost:18790` name it too. */
  gatewayPort?: number
  /** Host name of the machine the Gateway runs on. */
  host: string
  /** True for this Gateway itself. */
  self: boolean
  /** False when the Gateway is known to be down or cut off. */
  reachable: boolean
  /** When it turned unreachable (epoch ms): about when it was last heard of. Absent while reachable. */
  unreachableSince?: number
}

/** What an owner says about one of its sessions. */
export interface SessionAnnouncement {
  /** The session UUID behind the key on this Gateway. Globally unique. */
  sessionId?: string
  /** OpenClaw's human label for the session. */
  label?: string
  /** The OpenClaw agent that owns the session (`main`). */
  agentId?: string
}

/** One session in the mesh-wide registry. */
export interface SessionEntry extends SessionAnnouncement {
  sessionKey: string
  /** The Gateway that owns it. */
  owner: GatewayInfo
  /** `gateway:<owner name>:<sessionKey>`: always routes to exactly this session. */
  qualifiedKey: string
}

/** A connected mesh peer. */
export interface PeerStatus extends GatewayInfo {
  /** Multiaddrs of the open connection(s). */
  addresses: string[]
  /** Sessions this peer owns, per our registry. */
  sessions: number
  /** Last measured round-trip time on the registry stream, in ms. */
  rttMs?: number
  /** The wire version we talk with it (2; 1 for a Gateway not yet upgraded) and its clawmesh version (v1 Gateways do not tell). */
  protocolVersion?: number
  softwareVersion?: string
  /** `direct`: a connection of our own (LAN, VPN, or hole-punched); `relayed`: through a relay member. Set by `peers()`. */
  link?: 'direct' | 'relayed'
}

/** A message as the owning Gateway's `deliver` handler receives it. */
export interface InboundMessage {
  /** The sender's message ID: unique per sender only (another sender may use the same ID). */
  id: string
  /** `<sender peer ID>/<message ID>`: unique mesh-wide, what the mesh deduplicates on; the idempotency key for whatever the handler starts. */
  idempotencyKey: string
  /**
   * Who sent it. `peerId` is proven (the connection's Noise identity); `gateway` is the name our registry
   * gives that peer ID (its peer ID when it has no valid name), never a name the message claims;
   * `sessionKey` is the sender's claim, unchecked (at most 1,024 characters of any kind).
   */
  from: { gateway: string, peerId: string, sessionKey?: string }
  /** The local session it is for. */
  sessionKey: string
  sessionId?: string
  /** The message text. */
  text: string
  /** Free-form metadata supplied by the sender (JSON values only). */
  meta?: Record<string, unknown>
  /** Whether the sender waits for a reply. */
  waitForReply: boolean
  /** Epoch ms after which the sender no longer waits (from the sender's remaining budget, not its clock). */
  deadline: number
}

export interface DeliverContext {
  /** Aborted when the sender gives up, the deadline passes or the mesh stops. */
  signal: AbortSignal
  /**
   * Says the message is safely queued (e.g. the agent run is started): a fire-and-forget sender gets its
   * `accepted` now, a waiting one learns it before the reply. Without it, the handler's return counts as
   * taking the message; a handler that throws first has not taken it (the sender gets the error).
   */
  accept: () => void
}

export interface DeliverResult {
  reply?: string
}

/** Hands an inbound message to a local session and returns the session's reply. */
export type DeliverHandler = (message: InboundMessage, context: DeliverContext) => Promise<DeliverResult>

/** Options of {@link Mesh.send}. */
export interface SendOptions {
  /** Give up after this long; capped at 600000, the receivers' dedup window (so a retry is never delivered twice). @default 30000 */
  timeoutMs?: number
  /** Wait for the owner's reply (true) or return once the owner accepted the message (false). @default true */
  waitForReply?: boolean
  /** Route to this Gateway (name, port, host:port or peer ID) instead of resolving the owner. */
  targetGateway?: string
  /** Overrides the mesh's `localFirst` for this send. */
  localFirst?: boolean
  signal?: AbortSignal
  /** Idempotency key; reuse it to retry safely. @default a random UUID */
  messageId?: string
  /** The sending session, shown to the receiver. */
  fromSessionKey?: string
  meta?: Record<string, unknown>
  /** Called once when the owner has taken the message, before its reply when waiting: answer "accepted" now, get the reply later. */
  onAccepted?: () => void
}

export interface SendResult {
  /** `ok`: delivered and, if asked, replied; `accepted`: the owner's handler has taken it (fire-and-forget). */
  status: 'ok' | 'accepted'
  reply?: string
  owner: GatewayInfo
  sessionKey: string
  sessionId?: string
  /** `gateway:<owner name>:<sessionKey>`: where the message went. */
  qualifiedKey: string
  messageId: string
}

/** Options of {@link Mesh.resolve}. */
export interface ResolveOptions {
  targetGateway?: string
  localFirst?: boolean
}

/** Where a target would be delivered, without sending. */
export interface Resolution {
  owner: GatewayInfo
  sessionKey: string
  sessionId?: string
  label?: string
  agentId?: string
  qualifiedKey: string
  /** Which rule matched (see docs: addressing). */
  via: 'qualified' | 'targetGateway' | 'sessionId' | 'key' | 'label'
}

export interface RejectedPeer {
  peerId?: string
  address?: string
  reason: string
  at: number
}

export interface MeshStatus {
  self: GatewayInfo
  /** Multiaddrs this node listens on. */
  addresses: string[]
  peers: number
  /** Sessions known mesh-wide, ours included. */
  sessions: number
  /** Sessions this Gateway owns. */
  localSessions: number
  /** Gateways (origins) in the registry, ours included. */
  gateways: number
  incarnation: number
  startedAt: number
  /** A non-secret hash of the mesh secret: equal on every member (set by `createMesh`). */
  meshId?: string
  /** Which discovery methods are on (set by `createMesh`). */
  discovery?: { mdns: boolean, local: boolean, bootstrap: number }
  /** Port of the Prometheus endpoint, when `metrics` is on. */
  metricsPort?: number
  /** Recent refusals (bad signature, wrong secret, not allowed), newest last. */
  rejected: RejectedPeer[]
  /** Our clawmesh version and the wire versions we speak. */
  versions?: VersionInfo
  /** Connected Gateways we cannot exchange sessions with (see the `peer:incompatible` event), newest last. */
  incompatible?: IncompatiblePeer[]
  /** Gateways that share our name or host:port (see the `gateway:conflict` event); empty when there are none. */
  conflicts?: NameConflict[]
  /** Whether other networks can reach us directly, and our relayed addresses (set by `createMesh`). */
  reachability?: ReachabilityStatus
  counters: {
    sent: number
    received: number
    failed: number
    duplicates: number
    deltasApplied: number
    deltasRejected: number
    /** Records received that we already held: gossip overlap, near zero in a full mesh. */
    recordsRedundant: number
    /** Times we asked a peer for registry records we lacked (joining, a gap, a pull moved on); changes in a full mesh arrive pushed, without any. */
    pullRequests: number
  }
}

/** Events of a mesh. Each is a `CustomEvent` whose `detail` has this type. */
export interface MeshEvents {
  'peer:join': CustomEvent<GatewayInfo>
  'peer:leave': CustomEvent<GatewayInfo>
  'session:add': CustomEvent<SessionEntry>
  'session:remove': CustomEvent<SessionEntry>
  /** A Gateway's sessions turned unreachable or reachable again. */
  'gateway:reachability': CustomEvent<GatewayInfo>
  /** A connection or record was refused (wrong key, bad signature, policy). */
  'peer:rejected': CustomEvent<RejectedPeer>
  /** A connected Gateway speaks none of our wire versions, or writes registry frames we cannot read: neither sees the other's sessions. */
  'peer:incompatible': CustomEvent<IncompatiblePeer>
  /** A `send` finished, successfully or not (for metrics and logs). */
  'send:done': CustomEvent<SendOutcome>
  /** Another Gateway holds our name (or our host:port): that name is `AMBIGUOUS` until one of us is renamed. */
  'gateway:conflict': CustomEvent<NameConflict>
}

/** A name (or `host:port`) held by several Gateways, this one among them. */
export interface NameConflict {
  kind: 'name' | 'hostPort'
  /** The shared name or `host:port`. */
  value: string
  /** Every Gateway holding it, this one included: address them by peer ID. */
  peerIds: string[]
}

/** How one `send` ended. */
export interface SendOutcome {
  target: string
  /** `ok`, `accepted`, or the `MeshError` code. */
  outcome: 'ok' | 'accepted' | MeshErrorCode
  durationMs: number
  /** The owning Gateway's name, when the target resolved. */
  owner?: string
}

export type MeshEventName = keyof MeshEvents
