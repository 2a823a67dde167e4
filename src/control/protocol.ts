/**
 * The control protocol: how the `clawmesh` CLI (or any local tool) drives a
 * running mesh node without joining the mesh itself.
 *
 * Transport: a Unix socket `<stateDir>/run/<name>.sock` (the folder mode 0700,
 * the socket mode 0600: only the node's own user may connect). One JSON
 * object per line in each direction. A client writes requests, the server
 * answers each with a response carrying the same `id`; responses may come out
 * of order (a slow `send` does not hold back a `status`).
 *
 * ```
 * → {"id":1,"method":"send","params":{"target":"gateway:hq:agent:main:main","message":"hi"}}
 * ← {"id":1,"ok":true,"result":{"status":"ok","reply":"…",…}}
 * ← {"id":2,"ok":false,"error":{"code":"AMBIGUOUS","message":"…","candidates":["gateway:hq:…"]}}
 * ```
 *
 * Errors carry the `MeshError` code (`NOT_FOUND`, `AMBIGUOUS`, …) so the
 * client rebuilds the same `MeshError`; failures of the control layer itself
 * use `BAD_REQUEST` (malformed request, unknown method).
 */
import { join } from 'node:path'
import type { WireError } from '../errors.ts'
import type { MeshStatus, PeerStatus, Resolution, SendResult, SessionEntry } from '../types.ts'
import type { MeshSnapshot } from '../observe/snapshot.ts'
import type { CreateInviteOptions, InviteInfo, InviteResult } from '../types.ts'

/** Control protocol version, reported by `hello`. */
export const CONTROL_PROTOCOL_VERSION = 1
/** Longest request or response line accepted (a send's message is bounded by the mesh's own limit). */
export const MAX_CONTROL_LINE_BYTES = 4 * 1024 * 1024
/** Folder of control sockets inside the state directory. */
export const CONTROL_DIR_NAME = 'run'
/** Socket file suffix. */
export const CONTROL_SOCKET_SUFFIX = '.sock'

/** The control socket folder of a state directory. */
export function controlDir (stateDir: string): string {
  return join(stateDir, CONTROL_DIR_NAME)
}

/** The control socket of the node named `name`. */
export function controlSocketPath (stateDir: string, name: string): string {
  return join(controlDir(stateDir), `${safeName(name)}${CONTROL_SOCKET_SUFFIX}`)
}

/** A Gateway name as a file name: anything outside `[A-Za-z0-9._-]` becomes `_`. */
export function safeName (name: string): string {
  const cleaned = name.replace(/[^A-Za-z0-9._-]/g, '_')
  return cleaned === '' || cleaned === '.' || cleaned === '..' ? '_' : cleaned
}

/** What the node says about itself on top of `mesh.status()`. */
export interface NodeInfo {
  name: string
  pid: number
  /** The public mesh ID (derived from the secret; safe to show). */
  meshId?: string
  stateDir?: string
  socket: string
  protocol: number
  /** The bootstrap addresses the node was started with (what `clawmesh doctor` probes). */
  bootstrap?: string[]
}

export interface SendParams {
  target: string
  message: string
  waitForReply?: boolean
  timeoutMs?: number
  targetGateway?: string
  localFirst?: boolean
}

export interface ResolveParams {
  target: string
  targetGateway?: string
  localFirst?: boolean
}

export interface SecretResult {
  meshId: string
  /** 64 hex digits: what `CLAWMESH_SECRET` takes. */
  hex: string
  /** The swarm-key text (what `mesh.key` holds). */
  swarmKey: string
  /** Step-by-step instructions for another machine. */
  instructions: string
  /** Where the secret came from (`file`, `env`, `option`, …). */
  source: string
  path?: string
}

/** Every method, with its params and result. */
export interface ControlMethods {
  hello: { params: Record<string, never>, result: NodeInfo }
  status: { params: Record<string, never>, result: MeshStatus & { node: NodeInfo } }
  peers: { params: Record<string, never>, result: PeerStatus[] }
  sessions: { params: { owner?: string }, result: SessionEntry[] }
  resolve: { params: ResolveParams, result: Resolution }
  send: { params: SendParams, result: SendResult }
  secret: { params: Record<string, never>, result: SecretResult }
  /** The live views' picture of the mesh (what `clawmesh top` draws). */
  observe: { params: Record<string, never>, result: MeshSnapshot }
  invite: { params: InviteParams, result: InviteResult }
  invites: { params: Record<string, never>, result: InviteInfo[] }
  revokeInvite: { params: { id: string }, result: { revoked: boolean } }
}

export type ControlMethod = keyof ControlMethods

export const CONTROL_METHODS: readonly ControlMethod[] = ['hello', 'status', 'peers', 'sessions', 'resolve', 'send', 'secret', 'observe', 'invite', 'invites', 'revokeInvite']

/** `invite` takes {@link CreateInviteOptions} and answers an {@link InviteResult}. */
export type InviteParams = CreateInviteOptions
export type { InviteResult }

export interface ControlRequest {
  id: number | string
  method: string
  params?: unknown
}

/** A MeshError as it crosses the socket. */
export type ControlError = WireError

export type ControlResponse =
  | { id: number | string | null, ok: true, result: unknown }
  | { id: number | string | null, ok: false, error: ControlError }
