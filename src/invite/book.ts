/**
 * The invites a Gateway has handed out, and the rule for redeeming one: pure
 * state with an injectable clock, no I/O.
 *
 * An invite can be redeemed once, before it expires, unless it was revoked.
 * Only a hash of its token is kept, and tokens are compared in constant time.
 * Invites live in memory: a Gateway that restarts has revoked every invite
 * it had out (nothing secret about them is ever written to disk).
 */
import { createHash, timingSafeEqual } from 'node:crypto'
import type { InviteInfo } from './types.ts'

/** Why an invite cannot be redeemed (what the newcomer is told). */
export type InviteRefusal = 'expired' | 'used' | 'revoked' | 'unknown'

interface Invite extends InviteInfo {
  tokenHash: Buffer
  /** The private-network key the code carries; dropped once the invite can no longer be redeemed. */
  key?: Uint8Array
}

/** Spent invites are remembered (for `--list` and a clear "already used") this long, then forgotten. */
const FORGET_AFTER_MS = 24 * 60 * 60_000
/** Invites held at once: a bound, so a caller looping on `create` cannot exhaust memory. */
export const MAX_OPEN_INVITES = 64

export class InviteBook {
  private readonly invites = new Map<string, Invite>()
  private readonly now: () => number

  constructor (now: () => number = Date.now) {
    this.now = now
  }

  /** Records a new invite. Throws when {@link MAX_OPEN_INVITES} are open. */
  add (id: string, key: Uint8Array, token: Uint8Array, expiresAt: number): InviteInfo {
    this.expire()
    if (this.open().length >= MAX_OPEN_INVITES) throw new RangeError(`${MAX_OPEN_INVITES} invites are open already; revoke some first`)
    const invite: Invite = { id, createdAt: this.now(), expiresAt, state: 'open', tokenHash: hash(token), key }
    this.invites.set(id, invite)
    return info(invite)
  }

  /** The key of an open invite (the protector admits connections under it). */
  keyOf (id: string): Uint8Array | undefined {
    const invite = this.invites.get(id)
    return invite?.state === 'open' && this.now() < invite.expiresAt ? invite.key : undefined
  }

  /**
   * Redeems invite `id` for `peer` if `token` matches and the invite is open. The invite is spent
   * before this returns, so a second redemption (even a concurrent one) is refused.
   */
  redeem (id: string, token: Uint8Array, peer: string): { ok: true } | { ok: false, why: InviteRefusal } {
    this.expire()
    const invite = this.invites.get(id)
    // An unknown ID and a wrong token get the same answer: neither tells a guesser anything.
    if (invite === undefined || token.byteLength !== 32 || !timingSafeEqual(hash(token), invite.tokenHash)) return { ok: false, why: 'unknown' }
    if (invite.state !== 'open') return { ok: false, why: invite.state }
    invite.state = 'used'
    invite.usedBy = peer
    invite.usedAt = this.now()
    delete invite.key
    return { ok: true }
  }

  /** Revokes an open invite. Returns whether there was one. */
  revoke (id: string): boolean {
    const invite = this.invites.get(id)
    if (invite === undefined || invite.state !== 'open') return false
    invite.state = 'revoked'
    delete invite.key
    return true
  }

  /** Every invite still remembered, oldest first. */
  list (): InviteInfo[] {
    this.expire()
    return [...this.invites.values()].map(info)
  }

  /** Open invites' IDs. */
  open (): string[] {
    return [...this.invites.values()].filter(i => i.state === 'open').map(i => i.id)
  }

  /** Marks invites past their expiry, forgets spent ones after a day; returns the IDs that just expired. */
  expire (): string[] {
    const now = this.now()
    const expired: string[] = []
    for (const invite of this.invites.values()) {
      if (invite.state === 'open' && now >= invite.expiresAt) {
        invite.state = 'expired'
        delete invite.key
        expired.push(invite.id)
      } else if (invite.state !== 'open' && now - Math.max(invite.expiresAt, invite.usedAt ?? 0) > FORGET_AFTER_MS) {
        this.invites.delete(invite.id)
      }
    }
    return expired
  }
}

function hash (token: Uint8Array): Buffer {
  return createHash('sha256').update('clawmesh/invite-token/v1\0').update(token).digest()
}

/** The listable part of an invite (never its token hash or key). */
function info (invite: Invite): InviteInfo {
  return {
    id: invite.id,
    createdAt: invite.createdAt,
    expiresAt: invite.expiresAt,
    state: invite.state,
    ...(invite.usedBy !== undefined ? { usedBy: invite.usedBy } : {}),
    ...(invite.usedAt !== undefined ? { usedAt: invite.usedAt } : {})
  }
}
