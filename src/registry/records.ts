/**
 * Signed registry records: the only thing the registry protocol carries that
 * changes state. An origin signs its own records with its libp2p key; anyone
 * may relay them, nobody can forge them.
 *
 * Wire form (src/pb/registry.proto): `SignedRecord { body, signature }`, where
 * `body` is an encoded `RecordBody` and `signature` the origin's signature over
 * exactly those bytes. Relays keep and forward the encoded `SignedRecord` as it is.
 */
import { equals } from 'uint8arrays/equals'
import { MeshError } from '../errors.ts'
import { Entry as EntryPb, RecordBody, SignedRecord as SignedRecordPb, type GatewayMeta as GatewayMetaPb } from '../pb/registry.js'
import { originFromBytes, originToBytes, publicKeyOf } from './origin.ts'
import { verifySignature, type RecordSigner } from './signing.ts'
import type { EntryFields } from './version.ts'

const MAX_SIGNATURE_BYTES = 1024
/** Entries per record; also the decode limit in the schema. */
export const MAX_ENTRIES_PER_RECORD = 10_000
const MAX_CHUNKS = 100_000
const MAX_ADDR_LENGTH = 512
/** Longest session key, label (characters); session and agent IDs are shorter. */
export const MAX_KEY_LENGTH = 1024
/** Longest session ID, agent ID or key agent (characters). */
export const MAX_ID_LENGTH = 256

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

/** One session as carried on the wire. */
export type EntryData = EntryFields

/** An entry, or (deltas only) the removal of a key. */
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

/** A record together with its encoded `SignedRecord`, so relays forward it untouched. */
export interface SignedRecord {
  record: RegistryRecord
  bytes: Uint8Array
}

const KINDS = { snap: RecordBody.Kind.SNAPSHOT, delta: RecordBody.Kind.DELTA, bye: RecordBody.Kind.BYE } as const

// ---- entries: compact on the wire -------------------------------------------

/** OpenClaw's keys: `agent:<agent>:<rest>`. */
const AGENT_KEY = /^agent:([^:]+):([\s\S]+)$/
/** Only the canonical (lowercase) UUID form is packed, so decoding gives back the same text. */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/

function entryToPb (e: Change): EntryPb {
  const out: EntryPb = { key: e.sessionKey, agentIsKeyAgent: false, removed: e.removed === true }
  const agentKey = AGENT_KEY.exec(e.sessionKey)
  if (agentKey !== null) {
    out.keyAgent = agentKey[1] as string
    out.key = agentKey[2] as string
  }
  if (e.removed === true) return out
  if (e.agentId !== undefined) {
    if (e.agentId === out.keyAgent) out.agentIsKeyAgent = true
    else out.agentId = e.agentId
  }
  if (e.sessionId !== undefined) {
    if (UUID.test(e.sessionId)) out.sessionUuid = Buffer.from(e.sessionId.replaceAll('-', ''), 'hex')
    else out.sessionId = e.sessionId
  }
  if (e.label !== undefined) out.label = e.label
  return out
}

function text (value: string | undefined, max: number, what: string): string | undefined {
  if (value === undefined) return undefined
  if (value.length === 0 || value.length > max) throw new MeshError('BAD_REQUEST', `${what} must be 1 to ${max} characters`)
  return value
}

