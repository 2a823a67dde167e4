/** Public types of versions and compatibility: what `status()` and the `peer:incompatible` event report. */

/**
 * Why a peer cannot take part in the mesh with us:
 * - `no-common-version`: it speaks none of our registry protocol versions (negotiation failed);
 * - `unreadable-frames`: it wrote a registry frame we cannot decode (a newer or faulty build).
 */
export type IncompatibleKind = 'no-common-version' | 'unreadable-frames'

/** What the registry gossip reports of an incompatible peer (the service adds what identify says, see {@link IncompatiblePeer}). */
export interface IncompatibleReport {
  peerId: string
  kind: IncompatibleKind
  reason: string
}

/** A connected Gateway that we cannot exchange sessions with. Its sessions are not in our registry, nor ours in its. */
export interface IncompatiblePeer {
  peerId: string
  kind: IncompatibleKind
  /** A sentence for the log and the CLI. */
  reason: string
  /** The registry protocol versions it announces (libp2p identify), newest first, when known. */
  versions?: number[]
  /** Its software, as it announces it (libp2p identify's agent version), when known. */
  agentVersion?: string
  /** The remote address of the connection. */
  address?: string
  at: number
}

/** What this Gateway speaks. */
export interface VersionInfo {
  /** Its clawmesh version (package.json). */
  software: string
  /** The wire (protocol) versions it speaks, newest first: the registry and deliver protocols share them. */
  protocols: number[]
}
