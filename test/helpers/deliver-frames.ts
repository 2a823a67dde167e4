// Hand-built /clawmesh/deliver/2.0.0 frames, for tests that play a buggy or hostile sender.
import { ClientFrame, Response, type Request } from '../../src/pb/deliver.js'

/** A request frame; fields not given are those of a valid request for `agent:main:main`. */
export function requestFrame (fields: Partial<Request> & { id: string }): Uint8Array {
  return ClientFrame.encode({ request: { to: 'agent:main:main', text: 'x', wait: true, ttlMs: 5_000, maxReplyBytes: 1024 * 1024, ...fields } })
}

export function cancelFrame (id: string): Uint8Array {
  return ClientFrame.encode({ cancel: { id } })
}

/** An owner's answer, as plain fields (`status` is the enum name: ACCEPTED, OK, or a MeshError code). */
export function answerOf (bytes: Uint8Array | { subarray: () => Uint8Array }): { id: string, status: string, reply?: string, message?: string } {
  const r = Response.decode(bytes instanceof Uint8Array ? bytes : bytes.subarray())
  return { id: r.id, status: r.status, ...(r.reply !== undefined ? { reply: r.reply } : {}), ...(r.message !== undefined ? { message: r.message } : {}) }
}
