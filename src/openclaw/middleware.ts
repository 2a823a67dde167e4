/**
 * The two hooks that make OpenClaw's built-in session tools reach other Gateways:
 *
 * - `before_tool_call` on `sessions_send`: decides where the call goes
 *   (route.ts) and, for another Gateway, rewrites it into a harmless `notify` of
 *   the calling session (so the built-in neither fails nor delivers anywhere);
 * - the agent tool result middleware on `sessions_send` and `sessions_list`:
 *   withdraws that note, sends over the mesh and returns the mesh's answer in
 *   `sessions_send`'s result shape; adds remote sessions to `sessions_list`.
 *
 * OpenClaw 2026.9.6 computes a replaced result's `isError` as
 * `event.isError || isToolResultError(builtinResult) || isToolResultError(replacement)`:
 * a built-in that failed would flag even a successful replacement as an error
 * (Anthropic models see `is_error: true`), hence the harmless call.
 */
import type { BeforeToolCallEvent, BeforeToolCallResult, HookToolContext, PluginLogger, ToolResult, ToolResultContext, ToolResultEvent } from './host.ts'
import type { RemoteRow, RowFilter } from './listing.ts'
import { withRemoteRows } from './listing.ts'
import type { LocalSessions } from './local.ts'
import { withdrawNote } from './note.ts'
import { sendAcross, type OutboundDeps } from './outbound.ts'
import { jsonResult } from './results.ts'
import { isRoutingNote, nonceOf, RemoteCalls, routeOf, type Resolver } from './route.ts'

export interface HookDeps {
  /** The running mesh, or undefined while the service is not running (then nothing is rerouted). */
  outbound: () => OutboundDeps & { mesh: Resolver } | undefined
  local: LocalSessions
  calls: RemoteCalls
  rows: (requesterAgentId: string, filter: RowFilter) => RemoteRow[]
  log: PluginLogger
}

export function beforeSessionsSend (deps: HookDeps) {
  return async (event: BeforeToolCallEvent, ctx: HookToolContext): Promise<BeforeToolCallResult> => {
    if (event.toolName !== 'sessions_send') return undefined
    const out = deps.outbound()
    if (out === undefined) return undefined
    const route = await routeOf(event.params, ctx, out.mesh, deps.local)
    if (route.kind === 'local') return undefined
    if (route.kind === 'local-rewrite') return { params: route.params }
    deps.calls.put(event.runId ?? ctx.runId, event.toolCallId ?? ctx.toolCallId, route.call)
    return route.params === undefined ? undefined : { params: route.params }
  }
}

function detailsOf (result: ToolResultEvent['result']): Record<string, unknown> {
  const d = result.details
  return d !== null && typeof d === 'object' ? d as Record<string, unknown> : {}
}

export function toolResultMiddleware (deps: HookDeps) {
  return async (event: ToolResultEvent, ctx: ToolResultContext): Promise<{ result: ToolResult } | undefined> => {
    if (event.toolName === 'sessions_list') {
      const added = withRemoteRows(event.result.details, event.args, filter => deps.rows((ctx.agentId ?? 'main').toLowerCase(), filter))
      return added === undefined ? undefined : { result: jsonResult(added) }
    }
    if (event.toolName !== 'sessions_send') return undefined
    const builtin = detailsOf(event.result)
    const call = deps.calls.take(ctx.runId, event.toolCallId)
    if (isRoutingNote(event.args)) {
      if (typeof builtin.notificationId === 'string' && !withdrawNote(builtin.notificationId)) {
        deps.log.warn('clawmesh: could not withdraw the bookkeeping note of a rerouted sessions_send (OpenClaw internals changed?); it stays in the calling session')
      }
      if (call === undefined || call.nonce !== nonceOf(event.args)) {
        return { result: jsonResult({ status: 'error', error: 'clawmesh lost track of this sessions_send call; nothing was sent. Retry it.' }) }
      }
      if (builtin.status !== 'queued') {
        // OpenClaw refused even a note to the calling session (a sandboxed or restricted session): no cross-Gateway sends from it.
        const status = builtin.status === 'forbidden' ? 'forbidden' : 'error'
        return { result: jsonResult({ status, error: `This session may not send to other Gateways: ${String(builtin.error ?? builtin.status)}` }) }
      }
    }
    if (call === undefined) return undefined
    const out = deps.outbound()
    if (out === undefined) return { result: jsonResult({ status: 'error', error: 'The clawmesh service stopped; nothing was sent to the other Gateway.' }) }
    return { result: jsonResult(await sendAcross(out, call)) }
  }
}
