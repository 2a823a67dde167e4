/** Protocol IDs, defaults and limits, each with the reason for its value. */

/** Registry gossip: one long-lived stream per direction per peer pair (frames: src/pb/registry.proto). */
export const REGISTRY_PROTOCOL = '/clawmesh/registry/2.0.0'
/** Delivery: long-lived request/response streams, multiplexed by message ID (schema: src/pb/deliver.proto). */
export const DELIVER_PROTOCOL = '/clawmesh/deliver/2.0.0'
/** Version number carried in frames so a future peer can refuse politely. */
export const WIRE_VERSION = 1

/** 1 MiB: large enough for any chat message, small enough that a frame cannot exhaust memory. */
export const DEFAULT_MAX_MESSAGE_BYTES = 1024 * 1024
/** Registry frames carry snapshots in chunks; a chunk never exceeds this. */
export const MAX_REGISTRY_FRAME_BYTES = 4 * 1024 * 1024
/** Entries per snapshot chunk: keeps a 100k-session snapshot from blocking deliveries on the same connection. */
export const SNAPSHOT_CHUNK_ENTRIES = 2_000

/** sessions_send's own default wait. */
export const DEFAULT_SEND_TIMEOUT_MS = 30_000
/** How long to wait for a dial + stream negotiation before calling a Gateway unreachable (or abandoning a discovery dial). */
export const DEFAULT_DIAL_TIMEOUT_MS = 5_000
/**
 * Registry links each Gateway chooses past a mesh of this + 1 (half nearest on a ring, half at random; links are
 * mutual, so a Gateway has about 1.5 × this): connected and a few hops across at 100 Gateways, while each Gateway
 * heartbeats a handful of peers instead of all of them. Other Gateways are dialled on demand to deliver.
 */
export const DEFAULT_DEGREE = 8
/** A delivery connection to a Gateway we are not linked to is closed after this long without a send. */
export const DEFAULT_IDLE_CONNECTION_MS = 60_000
/** How long the higher peer ID waits for the lower one to dial a discovered peer before dialing itself. */
export const DEFAULT_YIELD_MS = 750
/** First redial delay after a failed dial. */
export const DEFAULT_MIN_BACKOFF_MS = 1_000
/** Redial delays stop growing here: a bootstrap peer that comes back is reconnected within this long. */
export const DEFAULT_MAX_BACKOFF_MS = 30_000

/** Changes within this window travel in one signed delta (bursts of announces). */
export const DEFAULT_DELTA_BATCH_MS = 2
/** Anti-entropy: a digest hash rides on a heartbeat this often; the full digest goes only when hashes differ. */
export const DEFAULT_ANTI_ENTROPY_INTERVAL_MS = 10_000
/** Heartbeats on registry links detect a hung (not crashed) peer; one side sends, the other answers (~0.7 kbit/s per idle link). */
export const DEFAULT_HEARTBEAT_INTERVAL_MS = 1_000
/**
 * A linked peer silent this long is declared down by a healthy Gateway when another peer confirms it (see
 * src/gossip/link-watch.ts: suspect at 60 %, then indirect probes; longer without a confirmation, and
 * every timeout grows when this Gateway is itself slow). Hang detection stays under 5 s on an idle machine.
 */
export const DEFAULT_PEER_SILENCE_MS = 4_000
/**
 * Unreachable sessions stay listed (as unreachable) this long, then are dropped. A day: a laptop that
 * sleeps overnight, or a Gateway that is down for hours, keeps its sessions listed, so senders get
 * `UNREACHABLE` (and when it was last heard of) rather than `NOT_FOUND`, which reads as a wrong key.
 */
export const DEFAULT_UNREACHABLE_GRACE_MS = 24 * 60 * 60_000

/**
 * A finished delivery's message ID is remembered this long from its completion, so a retry within it is never
 * delivered twice. It is also the longest deadline a send may have (`timeoutMs` and the wire's `ttl` are capped at it).
 */
export const DEDUP_WINDOW_MS = 10 * 60_000
/** ...and at most this many finished IDs in all, so a flood of IDs cannot grow memory without bound... */
export const DEDUP_MAX_ENTRIES = 100_000
/** ...and at most this many per sender: past it a sender's own oldest go first, never another sender's. */
export const DEDUP_MAX_PER_SENDER = 20_000
/** Replies kept to answer duplicates, in all: past it the oldest replies are forgotten (their IDs are not). */
export const MAX_RETAINED_REPLY_BYTES = 64 * 1024 * 1024
/** Deliveries (and their unwritten answers) one deliver stream may have at once; past it we stop reading it (back-pressure). */
export const MAX_INFLIGHT_PER_PEER = 256
/** Answer bytes not yet written to one deliver stream past which we stop reading it. */
export const MAX_QUEUED_ANSWER_BYTES = 4 * 1024 * 1024
/** A sender whose stream takes none of our answers for this long (it does not read) loses the stream. */
export const ANSWER_STALL_MS = 30_000
/** A send whose stream breaks this often before its answer gives up (UNREACHABLE), deadline or not. */
export const MAX_DELIVERY_ATTEMPTS = 6

/** Streams per protocol per connection: ours are long-lived, a handful is plenty. */
export const MAX_STREAMS_PER_PROTOCOL = 16
