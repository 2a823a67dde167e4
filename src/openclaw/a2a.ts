/**
 * The agent-to-agent exchange that follows a `sessions_send` across Gateways,
 * as OpenClaw runs it for a local send (src/agents/tools/sessions-send-tool.a2a.ts,
 * `runSessionsSendA2AFlow`): the requester's Gateway drives it. Up to five
 * ping-pong turns, odd ones in the requester's session here, even ones in the
 * target session over the mesh, stopping at an empty or `REPLY_SKIP` reply; then
 * the announce step in the target session. A requester on an internal channel
 * (webchat) gets the reply once instead, as OpenClaw does.
 *
 * Differences from a local send (docs/openclaw.md): the target Gateway builds its
 * step prompts itself (the original request and the replies travel as message
 * data, never as system prompt), and the announce reply is recorded in the
 * target session but not posted to its channel (the `send` Gateway method is
 * closed to plugins that are not bundled).
 */
import { randomUUID } from 'node:crypto'
import type { SendOptions, SendResult } from '../types.ts'
import type { HostRuntime, PluginLogger } from './host.ts'
import { runTurn, STEP_META } from './inject.ts'
import { announceBody, inboundText, isSilentReply, requesterSystemPrompt, type RemoteSource } from './prompts.ts'

export const MAX_PING_PONG_TURNS = 5
/** OpenClaw caps every step at a minute. */
const STEP_TIMEOUT_MS = 60_000

export interface Sender {
  send: (target: string, message: string, options?: SendOptions) => Promise<SendResult>
}

export interface Exchange {
  requesterSessionKey?: string
  requesterChannel?: string
  /** The target session, as the mesh names it, and who owns it. */
  target: { qualifiedKey: string, sessionKey: string, peerId: string, gateway: string }
  original: string
  stepTimeoutMs: number
}

export interface ExchangeDeps {
  mesh: Sender
  runtime: HostRuntime
  log: PluginLogger
  /**
   * Runs work that outlives the tool call, outside the call's async context: OpenClaw refuses
   * agent runs started under a tool call that has ended ("agent tool caller authority is no
   * longer active"; its own rule: process-owned work must not keep the turn that launched it).
   */
  detach: (work: () => Promise<void>) => void
}

/** Cron runs do not ping-pong (OpenClaw: maxPingPongTurns 0 for isolated cron requesters). */
function maxTurnsFor (requester: string | undefined): number {
  return requester !== undefined && /:cron:[^:]+:run:/.test(requester) ? 0 : MAX_PING_PONG_TURNS
}

function sourceOf (ex: Exchange): RemoteSource {
  return { peerId: ex.target.peerId, gateway: ex.target.gateway, sessionKey: ex.target.sessionKey }
}

async function localStep (deps: ExchangeDeps, ex: Exchange, requester: string, text: string, extraSystemPrompt: string, turn?: { turn: number, maxTurns: number }): Promise<string | undefined> {
  const r = await runTurn(deps.runtime, {
    sessionKey: requester,
    message: inboundText(sourceOf(ex), text, turn === undefined ? { kind: 'message' } : { kind: 'reply', ...turn }),
    extraSystemPrompt,
    idempotencyKey: randomUUID(),
    waitForReply: true,
    deadline: Date.now() + Math.min(ex.stepTimeoutMs, STEP_TIMEOUT_MS)
  })
  return r.reply
}

async function remoteStep (deps: ExchangeDeps, ex: Exchange, text: string, step: Record<string, unknown>): Promise<string | undefined> {
  const r = await deps.mesh.send(ex.target.sessionKey, text, {
    // Pinned to the owner by peer ID: a name another Gateway takes meanwhile cannot redirect a step.
    targetGateway: ex.target.peerId,
    timeoutMs: Math.min(ex.stepTimeoutMs, STEP_TIMEOUT_MS),
    waitForReply: true,
    ...(ex.requesterSessionKey === undefined ? {} : { fromSessionKey: ex.requesterSessionKey }),
    meta: { [STEP_META]: step }
  })
  return r.reply
}

/** Runs after the target's first reply; never throws (a failed step ends the exchange, as in OpenClaw). */
export async function runExchange (deps: ExchangeDeps, ex: Exchange, firstReply: string | undefined): Promise<void> {
  try {
    if (isSilentReply(firstReply)) return
    const requester = ex.requesterSessionKey
    if (requester !== undefined && (ex.requesterChannel ?? '').trim().toLowerCase() === 'webchat') {
      await localStep(deps, ex, requester, firstReply as string,
        'Another session returned the result of your earlier sessions_send request. This result is delivered once; your response will not be sent back to the target session.')
      return
    }
    let latest = firstReply as string
    const maxTurns = maxTurnsFor(requester)
    for (let turn = 1; requester !== undefined && turn <= maxTurns; turn++) {
      const reply = turn % 2 === 1
        ? await localStep(deps, ex, requester, latest, requesterSystemPrompt(turn, maxTurns), { turn, maxTurns })
        : await remoteStep(deps, ex, latest, { step: 'reply', turn, maxTurns })
      if (isSilentReply(reply)) break
      latest = reply as string
    }
    await remoteStep(deps, ex, announceBody(ex.original, firstReply, latest), { step: 'announce' })
  } catch (err) {
    deps.log.warn(`clawmesh: the agent-to-agent exchange with ${ex.target.qualifiedKey} stopped: ${err instanceof Error ? err.message : String(err)}`)
  }
}

/** A `timeoutSeconds: 0` send failed after it was accepted: tell the requester, as OpenClaw does. */
export async function reportLateFailure (deps: ExchangeDeps, ex: Exchange, error: string): Promise<void> {
  if (ex.requesterSessionKey === undefined) return
  try {
    await localStep(deps, ex, ex.requesterSessionKey,
      `sessions_send delivery to ${ex.target.qualifiedKey} failed: ${error}. The target may not have received the message; retry or report the failure instead of assuming delivery succeeded.`,
      'A previous sessions_send delivery failed after it was accepted. Inspect the accepted operation before retrying, or report the failure. Do not assume the target received the message.')
  } catch (err) {
    deps.log.warn(`clawmesh: could not tell ${ex.requesterSessionKey} that its send to ${ex.target.qualifiedKey} failed: ${err instanceof Error ? err.message : String(err)}`)
  }
}
