/**
 * Control socket client: finds a running node's socket and sends it requests
 * (see `./protocol.ts`). A `MeshError` raised by the node comes back as the
 * same `MeshError` (same `code`, `candidates`, `gateway`).
 */
import { createConnection, type Socket } from 'node:net'
import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import { abortError, fromWireError } from '../errors.ts'
import {
  CONTROL_SOCKET_SUFFIX, MAX_CONTROL_LINE_BYTES, controlDir, controlSocketPath,
  type ControlMethod, type ControlMethods, type ControlResponse
} from './protocol.ts'

/** Why the control socket could not be used (not a mesh failure). */
export type ControlUnavailableReason = 'not-running' | 'permission' | 'several' | 'disconnected'

/** The node could not be reached through its control socket. */
export class ControlUnavailableError extends Error {
  override name = 'ControlUnavailableError'
  readonly reason: ControlUnavailableReason
  /** For `several`: the names of the running nodes. */
  readonly nodes?: string[]

  constructor (reason: ControlUnavailableReason, message: string, options: { cause?: unknown, nodes?: string[] } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.reason = reason
    if (options.nodes !== undefined) this.nodes = options.nodes
  }
}

export class ControlClient {
  readonly path: string
  private readonly socket: Socket
  private nextId = 1
  private buffer = ''
  private readonly waiting = new Map<number, { resolve: (v: unknown) => void, reject: (e: unknown) => void }>()
  private closedError?: Error

  private constructor (path: string, socket: Socket) {
    this.path = path
    this.socket = socket
    socket.setEncoding('utf8')
    socket.on('data', (chunk: string) => { this.onData(chunk) })
    socket.on('error', (err) => { this.fail(new ControlUnavailableError('disconnected', `lost the control connection to ${path}: ${err.message}`, { cause: err })) })
    socket.on('close', () => { this.fail(new ControlUnavailableError('disconnected', `the node closed the control connection ${path}`)) })
  }

  /** Connects to the socket at `path`. */
  static async connect (path: string): Promise<ControlClient> {
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = createConnection(path)
      s.once('connect', () => { s.off('error', reject); resolve(s) })
      s.once('error', reject)
    }).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'EACCES' || err.code === 'EPERM') {
        throw new ControlUnavailableError('permission', `permission denied on the control socket ${path}: it belongs to another user (run the command as the node's user)`, { cause: err })
      }
      throw new ControlUnavailableError('not-running', `no node answers on ${path} (${err.code ?? err.message}); start one with \`clawmesh run\``, { cause: err })
    })
    return new ControlClient(path, socket)
  }

  /** Sends one request and waits for its response. */
  async request<M extends ControlMethod> (method: M, params?: ControlMethods[M]['params'], options: { signal?: AbortSignal } = {}): Promise<ControlMethods[M]['result']> {
    if (this.closedError !== undefined) throw this.closedError
    const id = this.nextId++
    const { promise, resolve, reject } = Promise.withResolvers<unknown>()
    this.waiting.set(id, { resolve, reject })
    const onAbort = (): void => {
      this.waiting.delete(id)
      if (options.signal !== undefined) reject(abortError(options.signal, `control request "${method}"`))
    }
    options.signal?.addEventListener('abort', onAbort, { once: true })
    this.socket.write(JSON.stringify({ id, method, params: params ?? {} }) + '\n')
    try {
      return await promise as ControlMethods[M]['result']
    } finally {
      options.signal?.removeEventListener('abort', onAbort)
    }
  }

  close (): void {
    this.socket.end()
    this.socket.destroy()
  }

  private onData (chunk: string): void {
    this.buffer += chunk
    let nl
    while ((nl = this.buffer.indexOf('\n')) >= 0) {
      const line = this.buffer.slice(0, nl)
      this.buffer = this.buffer.slice(nl + 1)
      if (line.trim() !== '') this.onResponse(line)
    }
    if (this.buffer.length > MAX_CONTROL_LINE_BYTES) {
      // Stop reading too: a node that never ends its line must not grow our buffer without bound.
      this.buffer = ''
      this.fail(new ControlUnavailableError('disconnected', 'control response too long'))
      this.socket.destroy()
    }
  }

  private onResponse (line: string): void {
    let response: ControlResponse
    try {
      response = JSON.parse(line) as ControlResponse
    } catch {
      return
    }
    if (typeof response.id !== 'number') {
      // An error the server could not tie to a request: fail everything pending.
      if (!response.ok) this.fail(fromWireError(response.error))
      return
    }
    const waiter = this.waiting.get(response.id)
    if (waiter === undefined) return
    this.waiting.delete(response.id)
    if (response.ok) waiter.resolve(response.result)
    else waiter.reject(fromWireError(response.error))
  }

  private fail (err: Error): void {
    this.closedError ??= err
    for (const w of this.waiting.values()) w.reject(err)
    this.waiting.clear()
  }
}

/** Names of the nodes with a socket in the state directory (live or stale). */
export async function listNodes (stateDir: string): Promise<string[]> {
  try {
    const names = await readdir(controlDir(stateDir))
    return names.filter(n => n.endsWith(CONTROL_SOCKET_SUFFIX)).map(n => n.slice(0, -CONTROL_SOCKET_SUFFIX.length)).sort()
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []
    if ((err as NodeJS.ErrnoException).code === 'EACCES') {
      throw new ControlUnavailableError('permission', `permission denied on ${controlDir(stateDir)}: it belongs to another user`, { cause: err })
    }
    throw err
  }
}

/**
 * Connects to the node named `name`, or to the only running node when no name
 * is given. Several running nodes and no name: `ControlUnavailableError('several')`.
 */
export async function connectToNode (stateDir: string, name?: string): Promise<ControlClient> {
  if (name !== undefined) return await ControlClient.connect(controlSocketPath(stateDir, name))
  const names = await listNodes(stateDir)
  if (names.length === 0) {
    throw new ControlUnavailableError('not-running', `no clawmesh node is running for state directory ${stateDir} (no socket in ${controlDir(stateDir)}); start one with \`clawmesh run\``)
  }
  const live: ControlClient[] = []
  const liveNames: string[] = []
  let firstError: unknown
  for (const n of names) {
    try {
      live.push(await ControlClient.connect(join(controlDir(stateDir), n + CONTROL_SOCKET_SUFFIX)))
      liveNames.push(n)
    } catch (err) {
      firstError ??= err
    }
  }
  if (live.length === 1) return live[0] as ControlClient
  for (const c of live) c.close()
  if (live.length === 0) throw firstError
  throw new ControlUnavailableError('several', `several nodes are running (${liveNames.join(', ')}); pick one with --node NAME`, { nodes: liveNames })
}
