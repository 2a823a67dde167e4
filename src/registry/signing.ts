/**
 * Signing registry records with an origin's libp2p key.
 *
 * libp2p's Ed25519 private key imports itself into Node's crypto (a `KeyObject`
 * from JWK) on every `sign()`; that import measured ~40-60 µs of the ~100 µs a
 * sign takes here, on the path of every announce. Here the key is imported once
 * and kept: the same Node call (`crypto.sign` with `null` digest, i.e. pure
 * Ed25519) on the same bytes, so the signatures are identical. Other key types
 * go through libp2p as before.
 *
 * Ed25519 signatures of records are checked by the same Node call (`crypto.verify`, `null`
 * digest) as libp2p's, with the origin's public key imported once and kept (bounded): libp2p imports
 * it again for every check, ~15-30 µs beside the ~125 µs of the check itself on this machine. The
 * asynchronous form (libuv's thread pool) was tried and dropped: on the loaded 2-core machine it
 * cost more CPU per late join (thread hand-offs) and gained no elapsed time (no idle core to use).
 */
import { createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto'
import type { PrivateKey, PublicKey } from '@libp2p/interface'

/** DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410); the 32 raw key bytes follow. */
const ED25519_SPKI_PREFIX = Uint8Array.from([0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00])
const MAX_CACHED_KEYS = 10_000
const publicKeys = new Map<string, KeyObject>()

/** True when `signature` is `key`'s over `body` (`origin`: the key's peer ID, for the cache). Never throws. */
export async function verifySignature (origin: string, key: PublicKey, body: Uint8Array, signature: Uint8Array): Promise<boolean> {
  try {
    if (key.type !== 'Ed25519' || key.raw.byteLength !== 32) return await key.verify(body, signature)
    let keyObject = publicKeys.get(origin)
    if (keyObject === undefined) {
      keyObject = createPublicKey({ key: Buffer.concat([ED25519_SPKI_PREFIX, key.raw]), format: 'der', type: 'spki' })
      if (publicKeys.size >= MAX_CACHED_KEYS) publicKeys.clear()
      publicKeys.set(origin, keyObject)
    }
    return verify(null, body, keyObject, signature)
  } catch {
    // libp2p throws a TypeError for a signature of the wrong length: that is a bad signature too.
    return false
  }
}

/** What signs an origin's records. */
export interface RecordSigner {
  sign: (body: Uint8Array) => Uint8Array | Promise<Uint8Array>
}

/** A signer for `key`: Ed25519 keys are imported into Node's crypto once. */
export function recordSigner (key: PrivateKey): RecordSigner {
  const raw = key.raw
  if (key.type !== 'Ed25519' || raw.byteLength !== 64) return key
  const keyObject = createPrivateKey({
    format: 'jwk',
    key: { kty: 'OKP', crv: 'Ed25519', d: Buffer.from(raw.subarray(0, 32)).toString('base64url'), x: Buffer.from(raw.subarray(32, 64)).toString('base64url') }
  })
  return { sign: (body) => new Uint8Array(sign(null, body, keyObject)) }
}

/**
 * `key` with the same cached import behind its own `sign()`, for libp2p: every Noise handshake
 * signs its payload with the node's key, both ends of each connection of a late join among them.
 * Everything else (type, raw bytes, public key, equals) is the key's own.
 */
export function withCachedSigner (key: PrivateKey): PrivateKey {
  const signer = recordSigner(key)
  if (signer === key) return key
  const signWith = (message: Uint8Array, options?: { signal?: AbortSignal }): Uint8Array | Promise<Uint8Array> => {
    options?.signal?.throwIfAborted()
    return signer.sign(message)
  }
  return Object.create(key, { sign: { value: signWith } }) as PrivateKey
}
