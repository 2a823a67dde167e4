/**
 * Real OpenClaw Gateways for the end-to-end test: config files, process start and
 * stop, and a small client for the Gateway's WebSocket protocol (v4). Runs inside
 * the private network namespace that run.sh creates; everything is on 127.0.0.1.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import fs from 'node:fs'
import path from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'

export const OPENCLAW_PREFIX = process.env.CLAWMESH_OPENCLAW_PREFIX ?? ''
export const OPENCLAW_BIN = path.join(OPENCLAW_PREFIX, 'node_modules', '.bin', 'openclaw')

/** Polls `check` until it returns a value, or fails after `timeoutMs` with `what`. */
export async function waitFor<T> (what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs = 60_000, everyMs = 250): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let lastError: unknown
  for (;;) {
    try {
      const v = await check()
      if (v !== undefined) return v
    } catch (err) {
      lastError = err
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${lastError === undefined ? '' : `: ${String(lastError)}`}`)
    await sleep(everyMs)
  }
}

export interface Instance {
  name: string
  /** The instance's OpenClaw state folder; its config, workspace and logs live in it. */
  root: string
  port: number
  token: string
  configPath: string
  env: NodeJS.ProcessEnv
}

/**
 * One Gateway's files and environment. Instances given the same `home` share it as one user's
 * Gateways do: the first uses the default state folder (`~/.openclaw`), others a profile's
 * (`~/.openclaw-<profile>`, what `openclaw --profile <profile>` selects).
 */
export function instance (home: string, name: string, port: number, token: string, profile?: string): Instance {
  const root = path.join(home, profile === undefined ? '.openclaw' : `.openclaw-${profile}`)
  for (const d of ['workspace', 'logs']) fs.mkdirSync(path.join(root, d), { recursive: true })
  const configPath = path.join(root, 'openclaw.json')
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HOME: home,
    OPENCLAW_STATE_DIR: root,
    OPENCLAW_CONFIG_PATH: configPath,
    OPENCLAW_GATEWAY_TOKEN: token,
    OPENCLAW_DISABLE_BONJOUR: '1',
    OPENCLAW_NO_AUTO_UPDATE: '1',
    DO_NOT_TRACK: '1'
  }
  // A user's clean environment: no clawmesh settings from the machine running the test.
  for (const k of ['CLAWMESH_HOME', 'CLAWMESH_SECRET', 'XDG_STATE_HOME', 'XDG_CONFIG_HOME']) delete env[k]
  return { name, root, port, token, configPath, env }
}

/**
 * Bundled plugins the test has no use for. Off, a Gateway's agent runs take half the time and its
 * event loop stalls less (memory-core indexes every transcript in SQLite); clawmesh uses none of them.
 */
const UNUSED_BUNDLED_PLUGINS = ['bonjour', 'memory-core', 'browser', 'canvas', 'cua-computer', 'device-pair', 'file-transfer', 'geolocation', 'github', 'linux-node', 'ollama', 'openai', 'talk-voice', 'xai', 'anthropic']

/**
 * The lab's quiet config (see docs/openclaw.md): fake model, no browser, cron, heartbeat, update
 * check or mDNS advertising, no unused bundled plugins. `pluginPath` loads clawmesh from a folder and enables it, with no
 * clawmesh settings; `extra` is merged into the top level (agents, tools).
 */
export function writeConfig (inst: Instance, fakeModelPort: number, opts: { pluginPath?: string, extra?: Record<string, Record<string, unknown>> } = {}): void {
  const cfg: Record<string, Record<string, unknown>> = {
    gateway: {
      mode: 'local',
      port: inst.port,
      bind: 'loopback',
      auth: { mode: 'token', token: inst.token },
      controlUi: { enabled: false }
    },
    discovery: { mdns: { mode: 'off' } },
    logging: { file: path.join(inst.root, 'logs', 'openclaw.log') },
    cron: { enabled: false },
    browser: { enabled: false },
    update: { checkOnStart: false, auto: { enabled: false } },
    telemetry: { enabled: false },
    models: {
      mode: 'merge',
      catalogRefresh: { enabled: false },
      providers: {
        fake: {
          baseUrl: `http://127.0.0.1:${fakeModelPort}/v1`,
          apiKey: 'fake-local',
          api: 'openai-completions',
          models: [{ id: 'echo', name: 'Fake Echo', reasoning: false, input: ['text'], cost: { input: 0, output: 0, cacheRead: 0, cacheWrite: 0 }, contextWindow: 128000, maxTokens: 4096 }]
        }
      }
    },
    agents: { defaults: { workspace: path.join(inst.root, 'workspace'), model: { primary: 'fake/echo' }, heartbeat: { every: '0m' } } },
    tools: { toolSearch: false },
    plugins: {
      entries: {
        ...Object.fromEntries(UNUSED_BUNDLED_PLUGINS.map(id => [id, { enabled: false }])),
        ...(opts.pluginPath === undefined ? {} : { clawmesh: { enabled: true } })
      },
      ...(opts.pluginPath === undefined ? {} : { load: { paths: [opts.pluginPath] } })
    }
  }
  for (const [k, v] of Object.entries(opts.extra ?? {})) cfg[k] = { ...cfg[k], ...v }
  fs.writeFileSync(inst.configPath, JSON.stringify(cfg, null, 2) + '\n')
}

