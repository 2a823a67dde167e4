/** Options of createMesh and of the clawmesh libp2p service: what a Gateway can configure. */
import type { InboundLimits } from './security/inbound-limit.ts'
import type { SecretOption } from './security/keyring.ts'
import type { SitesOptions } from './nat/types.ts'
import type { DeliverHandler } from './types.ts'

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
