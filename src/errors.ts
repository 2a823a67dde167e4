/**
 * Every failure clawmesh reports is a {@link MeshError} with a stable `code`.
 * The code crosses the wire: a remote `FORBIDDEN` is rebuilt as the same error
 * on the sender, so callers handle local and remote failures alike.
 */

/** The stable error codes. Match on these, never on message text. */
export const MESH_ERROR_CODES = [
  'NOT_FOUND',
  'AMBIGUOUS',
  'UNREACHABLE',
  'TIMEOUT',
  'FORBIDDEN',
  'TOO_LARGE',
  'BAD_REQUEST',
  'ABORTED',
  'REMOTE_ERROR',
  'STOPPED',
  /** An invite code that cannot be parsed. */
  'INVITE_INVALID',
  /** An invite code past its expiry. */
  'INVITE_EXPIRED',
  /** The inviter refused the code: already used, revoked, unknown, or the secret it sent does not match. */
  'INVITE_REFUSED'
] as const

export type MeshErrorCode = typeof MESH_ERROR_CODES[number]

/**
 * What the caller can do about an error, as data, so that each surface words
 * it for its own reader without parsing message text: the library's `message`
 * names its API (`mesh.sessions()`), the CLI its commands (`clawmesh
 * sessions`), the OpenClaw plugin the agent's tools. Stable: kinds are added,
 * never changed.
 */
export type MeshErrorHint =
  /** The target names no session known here: list the sessions (of `gateway`, when set) and use a qualified key. */
  | { kind: 'list-sessions', gateway?: string }
  /** The Gateway named is not in the mesh: list the Gateways. */
  | { kind: 'list-gateways' }
  /** The target matches several sessions or Gateways: use one of the error's `candidates`. */
  | { kind: 'pick-candidate' }
  /** The owning Gateway cannot be reached now: check that it runs and that this node can connect to it. */
  | { kind: 'check-gateway', gateway: string }
  /** A size limit (the option `option`, `limit` bytes) of this Gateway or of `gateway` was hit: send less or raise it there. */
  | { kind: 'raise-limit', option: 'maxMessageBytes', limit: number, gateway?: string }

export interface MeshErrorOptions {
  cause?: unknown
  /** What to do about it; the library's wording of it is appended to `message`. */
  hint?: MeshErrorHint
  /** Qualified targets a person can use instead (for `AMBIGUOUS`). */
  candidates?: string[]
  /** The Gateway (name) the error concerns, when there is one. */
  gateway?: string
  /** Set when the error was produced by the remote Gateway and carried back. */
  remote?: boolean
}

export class MeshError extends Error {
  override name = 'MeshError'
  readonly code: MeshErrorCode
  /** What happened, without advice: `message` is this plus the library's wording of `hint`. */
  readonly summary: string
  readonly hint?: MeshErrorHint
  readonly candidates?: string[]
  readonly gateway?: string
  readonly remote: boolean

  /** `summary` says what happened; give what to do as `options.hint`, not as text. */
  constructor (code: MeshErrorCode, summary: string, options: MeshErrorOptions = {}) {
    const advice = options.hint === undefined ? undefined : apiAdvice(options.hint)
    super(advice === undefined ? summary : `${summary} (${advice})`, options.cause === undefined ? undefined : { cause: options.cause })
    this.code = code
    this.summary = summary
    if (options.hint !== undefined) this.hint = options.hint
    if (options.candidates !== undefined) this.candidates = options.candidates
    if (options.gateway !== undefined) this.gateway = options.gateway
    this.remote = options.remote ?? false
  }
}

/** The library's wording of a hint, for people who call the API. */
function apiAdvice (hint: MeshErrorHint): string | undefined {
  switch (hint.kind) {
    // With a gateway, the summary lists that Gateway's sessions already.
    case 'list-sessions': return hint.gateway === undefined ? 'use mesh.sessions() to list them, or gateway:<gateway>:<sessionKey>' : undefined
    case 'raise-limit': return `option ${hint.option}${hint.gateway === undefined ? '' : ` on ${hint.gateway}`}`
    default: return undefined
  }
}

