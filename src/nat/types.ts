/** Public types of reaching Gateways on other networks (re-exported by ../types.ts). */

/** The options of `createMesh` for Gateways on other networks (part of `MeshOptions`). */
export interface SitesOptions {
  /**
   * Serve as a relay for members that other networks cannot reach (another site behind NAT).
   * `true` turns it on with the default limits. @default false
   */
  relay?: boolean | RelayServerOptions
  /** Relay reservations and hole punching for a Gateway behind NAT. */
  reachability?: ReachabilityOptions
  /**
   * An invite code (`clawmesh invite` on a member): on first start the Gateway redeems it with its
   * inviter, stores the mesh secret in `<stateDir>/mesh.key` (mode 0600) and remembers where the
   * inviter is; later starts skip the redeemed code. Not together with `secret`.
   */
  join?: string
}

/**
 * Serving as a relay for members on other networks (`relay: true` or these limits).
 * Only holders of the mesh secret can reach a relay member at all.
 */
export interface RelayServerOptions {
  /** Gateways that may hold a slot (be reachable through us) at once. @default 32 */
  maxReservations?: number
  /** Relayed connections one member may have open through us at once. @default 16 */
  maxCircuitsPerPeer?: number
  /** Bytes one relayed connection may carry before we reset it (the mesh reconnects). @default no cap */
  circuitBytes?: number
  /** Seconds one relayed connection may last before we reset it (the mesh reconnects). @default no cap */
  circuitSeconds?: number
}

/** How a Gateway makes itself reachable from other networks. */
export interface ReachabilityOptions {
  /**
   * Reserve a slot on a relay member: `auto` when AutoNAT finds no public address of ours
   * (at once when we have none at all), `always`, or `never`. @default 'auto'
   */
  relay?: 'auto' | 'always' | 'never'
  /** Upgrade relayed connections to direct ones by hole punching (DCUtR). @default true */
  holePunch?: boolean
  /** How long to wait for AutoNAT to confirm a public interface address before reserving anyway. @default 20000 */
  publicAddressTimeoutMs?: number
}

/** Where a Gateway stands: see `MeshStatus.reachability`. */
export interface ReachabilityStatus {
  /** `public`: AutoNAT confirmed a public address; `private`: reachable through a relay only; `unknown`: not yet known. */
  state: 'public' | 'private' | 'unknown'
  /** Our relayed addresses, once a relay member gave us a slot. */
  relayed: string[]
  /** Public addresses members observed for our listening port (our NAT's mapping). */
  observed: string[]
}
