/**
 * Bounded readers for the JSON objects of wire v1 (frames and record bodies).
 * Every reader checks type and size and throws `BAD_REQUEST` naming the field,
 * so malformed input from a peer never becomes a crash or an unbounded value.
 * (v2 is protobuf; these exist only to speak v1, and go when v1 does.)
 */
import { peerIdFromString } from '@libp2p/peer-id'
import { MeshError } from '../errors.ts'

export type JsonObject = Record<string, unknown>

const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true })

function bad (message: string, cause?: unknown): MeshError {
  return new MeshError('BAD_REQUEST', message, cause !== undefined ? { cause } : {})
}

export function encodeJson (value: object): Uint8Array {
  return encoder.encode(JSON.stringify(value))
}

/** Parses UTF-8 JSON that must be an object. */
export function decodeJson (bytes: Uint8Array): JsonObject {
  let value: unknown
  try {
    value = JSON.parse(decoder.decode(bytes))
  } catch (err) {
    throw bad('not a UTF-8 JSON object', err)
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw bad('not a JSON object')
  return value as JsonObject
}

function has (o: JsonObject, field: string): boolean {
  return Object.hasOwn(o, field) && o[field] !== null && o[field] !== undefined
}

/** A string of `min` to `max` characters. */
export function str (o: JsonObject, field: string, max: number, min = 0): string {
  const value = o[field]
  if (typeof value !== 'string' || value.length < min || value.length > max) throw bad(`field "${field}" must be a string of ${min} to ${max} characters`)
  return value
}

export function optStr (o: JsonObject, field: string, max: number, min = 0): string | undefined {
  return has(o, field) ? str(o, field, max, min) : undefined
}

/** A safe integer in [min, max]. */
export function int (o: JsonObject, field: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const value = o[field]
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) throw bad(`field "${field}" must be an integer in [${min}, ${max}]`)
  return value
}

export function optInt (o: JsonObject, field: string, min = 0, max = Number.MAX_SAFE_INTEGER): number | undefined {
  return has(o, field) ? int(o, field, min, max) : undefined
}

export function bool (o: JsonObject, field: string): boolean {
  const value = o[field]
  if (typeof value !== 'boolean') throw bad(`field "${field}" must be a boolean`)
  return value
}

export function obj (o: JsonObject, field: string): JsonObject {
  const value = o[field]
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw bad(`field "${field}" must be an object`)
  return value as JsonObject
}

export function optObj (o: JsonObject, field: string): JsonObject | undefined {
  return has(o, field) ? obj(o, field) : undefined
}

export function arr (o: JsonObject, field: string, maxItems: number): unknown[] {
  const value = o[field]
  if (!Array.isArray(value) || value.length > maxItems) throw bad(`field "${field}" must be an array of at most ${maxItems} items`)
  return value
}

/** The entries of a JSON object used as a map, at most `max` of them. */
export function entriesOf (o: JsonObject, field: string, max: number): Array<[string, unknown]> {
  const entries = Object.entries(obj(o, field))
  if (entries.length > max) throw bad(`field "${field}" has more than ${max} entries`)
  return entries
}

/**
 * A peer ID as v1 writes it (base58), checked to be the canonical text of a
 * peer ID with its public key inline: the same rule v2 applies to origin bytes,
 * so one Gateway cannot appear under two spellings, and signatures are checked
 * without a lookup.
 */
export function peerIdText (value: unknown): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 128) throw bad('a peer ID must be a string of at most 128 characters')
  let id
  try {
    id = peerIdFromString(value)
  } catch (err) {
    throw bad('not a peer ID', err)
  }
  if (id.publicKey === undefined || id.toString() !== value) throw bad('not a canonical peer ID with an inline public key')
  return value
}

/** `[incarnation, seq]` as v1 writes versions. */
export function versionPair (value: unknown): readonly [number, number] {
  if (!Array.isArray(value) || value.length !== 2 || !Number.isSafeInteger(value[0]) || !Number.isSafeInteger(value[1]) || (value[0] as number) < 0 || (value[1] as number) < 0) {
    throw bad('a version must be [incarnation, seq]')
  }
  return [value[0] as number, value[1] as number]
}
