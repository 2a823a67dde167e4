/**
 * A stand-in for the parts of OpenClaw's plugin runtime the plugin calls, for
 * component tests of src/openclaw/ (the real Gateway is in gateways.e2e.ts). It
 * keeps what matters for the attacks: every `subagent.run` is recorded, and a
 * repeated idempotency key starts no second run (OpenClaw's `agent` method).
 */
import type { AgentWaitResult, HostConfig, HostRuntime, HostSessionEntry } from '../../src/openclaw/host.ts'

export interface RecordedRun {
  runId: string
  sessionKey: string
  message: string
  extraSystemPrompt?: string
  idempotencyKey?: string
}

export interface FakeHost {
  runtime: HostRuntime
  runs: RecordedRun[]
  sessions: Map<string, HostSessionEntry>
  config: HostConfig
}

/** `reply(run)` is the session's answer to a run (default: echo the message's last line). */
export function fakeHost (init: { sessions?: Record<string, HostSessionEntry>, config?: HostConfig, reply?: (run: RecordedRun) => string, ended?: () => Promise<void> } = {}): FakeHost {
  const runs: RecordedRun[] = []
  const byKey = new Map<string, RecordedRun>()
  const sessions = new Map(Object.entries(init.sessions ?? {}))
  const reply = init.reply ?? ((run: RecordedRun) => `echo: ${run.message.split('\n').at(-1) ?? ''}`)
  const agentOf = (key: string): string | undefined => /^agent:([^:]+):/.exec(key)?.[1]
  const host: FakeHost = {
    runs,
    sessions,
    config: init.config ?? {},
    runtime: {
      config: { current: () => host.config },
      agent: {
        session: {
          listSessionEntries: ({ agentId } = {}) => [...sessions].filter(([k]) => agentId === undefined || agentOf(k) === agentId).map(([sessionKey, entry]) => ({ sessionKey, entry })),
          getSessionEntry: ({ sessionKey }) => sessions.get(sessionKey)
        }
      },
      subagent: {
        run: async (params) => {
          const seen = params.idempotencyKey === undefined ? undefined : byKey.get(params.idempotencyKey)
          if (seen !== undefined) return { runId: seen.runId }
          const run: RecordedRun = { runId: `run-${runs.length + 1}`, ...params }
          runs.push(run)
          if (params.idempotencyKey !== undefined) byKey.set(params.idempotencyKey, run)
          return { runId: run.runId }
        },
        waitForRun: async ({ runId }): Promise<AgentWaitResult> => {
          const run = runs.find(r => r.runId === runId)
          if (run === undefined) return { status: 'error', error: 'unknown run' }
          await init.ended?.()
          return { status: 'ok', terminalReply: { disposition: 'visible', text: reply(run) } }
        },
        getSessionMessages: async () => ({ messages: [] })
      }
    }
  }
  return host
}
