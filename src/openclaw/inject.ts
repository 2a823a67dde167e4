/**
 * The one way into an OpenClaw session: `runtime.subagent.run` (the Gateway's
 * `agent` method, in process) then `runtime.subagent.waitForRun` (`agent.wait`),
 * the two steps OpenClaw's own `sessions_send` takes. Every message from another
 * Gateway comes in here (`inboundHandler`), and so do the requester's own turns
 * of a cross-Gateway exchange (a2a.ts).
 *
 * `subagent.run` cannot set `inputProvenance` (only the `agent` RPC over the
 * Gateway's WebSocket, with its operator token, can), so the provenance is the
 * `[Inter-session message]` header OpenClaw itself writes (prompts.ts).
 */
import { MeshError } from '../errors.ts'
import type { DeliverHandler, InboundMessage } from '../types.ts'
import { agentIdOfKey, crossGatewayDenial } from './access.ts'
import type { AgentWaitResult, HostConfig, HostRuntime } from './host.ts'
import { inboundText, isSilentReply, targetSystemPrompt, type ExchangeStep } from './prompts.ts'

export interface TurnRequest {
  sessionKey: string
  message: string
  extraSystemPrompt: string
  /** The run's idempotency key: the same key never starts a second run. */
  idempotencyKey: string
  waitForReply: boolean
  /** Epoch ms after which nobody waits for the reply. */
  deadline: number
  signal?: AbortSignal
  /** Called once the run is started: the session has taken the message. */
  started?: () => void
}

export interface TurnResult {
  runId: string
  /** The session's visible reply; absent when it stayed silent or was not awaited. */
  reply?: string
}

function lastAssistantText (messages: unknown[]): string | undefined {
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i] as { role?: unknown, content?: unknown } | null
    if (m === null || typeof m !== 'object' || m.role !== 'assistant') continue
    if (typeof m.content === 'string') return m.content
    if (Array.isArray(m.content)) {
      const text = m.content
        .map((c: unknown) => (c !== null && typeof c === 'object' && (c as { type?: unknown }).type === 'text' ? String((c as { text?: unknown }).text ?? '') : ''))
        .join('')
      if (text !== '') return text
    }
  }
  return undefined
}

/** As OpenClaw's run-wait.ts: an observation timeout (our slice ran out) is not the run's end. */
function isTerminalTimeout (wait: AgentWaitResult): boolean {
  if (wait.timeoutPhase === 'gateway_draining') return true
  if (wait.pendingError === true) return false
  if (wait.error !== undefined && wait.error !== '') return true
  return wait.endedAt !== undefined || (wait.stopReason ?? '') !== '' || (wait.livenessState ?? '') !== ''
}

/** agent.wait returns within its own timeout; ask in slices so an abort is noticed. */
const WAIT_SLICE_MS = 10_000

/** One agent turn in a local session, and its reply. */
export async function runTurn (runtime: HostRuntime, req: TurnRequest): Promise<TurnResult> {
  req.signal?.throwIfAborted()
  const { runId } = await runtime.subagent.run({
    sessionKey: req.sessionKey,
    message: req.message,
    deliver: false,
    extraSystemPrompt: req.extraSystemPrompt,
    // sessions_send's lane: a nested run does not wait behind the target's own main-lane turn.
    lane: `nested:${req.sessionKey}`,
    idempotencyKey: req.idempotencyKey
  })
  req.started?.()
  if (!req.waitForReply) return { runId }
  for (;;) {
    if (req.signal?.aborted === true) throw new MeshError('ABORTED', `the sender stopped waiting for run ${runId} in ${req.sessionKey}`)
    const remaining = req.deadline - Date.now()
    if (remaining <= 0) throw new MeshError('TIMEOUT', `session ${req.sessionKey} did not reply before the sender's deadline (run ${runId} goes on)`)
    const wait = await runtime.subagent.waitForRun({ runId, timeoutMs: Math.min(remaining, WAIT_SLICE_MS) })
    if (wait.status === 'pending') continue
    if (wait.status === 'timeout') {
      if (!isTerminalTimeout(wait)) continue
      throw new MeshError('TIMEOUT', `the agent run in ${req.sessionKey} timed out: ${wait.error ?? wait.stopReason ?? 'agent run timed out'}`)
    }
    if (wait.status === 'error') {
      throw new MeshError('REMOTE_ERROR', `the agent run in ${req.sessionKey} failed: ${wait.error ?? 'agent error'}`)
    }
    const terminal = wait.terminalReply
    if (terminal?.disposition === 'visible') return isSilentReply(terminal.text) ? { runId } : { runId, reply: terminal.text }
    if (terminal !== undefined) return { runId }
    // No terminal receipt (older runs): the last assistant message is the reply.
    const { messages } = await runtime.subagent.getSessionMessages({ sessionKey: req.sessionKey, limit: 4 })
    const text = lastAssistantText(messages)
    return isSilentReply(text) ? { runId } : { runId, reply: text as string }
  }
}

/** The `meta.clawmesh` of a send that is one step of an agent-to-agent exchange (a2a.ts). */
export const STEP_META = 'clawmesh'
const MAX_TURNS = 20

/** Reads the exchange step a sender says this is; anything malformed is an ordinary message. */
export function stepOf (meta: Record<string, unknown> | undefined): ExchangeStep {
  const raw = meta?.[STEP_META]
  if (raw === null || typeof raw !== 'object') return { kind: 'message' }
  const { step, turn, maxTurns } = raw as Record<string, unknown>
  if (step === 'announce') return { kind: 'announce' }
  if (step === 'reply' && Number.isSafeInteger(turn) && Number.isSafeInteger(maxTurns) &&
    (maxTurns as number) >= 1 && (maxTurns as number) <= MAX_TURNS && (turn as number) >= 1 && (turn as number) <= (maxTurns as number)) {
    return { kind: 'reply', turn: turn as number, maxTurns: maxTurns as number }
  }
  return { kind: 'message' }
}

/**
 * Receives messages from other Gateways: OpenClaw's session-tool rules of this
 * Gateway first (FORBIDDEN before anything reaches the session), then one turn
 * whose run is keyed by the mesh's `<sender peer ID>/<message ID>`, so one
 * sender cannot collide with another's IDs. The message counts as taken (the
 * sender hears `accepted`) once the run is started.
 */
export function inboundHandler (runtime: HostRuntime, config: () => HostConfig): DeliverHandler {
  return async (msg: InboundMessage, { signal, accept }) => {
    const requesterAgent = agentIdOfKey(msg.from.sessionKey) ?? ''
    const targetAgent = agentIdOfKey(msg.sessionKey) ?? 'main'
    const denial = crossGatewayDenial(config(), 'send', requesterAgent, targetAgent)
    if (denial !== undefined) throw new MeshError('FORBIDDEN', denial.message)
    const step = stepOf(msg.meta)
    const source = { peerId: msg.from.peerId, gateway: msg.from.gateway, ...(msg.from.sessionKey === undefined ? {} : { sessionKey: msg.from.sessionKey }) }
    const r = await runTurn(runtime, {
      sessionKey: msg.sessionKey,
      message: inboundText(source, msg.text, step),
      extraSystemPrompt: targetSystemPrompt(step),
      idempotencyKey: msg.idempotencyKey,
      waitForReply: msg.waitForReply,
      deadline: msg.deadline,
      signal,
      started: accept
    })
    return r.reply === undefined ? {} : { reply: r.reply }
  }
}
