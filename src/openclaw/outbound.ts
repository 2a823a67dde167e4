/**
 * Sends one rerouted `sessions_send` call over the mesh and answers it in
 * `sessions_send`'s result shape. With `timeoutSeconds: 0` the answer is
 * `accepted` as soon as the owner took the message, and the reply comes into
 * the calling session later (a2a.ts), as OpenClaw does for a local send.
 */
import { randomUUID } from 'node:crypto'
import type { Resolution, ResolveOptions } from '../types.ts'
import { crossGatewayDenial, agentIdOfKey } from './access.ts'
import { reportLateFailure, runExchange, type Exchange, type ExchangeDeps, type Sender } from './a2a.ts'
import type { HostConfig } from './host.ts'
import { isSilentReply } from './prompts.ts'
import { deliveredResult, errorResult, type SendsResult } from './results.ts'
import type { RemoteCall } from './route.ts'

/** OpenClaw's default wait, and how long a fire-and-forget send still listens for the reply (its announce timeout). */
const ANNOUNCE_TIMEOUT_MS = 30_000

export interface OutboundDeps extends ExchangeDeps {
  mesh: Sender & { resolve: (target: string, options?: ResolveOptions) => Resolution | Promise<Resolution> }
  config: () => HostConfig
  defaultTimeoutSeconds: number
}

export async function sendAcross (deps: OutboundDeps, call: RemoteCall): Promise<SendsResult> {
  const runId = randomUUID()
  const display = call.targetGateway === undefined ? call.target : `${call.target} (targetGateway ${call.targetGateway})`
  let to: Resolution
  try {
    to = await deps.mesh.resolve(call.target, call.targetGateway === undefined ? {} : { targetGateway: call.targetGateway })
  } catch (err) {
    return errorResult(err, runId, display)
  }
  const sessionKey = to.qualifiedKey
  if (to.owner.self) {
    // The session appeared here meanwhile: the built-in tool is the one to use.
    return { runId, status: 'error', error: `${call.target} is now a session on this Gateway; call sessions_send with sessionKey ${to.sessionKey}.`, sessionKey: to.sessionKey }
  }
  if (call.mode !== undefined && call.mode !== 'followup') {
    return { runId, status: 'error', error: `mode=${call.mode} does not reach sessions on other Gateways; leave mode out (followup) to send to ${sessionKey}.`, sessionKey }
  }
  const denial = crossGatewayDenial(deps.config(), 'send', call.requester.agentId, to.agentId ?? agentIdOfKey(to.sessionKey) ?? 'main')
  if (denial !== undefined) return { runId, status: 'forbidden', error: denial.message, sessionKey, gateway: to.owner.name }
  const timeoutSeconds = call.timeoutSeconds ?? deps.defaultTimeoutSeconds
  const exchange: Exchange = {
    ...(call.requester.sessionKey === undefined ? {} : { requesterSessionKey: call.requester.sessionKey }),
    ...(call.requester.channelId === undefined ? {} : { requesterChannel: call.requester.channelId }),
    target: { qualifiedKey: sessionKey, sessionKey: to.sessionKey, peerId: to.owner.peerId, gateway: to.owner.name },
    original: call.message,
    stepTimeoutMs: timeoutSeconds === 0 ? ANNOUNCE_TIMEOUT_MS : timeoutSeconds * 1000
  }
  // Pinned to the owner just resolved, by peer ID, whatever names do meanwhile.
  const options = {
    targetGateway: to.owner.peerId,
    messageId: runId,
    waitForReply: true,
    ...(call.requester.sessionKey === undefined ? {} : { fromSessionKey: call.requester.sessionKey })
  }
  if (timeoutSeconds === 0) return await fireAndForget(deps, exchange, call, options, runId)
  try {
    const r = await deps.mesh.send(to.sessionKey, call.message, { ...options, timeoutMs: timeoutSeconds * 1000 })
    const goesOn = !isSilentReply(r.reply)
    if (goesOn) deps.detach(async () => { await runExchange(deps, exchange, r.reply) })
    return deliveredResult(r.messageId, r.qualifiedKey, r.owner.name, true, r.reply, goesOn)
  } catch (err) {
    return errorResult(err, runId, sessionKey)
  }
}

/** Answers at acceptance; the reply, when it comes, starts the exchange in the requester's session. */
async function fireAndForget (deps: OutboundDeps, ex: Exchange, call: RemoteCall, options: { targetGateway: string, messageId: string, waitForReply: boolean, fromSessionKey?: string }, runId: string): Promise<SendsResult> {
  const accepted = Promise.withResolvers<void>()
  const sending = deps.mesh.send(ex.target.sessionKey, call.message, { ...options, timeoutMs: ANNOUNCE_TIMEOUT_MS, onAccepted: () => { accepted.resolve() } })
  const first = await Promise.race([accepted.promise.then(() => 'accepted' as const), sending.then(() => 'accepted' as const, (err: unknown) => err)])
  if (first !== 'accepted') return errorResult(first, runId, ex.target.qualifiedKey)
  deps.detach(async () => {
    let reply: string | undefined
    try {
      reply = (await sending).reply
    } catch (err) {
      // Not hearing back in time is no failure (OpenClaw: a non-terminal wait ends the flow quietly).
      const { code, remote } = err as { code?: unknown, remote?: unknown }
      if (code !== 'TIMEOUT' || remote === true) await reportLateFailure(deps, ex, err instanceof Error ? err.message : String(err))
      return
    }
    await runExchange(deps, ex, reply)
  })
  return deliveredResult(runId, ex.target.qualifiedKey, ex.target.gateway, false, undefined, true)
}
