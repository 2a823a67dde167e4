/**
 * Signed registry records: the only thing the registry protocol carries that
 * changes state. An origin signs its own records with its libp2p key; anyone
 * may relay them, nobody can forge them.
 *
 * Wire form: `0x01 | u32 big-endian body length | body (UTF-8 JSON) | signature`.
 */
import { peerIdFromString } from '@libp2p/peer-id'
import { MeshError } from '../errors.ts'
import { arr, decodeJson, describeValue, int, obj, optInt, str, type JsonObject } from '../wire/json-frame.ts'
import type { PrivateKey, PublicKey } from '@libp2p/interface'

export const RECORD_TAG = 0x01
const MAX_SIGNATURE_BYTES = 1024
const MAX_ENTRIES_PER_RECORD = 10_000
const MAX_ADDRS = 32

/** What an origin says about itself: how peers address and reach it. */
export interface GatewayMeta {
  name: string
  host: string
  gatewayPort?: number
  /** Multiaddrs it listens on, so a peer that learned of it by relay can dial it. */
  addrs: string[]
  /** Largest message it accepts. */
  maxMessageBytes: number
}

/** One session as carried on the wire: removed entries have only a key. */
export interface EntryData {
  sessionKey: string
  sessionId?: string
  label?: string
  agentId?: string
}

export interface Change extends EntryData {
  removed?: true
}

interface RecordHead {
  origin: string
  incarnation: number
  seq: number
}

/** One chunk of a full snapshot of an origin's sessions at `seq`. */
export interface SnapshotRecord extends RecordHead {
  kind: 'snap'
  chunk: number
  chunks: number
  gateway: GatewayMeta
  entries: EntryData[]
}

/** Changes that take an origin from `base` to `seq`. */
export interface DeltaRecord extends RecordHead {
  kind: 'delta'
  base: number
  changes: Change[]
}

/** The origin is stopping on purpose: its sessions are unreachable now. */
export interface ByeRecord extends RecordHead {
  kind: 'bye'
}

export type RegistryRecord = SnapshotRecord | DeltaRecord | ByeRecord

/** A record together with the exact signed bytes, so relays forward it untouched. */
export interface SignedRecord {
  record: RegistryRecord
  bytes: Uint8Array
}

const encoder = new TextEncoder()

function entryToWire (e: Change): unknown[] {
  if (e.removed === true) return [e.sessionKey]
  return [e.sessionKey, e.sessionId ?? null, e.label ?? null, e.agentId ?? null]
}

function bodyOf (record: RegistryRecord): JsonObject {
  const head = { v: 1, k: record.kind, o: record.origin, i: record.incarnation, s: record.seq }
  switch (record.kind) {
    case 'snap':
      return {
        ...head,
        n: record.chunk,
        c: record.chunks,
        gw: { name: record.gateway.name, host: record.gateway.host, port: record.gateway.gatewayPort, addrs: record.gateway.addrs, max: record.gateway.maxMessageBytes },
        e: record.entries.map(entryToWire)
      }
    case 'delta':
      return { ...head, b: record.base, e: record.changes.map(entryToWire) }
    case 'bye':
      return head
  }
}

export async function signRecord (record: RegistryRecord, key: PrivateKey): Promise<SignedRecord> {
  const body = encoder.encode(JSON.stringify(bodyOf(record)))
  const signature = await key.sign(body)
  const bytes = new Uint8Array(5 + body.length + signature.length)
  bytes[0] = RECORD_TAG
  new DataView(bytes.buffer).setUint32(1, body.length)
  bytes.set(body, 5)
  bytes.set(signature, 5 + body.length)
  return { record, bytes }
}

function optStrAt (list: unknown[], index: number, max = 1024): string | undefined {
  const value = list[index]
  if (value === null || value === undefined) return undefined
  if (typeof value !== 'string' || value.length > max) throw new MeshError('BAD_REQUEST', 'bad entry field')
  return value
}

function entryFromWire (value: unknown, allowRemoved: boolean): Change {
  if (!Array.isArray(value) || value.length < 1 || value.length > 4) throw new MeshError('BAD_REQUEST', 'bad entry')
  const sessionKey = optStrAt(value, 0)
  if (sessionKey === undefined || sessionKey.length === 0) throw new MeshError('BAD_REQUEST', 'entry without a session key')
  if (value.length === 1) {
    if (!allowRemoved) throw new MeshError('BAD_REQUEST', 'removal inside a snapshot')
    return { sessionKey, removed: true }
  }
  const entry: Change = { sessionKey }
  const sessionId = optStrAt(value, 1, 256)
  const label = optStrAt(value, 2)
  const agentId = optStrAt(value, 3, 256)
  if (sessionId !== undefined) entry.sessionId = sessionId
  if (label !== undefined) entry.label = label
  if (agentId !== undefined) entry.agentId = agentId
  return entry
}

