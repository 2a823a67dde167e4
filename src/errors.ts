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

export interface MeshErrorOptions {
  cause?: unknown
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
  readonly candidates?: string[]
  readonly gateway?: string
  readonly remote: boolean

  constructor (code: MeshErrorCode, message: string, options: MeshErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.code = code
    if (options.candidates !== undefined) this.candidates = options.candidates
    if (options.gateway !== undefined) this.gateway = options.gateway
    this.remote = options.remote ?? false
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
