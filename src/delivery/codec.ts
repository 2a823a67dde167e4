/**
 * Frames of `/clawmesh/deliver/2.0.0` (schema: src/pb/deliver.proto; docs/protocol.md §2).
 *
 * protons decodes the protobuf; this module holds the limits the schema
 * cannot express (lengths, sizes, the JSON of `meta`) and maps statuses to
 * `MeshError` codes and back. Every decode of remote bytes ends in a value
 * within those limits or a typed `MeshError`, never another exception.
 */
import { DEDUP_WINDOW_MS } from '../constants.ts'
import { MAX_WIRE_ERROR_MESSAGE, MeshError, isMeshErrorCode, type WireError } from '../errors.ts'
import { ClientFrame, Response, Status } from '../pb/deliver.js'

export const MAX_ID_LENGTH = 128
export const MAX_KEY_LENGTH = 1024
export const MAX_META_BYTES = 16 * 1024
/** Room in a frame beyond the message text: IDs, keys, meta, an error message and protobuf tags. */
export const FRAME_OVERHEAD_BYTES = 64 * 1024

/** One message for a session on the owner, as the sender builds it. */
export interface DeliveryRequest {
  id: string
  /** Session key (or session ID) on the owner. */
  to: string
  text: string
  wait: boolean
  /** What the sender will still wait, at most the dedup window. */
  ttlMs: number
  /** The largest reply the sender takes. */
  maxReplyBytes: number
  fromSessionKey?: string
  meta?: Record<string, unknown>
}

export type ClientMessage =
  | { kind: 'request', request: DeliveryRequest }
  | { kind: 'cancel', id: string }
  /** A frame we cannot serve; answered with `error` when it names its request. */
  | { kind: 'invalid', id?: string, error: MeshError }

export type DeliveryAnswer =
  | { id: string, kind: 'accepted' }
  | { id: string, kind: 'ok', reply?: string }
  | { id: string, kind: 'error', error: WireError }

/** Bytes as a length-prefixed stream hands them over. */
type FrameBytes = Uint8Array

function bad (message: string): MeshError {
  return new MeshError('BAD_REQUEST', message)
}

function checkString (value: string, field: string, max: number, allowEmpty = false): string {
  if ((!allowEmpty && value.length === 0) || value.length > max) throw bad(`field "${field}" must be a string of ${allowEmpty ? 0 : 1} to ${max} characters`)
  return value
}

export function encodeRequest (request: DeliveryRequest): Uint8Array {
  return ClientFrame.encode({
    request: {
      id: request.id,
      to: request.to,
      text: request.text,
      wait: request.wait,
      ttlMs: request.ttlMs,
      maxReplyBytes: request.maxReplyBytes,
      ...(request.fromSessionKey !== undefined ? { fromSessionKey: request.fromSessionKey } : {}),
      ...(request.meta !== undefined ? { metaJson: JSON.stringify(request.meta) } : {})
    }
  })
}

export function encodeCancel (id: string): Uint8Array {
  return ClientFrame.encode({ cancel: { id } })
}

