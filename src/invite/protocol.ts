/**
 * The join protocol, `/clawmesh/join/1.0.0`: one request, one answer, on a
 * connection the inviter admitted under the invite's one-off key (so only a
 * holder of the code gets this far, and Noise has authenticated the inviter).
 *
 *   → {"v":1,"id":"<invite ID>","token":"<base64url>"}
 *   ← {"ok":true,"secret":"<64 hex digits>","mesh":"<mesh ID>","peers":["<multiaddr>", …]}
 *   ← {"ok":false,"error":"expired"|"used"|"revoked"|"unknown"|"bad-request"}
 *
 * And `/clawmesh/invite-hop/1.0.0`, from an inviter to a relay member it holds
 * a slot on, so that a newcomer who can reach the inviter only through that
 * relay can get to it with the invite's key:
 *
 *   → {"v":1,"op":"admit","id":"<invite ID>","key":"<base64url>","exp":<epoch s>} | {"v":1,"op":"drop","id":"<invite ID>"}
 *   ← {"ok":true} | {"ok":false,"error":"…"}
 *
 * Frames are length-prefixed JSON, at most {@link MAX_JOIN_FRAME_BYTES}.
 */
import { lpStream } from '@libp2p/utils'
import { MeshError } from '../errors.ts'
import type { InviteRefusal } from './book.ts'
import type { AbortOptions, Stream } from '@libp2p/interface'

export const JOIN_PROTOCOL = '/clawmesh/join/1.0.0'
export const INVITE_HOP_PROTOCOL = '/clawmesh/invite-hop/1.0.0'
/** Both protocols' frames are small: eight addresses at most. */
export const MAX_JOIN_FRAME_BYTES = 8 * 1024

export interface JoinRequest { id: string, token: Uint8Array }
export type JoinAnswer = { ok: true, secret: string, meshId: string, peers: string[] } | { ok: false, error: InviteRefusal | 'bad-request' }

export type HopRequest = { op: 'admit', id: string, key: Uint8Array, expiresAt: number } | { op: 'drop', id: string }
export type HopAnswer = { ok: true } | { ok: false, error: string }

/** Sends one frame and reads one back. */
export async function exchange (stream: Stream, frame: object, options: AbortOptions): Promise<JsonObject> {
  const lp = lpStream(stream, { maxDataLength: MAX_JOIN_FRAME_BYTES })
  await lp.write(encodeJson(frame), options)
  const answer = decodeJson(await lp.read(options))
  await stream.close(options).catch(() => {})
  return answer
}

/** Reads one frame, answers it with `answer(frame)` (which throws `BAD_REQUEST` for a malformed one). */
export async function serveOne (stream: Stream, answer: (frame: JsonObject) => object | Promise<object>, options: AbortOptions): Promise<void> {
  const lp = lpStream(stream, { maxDataLength: MAX_JOIN_FRAME_BYTES })
  let reply: object
  try {
    reply = await answer(decodeJson(await lp.read(options)))
  } catch (err) {
    if (!(err instanceof MeshError) || err.code !== 'BAD_REQUEST') throw err
    reply = { ok: false, error: 'bad-request' }
  }
  await lp.write(encodeJson(reply), options)
  await stream.close(options).catch(() => {})
}

export function parseJoinRequest (frame: JsonObject): JoinRequest {
  if (frame.v !== 1) throw new MeshError('BAD_REQUEST', 'unsupported join request version')
  return { id: hex(frame, 'id', 16), token: bytes(frame, 'token', 32) }
}

export function joinRequest (req: JoinRequest): object {
  return { v: 1, id: req.id, token: Buffer.from(req.token).toString('base64url') }
}

export function parseJoinAnswer (frame: JsonObject): JoinAnswer {
  if (frame.ok === true) {
    const peers = frame.peers
    if (!Array.isArray(peers) || peers.length > 16 || !peers.every(p => typeof p === 'string' && p.length <= 512)) {
      throw new MeshError('BAD_REQUEST', 'the inviter sent a malformed peer list')
    }
    return { ok: true, secret: hex(frame, 'secret', 64), meshId: hex(frame, 'mesh', 16), peers: peers as string[] }
  }
  const error = str(frame, 'error', 32)
  if (!['expired', 'used', 'revoked', 'unknown', 'bad-request'].includes(error)) throw new MeshError('BAD_REQUEST', 'the inviter sent an unknown refusal')
  return { ok: false, error: error as InviteRefusal | 'bad-request' }
}

export function parseHopRequest (frame: JsonObject): HopRequest {
  if (frame.v !== 1) throw new MeshError('BAD_REQUEST', 'unsupported invite-hop request version')
  const id = hex(frame, 'id', 16)
  if (frame.op === 'drop') return { op: 'drop', id }
  if (frame.op !== 'admit') throw new MeshError('BAD_REQUEST', 'unknown invite-hop operation')
  return { op: 'admit', id, key: bytes(frame, 'key', 32), expiresAt: int(frame, 'exp', 1) }
}

export function hopRequest (req: HopRequest): object {
  return req.op === 'drop'
    ? { v: 1, op: 'drop', id: req.id }
    : { v: 1, op: 'admit', id: req.id, key: Buffer.from(req.key).toString('base64url'), exp: req.expiresAt }
}

function hex (frame: JsonObject, field: string, length: number): string {
  const v = str(frame, field, length)
  if (!new RegExp(`^[0-9a-f]{${length}}$`).test(v)) throw new MeshError('BAD_REQUEST', `field "${field}" must be ${length} lowercase hex digits`)
  return v
}

function bytes (frame: JsonObject, field: string, length: number): Uint8Array {
  const b = Buffer.from(str(frame, field, 64), 'base64url')
  if (b.length !== length) throw new MeshError('BAD_REQUEST', `field "${field}" must be ${length} bytes, base64url`)
  return new Uint8Array(b)
}

// The JSON frames of these two small protocols, read field by field: each reader throws BAD_REQUEST naming the field.

/** A frame of these protocols. */
export type JsonObject = Record<string, unknown>

function encodeJson (frame: object): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(frame))
}

function decodeJson (bytes: Uint8Array | { subarray: () => Uint8Array }): JsonObject {
  let value: unknown
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes instanceof Uint8Array ? bytes : bytes.subarray()))
  } catch (err) {
    throw new MeshError('BAD_REQUEST', 'frame is not UTF-8 JSON', { cause: err })
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new MeshError('BAD_REQUEST', 'frame is not a JSON object')
  return value as JsonObject
}

function str (frame: JsonObject, field: string, maxLength: number): string {
  const value = frame[field]
  if (typeof value !== 'string' || value.length > maxLength) throw new MeshError('BAD_REQUEST', `field "${field}" must be a string of at most ${maxLength} characters`)
  return value
}

function int (frame: JsonObject, field: string, min: number): number {
  const value = frame[field]
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) throw new MeshError('BAD_REQUEST', `field "${field}" must be an integer of at least ${min}`)
  return value
}
