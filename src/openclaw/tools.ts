/**
 * Sending: `mesh_sessions_send` (OpenClaw's `sessions_send` parameters and result
 * union, across Gateways) and `mesh_sessions_list` (like `sessions_list`, with the
 * owning Gateway).
 */
import { randomUUID } from 'node:crypto'
import { isMeshErrorCode, MeshError } from '../errors.ts'
import type { MeshStatus, PeerStatus, Resolution, SendOptions, SendResult, SessionAnnouncement, SessionEntry } from '../types.ts'
import type { HostRuntime, HostTool, ToolContext, ToolResult } from './host.ts'
import { injectIntoSession, isSilentReply } from './inject.ts'

/** What the tools and the service need from a running mesh. */
export interface MeshLike {
  announce: (sessionKey: string, info?: SessionAnnouncement) => void | Promise<void>
  withdraw: (sessionKey: string) => void | Promise<void>
  send: (target: string, message: string, options?: SendOptions) => Promise<SendResult>
  resolve: (target: string) => Resolution | Promise<Resolution>
  sessions: () => SessionEntry[]
  peers: () => PeerStatus[]
  status: () => MeshStatus
  stop: () => Promise<void>
}

/** The running mesh of this process, shared by every `register()` call's tools. */
export interface MeshHolder {
  mesh?: MeshLike
  selfName?: string
  defaultTimeoutSeconds: number
}

export const SEND_TOOL = 'mesh_sessions_send'
export const LIST_TOOL = 'mesh_sessions_list'

function jsonResult (payload: Record<string, unknown>): ToolResult {
  // OpenClaw's own jsonResult: pretty JSON text plus the object as details.
  return { content: [{ type: 'text', text: JSON.stringify(payload, null, 2) }], details: payload }
}

