/**
 * The invite code: one pasteable line with what a new Gateway needs to join.
 *
 *   clawmesh-invite:<base64url of a JSON object>
 *
 * | field | what | who learns what from it |
 * |---|---|---|
 * | `v` | format version (1) | |
 * | `id` | the invite's ID (8 random bytes, hex) | names it in `clawmesh invite --list/--revoke` and logs |
 * | `key` | a one-off private-network key (32 random bytes) | admits its holder to the inviter (and the relays it names) for the join protocol only, until the invite is used, revoked or expires |
 * | `token` | a one-time token (32 random bytes) | proves the holder was given the code; the inviter keeps only its hash |
 * | `peer` | the inviter's peer ID | lets the newcomer authenticate the inviter (Noise) |
 * | `addrs` | the inviter's addresses, relayed ones included | where to dial |
 * | `exp` | expiry, seconds since the epoch | |
 * | `mesh` | the public mesh ID | lets the newcomer check the secret it receives |
 *
 * The code does not carry the mesh secret: the inviter hands it over the
 * authenticated, encrypted join connection once the token checks out (see
 * `service.ts`), and only once.
 */
import { randomBytes } from 'node:crypto'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { MeshError } from '../errors.ts'

export const INVITE_PREFIX = 'clawmesh-invite:'
/** A code longer than this is not one of ours (8 relayed addresses fit in well under it). */
export const MAX_INVITE_CODE_LENGTH = 4096
/** Addresses carried in a code. */
export const MAX_INVITE_ADDRS = 8
const MAX_ADDR_LENGTH = 512

export interface InviteCode {
  /** 16 hex digits. */
  id: string
  /** The one-off private-network key (32 bytes). */
  key: Uint8Array
  /** The one-time token (32 bytes). */
  token: Uint8Array
  /** The inviter's peer ID. */
  peer: string
  /** The inviter's multiaddrs, each ending in `/p2p/<peer>`. */
  addrs: string[]
  /** Epoch seconds. */
  expiresAt: number
  /** The public mesh ID (16 hex digits). */
  meshId: string
}

/** A fresh invite ID, key and token. */
export function inviteSecrets (): Pick<InviteCode, 'id' | 'key' | 'token'> {
  return { id: randomBytes(8).toString('hex'), key: new Uint8Array(randomBytes(32)), token: new Uint8Array(randomBytes(32)) }
}

export function encodeInvite (code: InviteCode): string {
  const body = {
    v: 1,
    id: code.id,
    key: Buffer.from(code.key).toString('base64url'),
    token: Buffer.from(code.token).toString('base64url'),
    peer: code.peer,
    addrs: code.addrs,
    exp: code.expiresAt,
    mesh: code.meshId
  }
  return INVITE_PREFIX + Buffer.from(JSON.stringify(body)).toString('base64url')
}

/** Parses and checks a code; anything malformed is `INVITE_INVALID`. Expiry is not checked here. */
export function decodeInvite (text: string): InviteCode {
  const invalid = (why: string, cause?: unknown): MeshError =>
    new MeshError('INVITE_INVALID', `this is not a valid clawmesh invite code (${why}); copy the whole line that \`clawmesh invite\` printed`, cause !== undefined ? { cause } : {})
  if (typeof text !== 'string') throw invalid('not text')
  const trimmed = text.trim()
  if (trimmed.length > MAX_INVITE_CODE_LENGTH) throw invalid('too long')
  if (!trimmed.startsWith(INVITE_PREFIX)) throw invalid(`it does not start with ${INVITE_PREFIX}`)
  let body: Record<string, unknown>
  try {
    const parsed: unknown = JSON.parse(Buffer.from(trimmed.slice(INVITE_PREFIX.length), 'base64url').toString('utf8'))
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object')
    body = parsed as Record<string, unknown>
  } catch (err) {
    throw invalid('it is damaged', err)
  }
  if (body.v !== 1) throw invalid('unknown version: made by a newer clawmesh?')
  const hex = (field: string, length: number): string => {
    const v = body[field]
    if (typeof v !== 'string' || !new RegExp(`^[0-9a-f]{${length}}$`).test(v)) throw invalid(`bad ${field}`)
    return v
  }
  const bytes = (field: string, length: number): Uint8Array => {
    const v = body[field]
    const b = typeof v === 'string' ? Buffer.from(v, 'base64url') : undefined
    if (b === undefined || b.length !== length) throw invalid(`bad ${field}`)
    return new Uint8Array(b)
  }
  const peer = body.peer
  try {
    if (typeof peer !== 'string' || peer.length > 128) throw new Error('not a string')
    peerIdFromString(peer)
  } catch (err) {
    throw invalid('bad inviter peer ID', err)
  }
  const addrs = body.addrs
  if (!Array.isArray(addrs) || addrs.length === 0 || addrs.length > MAX_INVITE_ADDRS) throw invalid('bad addresses')
  for (const a of addrs) {
    if (typeof a !== 'string' || a.length > MAX_ADDR_LENGTH || !a.endsWith(`/p2p/${peer}`)) throw invalid('bad address')
    try { multiaddr(a) } catch (err) { throw invalid('bad address', err) }
  }
  const exp = body.exp
  if (typeof exp !== 'number' || !Number.isSafeInteger(exp) || exp <= 0) throw invalid('bad expiry')
  return { id: hex('id', 16), key: bytes('key', 32), token: bytes('token', 32), peer, addrs: addrs as string[], expiresAt: exp, meshId: hex('mesh', 16) }
}

/** Whether a code's expiry has passed (by this machine's clock). */
export function isExpired (code: Pick<InviteCode, 'expiresAt'>, now = Date.now()): boolean {
  return now >= code.expiresAt * 1000
}