function gatewayFromWire (gw: JsonObject): GatewayMeta {
  const addrs = arr(gw, 'addrs', MAX_ADDRS).map(a => {
    if (typeof a !== 'string' || a.length > 512) throw new MeshError('BAD_REQUEST', 'bad address')
    return a
  })
  const meta: GatewayMeta = {
    name: str(gw, 'name', 128),
    host: str(gw, 'host', 256),
    addrs,
    maxMessageBytes: int(gw, 'max', 1)
  }
  const port = optInt(gw, 'port', 1, 65535)
  if (port !== undefined) meta.gatewayPort = port
  return meta
}

function recordFromBody (body: JsonObject): RegistryRecord {
  if (body.v !== 1) throw new MeshError('BAD_REQUEST', `unsupported record version ${describeValue(body.v)}`)
  const head = { origin: str(body, 'o', 128), incarnation: int(body, 'i', 1), seq: int(body, 's') }
  switch (body.k) {
    case 'snap': {
      const chunks = int(body, 'c', 1, 100_000)
      return {
        ...head,
        kind: 'snap',
        chunk: int(body, 'n', 0, chunks - 1),
        chunks,
        gateway: gatewayFromWire(obj(body, 'gw')),
        entries: arr(body, 'e', MAX_ENTRIES_PER_RECORD).map(e => entryFromWire(e, false))
      }
    }
    case 'delta': {
      const base = int(body, 'b')
      if (base >= head.seq) throw new MeshError('BAD_REQUEST', 'delta base must precede its seq')
      return { ...head, kind: 'delta', base, changes: arr(body, 'e', MAX_ENTRIES_PER_RECORD).map(e => entryFromWire(e, true)) }
    }
    case 'bye':
      return { ...head, kind: 'bye' }
    default:
      throw new MeshError('BAD_REQUEST', 'unknown record kind')
  }
}

/** Public keys by origin: a peer ID embeds its Ed25519 key, so no lookup is needed. */
const keyCache = new Map<string, PublicKey>()

function publicKeyOf (origin: string): PublicKey {
  let key = keyCache.get(origin)
  if (key === undefined) {
    let parsed
    try {
      parsed = peerIdFromString(origin)
    } catch (err) {
      throw new MeshError('BAD_REQUEST', 'record origin is not a peer ID', { cause: err })
    }
    if (parsed.publicKey === undefined) throw new MeshError('BAD_REQUEST', 'record origin has no inline public key')
    key = parsed.publicKey
    if (keyCache.size > 10_000) keyCache.clear()
    keyCache.set(origin, key)
  }
  return key
}

/** A parsed record whose signature has not been checked yet. */
export interface UnverifiedRecord extends SignedRecord {
  body: Uint8Array
  signature: Uint8Array
}

/** Decodes a record without checking its signature. Throws `BAD_REQUEST` for malformed bytes. */
export function decodeRecord (bytes: Uint8Array): UnverifiedRecord {
  if (bytes.length < 5 || bytes[0] !== RECORD_TAG) throw new MeshError('BAD_REQUEST', 'not a registry record')
  const bodyLength = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(1)
  const signatureLength = bytes.length - 5 - bodyLength
  if (signatureLength <= 0 || signatureLength > MAX_SIGNATURE_BYTES) throw new MeshError('BAD_REQUEST', 'bad record lengths')
  const body = bytes.subarray(5, 5 + bodyLength)
  return { record: recordFromBody(decodeJson(body)), bytes, body, signature: bytes.subarray(5 + bodyLength) }
}

/** Throws `FORBIDDEN` unless the record is signed by its origin's key. */
export async function verifyRecord (decoded: UnverifiedRecord): Promise<SignedRecord> {
  const valid = await publicKeyOf(decoded.record.origin).verify(decoded.body, decoded.signature)
  if (!valid) throw new MeshError('FORBIDDEN', `record claiming origin ${decoded.record.origin} has a bad signature`)
  return { record: decoded.record, bytes: decoded.bytes }
}

/**
 * Decodes and verifies a record. Throws `BAD_REQUEST` for malformed bytes and
 * `FORBIDDEN` when the signature is not the origin's.
 */
export async function openRecord (bytes: Uint8Array): Promise<SignedRecord> {
  return await verifyRecord(decodeRecord(bytes))
}
