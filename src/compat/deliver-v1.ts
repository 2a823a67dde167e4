/**
 * `/clawmesh/deliver/1.0.0` frames (JSON), decoded into and encoded from the
 * same messages as v2's (src/delivery/codec.ts), under the same limits: a v1
 * sender gets no field, size or deadline that a v2 sender would not.
 *
 * Request: `{t:"req", v:1, id, from:{gw, s?}, to:{k}, text, meta?, wait, ttl}`;
 * cancel: `{t:"cancel", id}`; answers: `{t:"acc", id}`, `{t:"rep", id, reply?}`,
 * `{t:"err", id, code, msg}`. `from.gw` is checked and ignored: the owner names
 * the sender by its proven peer ID, as in v2.
 */
import { DEDUP_WINDOW_MS } from '../constants.ts'
import { isMeshErrorCode, MAX_WIRE_ERROR_MESSAGE, MeshError } from '../errors.ts'
import { MAX_ID_LENGTH, MAX_KEY_LENGTH, MAX_META_BYTES, type ClientMessage, type DeliveryAnswer, type DeliveryRequest } from '../delivery/codec.ts'
import { bool, decodeJson, encodeJson, int, obj, optObj, optStr, str, type JsonObject } from './json.ts'

/** v1 senders wait at most a day (its own bound); we cap at the dedup window as v2 does. */
const MAX_V1_TTL_MS = 24 * 3600_000
/** v1 frames carry JSON text, which escaping can double: the limit v1 itself used. */
export function v1FrameLimit (maxTextBytes: number): number {
  return 2 * maxTextBytes + 64 * 1024
}

function idOf (frame: JsonObject): string | undefined {
  return typeof frame.id === 'string' && frame.id.length > 0 && frame.id.length <= MAX_ID_LENGTH ? frame.id : undefined
}

/** Decodes what a v1 sender wrote (the owner's side). */
export function decodeV1ClientFrame (bytes: Uint8Array, maxTextBytes: number): ClientMessage {
  let frame: JsonObject
  try {
    frame = decodeJson(bytes)
  } catch (err) {
    return { kind: 'invalid', error: err as MeshError }
  }
  const id = idOf(frame)
  try {
    if (frame.t === 'cancel') return { kind: 'cancel', id: str(frame, 'id', MAX_ID_LENGTH, 1) }
    if (frame.t !== 'req') throw new MeshError('BAD_REQUEST', 'unknown deliver/1 frame type')
    if (frame.v !== 1) throw new MeshError('BAD_REQUEST', 'unsupported deliver/1 request version')
    str(frame, 'id', MAX_ID_LENGTH, 1)
    const from = obj(frame, 'from')
    str(from, 'gw', 128)
    const fromSessionKey = optStr(from, 's', MAX_KEY_LENGTH)
    const to = str(obj(frame, 'to'), 'k', MAX_KEY_LENGTH, 1)
    const text = str(frame, 'text', maxTextBytes)
    if (Buffer.byteLength(text) > maxTextBytes) throw new MeshError('TOO_LARGE', `message is larger than ${maxTextBytes} bytes`)
    const meta = optObj(frame, 'meta')
    if (meta !== undefined && JSON.stringify(meta).length > MAX_META_BYTES) throw new MeshError('TOO_LARGE', `meta is larger than ${MAX_META_BYTES} bytes`)
    const request: DeliveryRequest = {
      id: id as string,
      to,
      text,
      wait: bool(frame, 'wait'),
      ttlMs: Math.min(int(frame, 'ttl', 0, MAX_V1_TTL_MS), DEDUP_WINDOW_MS),
      // v1 names no reply limit: the owner's own, as v2 does when a request gives none.
      maxReplyBytes: maxTextBytes,
      ...(fromSessionKey !== undefined ? { fromSessionKey } : {}),
      ...(meta !== undefined ? { meta } : {})
    }
    return { kind: 'request', request }
  } catch (err) {
    const error = err instanceof MeshError ? err : new MeshError('BAD_REQUEST', 'malformed deliver/1 request')
    return { kind: 'invalid', ...(id !== undefined && frame.t === 'req' ? { id } : {}), error }
  }
}

export function encodeV1Answer (answer: DeliveryAnswer): Uint8Array {
  switch (answer.kind) {
    case 'accepted': return encodeJson({ t: 'acc', id: answer.id })
    case 'ok': return encodeJson({ t: 'rep', id: answer.id, ...(answer.reply !== undefined ? { reply: answer.reply } : {}) })
    case 'error': return encodeJson({ t: 'err', id: answer.id, code: answer.error.code, msg: answer.error.message.slice(0, MAX_WIRE_ERROR_MESSAGE) })
  }
}

/** A request as a v1 owner reads it; `gateway` is our name (v1 requires one). */
export function encodeV1Request (request: DeliveryRequest, gateway: string): Uint8Array {
  return encodeJson({
    t: 'req',
    v: 1,
    id: request.id,
    from: { gw: gateway, ...(request.fromSessionKey !== undefined ? { s: request.fromSessionKey } : {}) },
    to: { k: request.to },
    text: request.text,
    ...(request.meta !== undefined ? { meta: request.meta } : {}),
    wait: request.wait,
    ttl: Math.max(0, Math.min(Math.round(request.ttlMs), MAX_V1_TTL_MS))
  })
}

export function encodeV1Cancel (id: string): Uint8Array {
  return encodeJson({ t: 'cancel', id })
}

/** Decodes what a v1 owner wrote (the sender's side). Throws `BAD_REQUEST` for a frame that is no answer at all. */
export function decodeV1Answer (bytes: Uint8Array, maxReplyBytes: number): DeliveryAnswer {
  const frame = decodeJson(bytes)
  const id = str(frame, 'id', MAX_ID_LENGTH, 1)
  switch (frame.t) {
    case 'acc': return { id, kind: 'accepted' }
    case 'rep': {
      const reply = optStr(frame, 'reply', Number.MAX_SAFE_INTEGER)
      if (reply !== undefined && Buffer.byteLength(reply) > maxReplyBytes) {
        return { id, kind: 'error', error: { code: 'TOO_LARGE', message: `the reply is larger than the ${maxReplyBytes} bytes this Gateway takes` } }
      }
      return reply === undefined ? { id, kind: 'ok' } : { id, kind: 'ok', reply }
    }
    case 'err': {
      const code = isMeshErrorCode(frame.code) ? frame.code : 'REMOTE_ERROR'
      const message = typeof frame.msg === 'string' ? frame.msg.slice(0, MAX_WIRE_ERROR_MESSAGE) : code
      return { id, kind: 'error', error: { code, message } }
    }
    default:
      throw new MeshError('BAD_REQUEST', 'unknown deliver/1 answer type')
  }
}
