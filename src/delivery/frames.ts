/**
 * Frames of `/clawmesh/deliver/1.0.0` (see docs/protocol.md). Every frame is
 * one length-prefixed JSON object; requests and responses are matched by the
 * message ID, so one long-lived stream carries many concurrent messages.
 */
import { MeshError, isMeshErrorCode, type MeshErrorCode } from '../errors.ts'
import { WIRE_VERSION } from '../constants.ts'
import { bool, describeValue, int, obj, optObj, optStr, str, type JsonObject } from '../wire/json-frame.ts'

export const MAX_ID_LENGTH = 128
export const MAX_KEY_LENGTH = 1024
const MAX_META_BYTES = 16 * 1024

export interface RequestFrame {
  t: 'req'
  v: number
  id: string
  /** Sender's Gateway name and optional session key. */
  from: { gw: string, s?: string }
  /** Target session on the receiver. */
  to: { k: string }
  text: string
  meta?: Record<string, unknown>
  wait: boolean
  /** Milliseconds the sender will still wait: relative, so clocks need not agree. */
  ttl: number
}

export interface AcceptedFrame { t: 'acc', id: string }
export interface ReplyFrame { t: 'rep', id: string, reply?: string }
export interface ErrorFrame { t: 'err', id: string, code: MeshErrorCode, msg: string }
export interface CancelFrame { t: 'cancel', id: string }

export type ResponseFrame = AcceptedFrame | ReplyFrame | ErrorFrame

export function parseRequest (frame: JsonObject, maxTextBytes: number): RequestFrame | CancelFrame {
  if (frame.t === 'cancel') return { t: 'cancel', id: str(frame, 'id', MAX_ID_LENGTH) }
  if (frame.t !== 'req') throw new MeshError('BAD_REQUEST', `unknown frame type ${describeValue(frame.t)}`)
  if (frame.v !== WIRE_VERSION) throw new MeshError('BAD_REQUEST', `unsupported protocol version ${describeValue(frame.v)}; this Gateway speaks ${WIRE_VERSION}`)
  const from = obj(frame, 'from')
  const to = obj(frame, 'to')
  const text = str(frame, 'text', maxTextBytes)
  if (Buffer.byteLength(text) > maxTextBytes) throw new MeshError('TOO_LARGE', `message is larger than ${maxTextBytes} bytes`)
  const meta = optObj(frame, 'meta')
  if (meta !== undefined && JSON.stringify(meta).length > MAX_META_BYTES) throw new MeshError('TOO_LARGE', `meta is larger than ${MAX_META_BYTES} bytes`)
  const fromSession = optStr(from, 's', MAX_KEY_LENGTH)
  return {
    t: 'req',
    v: WIRE_VERSION,
    id: str(frame, 'id', MAX_ID_LENGTH),
    from: { gw: str(from, 'gw', 128), ...(fromSession !== undefined ? { s: fromSession } : {}) },
    to: { k: str(to, 'k', MAX_KEY_LENGTH) },
    text,
    ...(meta !== undefined ? { meta } : {}),
    wait: bool(frame, 'wait'),
    ttl: int(frame, 'ttl', 0, 24 * 3600_000)
  }
}

export function parseResponse (frame: JsonObject): ResponseFrame {
  const id = str(frame, 'id', MAX_ID_LENGTH)
  switch (frame.t) {
    case 'acc': return { t: 'acc', id }
    case 'rep': {
      const reply = optStr(frame, 'reply', Number.MAX_SAFE_INTEGER)
      return reply === undefined ? { t: 'rep', id } : { t: 'rep', id, reply }
    }
    case 'err': {
      const code = isMeshErrorCode(frame.code) ? frame.code : 'REMOTE_ERROR'
      return { t: 'err', id, code, msg: str(frame, 'msg', 8192) }
    }
    default:
      throw new MeshError('BAD_REQUEST', `unknown response type ${describeValue(frame.t)}`)
  }
}