function parseMeta (json: string): Record<string, unknown> {
  if (json.length > MAX_META_BYTES) throw new MeshError('TOO_LARGE', `meta is larger than ${MAX_META_BYTES} bytes`)
  let value: unknown
  try {
    value = JSON.parse(json)
  } catch {
    throw bad('field "meta_json" must be JSON')
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw bad('field "meta_json" must be a JSON object')
  return value as Record<string, unknown>
}

/**
 * Decodes what a sender wrote. `maxTextBytes` is our own message limit; a
 * `ttl_ms` beyond the dedup window is capped at it (a retry must find the first
 * delivery's outcome for as long as the sender may wait).
 */
export function decodeClientFrame (bytes: FrameBytes, maxTextBytes: number): ClientMessage {
  let frame: ClientFrame
  try {
    frame = ClientFrame.decode(bytes)
  } catch (err) {
    return { kind: 'invalid', error: new MeshError('BAD_REQUEST', 'frame is not a deliver/2 ClientFrame', { cause: err }) }
  }
  if ((frame.request === undefined) === (frame.cancel === undefined)) return { kind: 'invalid', error: bad('a ClientFrame holds exactly one of request and cancel') }
  if (frame.cancel !== undefined) {
    try {
      return { kind: 'cancel', id: checkString(frame.cancel.id, 'id', MAX_ID_LENGTH) }
    } catch (err) {
      return { kind: 'invalid', error: err as MeshError }
    }
  }
  const r = frame.request as NonNullable<ClientFrame['request']>
  const id = r.id.length > 0 && r.id.length <= MAX_ID_LENGTH ? r.id : undefined
  try {
    checkString(r.id, 'id', MAX_ID_LENGTH)
    checkString(r.to, 'to', MAX_KEY_LENGTH)
    if (Buffer.byteLength(r.text) > maxTextBytes) throw new MeshError('TOO_LARGE', `message is larger than ${maxTextBytes} bytes`)
    if (r.fromSessionKey !== undefined) checkString(r.fromSessionKey, 'from_session_key', MAX_KEY_LENGTH, true)
    const meta = r.metaJson !== undefined ? parseMeta(r.metaJson) : undefined
    return {
      kind: 'request',
      request: {
        id: r.id,
        to: r.to,
        text: r.text,
        wait: r.wait,
        ttlMs: Math.min(r.ttlMs, DEDUP_WINDOW_MS),
        maxReplyBytes: r.maxReplyBytes === 0 ? maxTextBytes : Math.min(r.maxReplyBytes, maxTextBytes),
        ...(r.fromSessionKey !== undefined ? { fromSessionKey: r.fromSessionKey } : {}),
        ...(meta !== undefined ? { meta } : {})
      }
    }
  } catch (err) {
    return { kind: 'invalid', ...(id !== undefined ? { id } : {}), error: err instanceof MeshError ? err : bad('malformed request') }
  }
}

export function encodeAnswer (answer: DeliveryAnswer): Uint8Array {
  switch (answer.kind) {
    case 'accepted': return Response.encode({ id: answer.id, status: Status.ACCEPTED })
    case 'ok': return Response.encode({ id: answer.id, status: Status.OK, ...(answer.reply !== undefined ? { reply: answer.reply } : {}) })
    case 'error': return Response.encode({ id: answer.id, status: answer.error.code as Status, message: answer.error.message.slice(0, MAX_WIRE_ERROR_MESSAGE) })
  }
}

/**
 * Decodes what an owner wrote. Throws `BAD_REQUEST` for bytes that are no
 * Response at all (the channel cannot be trusted after that). A reply larger
 * than `maxReplyBytes` becomes a `TOO_LARGE` answer to that request alone.
 */
export function decodeAnswer (bytes: FrameBytes, maxReplyBytes: number): DeliveryAnswer {
  let r: Response
  try {
    r = Response.decode(bytes)
  } catch (err) {
    throw new MeshError('BAD_REQUEST', 'frame is not a deliver/2 Response', { cause: err })
  }
  const id = checkString(r.id, 'id', MAX_ID_LENGTH)
  const status = r.status as Status | undefined
  if (status === Status.ACCEPTED) return { id, kind: 'accepted' }
  if (status === Status.OK) {
    if (r.reply !== undefined && Buffer.byteLength(r.reply) > maxReplyBytes) {
      return { id, kind: 'error', error: { code: 'TOO_LARGE', message: `the reply is larger than the ${maxReplyBytes} bytes this Gateway takes` } }
    }
    return r.reply === undefined ? { id, kind: 'ok' } : { id, kind: 'ok', reply: r.reply }
  }
  const code = status !== undefined && status !== Status.UNSPECIFIED && isMeshErrorCode(status) ? status : 'REMOTE_ERROR'
  return { id, kind: 'error', error: { code, message: (r.message ?? code).slice(0, MAX_WIRE_ERROR_MESSAGE) } }
}
