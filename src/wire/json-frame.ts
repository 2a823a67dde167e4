import { MeshError } from '../errors.ts'

const encoder = new TextEncoder()
const decoder = new TextDecoder('utf-8', { fatal: true })

/** A frame on the wire is a JSON object; the length prefix is added by the stream. */
export type JsonObject = Record<string, unknown>

export function encodeJson (frame: object): Uint8Array {
  return encoder.encode(JSON.stringify(frame))
}

/** Parses a frame; anything that is not a UTF-8 JSON object is `BAD_REQUEST`. */
/** Bytes as read from a length-prefixed stream (a Uint8Array, or a list of chunks). */
export type FrameBytes = Uint8Array | { subarray: () => Uint8Array }

export function decodeJson (bytes: FrameBytes): JsonObject {
  let value: unknown
  try {
    value = JSON.parse(decoder.decode(bytes instanceof Uint8Array ? bytes : bytes.subarray()))
  } catch (err) {
    throw new MeshError('BAD_REQUEST', 'frame is not UTF-8 JSON', { cause: err })
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new MeshError('BAD_REQUEST', 'frame is not a JSON object')
  }
  return value as JsonObject
}

/**
 * A short, safe rendering of an untrusted value for an error message. `String(v)`
 * throws on an object like `{"toString": ""}` (found by the decoder fuzz test).
 */
export function describeValue (value: unknown): string {
  const text = JSON.stringify(value) ?? typeof value
  return text.length > 40 ? `${text.slice(0, 40)}…` : text
}

// Field readers: each throws BAD_REQUEST naming the field, so a bad peer gets a precise answer.

export function str (frame: JsonObject, field: string, maxLength = 4096): string {
  const value = frame[field]
  if (typeof value !== 'string' || value.length > maxLength) {
    throw new MeshError('BAD_REQUEST', `field "${field}" must be a string of at most ${maxLength} characters`)
  }
  return value
}

export function optStr (frame: JsonObject, field: string, maxLength = 4096): string | undefined {
  return frame[field] === undefined || frame[field] === null ? undefined : str(frame, field, maxLength)
}

export function int (frame: JsonObject, field: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const value = frame[field]
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new MeshError('BAD_REQUEST', `field "${field}" must be an integer in [${min}, ${max}]`)
  }
  return value
}

export function optInt (frame: JsonObject, field: string, min = 0, max = Number.MAX_SAFE_INTEGER): number | undefined {
  return frame[field] === undefined || frame[field] === null ? undefined : int(frame, field, min, max)
}

export function bool (frame: JsonObject, field: string): boolean {
  const value = frame[field]
  if (typeof value !== 'boolean') throw new MeshError('BAD_REQUEST', `field "${field}" must be a boolean`)
  return value
}

export function obj (frame: JsonObject, field: string): JsonObject {
  const value = frame[field]
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new MeshError('BAD_REQUEST', `field "${field}" must be an object`)
  }
  return value as JsonObject
}

export function optObj (frame: JsonObject, field: string): JsonObject | undefined {
  return frame[field] === undefined || frame[field] === null ? undefined : obj(frame, field)
}

export function arr (frame: JsonObject, field: string, maxItems: number): unknown[] {
  const value = frame[field]
  if (!Array.isArray(value) || value.length > maxItems) {
    throw new MeshError('BAD_REQUEST', `field "${field}" must be an array of at most ${maxItems} items`)
  }
  return value
}