function uuidText (bytes: Uint8Array): string {
  if (bytes.length !== 16) throw new MeshError('BAD_REQUEST', 'a packed session ID must be 16 bytes')
  const hex = Buffer.from(bytes).toString('hex')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

function entryFromPb (e: EntryPb, allowRemoved: boolean): Change {
  const keyAgent = text(e.keyAgent, MAX_ID_LENGTH, 'key agent')
  if (keyAgent?.includes(':') === true) throw new MeshError('BAD_REQUEST', 'a key agent cannot contain ":"')
  const sessionKey = text(keyAgent !== undefined ? `agent:${keyAgent}:${e.key}` : e.key, MAX_KEY_LENGTH, 'session key') as string
  if (keyAgent !== undefined && e.key.length === 0) throw new MeshError('BAD_REQUEST', 'empty session key')
  if (e.removed) {
    if (!allowRemoved) throw new MeshError('BAD_REQUEST', 'removal inside a snapshot')
    return { sessionKey, removed: true }
  }
  const entry: Change = { sessionKey }
  if (e.sessionUuid !== undefined && e.sessionId !== undefined) throw new MeshError('BAD_REQUEST', 'two session IDs')
  const sessionId = e.sessionUuid !== undefined ? uuidText(e.sessionUuid) : text(e.sessionId, MAX_ID_LENGTH, 'session ID')
  if (e.agentIsKeyAgent && (keyAgent === undefined || e.agentId !== undefined)) throw new MeshError('BAD_REQUEST', 'bad agent ID')
  const agentId = e.agentIsKeyAgent ? keyAgent : text(e.agentId, MAX_ID_LENGTH, 'agent ID')
  const label = text(e.label, MAX_KEY_LENGTH, 'label')
  if (sessionId !== undefined) entry.sessionId = sessionId
  if (label !== undefined) entry.label = label
  if (agentId !== undefined) entry.agentId = agentId
  return entry
}

/**
 * One encoded `Entry`, as the registry keeps it (src/registry/packed-entries.ts): decoded when
 * asked for, from bytes that were decoded and checked in full when their record arrived.
 */
export function entryFromBytes (bytes: Uint8Array): Change {
  return entryFromPb(EntryPb.decode(bytes), true)
}

// ---- gateway description ----------------------------------------------------

function gatewayToPb (g: GatewayMeta): GatewayMetaPb {
  return { name: g.name, host: g.host, addrs: g.addrs, maxMessageBytes: g.maxMessageBytes, ...(g.gatewayPort !== undefined ? { gatewayPort: g.gatewayPort } : {}) }
}

function gatewayFromPb (g: GatewayMetaPb | undefined): GatewayMeta {
  if (g === undefined) throw new MeshError('BAD_REQUEST', 'snapshot without a gateway description')
  for (const a of g.addrs) if (a.length === 0 || a.length > MAX_ADDR_LENGTH) throw new MeshError('BAD_REQUEST', 'bad address')
  if (g.maxMessageBytes < 1) throw new MeshError('BAD_REQUEST', 'max message size must be positive')
  if (g.host.length > 256) throw new MeshError('BAD_REQUEST', 'host name too long')
  const meta: GatewayMeta = { name: text(g.name, 128, 'gateway name') as string, host: g.host, addrs: g.addrs, maxMessageBytes: g.maxMessageBytes }
  if (g.gatewayPort !== undefined) {
    if (g.gatewayPort < 1 || g.gatewayPort > 65535) throw new MeshError('BAD_REQUEST', 'bad gateway port')
    meta.gatewayPort = g.gatewayPort
  }
  return meta
}

// ---- records ----------------------------------------------------------------

function bodyOf (record: RegistryRecord): RecordBody {
  const body: RecordBody = {
    kind: KINDS[record.kind],
    origin: originToBytes(record.origin),
    incarnation: record.incarnation,
    seq: record.seq,
    base: 0,
    chunk: 0,
    chunks: 0,
    entries: []
  }
  if (record.kind === 'snap') {
    body.chunk = record.chunk
    body.chunks = record.chunks
    body.gateway = gatewayToPb(record.gateway)
    body.entries = record.entries.map(entryToPb)
  } else if (record.kind === 'delta') {
    body.base = record.base
    body.entries = record.changes.map(entryToPb)
  }
  return body
}

/** The first byte of every v2 `SignedRecord` (field 1, the body, length-delimited; decodeRecord accepts only the canonical encoding). */
const V2_FIRST_BYTE = 0x0a

/**
 * Bytes in which `PackedEntries` finds `signed`'s entries: its own bytes when they are a v2
 * `SignedRecord`; for a record that came in another form (v1's JSON, src/compat/), its record
 * encoded as a v2 one without a signature. Those are only read locally (indexing, lookups), never
 * served or verified: peers are served the bytes the origin signed.
 */
export function entryBytesOf (signed: SignedRecord): Uint8Array {
  if (signed.bytes[0] === V2_FIRST_BYTE) return signed.bytes
  return SignedRecordPb.encode({ body: RecordBody.encode(bodyOf(signed.record)), signature: new Uint8Array(0) })
}

/** Signs `record` with its origin's key (a libp2p `PrivateKey`, or a `recordSigner` made from one). */
export async function signRecord (record: RegistryRecord, key: RecordSigner): Promise<SignedRecord> {
  const body = RecordBody.encode(bodyOf(record))
  const signature = await key.sign(body)
  return { record, bytes: SignedRecordPb.encode({ body, signature }) }
}

function safeInt (value: number, min: number, what: string): number {
  if (!Number.isSafeInteger(value) || value < min) throw new MeshError('BAD_REQUEST', `${what} out of range`)
  return value
}

function recordFromBody (body: RecordBody): RegistryRecord {
  const head = { origin: originFromBytes(body.origin), incarnation: safeInt(body.incarnation, 1, 'incarnation'), seq: safeInt(body.seq, 0, 'seq') }
  switch (body.kind) {
    case RecordBody.Kind.SNAPSHOT: {
      if (body.chunks < 1 || body.chunks > MAX_CHUNKS || body.chunk >= body.chunks) throw new MeshError('BAD_REQUEST', 'bad snapshot chunk')
      return { ...head, kind: 'snap', chunk: body.chunk, chunks: body.chunks, gateway: gatewayFromPb(body.gateway), entries: body.entries.map(e => entryFromPb(e, false)) }
    }
    case RecordBody.Kind.DELTA: {
      const base = safeInt(body.base, 0, 'base')
      if (base >= head.seq) throw new MeshError('BAD_REQUEST', 'delta base must precede its seq')
      return { ...head, kind: 'delta', base, changes: body.entries.map(e => entryFromPb(e, true)) }
    }
    case RecordBody.Kind.BYE:
      return { ...head, kind: 'bye' }
    default:
      throw new MeshError('BAD_REQUEST', 'unknown record kind')
  }
}

/** A parsed record whose signature has not been checked yet. */
export interface UnverifiedRecord extends SignedRecord {
  body: Uint8Array
  signature: Uint8Array
}

/** Decodes a record without checking its signature. Throws `BAD_REQUEST` for malformed bytes. */
export function decodeRecord (bytes: Uint8Array): UnverifiedRecord {
  let signed: SignedRecordPb
  let body: RecordBody
  try {
    signed = SignedRecordPb.decode(bytes)
    body = RecordBody.decode(signed.body, { limits: { entries: MAX_ENTRIES_PER_RECORD } })
  } catch (err) {
    throw new MeshError('BAD_REQUEST', 'not a registry record', { cause: err })
  }
  if (signed.signature.length === 0 || signed.signature.length > MAX_SIGNATURE_BYTES) throw new MeshError('BAD_REQUEST', 'bad signature length')
  // The envelope is not signed: accept only its one canonical encoding, so a record has exactly one byte form.
  if (!equals(SignedRecordPb.encode({ body: signed.body, signature: signed.signature }), bytes)) throw new MeshError('BAD_REQUEST', 'record envelope is not canonical')
  return { record: recordFromBody(body), bytes, body: signed.body, signature: signed.signature }
}

/** Throws `FORBIDDEN` unless the record is signed by its origin's key. */
export async function verifyRecord (decoded: UnverifiedRecord): Promise<SignedRecord> {
  const { origin } = decoded.record
  let valid: boolean
  try {
    valid = await verifySignature(origin, publicKeyOf(origin), decoded.body, decoded.signature)
  } catch {
    valid = false // an origin whose bytes name no usable key
  }
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
