/**
 * The owner directory: the narrow view of the registry that addressing,
 * policy and delivery need (who owns a key, a session ID or a label; a
 * Gateway's name, addresses and liveness), plus the one write delivery makes
 * (a failed dial marks the owner unreachable). The router never reaches
 * further into the registry than this, so a send cannot climb back up.
 */

/** One Gateway as the registry knows it. */
export interface GatewayRecord {
  /** The peer ID (base58): the identity, proven by every connection. */
  peerId: string
  /** Its mesh name if the name it announced follows the naming rules (routing/address.ts), else undefined. */
  name?: string
  /** Host name it announced (a claim). */
  host: string
  gatewayPort?: number
  /** Multiaddrs it announced (claims: filtered before dialling, see delivery/address-filter.ts). */
  addrs: readonly string[]
  /** Largest message it accepts. */
  maxMessageBytes: number
  reachable: boolean
  /** It said goodbye (stopped on purpose). */
  departed: boolean
  /** Epoch ms since when it is unreachable. */
  unreachableSince?: number
}

/** One session as its owner announced it. */
export interface SessionRecord {
  sessionKey: string
  sessionId?: string
  label?: string
  agentId?: string
}

/** A session key on one origin. */
export interface OwnedKey {
  origin: string
  sessionKey: string
}

export interface OwnerDirectory {
  /** Our own peer ID. */
  readonly selfId: string
  gateways: () => Iterable<GatewayRecord>
  gateway: (peerId: string) => GatewayRecord | undefined
  session: (peerId: string, sessionKey: string) => SessionRecord | undefined
  sessions: (peerId: string) => Iterable<SessionRecord>
  /** Origins that announce `sessionKey`. */
  ownersOfKey: (sessionKey: string) => string[]
  /** Every origin that announces `sessionId` (a UUID announced twice is kept twice, never last-writer-wins). */
  ownersOfSessionId: (sessionId: string) => OwnedKey[]
  withLabel: (label: string) => OwnedKey[]
  /** Peer IDs of the Gateways whose valid name is `name` (more than one: the name is shared, so AMBIGUOUS). */
  gatewaysNamed: (name: string) => string[]
  /**
   * A dial to it failed: its sessions fail fast with UNREACHABLE until it is heard from again. `timedOut`: the
   * dial neither succeeded nor was refused in time (an overloaded owner looks the same): listed as unreachable,
   * but sends still try it.
   */
  markUnreachable: (peerId: string, timedOut?: boolean) => void
}

/** The name a person sees for a Gateway: its valid name, else its peer ID. */
export function displayName (gateway: Pick<GatewayRecord, 'name' | 'peerId'>): string {
  return gateway.name ?? gateway.peerId
}