/** A hint as it arrived from elsewhere (the control socket), when it is one. */
export function parseMeshErrorHint (value: unknown): MeshErrorHint | undefined {
  if (typeof value !== 'object' || value === null) return undefined
  const h = value as Record<string, unknown>
  const gateway = typeof h.gateway === 'string' ? { gateway: h.gateway } : {}
  switch (h.kind) {
    case 'list-sessions': return { kind: 'list-sessions', ...gateway }
    case 'list-gateways': return { kind: 'list-gateways' }
    case 'pick-candidate': return { kind: 'pick-candidate' }
    case 'check-gateway': return typeof h.gateway === 'string' ? { kind: 'check-gateway', gateway: h.gateway } : undefined
    case 'raise-limit': return h.option === 'maxMessageBytes' && typeof h.limit === 'number' ? { kind: 'raise-limit', option: h.option, limit: h.limit, ...gateway } : undefined
    default: return undefined
  }
}

export function isMeshErrorCode (value: unknown): value is MeshErrorCode {
  return typeof value === 'string' && (MESH_ERROR_CODES as readonly string[]).includes(value)
}

/**
 * The error an aborted signal stands for: its own `MeshError` reason, `TIMEOUT`
 * for a timeout (`AbortSignal.timeout`), else `ABORTED`. The one mapping of an
 * abort to an error, for sends, deliveries and the control socket alike.
 */
export function abortError (signal: AbortSignal, what: string): MeshError {
  const reason: unknown = signal.reason
  if (reason instanceof MeshError) return reason
  if (reason instanceof Error && reason.name === 'TimeoutError') return new MeshError('TIMEOUT', `${what} timed out`, { cause: reason })
  return new MeshError('ABORTED', `${what} was aborted`, { cause: reason })
}

/** A `MeshError` as it crosses a wire (the deliver protocol, the control socket). */
export interface WireError {
  code: MeshErrorCode
  message: string
  /** `MeshError.summary`: the message without the library's advice (sent with a hint). */
  summary?: string
  /** `MeshError.hint`: what to do, for the receiving side to word in its own terms. */
  hint?: MeshErrorHint
  candidates?: string[]
  gateway?: string
  remote?: boolean
}

/** Longest error message sent over a wire: enough to say what to do, small enough to bound a frame. */
export const MAX_WIRE_ERROR_MESSAGE = 8 * 1024

/** Anything thrown, as it crosses a wire: a `MeshError` keeps its code, anything else is `REMOTE_ERROR`. */
export function toWireError (err: unknown): WireError {
  if (err instanceof MeshError) {
    return {
      code: err.code,
      message: err.message.slice(0, MAX_WIRE_ERROR_MESSAGE),
      ...(err.hint !== undefined ? { summary: err.summary.slice(0, MAX_WIRE_ERROR_MESSAGE), hint: err.hint } : {}),
      ...(err.candidates !== undefined ? { candidates: err.candidates } : {}),
      ...(err.gateway !== undefined ? { gateway: err.gateway } : {}),
      ...(err.remote ? { remote: true } : {})
    }
  }
  return { code: 'REMOTE_ERROR', message: describeThrown(err).slice(0, MAX_WIRE_ERROR_MESSAGE) }
}

/**
 * Rebuilds the `MeshError` a wire carried. Every field is untrusted: an unknown
 * code becomes `REMOTE_ERROR`, fields of the wrong type are dropped.
 */
export function fromWireError (error: { code?: unknown, message?: unknown, summary?: unknown, hint?: unknown, candidates?: unknown, gateway?: unknown, remote?: unknown }, options: MeshErrorOptions = {}): MeshError {
  const code = isMeshErrorCode(error.code) ? error.code : 'REMOTE_ERROR'
  const hint = parseMeshErrorHint(error.hint)
  // With a hint, the summary is rebuilt into the same message the sender had; without one the message is all there is.
  const withHint = hint !== undefined && typeof error.summary === 'string'
  const summary = withHint ? error.summary as string : typeof error.message === 'string' ? error.message : code
  return new MeshError(code, summary, {
    ...(withHint ? { hint } : {}),
    ...(Array.isArray(error.candidates) ? { candidates: error.candidates.filter((c): c is string => typeof c === 'string') } : {}),
    ...(typeof error.gateway === 'string' ? { gateway: error.gateway } : {}),
    ...(error.remote === true ? { remote: true } : {}),
    ...options
  })
}

/**
 * A thrown value as text, without trusting it: `String(v)` throws on an object
 * like `{"toString": ""}` (found by the decoder fuzz test).
 */
export function describeThrown (value: unknown): string {
  if (value instanceof Error) return value.message
  let text: string
  try {
    text = JSON.stringify(value) ?? typeof value
  } catch {
    text = typeof value
  }
  return text.length > 200 ? `${text.slice(0, 200)}…` : text
}
