/**
 * Registry records in their v1 form: `0x01 | u32 big-endian body length |
 * body (UTF-8 JSON) | signature`, the origin's signature over the body bytes.
 *
 * Decoded into the same `RegistryRecord` model as v2 records, under v2's rules
 * (origins are canonical peer IDs with inline keys, every field bounded, no
 * empty IDs or labels), so a record's form never widens what it may say. The
 * signature is checked by the same `verifyRecord` as v2's. A v2 Gateway signs
 * its own records in this form for v1 peers (see ./registry-v1.ts).
 */
import { MeshError } from '../errors.ts'
import { MAX_ENTRIES_PER_RECORD, MAX_ID_LENGTH, MAX_KEY_LENGTH, type Change, type EntryData, type GatewayMeta, type RegistryRecord, type UnverifiedRecord } from '../registry/records.ts'
import { arr, decodeJson, encodeJson, int, obj, optInt, peerIdText, str, type JsonObject } from './json.ts'
import type { PrivateKey } from '@libp2p/interface'

/** The first byte of a v1 record (a v2 `SignedRecord` starts with a protobuf tag, 0x0a). */
export const V1_RECORD_TAG = 0x01
const MAX_SIGNATURE_BYTES = 1024
const MAX_CHUNKS = 100_000
/** v1 peers refuse a snapshot listing more addresses than this. */
const MAX_ADDRS = 32

export function isV1Record (bytes: Uint8Array): boolean {
  return bytes[0] === V1_RECORD_TAG
}

function bad (message: string): MeshError {
  return new MeshError('BAD_REQUEST', message)
}

// ---- encoding ---------------------------------------------------------------

function entryToV1 (e: Change): unknown[] {
  if (e.removed === true) return [e.sessionKey]
  return [e.sessionKey, e.sessionId ?? null, e.label ?? null, e.agentId ?? null]
}

function bodyOf (record: RegistryRecord): JsonObject {
  const head = { v: 1, k: record.kind, o: record.origin, i: record.incarnation, s: record.seq }
  switch (record.kind) {
    case 'snap': {
      const g = record.gateway
      return { ...head, n: record.chunk, c: record.chunks, gw: { name: g.name, host: g.host, port: g.gatewayPort, addrs: g.addrs.slice(0, MAX_ADDRS), max: g.maxMessageBytes }, e: record.entries.map(entryToV1) }
    }
    case 'delta':
      return { ...head, b: record.base, e: record.changes.map(entryToV1) }
    case 'bye':
      return head
  }
}

/** `record` signed in v1 form with the origin's key. */
export async function signV1Record (record: RegistryRecord, key: PrivateKey): Promise<Uint8Array> {
  const body = encodeJson(bodyOf(record))
  const signature = await key.sign(body)
  const bytes = new Uint8Array(5 + body.length + signature.length)
  bytes[0] = V1_RECORD_TAG
  new DataView(bytes.buffer).setUint32(1, body.length)
  bytes.set(body, 5)
  bytes.set(signature, 5 + body.length)
  return bytes
}

// ---- decoding ---------------------------------------------------------------

function optText (list: unknown[], index: number, max: number, what: string): string | undefined {
  const value = list[index]
  if (value === null || value === undefined) return undefined
  if (typeof value !== 'string' || value.length === 0 || value.length > max) throw bad(`${what} must be 1 to ${max} characters`)
  return value
}

function entryFromV1 (value: unknown, allowRemoved: boolean): Change {
  if (!Array.isArray(value) || value.length < 1 || value.length > 4) throw bad('bad entry')
  const sessionKey = optText(value, 0, MAX_KEY_LENGTH, 'session key')
  if (sessionKey === undefined) throw bad('entry without a session key')
  if (value.length === 1) {
    if (!allowRemoved) throw bad('removal inside a snapshot')
    return { sessionKey, removed: true }
  }
  const entry: EntryData = { sessionKey }
  const sessionId = optText(value, 1, MAX_ID_LENGTH, 'session ID')
  const label = optText(value, 2, MAX_KEY_LENGTH, 'label')
  const agentId = optText(value, 3, MAX_ID_LENGTH, 'agent ID')
  if (sessionId !== undefined) entry.sessionId = sessionId
  if (label !== undefined) entry.label = label
  if (agentId !== undefined) entry.agentId = agentId
  return entry
}

function gatewayFromV1 (gw: JsonObject): GatewayMeta {
  const addrs = arr(gw, 'addrs', MAX_ADDRS).map(a => {
    if (typeof a !== 'string' || a.length === 0 || a.length > 512) throw bad('bad address')
    return a
  })
  const meta: GatewayMeta = { name: str(gw, 'name', 128, 1), host: str(gw, 'host', 256), addrs, maxMessageBytes: int(gw, 'max', 1) }
  const port = optInt(gw, 'port', 1, 65535)
  if (port !== undefined) meta.gatewayPort = port
  return meta
}

function recordFromV1 (body: JsonObject): RegistryRecord {
  if (body.v !== 1) throw bad('unsupported v1 record version')
  const head = { origin: peerIdText(body.o), incarnation: int(body, 'i', 1), seq: int(body, 's') }
  switch (body.k) {
    case 'snap': {
      const chunks = int(body, 'c', 1, MAX_CHUNKS)
      const entries = arr(body, 'e', MAX_ENTRIES_PER_RECORD).map(e => entryFromV1(e, false)) as EntryData[]
      return { ...head, kind: 'snap', chunk: int(body, 'n', 0, chunks - 1), chunks, gateway: gatewayFromV1(obj(body, 'gw')), entries }
    }
    case 'delta': {
      const base = int(body, 'b')
      if (base >= head.seq) throw bad('delta base must precede its seq')
      return { ...head, kind: 'delta', base, changes: arr(body, 'e', MAX_ENTRIES_PER_RECORD).map(e => entryFromV1(e, true)) }
    }
    case 'bye':
      return { ...head, kind: 'bye' }
    default:
      throw bad('unknown record kind')
  }
}

/** Decodes a v1 record without checking its signature (`verifyRecord` does). Throws `BAD_REQUEST` for malformed bytes. */
export function decodeV1Record (bytes: Uint8Array): UnverifiedRecord {
  if (bytes.length < 5 || !isV1Record(bytes)) throw bad('not a v1 registry record')
  const bodyLength = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(1)
  const signatureLength = bytes.length - 5 - bodyLength
  if (signatureLength <= 0 || signatureLength > MAX_SIGNATURE_BYTES) throw bad('bad record lengths')
  const body = bytes.subarray(5, 5 + bodyLength)
  return { record: recordFromV1(decodeJson(body)), bytes, body, signature: bytes.subarray(5 + bodyLength) }
}