function optString (params: Record<string, unknown>, key: string): string | undefined {
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

/** `gateway:<gw>:<key>` → parts; the gateway part never contains a colon except `host:port`. */
export function splitQualified (target: string): { gateway: string, key: string } | undefined {
  if (!target.startsWith('gateway:')) return undefined
  const rest = target.slice('gateway:'.length)
  const hostPort = /^([^:]+:\d+):(.+)$/.exec(rest)
  if (hostPort?.[1] !== undefined && hostPort[2] !== undefined && !/^\d+$/.test(hostPort[1].split(':')[0] ?? '')) {
    return { gateway: hostPort[1], key: hostPort[2] }
  }
  const i = rest.indexOf(':')
  if (i <= 0) return undefined
  return { gateway: rest.slice(0, i), key: rest.slice(i + 1) }
}

/** sessions_send's `main` alias, also inside a qualified key. */
function expandAlias (key: string, agentId: string): string {
  return key === 'main' ? `agent:${agentId}:main` : key
}

interface Target {
  /** What the mesh resolves. */
  target: string
  /** As the caller wrote it, for messages. */
  display: string
}

function targetOf (params: Record<string, unknown>, ctx: ToolContext): Target | { error: string } {
  const sessionKey = optString(params, 'sessionKey')
  const label = optString(params, 'label')
  const agentId = optString(params, 'agentId')?.toLowerCase()
  const targetGateway = optString(params, 'targetGateway') ?? optString(params, 'gateway')
  const callerAgent = agentId ?? ctx.agentId ?? 'main'
  let key: string
  if (sessionKey !== undefined) {
    const q = splitQualified(sessionKey)
    if (q !== undefined) {
      return { target: `gateway:${q.gateway}:${expandAlias(q.key, callerAgent)}`, display: sessionKey }
    }
    key = expandAlias(sessionKey, callerAgent)
  } else if (label !== undefined) {
    key = label
  } else if (agentId !== undefined) {
    key = `agent:${agentId}:main`
  } else {
    return { error: 'Either sessionKey or label is required' }
  }
  if (targetGateway !== undefined) return { target: `gateway:${targetGateway}:${key}`, display: `gateway:${targetGateway}:${key}` }
  return { target: key, display: sessionKey ?? label ?? key }
}

function describeError (err: MeshError): string {
  if (err.code === 'AMBIGUOUS' && err.candidates !== undefined && err.candidates.length > 0) {
    return `${err.message} Use one of: ${err.candidates.join(', ')}`
  }
  if (err.code === 'UNREACHABLE' && err.gateway !== undefined && !err.message.includes(err.gateway)) {
    return `Gateway ${err.gateway} is unreachable: ${err.message}`
  }
  return err.message
}

/** A MeshError (or anything else) as sessions_send's result union. */
/** By shape, not `instanceof`: a plugin loader may hand the core and the plugin separate module instances. */
function asMeshError (err: unknown): MeshError | undefined {
  if (err instanceof MeshError) return err
  if (err instanceof Error && isMeshErrorCode((err as { code?: unknown }).code)) return err as MeshError
  return undefined
}

export function errorResult (error: unknown, runId: string, sessionKey: string): Record<string, unknown> {
  const err = asMeshError(error)
  if (err === undefined) {
    const e = error
    return { runId, status: 'error', error: e instanceof Error ? e.message : String(e), sessionKey }
  }
  const base = { runId, sessionKey, code: err.code, ...(err.gateway === undefined ? {} : { gateway: err.gateway }) }
  switch (err.code) {
    case 'FORBIDDEN':
      return { ...base, status: 'forbidden', error: describeError(err) }
    case 'TIMEOUT':
      return { ...base, status: 'timeout', error: describeError(err), sentBeforeError: true }
    case 'AMBIGUOUS':
      return { ...base, status: 'error', error: describeError(err), ...(err.candidates === undefined ? {} : { candidates: err.candidates }) }
    default:
      return { ...base, status: 'error', error: describeError(err) }
  }
}

const NO_REPLY_MESSAGE = 'No visible reply or pending announcement. Continue or retry if needed.'

export function sendParametersSchema (): Record<string, unknown> {
  return {
    type: 'object',
    properties: {
      sessionKey: { type: 'string', description: 'Target session: a key (agent:main:main; local first), a Gateway-qualified key gateway:<gateway>:<key> where <gateway> is a Gateway name, port, host:port or peer ID, or a session UUID.' },
      label: { type: 'string', minLength: 1, maxLength: 512, description: 'Target session label (instead of sessionKey).' },
      agentId: { type: 'string', minLength: 1, maxLength: 64, description: 'Target agent; alone it means that agent\'s main session.' },
      targetGateway: { type: 'string', description: 'Send to this Gateway (name, port, host:port or peer ID) instead of looking the owner up.' },
      message: { type: 'string', description: 'The message to send.' },
      timeoutSeconds: { type: 'integer', minimum: 0, description: 'How long to wait for the reply (default 30). 0 = fire-and-forget.' }
    },
    required: ['message'],
    additionalProperties: false
  }
}

export function createSendTool (holder: MeshHolder, runtime: HostRuntime, ctx: ToolContext): HostTool {
  return {
    name: SEND_TOOL,
    label: 'Mesh Session Send',
    description: 'Send a message to a session on any OpenClaw Gateway of the mesh (or this one) and wait for its reply, like sessions_send. ' +
      'Address a session on another Gateway as gateway:<gateway>:<sessionKey> (for example gateway:18790:agent:main:main), or pass targetGateway. ' +
      'A bare key goes to this Gateway when it has that session. Use mesh_sessions_list to see the sessions and their Gateways.',
    parameters: sendParametersSchema(),
    async execute (_toolCallId, params, signal): Promise<ToolResult> {
      const runId = randomUUID()
      const message = messageOf(params)
      if (message === undefined) return jsonResult({ runId, status: 'error', error: 'message required' })
      const t = targetOf(params, ctx)
      if ('error' in t) return jsonResult({ runId, status: 'error', error: t.error })
      const mesh = holder.mesh
      if (mesh === undefined) {
        return jsonResult({ runId, status: 'error', error: 'The clawmesh service is not running on this Gateway (see the Gateway log); cross-Gateway sending is unavailable.', sessionKey: t.display })
      }
      const rawTimeout = params.timeoutSeconds
      const timeoutSeconds = typeof rawTimeout === 'number' && Number.isFinite(rawTimeout) && rawTimeout >= 0 ? Math.floor(rawTimeout) : holder.defaultTimeoutSeconds
      const waitForReply = timeoutSeconds !== 0
      const timeoutMs = waitForReply ? timeoutSeconds * 1000 : 30_000
      let resolution: Resolution
      try {
        resolution = await mesh.resolve(t.target)
      } catch (err) {
        return jsonResult(errorResult(err, runId, t.display))
      }
      const displayKey = resolution.owner.self ? resolution.sessionKey : resolution.qualifiedKey
      if (resolution.owner.self) {
        // Local sessions go straight in, as sessions_send would; the inbound policy is for remote Gateways.
        if (waitForReply && resolution.sessionKey === ctx.sessionKey) {
          return jsonResult({ runId, status: 'error', error: 'mesh_sessions_send cannot target the calling session; use your own reply instead', sessionKey: displayKey })
        }
        try {
          const r = await injectIntoSession(runtime, {
            id: runId,
            sessionKey: resolution.sessionKey,
            text: message,
            from: { gateway: holder.selfName ?? 'local', ...(ctx.sessionKey === undefined ? {} : { sessionKey: ctx.sessionKey }) },
            waitForReply,
            deadline: Date.now() + timeoutMs,
            ...(signal === undefined ? {} : { signal })
          })
          return jsonResult(okResult(runId, displayKey, resolution.owner.name, waitForReply, r.reply))
        } catch (err) {
          return jsonResult(errorResult(err, runId, displayKey))
        }
      }
      try {
        const r = await mesh.send(t.target, message, {
          timeoutMs,
          waitForReply,
          messageId: runId,
          ...(ctx.sessionKey === undefined ? {} : { fromSessionKey: ctx.sessionKey }),
          ...(signal === undefined ? {} : { signal })
        })
        return jsonResult(okResult(r.messageId, r.qualifiedKey, r.owner.name, r.status === 'ok', r.reply))
      } catch (err) {
        return jsonResult(errorResult(err, runId, displayKey))
      }
    }
  }
}

function okResult (runId: string, sessionKey: string, gateway: string, waited: boolean, reply: string | undefined): Record<string, unknown> {
  if (!waited) {
    return { runId, status: 'accepted', sessionKey, gateway, targetDisposition: 'queued', delivery: { status: 'skipped', mode: 'announce' } }
  }
  if (isSilentReply(reply)) return { runId, status: 'no_reply', sessionKey, gateway, message: NO_REPLY_MESSAGE }
  return { runId, status: 'ok', sessionKey, gateway, reply, delivery: { status: 'skipped', mode: 'announce' } }
}

export function createListTool (holder: MeshHolder): HostTool {
  return {
    name: LIST_TOOL,
    label: 'Mesh Sessions',
    description: 'List the sessions of every Gateway in the mesh (this one included), with the Gateway that owns each and the qualified key (gateway:<gateway>:<sessionKey>) to pass to mesh_sessions_send.',
    parameters: {
      type: 'object',
      properties: {
        gateway: { type: 'string', description: 'Only sessions of this Gateway (name or port).' },
        search: { type: 'string', description: 'Only sessions whose key or label contains this text.' },
        limit: { type: 'integer', minimum: 1, description: 'At most this many rows (default 200).' }
      },
      additionalProperties: false
    },
    async execute (_toolCallId, params): Promise<ToolResult> {
      const mesh = holder.mesh
      if (mesh === undefined) return jsonResult({ status: 'error', error: 'The clawmesh service is not running on this Gateway; mesh sessions are unavailable.' })
      const gateway = optString(params, 'gateway')
      const search = optString(params, 'search')?.toLowerCase()
      const limit = typeof params.limit === 'number' && params.limit >= 1 ? Math.floor(params.limit) : 200
      const rows = mesh.sessions()
        .filter((s) => gateway === undefined || s.owner.name === gateway || String(s.owner.gatewayPort) === gateway || s.owner.peerId === gateway)
        .filter((s) => search === undefined || s.sessionKey.toLowerCase().includes(search) || (s.label ?? '').toLowerCase().includes(search))
      const sessions = rows.slice(0, limit).map((s) => ({
        key: s.qualifiedKey,
        sessionKey: s.sessionKey,
        ...(s.sessionId === undefined ? {} : { sessionId: s.sessionId }),
        ...(s.label === undefined ? {} : { label: s.label }),
        ...(s.agentId === undefined ? {} : { agentId: s.agentId }),
        gateway: s.owner.name,
        ...(s.owner.gatewayPort === undefined ? {} : { gatewayPort: s.owner.gatewayPort }),
        local: s.owner.self,
        reachable: s.owner.reachable
      }))
      return jsonResult({ count: sessions.length, totalCount: rows.length, sessions })
    }
  }
}
