/**
 * Reading one `Entry` where it lies in an encoded, already validated `SignedRecord`
 * (src/pb/registry.proto) without decoding it: where its fields are, the hashes of
 * its session key and ID as text, and whether its key is a given text. Used by
 * `PackedEntries`, which keeps entries as those bytes.
 *
 * Why by hand: protons decodes a whole message into objects, which is what this
 * avoids; only the few fields needed to index an entry are located.
 */
import { MeshError } from '../errors.ts'

const FNV_OFFSET = 0x811c9dc5
const FNV_PRIME = 0x01000193
const AGENT_PREFIX = new TextEncoder().encode('agent:')
const COLON = 0x3a
const HEX = new TextEncoder().encode('0123456789abcdef')

// ---- protobuf walking (the bytes were fully decoded and validated on arrival) ------------

let at = 0

function varint (buf: Uint8Array): number {
  let value = 0
  let shift = 0
  for (;;) {
    if (at >= buf.length) throw new MeshError('BAD_REQUEST', 'truncated varint')
    const byte = buf[at++] as number
    value += (byte & 0x7f) * 2 ** shift
    if (byte < 0x80) return value
    shift += 7
    if (shift > 63) throw new MeshError('BAD_REQUEST', 'varint too long')
  }
}

/** Calls `field(number, start, end)` for each length-delimited field of the message in `buf[start..end]`, skipping the others. */
function walk (buf: Uint8Array, start: number, end: number, field: (n: number, start: number, end: number) => void): void {
  at = start
  while (at < end) {
    const tag = varint(buf)
    switch (tag & 7) {
      case 0: varint(buf); break
      case 1: at += 8; break
      case 5: at += 4; break
      case 2: {
        const length = varint(buf)
        const from = at
        at += length
        if (at > end) throw new MeshError('BAD_REQUEST', 'truncated field')
        field(tag >>> 3, from, at)
        at = from + length
        break
      }
      default: throw new MeshError('BAD_REQUEST', `unexpected wire type ${tag & 7}`)
    }
  }
}

/** Field numbers (src/pb/registry.proto). */
const SIGNED_BODY = 1
const BODY_ENTRIES = 9
const ENTRY_KEY = 1
const ENTRY_KEY_AGENT = 2
const ENTRY_SESSION_UUID = 5
const ENTRY_SESSION_ID = 6
const ENTRY_LABEL = 7

/** The `[start, end)` of each `Entry` of an encoded `SignedRecord`, in order. */
export function entryRanges (signed: Uint8Array): number[] {
  const out: number[] = []
  let body: [number, number] | undefined
  walk(signed, 0, signed.length, (n, s, e) => { if (n === SIGNED_BODY) body = [s, e] })
  if (body === undefined) return out
  walk(signed, body[0], body[1], (n, s, e) => { if (n === BODY_ENTRIES) out.push(s, e) })
  return out
}

/** Where the fields of one `Entry` lie (-1: absent). One scratch object: fields are read and used at once. */
const fields = { key: -1, keyEnd: -1, agent: -1, agentEnd: -1, uuid: -1, id: -1, idEnd: -1, label: -1, labelEnd: -1 }

export function scan (buf: Uint8Array, start: number, end: number): typeof fields {
  fields.key = fields.agent = fields.uuid = fields.id = fields.label = -1
  walk(buf, start, end, (n, s, e) => {
    switch (n) {
      case ENTRY_KEY: fields.key = s; fields.keyEnd = e; break
      case ENTRY_KEY_AGENT: fields.agent = s; fields.agentEnd = e; break
      case ENTRY_SESSION_UUID: fields.uuid = s; break
      case ENTRY_SESSION_ID: fields.id = s; fields.idEnd = e; break
      case ENTRY_LABEL: fields.label = s; fields.labelEnd = e; break
    }
  })
  if (fields.key < 0) { fields.key = start; fields.keyEnd = start }
  return fields
}

// ---- hashes: FNV-1a over the UTF-8 of the text, however the entry spells it -------------

function fnv (h: number, bytes: Uint8Array, start: number, end: number): number {
  for (let i = start; i < end; i++) h = Math.imul(h ^ (bytes[i] as number), FNV_PRIME)
  return h
}

function fnvByte (h: number, byte: number): number {
  return Math.imul(h ^ byte, FNV_PRIME)
}

/** The hash of a text (a session key or ID as callers give it). */
export function textHash (utf8: Uint8Array): number {
  return fnv(FNV_OFFSET, utf8, 0, utf8.length)
}

/** The hash of the entry's session key: `agent:<key_agent>:<key>` or `<key>`. */
export function keyHash (buf: Uint8Array, f: typeof fields): number {
  let h = FNV_OFFSET
  if (f.agent >= 0) {
    h = fnv(h, AGENT_PREFIX, 0, AGENT_PREFIX.length)
    h = fnv(h, buf, f.agent, f.agentEnd)
    h = fnvByte(h, COLON)
  }
  return fnv(h, buf, f.key, f.keyEnd)
}

/** The hash of the entry's session ID as text (a packed UUID as its canonical lowercase form), or undefined. */
export function idHash (buf: Uint8Array, f: typeof fields): number | undefined {
  if (f.id >= 0) return fnv(FNV_OFFSET, buf, f.id, f.idEnd)
  if (f.uuid < 0) return undefined
  let h = FNV_OFFSET
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) h = fnvByte(h, 0x2d)
    const byte = buf[f.uuid + i] as number
    h = fnvByte(fnvByte(h, HEX[byte >>> 4] as number), HEX[byte & 15] as number)
  }
  return h
}

export function sameBytes (a: Uint8Array, aFrom: number, b: Uint8Array, bFrom: number, length: number): boolean {
  for (let i = 0; i < length; i++) if (a[aFrom + i] !== b[bFrom + i]) return false
  return true
}

/** Whether the entry's session key is exactly `utf8`. */
export function keyIs (buf: Uint8Array, f: typeof fields, utf8: Uint8Array): boolean {
  const keyLength = f.keyEnd - f.key
  if (f.agent < 0) return utf8.length === keyLength && sameBytes(buf, f.key, utf8, 0, keyLength)
  const agentLength = f.agentEnd - f.agent
  const prefix = AGENT_PREFIX.length
  return utf8.length === prefix + agentLength + 1 + keyLength &&
    sameBytes(AGENT_PREFIX, 0, utf8, 0, prefix) &&
    sameBytes(buf, f.agent, utf8, prefix, agentLength) &&
    utf8[prefix + agentLength] === COLON &&
    sameBytes(buf, f.key, utf8, prefix + agentLength + 1, keyLength)
}

export function labelOf (bytes: Uint8Array, f: typeof fields): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset + f.label, f.labelEnd - f.label).toString('utf8')
}

/** The UTF-8 of an `agent:` session key, which an entry stores in two parts. */
export function fullKey (bytes: Uint8Array, f: typeof fields): Uint8Array {
  const agent = bytes.subarray(f.agent, f.agentEnd)
  const key = bytes.subarray(f.key, f.keyEnd)
  const out = new Uint8Array(AGENT_PREFIX.length + agent.length + 1 + key.length)
  out.set(AGENT_PREFIX, 0)
  out.set(agent, AGENT_PREFIX.length)
  out[AGENT_PREFIX.length + agent.length] = COLON
  out.set(key, AGENT_PREFIX.length + agent.length + 1)
  return out
}