/** Runs the openclaw CLI against an instance's config and state. */
export async function cli (inst: Instance, args: string[]): Promise<string> {
  const child = spawn(OPENCLAW_BIN, args, { env: inst.env, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout.on('data', (d: Buffer) => { out += d.toString() })
  child.stderr.on('data', (d: Buffer) => { out += d.toString() })
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve))
  if (code !== 0) throw new Error(`openclaw ${args.join(' ')} exited with ${code}:\n${out}`)
  return out
}

export interface RunningGateway {
  inst: Instance
  child: ChildProcess
  exited: Promise<number | null>
  stop: () => Promise<void>
}

export async function startGateway (inst: Instance): Promise<RunningGateway> {
  const out = fs.openSync(path.join(inst.root, 'gateway.out'), 'w')
  const child = spawn(OPENCLAW_BIN, ['gateway', 'run', '--port', String(inst.port), '--bind', 'loopback', '--auth', 'token'], {
    env: inst.env,
    stdio: ['ignore', out, out]
  })
  fs.closeSync(out)
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  let gone = false
  void exited.then(() => { gone = true })
  const stop = async (): Promise<void> => {
    if (gone) return
    child.kill('SIGTERM')
    await exited
  }
  // /healthz answers before the Gateway is usable; /readyz waits for the startup sidecars.
  await waitFor(`gateway ${inst.name} /readyz (see ${inst.root}/gateway.out)`, async () => {
    if (gone) throw new Error(`gateway ${inst.name} exited; see ${inst.root}/gateway.out`)
    const r = await fetch(`http://127.0.0.1:${inst.port}/readyz`).catch(() => undefined)
    return r?.ok === true ? true : undefined
  }, 300_000, 500)
  return { inst, child, exited, stop }
}

interface Frame { type: string, id?: string, ok?: boolean, payload?: unknown, error?: { code?: string, message?: string, retryable?: boolean, retryAfterMs?: number }, event?: string }

export class GatewayError extends Error {
  readonly code: string | undefined
  readonly retryable: boolean
  constructor (method: string, error: Frame['error']) {
    super(`${method}: ${error?.code ?? '?'} ${error?.message ?? ''}`)
    this.code = error?.code
    this.retryable = error?.retryable === true
  }
}

class ConnectionClosedError extends Error {
  constructor (port: number) { super(`connection to ${port} closed`) }
}

/** Methods a test may send twice without changing anything. */
const SAFE_TO_REPEAT = new Set(['agent', 'agent.wait', 'chat.history', 'clawmesh.status', 'sessions.list'])

/** A WebSocket operator client (Node's global WebSocket), shared token, no device identity. */
export class GatewayClient {
  private ws: WebSocket | undefined
  /** Closed by the test: no reconnecting. */
  private closed = false
  private nextId = 1
  private readonly pending = new Map<string, { resolve: (v: unknown) => void, reject: (e: Error) => void, method: string }>()
  private readonly port: number
  private readonly token: string

  constructor (port: number, token: string) {
    this.port = port
    this.token = token
  }

  async connect (): Promise<void> {
    // Until its startup sidecars finish, the Gateway answers connect with a retryable UNAVAILABLE.
    await waitFor(`connect to 127.0.0.1:${this.port}`, async () => {
      try {
        await this.connectOnce()
        return true
      } catch (err) {
        this.ws?.close()
        if (err instanceof GatewayError && !err.retryable) throw err
        return undefined
      }
    }, 60_000, 500)
  }

  private async connectOnce (): Promise<void> {
    const ws = new WebSocket(`ws://127.0.0.1:${this.port}`)
    this.ws = ws
    const challenge = new Promise<void>((resolve) => {
      ws.addEventListener('message', (ev: MessageEvent) => {
        const m = JSON.parse(String(ev.data)) as Frame
        if (m.type === 'event' && m.event === 'connect.challenge') resolve()
        if (m.type !== 'res' || m.id === undefined) return
        const p = this.pending.get(m.id)
        if (p === undefined) return // e.g. the second (final) frame of `agent`
        this.pending.delete(m.id)
        if (m.ok === true) p.resolve(m.payload)
        else p.reject(new GatewayError(p.method, m.error))
      })
    })
    await new Promise<void>((resolve, reject) => {
      ws.addEventListener('open', () => resolve(), { once: true })
      ws.addEventListener('error', () => reject(new Error('websocket error')), { once: true })
    })
    ws.addEventListener('close', () => {
      for (const p of this.pending.values()) p.reject(new ConnectionClosedError(this.port))
      this.pending.clear()
    })
    await challenge
    await this.call('connect', {
      minProtocol: 4,
      maxProtocol: 4,
      client: { id: 'cli', version: '0.0.1', platform: process.platform, mode: 'cli' },
      role: 'operator',
      scopes: ['operator.read', 'operator.write', 'operator.admin'],
      caps: [],
      auth: { token: this.token }
    })
  }

