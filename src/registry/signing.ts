/**
 * Signing registry records with an origin's libp2p key.
 *
 * libp2p's Ed25519 private key imports itself into Node's crypto (a `KeyObject`
 * from JWK) on every `sign()`; that import measured ~40-60 µs of the ~100 µs a
 * sign takes here, on the path of every announce. Here the key is imported once
 * and kept: the same Node call (`crypto.sign` with `null` digest, i.e. pure
 * Ed25519) on the same bytes, so the signatures are identical. Other key types
 * go through libp2p as before. Verifying is left to libp2p: importing a public
 * key measured ~10-30 µs beside a ~250 µs verify, not worth a cache of keys.
 */
import { createPrivateKey, sign } from 'node:crypto'
import type { PrivateKey } from '@libp2p/interface'

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
