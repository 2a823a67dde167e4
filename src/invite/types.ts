/** Public types of invites (re-exported by ../types.ts). */

/** Options of `Mesh.invite`. */
export interface CreateInviteOptions {
  /** How long the code is valid (1 s to 7 days). @default 1 hour */
  ttlMs?: number
  /** Addresses to put in the code instead of ours (e.g. a port forwarded on the router). */
  addresses?: string[]
}

/** A new invite: the code (a secret until used), what it is for, and where it dials. */
export interface InviteResult {
  /** One line, `clawmesh-invite:…`: what the new Gateway's `join` takes. */
  code: string
  id: string
  meshId: string
  /** Epoch seconds. */
  expiresAt: number
  addresses: string[]
}

/** An invite as `Mesh.invites` lists it: nothing secret. */
export interface InviteInfo {
  id: string
  createdAt: number
  expiresAt: number
  state: 'open' | 'used' | 'revoked' | 'expired'
  /** The peer ID that redeemed it. */
  usedBy?: string
  usedAt?: number
}

