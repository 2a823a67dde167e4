/**
 * Where a call of OpenClaw's built-in `sessions_send` goes, decided in its
 * `before_tool_call` hook:
 *
 * - a target the built-in resolves on this Gateway stays untouched (local first);
 * - `gateway:<this Gateway>:<key>` becomes `<key>` and stays with the built-in;
 * - a Gateway-qualified key, a `targetGateway`, or a key, session ID, label or
 *   agent that only other Gateways own goes over the mesh: the call is rewritten
 *   into a harmless one (a `notify` of the calling session, withdrawn again by
 *   the result middleware), and the middleware answers with the mesh's result.
 *
 * The plugin never splits a qualified key: the mesh's own resolution does
 * (`mesh.resolve`), so one parser serves the CLI, the library and the plugin.
 */
import { randomUUID } from 'node:crypto'
import { MeshError } from '../errors.ts'
import type { ResolveOptions, Resolution } from '../types.ts'
import type { LocalSessions } from './local.ts'

const QUALIFIED_PREFIX = 'gateway:'

export interface Resolver {
  resolve: (target: string, options?: ResolveOptions) => Resolution | Promise<Resolution>
}

/** A call that goes over the mesh, kept between the hook and the result middleware. */
export interface RemoteCall {
  /** What the mesh resolves: the key, session ID or label as the model gave it. */
  target: string
  targetGateway?: string
  message: string
  timeoutSeconds?: number
  mode?: string
  requester: { sessionKey?: string, agentId: string, channelId?: string }
  /** Ties the rewritten call to this record. */
  nonce: string
}

export type Route =
  | { kind: 'local' }
  | { kind: 'local-rewrite', params: Record<string, unknown> }
  | { kind: 'remote', call: RemoteCall, params?: Record<string, unknown> }

/** The message of the harmless `notify` the built-in runs instead; the middleware withdraws it at once. */
export const NOTE_PREFIX = 'clawmesh bookkeeping (nothing to do): this session\'s sessions_send call went to another Gateway; its result is in the tool result.'

export function isRoutingNote (args: Record<string, unknown>): boolean {
  return args.mode === 'notify' && typeof args.message === 'string' && args.message.startsWith(NOTE_PREFIX)
}

export function nonceOf (args: Record<string, unknown>): string | undefined {
  if (!isRoutingNote(args)) return undefined
  return (args.message as string).slice(NOTE_PREFIX.length).trim().replace(/^ref=/, '')
}

/** A tool parameter as a trimmed, non-empty string, or undefined. */
export function optionalString (params: Record<string, unknown>, key: string): string | undefined {
  const v = params[key]
  if (typeof v !== 'string') return undefined
  const t = v.trim()
  return t === '' ? undefined : t
}

/** sessions_send accepts these aliases for `message` (normalizeSessionsSendArguments). */
function messageOf (params: Record<string, unknown>): string | undefined {
  for (const key of ['message', 'SendMessage', 'content', 'text']) {
    const v = params[key]
    if (typeof v === 'string' && v.trim() !== '') return v
  }
  return undefined
}

export interface Caller {
  agentId?: string
  sessionKey?: string
  channelId?: string
}

async function tryResolve (mesh: Resolver, target: string, options: ResolveOptions): Promise<Resolution | MeshError> {
  try {
    return await mesh.resolve(target, options)
  } catch (err) {
    if (err instanceof MeshError || (err instanceof Error && typeof (err as { code?: unknown }).code === 'string')) return err as MeshError
    throw err
  }
}

export async function routeOf (params: Record<string, unknown>, caller: Caller, mesh: Resolver, local: LocalSessions): Promise<Route> {
  const sessionKey = optionalString(params, 'sessionKey')
  const label = optionalString(params, 'label')
  const agentId = optionalString(params, 'agentId')
  const targetGateway = optionalString(params, 'targetGateway')
  const target = sessionKey ?? label ?? (agentId === undefined ? undefined : `agent:${agentId.toLowerCase()}:main`)
  const message = messageOf(params)
  // Nothing to route: the built-in answers ("message required", "Either sessionKey or label is required").
  if (target === undefined || message === undefined) return { kind: 'local' }
  const explicit = targetGateway !== undefined || sessionKey?.toLowerCase().startsWith(QUALIFIED_PREFIX) === true
  if (!explicit && local.has({ ...(sessionKey === undefined ? {} : { sessionKey }), ...(label === undefined ? {} : { label }), ...(agentId === undefined ? {} : { agentId }) }, caller.agentId)) {
    return { kind: 'local' }
  }
  const resolved = await tryResolve(mesh, target, targetGateway === undefined ? {} : { targetGateway })
  if (resolved instanceof Error) {
    // A plain target nobody owns: the built-in's own "not found", as without the plugin.
    // Only an ambiguity is ours to explain (the choices are qualified keys).
    if (!explicit && resolved.code !== 'AMBIGUOUS') return { kind: 'local' }
  } else if (resolved.owner.self) {
    if (!explicit) return { kind: 'local' }
    // This Gateway named explicitly: the built-in delivers, with all of OpenClaw's own handling.
    const rest = { ...params }
    delete rest.targetGateway
    delete rest.label
    delete rest.agentId
    return { kind: 'local-rewrite', params: { ...rest, sessionKey: resolved.sessionKey } }
  }
  const timeout = params.timeoutSeconds
  const mode = optionalString(params, 'mode')
  const call: RemoteCall = {
    target,
    ...(targetGateway === undefined ? {} : { targetGateway }),
    message,
    ...(typeof timeout === 'number' && Number.isInteger(timeout) && timeout >= 0 ? { timeoutSeconds: timeout } : {}),
    ...(mode === undefined ? {} : { mode }),
    requester: {
      agentId: (caller.agentId ?? 'main').toLowerCase(),
      ...(caller.sessionKey === undefined ? {} : { sessionKey: caller.sessionKey }),
      ...(caller.channelId === undefined ? {} : { channelId: caller.channelId })
    },
    nonce: randomUUID()
  }
  // Without a calling session there is nothing harmless to run: the built-in fails and the middleware answers.
  if (caller.sessionKey === undefined) return { kind: 'remote', call }
  return {
    kind: 'remote',
    call,
    params: { sessionKey: caller.sessionKey, message: `${NOTE_PREFIX} ref=${call.nonce}`, mode: 'notify', timeoutSeconds: 0 }
  }
}

/** Calls between the hook and the middleware, by run and tool call; forgotten after `ttlMs`. */
export class RemoteCalls {
  private readonly calls = new Map<string, { call: RemoteCall, at: number }>()
  private readonly ttlMs: number

  constructor (ttlMs = 10 * 60_000) {
    this.ttlMs = ttlMs
  }

  put (runId: string | undefined, toolCallId: string | undefined, call: RemoteCall): void {
    this.sweep()
    this.calls.set(`${runId ?? ''}/${toolCallId ?? ''}`, { call, at: Date.now() })
  }

  take (runId: string | undefined, toolCallId: string | undefined): RemoteCall | undefined {
    const key = `${runId ?? ''}/${toolCallId ?? ''}`
    const found = this.calls.get(key)
    this.calls.delete(key)
    return found?.call
  }

  private sweep (): void {
    const now = Date.now()
    for (const [key, { at }] of this.calls) {
      if (now - at < this.ttlMs) break
      this.calls.delete(key)
    }
  }
}
