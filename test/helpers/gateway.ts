/** Drive `test/fixtures/gateway-process.ts` inside a namespace host. */
import { fileURLToPath } from 'node:url'
import type { Host, HostProcess } from './netns.ts'

const script = fileURLToPath(new URL('../fixtures/gateway-process.ts', import.meta.url))

export interface GatewayEvent { event: string, detail?: Record<string, unknown>, message?: Record<string, unknown>, peerId?: string, addresses?: string[] }

export interface GatewayHandle {
  name: string
  /** What it was started with (a restart reuses them: same dataDir, same peer ID). */
  options: Record<string, unknown> & { name: string }
  host: Host
  proc: HostProcess
  peerId: string
  addresses: string[]
  events: () => GatewayEvent[]
  request: <T = unknown>(cmd: string, args?: Record<string, unknown>, ms?: number) => Promise<T>
  /** Resolve with the first event (past or future) that `match` accepts. */
  waitEvent: (match: (e: GatewayEvent) => boolean, ms: number, what: string) => Promise<GatewayEvent>
  stop: () => Promise<void>
  /** Send a signal to the process (by PID): SIGKILL, SIGSTOP, SIGCONT... */
  signal: (signal: NodeJS.Signals) => void
}

/** Starts the Gateway again with the same options (plus `overrides`) on the same host: same dataDir → same peer ID, new incarnation. */
export async function restartGateway (old: GatewayHandle, overrides: Record<string, unknown> = {}, env: NodeJS.ProcessEnv = {}): Promise<GatewayHandle> {
  return await startGateway(old.host, { ...old.options, ...overrides }, env)
}

/** A send outcome from the fixture's `sendMany`. */
export interface SendOutcome { id: string, outcome: string, ms: number, timeoutMs: number }

export class RemoteError extends Error {
  code?: string
  constructor (error: { name?: string, code?: string, message?: string }) {
    super(error.message ?? 'remote error')
    this.name = error.name ?? 'Error'
    if (error.code != null) this.code = error.code
  }
}

let nextId = 1

export async function startGateway (host: Host, options: Record<string, unknown> & { name: string }, env: NodeJS.ProcessEnv = {}): Promise<GatewayHandle> {
  const proc = host.spawn(process.execPath, [script, JSON.stringify(options)], {
    env: { ...process.env, DEBUG: 'clawmesh:*', ...env }
  })
  const parse = (line: string): Record<string, unknown> | undefined => { try { return JSON.parse(line) as Record<string, unknown> } catch { return undefined } }
  const ready = parse(await proc.waitForLine(l => parse(l)?.event === 'ready', 20_000, `${options.name} to start`)) as unknown as GatewayEvent
  const handle: GatewayHandle = {
    name: options.name,
    options,
    host,
    proc,
    peerId: ready.peerId!,
    addresses: ready.addresses!,
    events: () => proc.stdout.map(parse).filter((e): e is Record<string, unknown> => e?.event != null) as unknown as GatewayEvent[],
    request: async <T>(cmd: string, args: Record<string, unknown> = {}, ms = 30_000): Promise<T> => {
      const id = nextId++
      proc.writeLine(JSON.stringify({ id, cmd, ...args }))
      const line = parse(await proc.waitForLine(l => parse(l)?.id === id, ms, `${options.name}: reply to ${cmd}`))!
      if (line.ok !== true) throw new RemoteError(line.error as { name?: string, code?: string, message?: string })
      return line.result as T
    },
    waitEvent: async (match, ms, what) => {
      const line = await proc.waitForLine(l => { const e = parse(l); return e?.event != null && match(e as unknown as GatewayEvent) }, ms, `${options.name}: ${what}`)
      return parse(line) as unknown as GatewayEvent
    },
    stop: async () => {
      proc.writeLine(JSON.stringify({ id: nextId++, cmd: 'stop' }))
      const timer = setTimeout(() => { proc.kill('SIGKILL') }, 5_000)
      await proc.exited
      clearTimeout(timer)
    },
    signal: (signal) => { proc.kill(signal) }
  }
  return handle
}
