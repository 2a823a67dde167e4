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
  'STOPPED'
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

/** The error an aborted signal stands for: its own `MeshError` reason, or `ABORTED`. */
export function abortError (signal: AbortSignal, what: string): MeshError {
  const reason: unknown = signal.reason
  if (reason instanceof MeshError) return reason
  return new MeshError('ABORTED', `${what} was aborted`, { cause: reason })
}
