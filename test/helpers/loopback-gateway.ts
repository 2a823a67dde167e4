/**
 * A Gateway as its own process on loopback (`test/fixtures/gateway-process.ts`),
 * for tests that need many Gateways without sharing one event loop. Lines on
 * stdout are parsed as they come and not kept, so long runs stay small.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createWriteStream } from 'node:fs'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { RemoteError } from './gateway.ts'

const script = fileURLToPath(new URL('../fixtures/gateway-process.ts', import.meta.url))

export class LoopbackGateway {
  readonly name: string
  /** Its peer ID and addresses, once ready. */
  peerId = ''
  addresses: string[] = []
  private readonly child: ChildProcess
  private readonly pending = new Map<number, { resolve: (value: unknown) => void, reject: (err: Error) => void }>()
  /** Called with each event line (`{ event, detail }`; with option `quiet: false`, reachability and sessions too). */
  readonly onEvent = new Set<(event: string, detail: unknown) => void>()
  /** The last 50 lines of its stderr (for a failure message). */
  readonly stderrTail: string[] = []
  private nextId = 1
  private exited = false
  readonly ready: Promise<void>
  readonly exit: Promise<number | null>

  /** Starts `node [--expose-gc] gateway-process.ts <options>` with `env` added to ours. */
  constructor (options: Record<string, unknown> & { name: string }, env: NodeJS.ProcessEnv = {}) {
    this.name = options.name
    this.child = spawn(process.execPath, ['--expose-gc', script, JSON.stringify({ quiet: true, ...options })], {
      env: { ...process.env, ...env },
      stdio: ['pipe', 'pipe', 'pipe']
    })
    let started: () => void
    this.ready = new Promise(resolve => { started = resolve })
    this.exit = new Promise(resolve => {
      this.child.on('exit', (code) => {
        this.exited = true
        for (const { reject } of this.pending.values()) reject(new Error(`${this.name} exited (${String(code)}): ${this.stderrTail.join('\n')}`))
        this.pending.clear()
        resolve(code)
      })
    })
    createInterface({ input: this.child.stdout! }).on('line', (line) => {
      let msg: { id?: number, ok?: boolean, result?: unknown, error?: { name?: string, code?: string, message?: string }, event?: string, detail?: unknown, peerId?: string, addresses?: string[] }
      try {
        msg = JSON.parse(line) as typeof msg
      } catch {
        return
      }
      if (msg.event === 'ready') {
        this.peerId = msg.peerId ?? ''
        this.addresses = msg.addresses ?? []
        started()
      }
      if (msg.event !== undefined) for (const listener of this.onEvent) listener(msg.event, msg.detail)
      if (msg.id === undefined) return
      const waiter = this.pending.get(msg.id)
      this.pending.delete(msg.id)
      if (msg.ok === true) waiter?.resolve(msg.result)
      else waiter?.reject(new RemoteError({ ...msg.error, message: `${this.name}: ${msg.error?.message ?? 'failed'}` }))
    })
    // Diagnosing a long run: CLAWMESH_TEST_LOG_DIR keeps each Gateway's whole stderr (with DEBUG=clawmesh:*, its log).
    const logDir = process.env.CLAWMESH_TEST_LOG_DIR
    const logFile = logDir !== undefined ? createWriteStream(join(logDir, `${this.name}.log`)) : undefined
    createInterface({ input: this.child.stderr! }).on('line', (line) => {
      logFile?.write(line + '\n')
      this.stderrTail.push(line)
      if (this.stderrTail.length > 50) this.stderrTail.shift()
    })
  }

  /** Sends a command and waits for its answer (the process's own waits have their own timeouts). */
  async request<T = unknown> (cmd: string, args: Record<string, unknown> = {}): Promise<T> {
    if (this.exited) throw new Error(`${this.name} has exited`)
    const id = this.nextId++
    const answer = new Promise<unknown>((resolve, reject) => { this.pending.set(id, { resolve, reject }) })
    this.child.stdin!.write(JSON.stringify({ id, cmd, ...args }) + '\n')
    return await answer as T
  }

  /** Its loopback address (with `/p2p/<peer ID>`), once ready. */
  get address (): string {
    const address = this.addresses.find(a => a.includes('/ip4/127.0.0.1/'))
    if (address === undefined) throw new Error(`${this.name} has no loopback address`)
    return address
  }

  /** Sends a signal to the process, by its PID (SIGKILL, SIGSTOP, SIGCONT). */
  signal (signal: NodeJS.Signals): void {
    this.child.kill(signal)
  }

  /** Asks it to stop, and kills it (by PID) if it has not within 10 s. */
  async stop (): Promise<void> {
    if (this.exited) return
    this.child.stdin!.end()
    const timer = setTimeout(() => { this.child.kill('SIGKILL') }, 10_000)
    await this.exit
    clearTimeout(timer)
  }
}
