/**
 * Origins are peer IDs: a string (base58) in memory, the multihash bytes on the
 * wire. Decoding checks that the bytes are a peer ID with its public key inline
 * (Ed25519 or secp256k1), so a record's signature can be checked without a lookup
 * and a digest cannot name made-up origins.
 */
import { peerIdFromMultihash, peerIdFromString } from '@libp2p/peer-id'
import * as Digest from 'multiformats/hashes/digest'
import { MeshError } from '../errors.ts'
import type { PublicKey } from '@libp2p/interface'

/** Parsed origins we have seen, both ways; bounded so a flood of made-up IDs cannot grow it. */
const MAX_CACHED = 10_000
const keys = new Map<string, PublicKey>()
const bytesOf = new Map<string, Uint8Array>()
/**
 * Origin strings by their bytes (as latin1): digests and `links` frames name the same few dozen peers over and
 * over, and base58-encoding each one was 3-4 % of a Gateway's CPU with 50 Gateways (profile in docs/scaling.md).
 */
const textOf = new Map<string, string>()

function remember<V> (cache: Map<string, V>, key: string, value: V): V {
  if (cache.size >= MAX_CACHED) cache.clear()
  cache.set(key, value)
  return value
}

/** The peer ID string of origin bytes; `BAD_REQUEST` unless they are a peer ID with an inline public key. */
export function originFromBytes (bytes: Uint8Array): string {
  const raw = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1')
  const known = textOf.get(raw)
  if (known !== undefined) return known
  let id
  try {
    id = peerIdFromMultihash(Digest.decode(bytes))
  } catch (err) {
    throw new MeshError('BAD_REQUEST', 'origin is not a peer ID', { cause: err })
  }
  if (id.publicKey === undefined) throw new MeshError('BAD_REQUEST', 'origin has no inline public key')
  const text = id.toString()
  if (!keys.has(text)) remember(keys, text, id.publicKey)
  return remember(textOf, raw, text)
}

/** The wire form of an origin (its multihash bytes). */
export function originToBytes (origin: string): Uint8Array {
  return bytesOf.get(origin) ?? remember(bytesOf, origin, peerIdFromString(origin).toMultihash().bytes)
}

/** The public key an origin's records must be signed with. */
export function publicKeyOf (origin: string): PublicKey {
  let key = keys.get(origin)
  if (key === undefined) {
    let parsed
    try {
      parsed = peerIdFromString(origin)
    } catch (err) {
      throw new MeshError('BAD_REQUEST', 'origin is not a peer ID', { cause: err })
    }
    if (parsed.publicKey === undefined) throw new MeshError('BAD_REQUEST', 'origin has no inline public key')
    key = remember(keys, origin, parsed.publicKey)
  }
  return key
}