  /**
   * One request. A Gateway whose event loop stalls for many seconds (a loaded CI machine) may drop
   * the connection: the next call connects again, and a call the drop cut short is sent once more
   * when sending it twice changes nothing (reads, and `agent`, which its idempotency key dedupes).
   */
  async call<T = unknown> (method: string, params: Record<string, unknown> = {}): Promise<T> {
    if (this.ws === undefined || this.closed) throw new Error('not connected')
    if (method !== 'connect' && this.ws.readyState !== WebSocket.OPEN) await this.connect()
    try {
      return await this.send<T>(method, params)
    } catch (err) {
      if (!(err instanceof ConnectionClosedError) || !SAFE_TO_REPEAT.has(method) || this.closed) throw err
      await this.connect()
      return await this.send<T>(method, params)
    }
  }

  private async send<T> (method: string, params: Record<string, unknown>): Promise<T> {
    const ws = this.ws
    if (ws === undefined || ws.readyState !== WebSocket.OPEN) throw new ConnectionClosedError(this.port)
    const id = String(this.nextId++)
    const result = new Promise<unknown>((resolve, reject) => this.pending.set(id, { resolve, reject, method }))
    ws.send(JSON.stringify({ type: 'req', id, method, params }))
    return await result as T
  }

  close (): void {
    this.closed = true
    this.ws?.close()
  }
}

export interface HistoryMessage { role: string, content?: unknown, toolName?: string, isError?: boolean }

export function textOf (m: HistoryMessage): string {
  if (typeof m.content === 'string') return m.content
  if (Array.isArray(m.content)) return m.content.map((c: { text?: unknown }) => (typeof c?.text === 'string' ? c.text : '')).join('')
  return ''
}

/** One agent turn, as sessions_send drives it: `agent`, then `agent.wait` until the run ends. */
export async function agentTurn (client: GatewayClient, sessionKey: string, message: string): Promise<{ status: string }> {
  const accepted = await client.call<{ runId: string }>('agent', { sessionKey, message, idempotencyKey: randomUUID(), deliver: false })
  return await waitFor(`run ${accepted.runId} in ${sessionKey}`, async () => {
    const w = await client.call<{ status: string }>('agent.wait', { runId: accepted.runId, timeoutMs: 10_000 })
    return w.status === 'pending' || w.status === 'timeout' ? undefined : w
  }, 300_000, 0)
}

export async function history (client: GatewayClient, sessionKey: string, limit = 30): Promise<HistoryMessage[]> {
  const h = await client.call<{ messages: HistoryMessage[] }>('chat.history', { sessionKey, limit })
  return h.messages
}

/** The last `toolName` result in a session, parsed (session tools return JSON text), and whether OpenClaw marked it an error. */
export async function lastToolResult (client: GatewayClient, sessionKey: string, toolName: string): Promise<{ value: Record<string, unknown>, isError: boolean }> {
  const messages = await history(client, sessionKey)
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i]
    if (m === undefined || (m.role !== 'toolResult' && m.role !== 'tool')) continue
    if (m.toolName !== undefined && m.toolName !== toolName) continue
    return { value: JSON.parse(textOf(m)) as Record<string, unknown>, isError: m.isError === true }
  }
  throw new Error(`no ${toolName} result in ${sessionKey}: ${JSON.stringify(messages.map((m) => m.role))}`)
}

/** Starts the fake model server (a child process) and waits until it answers. */
export async function startFakeModel (port: number, logDir: string): Promise<ChildProcess> {
  const script = path.join(import.meta.dirname, 'fake-openai.mjs')
  const out = fs.openSync(path.join(logDir, `fake-${port}.log`), 'w')
  const child = spawn(process.execPath, [script, String(port)], {
    env: { ...process.env, FAKE_LOG: path.join(logDir, `fake-${port}.jsonl`) },
    stdio: ['ignore', out, out]
  })
  fs.closeSync(out)
  await waitFor(`fake model on ${port}`, async () => {
    const r = await fetch(`http://127.0.0.1:${port}/v1/models`).catch(() => undefined)
    return r?.ok === true ? true : undefined
  }, 20_000, 100)
  return child
}
