/**
 * The result shapes of OpenClaw's `sessions_send` (src/agents/tools/sessions-send-tool.ts,
 * `SessionsSendOutputSchema`), for sends that crossed to another Gateway: `ok`
 * with the reply, `no_reply`, `accepted`, `timeout`, `error`, `forbidden`.
 * Added fields: `gateway` (the owner's name), and `code` (the mesh's error code)
 * and `candidates` (the qualified choices of an `AMBIGUOUS` target) on errors.
 */
import { isMeshErrorCode, MeshError } from '../errors.ts'
import type { ToolResult } from './host.ts'
import { isSilentReply } from './prompts.ts'

export type SendsResult = Record<string, unknown>

const NO_REPLY_MESSAGE = 'No visible reply or pending announcement. Continue or retry if needed.'

/** OpenClaw's jsonResult: pretty JSON text for the model, the object as details. */
export function jsonResult (payload: Record<string, unknown>): ToolResult {
  return { content: [{ type: 'text', text: JSON.stringify(payload, null, 2) }], details: payload }
}

/** By shape, not `instanceof`: a plugin loader may hand the core and the plugin separate module instances. */
function asMeshError (err: unknown): MeshError | undefined {
  if (err instanceof MeshError) return err
  if (err instanceof Error && isMeshErrorCode((err as { code?: unknown }).code)) return err as MeshError
  return undefined
}

function describe (err: MeshError): string {
  const candidates = err.candidates ?? []
  if (err.code === 'AMBIGUOUS' && candidates.length > 0 && !candidates.every(c => err.message.includes(c))) {
    return `${err.message} Use one of: ${candidates.join(', ')}`
  }
  if (err.code === 'UNREACHABLE' && err.gateway !== undefined && !err.message.includes(err.gateway)) {
    return `Gateway ${err.gateway} is unreachable: ${err.message}`
  }
  return err.message
}

/** A failed send (a `MeshError`, or anything else) in the shape the model expects. */
export function errorResult (error: unknown, runId: string, sessionKey: string): SendsResult {
  const err = asMeshError(error)
  if (err === undefined) return { runId, status: 'error', error: error instanceof Error ? error.message : String(error), sessionKey }
  const base = { runId, sessionKey, code: err.code, ...(err.gateway === undefined ? {} : { gateway: err.gateway }) }
  switch (err.code) {
    case 'FORBIDDEN':
      return { ...base, status: 'forbidden', error: describe(err) }
    case 'TIMEOUT':
      return { ...base, status: 'timeout', error: describe(err), sentBeforeError: true }
    case 'AMBIGUOUS':
      return { ...base, status: 'error', error: describe(err), candidates: err.candidates ?? [] }
    default:
      return { ...base, status: 'error', error: describe(err) }
  }
}

/** The owner answered (or, with `timeoutSeconds: 0`, accepted). `delivery` says whether the exchange goes on. */
export function deliveredResult (runId: string, sessionKey: string, gateway: string, waited: boolean, reply: string | undefined, exchange: boolean): SendsResult {
  const delivery = { status: exchange ? 'pending' : 'skipped', mode: 'announce' }
  if (!waited) return { runId, status: 'accepted', sessionKey, gateway, targetDisposition: 'queued', delivery }
  if (isSilentReply(reply)) return { runId, status: 'no_reply', sessionKey, gateway, message: NO_REPLY_MESSAGE }
  return { runId, status: 'ok', sessionKey, gateway, reply, delivery }
}
