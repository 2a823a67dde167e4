/**
 * Helpers shared by the benchmark harness: statistics, child processes that
 * speak JSON lines, a byte-counting TCP proxy, and a forced GC.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createServer, connect, type Server, type Socket } from 'node:net'
import { createInterface } from 'node:readline'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

/** `ratio`: a same-run ratio of two rates (above 1: the first is faster). */
export type Unit = 'ms' | 'msg/s' | 'MB/s' | 'bytes' | 'kbit/s' | 'ratio'

export interface Figure {
  median: number
  p99: number
  unit: Unit
  samples: number
}

/** Nearest-rank percentile of an unsorted list. */
export function percentile (values: number[], p: number): number {
  if (values.length === 0) return NaN
  const sorted = [...values].sort((a, b) => a - b)
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))
  return sorted[rank] as number
}

/**
 * A figure from its samples. For rates (msg/s, MB/s, ratios of rates) "p99" is the slow end:
 * the rate that 99 % of the measurement windows reached (the 1st percentile).
 */
export function figure (values: number[], unit: Unit): Figure {
  const slowEnd = unit === 'msg/s' || unit === 'MB/s' || unit === 'ratio' ? percentile(values, 1) : percentile(values, 99)
  return { median: round(percentile(values, 50)), p99: round(slowEnd), unit, samples: values.length }
}

export function round (n: number): number {
  if (!Number.isFinite(n)) return n
  const abs = Math.abs(n)
  const digits = abs >= 100 ? 0 : abs >= 1 ? 2 : 4
  return Number(n.toFixed(digits))
}

export async function sleep (ms: number): Promise<void> {
  await new Promise(resolve => setTimeout(resolve, ms))
}

let gcFn: (() => void) | undefined
/** A full GC (exposes `gc` at run time, so `node bench/run.ts` needs no flag). */
export function gc (): void {
  if (gcFn === undefined) {
    setFlagsFromString('--expose-gc')
    gcFn = runInNewContext('gc') as () => void
  }
  gcFn()
  gcFn()
}

export interface Child {
  readonly child: ChildProcess
  readonly pid: number
  /** Sends a command and resolves with its `result` (rejects on `ok: false`). */
  call: <T = unknown>(cmd: string, args?: Record<string, unknown>, timeoutMs?: number) => Promise<T>
  /** Resolves with the first event line (`{ event }`) that `match` accepts, past or future. */
  event: (name: string, match?: (line: Record<string, unknown>) => boolean, timeoutMs?: number) => Promise<Record<string, unknown>>
  readonly exited: Promise<void>
  kill: (signal?: NodeJS.Signals) => void
  stderr: () => string
}

/** Starts `node bench/peer.ts <args>` (optionally inside a network namespace) and talks JSON lines to it. */
export function startChild (args: string[], options: { netns?: string, env?: NodeJS.ProcessEnv } = {}): Child {
  const script = new URL('./peer.ts', import.meta.url).pathname
  const command = options.netns !== undefined ? 'ip' : process.execPath
  const argv = options.netns !== undefined ? ['netns', 'exec', options.netns, process.execPath, script, ...args] : [script, ...args]
  const child = spawn(command, argv, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, ...options.env } })
  const lines: Array<Record<string, unknown>> = []
  const waiters = new Set<(line: Record<string, unknown>) => void>()
  let err = ''
  child.stderr?.on('data', (d: Buffer) => { err = (err + d.toString()).slice(-4000) })
  createInterface({ input: child.stdout! }).on('line', line => {
    let parsed: Record<string, unknown>
    try { parsed = JSON.parse(line) as Record<string, unknown> } catch { return }
    lines.push(parsed)
    for (const w of [...waiters]) w(parsed)
  })
  const exited = new Promise<void>(resolve => { child.once('exit', () => { resolve() }) })
  let nextId = 1
  const waitLine = async (match: (line: Record<string, unknown>) => boolean, timeoutMs: number, what: string): Promise<Record<string, unknown>> => {
    const past = lines.find(match)
    if (past !== undefined) return past
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(() => { cleanup(); reject(new Error(`child ${child.pid}: no ${what} within ${timeoutMs} ms; stderr: ${err}`)) }, timeoutMs)
      const onExit = (): void => { cleanup(); reject(new Error(`child ${child.pid} exited before ${what}; stderr: ${err}`)) }
      const waiter = (line: Record<string, unknown>): void => { if (match(line)) { cleanup(); resolve(line) } }
      const cleanup = (): void => { clearTimeout(timer); waiters.delete(waiter); child.off('exit', onExit) }
      waiters.add(waiter)
      child.once('exit', onExit)
    })
  }
  return {
    child,
    pid: child.pid as number,
    call: async <T>(cmd: string, args: Record<string, unknown> = {}, timeoutMs = 60_000): Promise<T> => {
      const id = nextId++
      child.stdin?.write(JSON.stringify({ id, cmd, ...args }) + '\n')
      const line = await waitLine(l => l.id === id, timeoutMs, `answer to ${cmd}`)
      if (line.ok !== true) throw new Error(`child ${cmd} failed: ${JSON.stringify(line.error)}`)
      return line.result as T
    },
    event: async (name, match = () => true, timeoutMs = 30_000) => await waitLine(l => l.event === name && match(l), timeoutMs, `event ${name}`),
    exited,
    kill: (signal = 'SIGKILL') => { try { child.kill(signal) } catch { /* gone */ } },
    stderr: () => err
  }
}

/** Kills a child (by its PID) and waits for it to exit. */
export async function stopChild (c: Child): Promise<void> {
  if (c.child.exitCode !== null || c.child.signalCode !== null) return
  c.kill('SIGKILL')
  await c.exited
}

/** A TCP proxy on 127.0.0.1 that counts the bytes flowing each way. */
export interface CountingProxy {
  port: number
  /** Bytes from the dialer to the target. */
  up: number
  /** Bytes from the target back to the dialer. */
  down: number
  close: () => Promise<void>
}

export async function countingProxy (targetPort: number): Promise<CountingProxy> {
  const sockets = new Set<Socket>()
  const proxy: CountingProxy = { port: 0, up: 0, down: 0, close: async () => {} }
  const server: Server = createServer(client => {
    const upstream = connect(targetPort, '127.0.0.1')
    client.setNoDelay(true)
    upstream.setNoDelay(true)
    sockets.add(client)
    sockets.add(upstream)
    client.on('data', (d: Buffer) => { proxy.up += d.length })
    upstream.on('data', (d: Buffer) => { proxy.down += d.length })
    client.pipe(upstream)
    upstream.pipe(client)
    const end = (): void => { client.destroy(); upstream.destroy(); sockets.delete(client); sockets.delete(upstream) }
    client.on('error', end).on('close', end)
    upstream.on('error', end).on('close', end)
  })
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  proxy.port = (server.address() as { port: number }).port
  proxy.close = async () => {
    for (const s of sockets) s.destroy()
    await new Promise<void>(resolve => { server.close(() => { resolve() }) })
  }
  return proxy
}

/** `/ip4/127.0.0.1/tcp/<port>/p2p/<id>` → port. */
export function portOf (address: string): number {
  const m = /\/tcp\/(\d+)/.exec(address)
  if (m === null) throw new Error(`no TCP port in ${address}`)
  return Number(m[1])
}
