/** Public types of clawmesh: what a Gateway embedding the mesh sees. */
import type { IncompatiblePeer, VersionInfo } from './compat/types.ts'
import type { MeshErrorCode } from './errors.ts'
import type { InboundLimits } from './security/inbound-limit.ts'
import type { AcceptedKeyOption, KeyringOption, SecretOption } from './security/keyring.ts'
import type { ReachabilityOptions, ReachabilityStatus, RelayServerOptions, SitesOptions } from './nat/types.ts'
import type { CreateInviteOptions, InviteInfo, InviteResult } from './invite/types.ts'

export type { AcceptedKeyOption, IncompatiblePeer, InboundLimits, KeyringOption, SecretOption, VersionInfo }
export type { ReachabilityOptions, ReachabilityStatus, RelayServerOptions, SitesOptions, CreateInviteOptions, InviteInfo, InviteResult }

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

/**
 * Which remote Gateways may reach which local sessions. Patterns use `*` as a
 * wildcard (`agent:main:*`). A message is allowed when some `allow` rule
 * matches and no `deny` rule does. @default every member may reach every announced session
 */
export interface InboundPolicy {
  allow?: PolicyRule[]
  deny?: PolicyRule[]
}

export interface PolicyRule {
  /**
   * The sender's peer ID (proven by its connection), or a Gateway name that the registry gives that peer ID
   * when the message arrives; `*` is a wildcard. A name held by several Gateways matches all of them in
   * `deny` and none of them in `allow`: for trust, use peer IDs. @default '*'
   */
  from?: string
  /** Local session key pattern. @default '*' */
  sessionKey?: string
}

/** Options of the clawmesh libp2p service (for people who run their own libp2p node). */
export interface MeshServiceInit {
  /**
   * This Gateway's mesh name: 1-64 of `A-Z a-z 0-9 . _ -`, not all digits, not shaped like a peer ID. Meant to be unique:
   * a name several Gateways hold is `AMBIGUOUS` and both warn (`gateway:conflict`). @default `<host>-<gatewayPort or short peer ID>`
   */
  name?: string
  /** The OpenClaw Gateway's port, so peers can address us as `gateway:18790:...`. */
  gatewayPort?: number
  /** Handles inbound messages. Without one, inbound sends fail with `NOT_FOUND`. */
  deliver?: DeliverHandler
  /** Which remote Gateways may reach which local sessions. */
  policy?: InboundPolicy
  /** Largest message text accepted or sent, in bytes. @default 1048576 */
  maxMessageBytes?: number
  /** Unreachable Gateways' sessions stay listed (as unreachable) this long, then are dropped. @default 86400000 (a day) */
  unreachableGraceMs?: number
  /** How often peers compare registry digests. @default 10000 */
  antiEntropyIntervalMs?: number
  /** Heartbeat interval on registry links. @default 1000 */
  heartbeatIntervalMs?: number
  /**
   * A linked peer silent this long is declared unreachable by a healthy Gateway once another peer confirms it
   * (suspected at 5/8 of it and probed through peers linked to it; up to twice as long with no confirmation;
   * every timeout grows while this Gateway is itself slow, and a peer that answers again is back at once).
   * A closed connection is noticed at once whatever this says. @default 4000
   */
  peerSilenceMs?: number
  /** A fresh incarnation for this run (normally derived by `createMesh` from the data directory). @default Date.now() */
  incarnation?: number
  /** Default timeout of `send`. @default 30000 */
  defaultTimeoutMs?: number
  /** How long a dial may take before the target is called unreachable. @default 5000 */
  dialTimeoutMs?: number
  /**
   * Which of the addresses other Gateways announce in their registry records this Gateway dials to deliver
   * to them. `'reached'`: only where it or another member was actually reached, our own subnets, loopback for
   * Gateways on this host, and relays we know (see docs/security.md); `'all'`: whatever they announce; a list
   * of CIDR ranges (`10.0.0.0/8` or `/ip4/10.0.0.0/ipcidr/8`): `'reached'` plus those. @default 'reached'
   */
  announcedAddresses?: 'reached' | 'all' | string[]
  /**
   * A bare key (or label) this Gateway owns goes to the local session, as OpenClaw's own
   * `sessions_send` does. With `false`, a key owned here and elsewhere is `AMBIGUOUS`. @default true
   */
  localFirst?: boolean
  /** Peer IDs allowed to connect, on top of the secret; records of other origins are refused, relayed ones too. @default every holder of the secret */
  allow?: string[]
  /**
   * The wire versions to speak, newest first. `[2]` refuses Gateways still on v1 (after a rolling
   * upgrade, docs/operations.md); `[1]` alone makes this Gateway talk like the previous release. @default [2, 1]
   */
  protocolVersions?: Array<1 | 2>
}

/** Options of {@link createMesh}. Every one is optional. */
export interface MeshOptions extends MeshServiceInit, SitesOptions {
  /** Multiaddrs to listen on. @default ['/ip4/0.0.0.0/tcp/0'] (or 127.0.0.1 when `loopbackOnly`) */
  listen?: string[]
  /** Multiaddrs (with `/p2p/<peerId>`) of Gateways to dial and keep connected: bootstrap. */
  peers?: string[]
  /**
   * Registry links this Gateway chooses among the peers discovery finds (half nearest on a ring of peer IDs, half
   * at random); the registry converges over those links, and other Gateways are dialled on demand to deliver.
   * A mesh of at most `degree + 1` Gateways is a full mesh. Bootstrap `peers` are always linked. @default 8
   */
  degree?: number
  /** Where the peer identity and incarnation counter live, so a restart keeps its peer ID. @default an in-memory identity */
  dataDir?: string
  /** Multicast DNS discovery on the LAN. Set `false` where multicast must not leave the host. Shortcut for `discovery.mdns` (which wins). @default true */
  mdns?: boolean
  /**
   * The mesh secret: swarm-key text or 64 hex digits (see `clawmesh secret`). Only Gateways
   * holding one of its keys can connect at all. A keyring `{ primary, accept: [...] }` (or its
   * text form, one key a line, the primary first) dials with the primary and accepts every key:
   * for rotating the secret without an outage, and for invites (docs/security.md).
   * @default `CLAWMESH_SECRET`, else `<stateDir>/mesh.key` (created, mode 0600, by the first Gateway)
   */
  secret?: SecretOption
  /**
   * Where the mesh key file and the local-discovery rendezvous folder live.
   * @default `CLAWMESH_HOME`, else `$XDG_STATE_HOME/clawmesh`, else `~/.clawmesh`
   */
  stateDir?: string
  /** How peers are found (mDNS, same-host rendezvous folder, bootstrap addresses). */
  discovery?: DiscoveryOptions
  /**
   * Per-host limits on inbound handshakes that have not (yet) proven the secret: pending ones
   * and failed ones. Successful connections never count, so members behind one NAT address
   * are not throttled. `false` turns them off. See docs/security.md.
   * @default `{ pendingPerHost: 8, maxFailures: 20, failureWindowMs: 10000, exempt: ['127.0.0.0/8', '::1/128'] }`
   */
  inboundLimits?: InboundLimits | false
  /**
   * Serve Prometheus metrics (clawmesh's and libp2p's own) on `http://<host>:<port>/metrics`,
   * and beside them a read-only live page of the mesh (`/`) with its JSON (`/mesh.json`).
   * `port: 0` picks a free port (see `status().metricsPort`); `host` defaults to `127.0.0.1`;
   * `page` defaults to true on a loopback host only (the page shows session keys). @default off
   */
  metrics?: { port: number, host?: string, processMetrics?: boolean, page?: boolean }
}

/** How peers are found. */
export interface DiscoveryOptions {
  /** mDNS on the LAN, with a service tag derived from the secret. @default true */
  mdns?: boolean | MdnsDiscoveryOptions
  /** Same-host discovery through a rendezvous folder in the state directory; needs no multicast. @default true */
  local?: boolean | LocalDiscoveryOptions
  /** Multiaddrs (with `/p2p/<peerId>`) to dial and keep connected; added to `peers`. */
  bootstrap?: string[]
}

export interface MdnsDiscoveryOptions {
  /** Query interval. @default 2000 */
  intervalMs?: number
  /** Announce ourselves unasked at start, so members find us at once. @default true */
  announce?: boolean
  /** @default 5353 */
  port?: number
  /** @default '224.0.0.251' */
  ip?: string
}

export interface LocalDiscoveryOptions {
  /** How often each node rewrites its entry. @default 5000 */
  refreshIntervalMs?: number
  /** How often the folder is rescanned besides the file watch. @default 3000 */
  rescanIntervalMs?: number
  /** Entries not refreshed for this long are deleted. @default 30000 */
  staleAfterMs?: number
  /** Watch the folder for changes. @default true */
  watch?: boolean
}

export type MeshEventName = keyof MeshEvents
