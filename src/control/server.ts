/**
 * The control socket server: lets local tools (the `clawmesh` CLI, later the
 * OpenClaw plugin's own commands) drive a running mesh node. See
 * `./protocol.ts` for the wire format.
 *
 * Only the node's user may connect: the socket folder is ours and mode 0700 and
 * the socket itself is chmod 0600 before the server reports it is listening.
 * A socket file left by a crashed node is detected (nobody answers on it) and
 * replaced; a live one makes `start()` fail, so two nodes never share a name.
 */
import { createConnection, createServer, type Server, type Socket } from 'node:net'
import { chmod, mkdir, unlink } from 'node:fs/promises'
import { dirname } from 'node:path'
import { MeshError, toWireError } from '../errors.ts'
import { assertPrivateDir } from '../security/file-safety.ts'
import {
  CONTROL_PROTOCOL_VERSION, MAX_CONTROL_LINE_BYTES,
  type ControlRequest, type InviteParams, type InviteResult, type ControlResponse, type NodeInfo, type SecretResult, type SendParams, type ResolveParams
} from './protocol.ts'
import type { Mesh } from '../mesh.ts'
import type { MeshSnapshot } from '../observe/snapshot.ts'
import type { InviteInfo } from '../types.ts'

/** What the server needs of a mesh (a `Mesh` from `createMesh` has it all). */
export type ControlledMesh = Pick<Mesh, 'status' | 'peers' | 'sessions' | 'resolve' | 'send'>

export interface ControlServerInit {
  mesh: ControlledMesh
  /** The socket path, normally `controlSocketPath(stateDir, name)`. */
  path: string
  /** Shown by `hello` and `status`. */
  info: Omit<NodeInfo, 'socket' | 'protocol' | 'pid'>
  /** Answers the `secret` method; without it, `secret` fails with `NOT_FOUND`. */
  secret?: () => SecretResult | Promise<SecretResult>
  /** Answers the `observe` method (the live views); without it, `observe` fails with `NOT_FOUND`. */
  snapshot?: () => MeshSnapshot
  /** Answers `invite`, `invites` and `revokeInvite`; without it they fail with `NOT_FOUND`. */
  invites?: {
    create: (params: InviteParams) => Promise<InviteResult>
    list: () => InviteInfo[]
    revoke: (id: string) => Promise<boolean>
  }
}

export class ControlServer {
  readonly path: string
  private readonly init: ControlServerInit
  private server?: Server
  private readonly sockets = new Set<Socket>()
  private readonly pending = new Set<AbortController>()

  constructor (init: ControlServerInit) {
    this.init = init
    this.path = init.path
  }

  get info (): NodeInfo {
    return { ...this.init.info, pid: process.pid, socket: this.path, protocol: CONTROL_PROTOCOL_VERSION }
  }

  /**
   * Listens on the socket (mode 0600). Fails when a live node already answers on it.
   *
   * No one else can reach the socket between `listen` and `chmod`: its folder is ours and 0700
   * (checked after the chmod, so a folder someone else owns or a symlink to one is refused).
   * That is what makes the socket private from its first instant; changing the process-wide
   * umask for the moment would also narrow files the rest of the Gateway creates meanwhile.
   */
  async start (): Promise<void> {
    const dir = dirname(this.path)
    await mkdir(dir, { recursive: true, mode: 0o700 })
    await chmod(dir, 0o700)
    await assertPrivateDir(dir, 'the control socket folder')
    if (await isAlive(this.path)) {
      throw new MeshError('BAD_REQUEST', `another node already listens on ${this.path}; pick another --name or stop that node`)
    }
    await unlink(this.path).catch(() => {})
    const server = createServer(socket => { this.accept(socket) })
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(this.path, () => { server.off('error', reject); resolve() })
    })
    await chmod(this.path, 0o600)
    this.server = server
  }

  /** Aborts pending requests, closes every connection and removes the socket. Idempotent. */
  async stop (): Promise<void> {
    const server = this.server
    if (server === undefined) return
    this.server = undefined
    for (const c of this.pending) c.abort(new MeshError('STOPPED', 'the node is shutting down'))
    for (const s of this.sockets) s.destroy()
    await new Promise<void>(resolve => { server.close(() => { resolve() }) })
    await unlink(this.path).catch(() => {})
  }

  private accept (socket: Socket): void {
    this.sockets.add(socket)
    const controllers = new Set<AbortController>()
    let buffer = ''
    socket.setEncoding('utf8')
    socket.on('data', (chunk: string) => {
      buffer += chunk
      let nl
      while ((nl = buffer.indexOf('\n')) >= 0) {
        const line = buffer.slice(0, nl)
        buffer = buffer.slice(nl + 1)
        if (line.trim() !== '') this.handleLine(socket, line, controllers)
      }
      if (buffer.length > MAX_CONTROL_LINE_BYTES) {
        write(socket, { id: null, ok: false, error: { code: 'TOO_LARGE', message: `control request longer than ${MAX_CONTROL_LINE_BYTES} bytes` } })
        // end() alone would go on reading (and buffering) a client that keeps sending: close after the answer.
        buffer = ''
        socket.pause()
        socket.end(() => { socket.destroy() })
      }
    })
    socket.on('error', () => {})
    socket.on('close', () => {
      this.sockets.delete(socket)
      // The client went away: nobody waits for these answers any more.
      for (const c of controllers) c.abort(new MeshError('ABORTED', 'the control client disconnected'))
    })
  }

  private handleLine (socket: Socket, line: string, controllers: Set<AbortController>): void {
    let request: ControlRequest
    try {
      const parsed: unknown = JSON.parse(line)
      if (typeof parsed !== 'object' || parsed === null || typeof (parsed as ControlRequest).method !== 'string') throw new Error('not a request object')
      request = parsed as ControlRequest
    } catch {
      write(socket, { id: null, ok: false, error: { code: 'BAD_REQUEST', message: 'a control request is one JSON object per line: {"id":1,"method":"status"}' } })
      return
    }
    const id = typeof request.id === 'number' || typeof request.id === 'string' ? request.id : null
    const controller = new AbortController()
    controllers.add(controller)
    this.pending.add(controller)
    this.dispatch(request.method, request.params ?? {}, controller.signal).then(
      result => { write(socket, { id, ok: true, result }) },
      (err: unknown) => { write(socket, { id, ok: false, error: toWireError(err) }) }
    ).finally(() => {
      controllers.delete(controller)
      this.pending.delete(controller)
    })
  }

  private async dispatch (method: string, params: unknown, signal: AbortSignal): Promise<unknown> {
    const mesh = this.init.mesh
    const p = (typeof params === 'object' && params !== null ? params : {}) as Record<string, unknown>
    switch (method) {
      case 'hello':
        return this.info
      case 'status':
        return { ...mesh.status(), node: this.info }
      case 'peers':
        return mesh.peers()
      case 'sessions': {
        const owner = optionalString(p, 'owner')
        const all = mesh.sessions()
        if (owner === undefined) return all
        return all.filter(s => s.owner.name === owner || s.owner.peerId === owner || String(s.owner.gatewayPort) === owner)
      }
      case 'resolve': {
        const r = p as unknown as ResolveParams
        return mesh.resolve(requiredString(p, 'target'), {
          ...(r.targetGateway !== undefined ? { targetGateway: optionalString(p, 'targetGateway') } : {}),
          ...(typeof r.localFirst === 'boolean' ? { localFirst: r.localFirst } : {})
        })
      }
      case 'send': {
        const s = p as unknown as SendParams
        const target = requiredString(p, 'target')
        const message = requiredString(p, 'message')
        return await mesh.send(target, message, {
          signal,
          ...(typeof s.waitForReply === 'boolean' ? { waitForReply: s.waitForReply } : {}),
          ...(typeof s.timeoutMs === 'number' && s.timeoutMs > 0 ? { timeoutMs: s.timeoutMs } : {}),
          ...(typeof s.localFirst === 'boolean' ? { localFirst: s.localFirst } : {}),
          ...(s.targetGateway !== undefined ? { targetGateway: optionalString(p, 'targetGateway') } : {})
        })
      }
      case 'secret':
        if (this.init.secret === undefined) throw new MeshError('NOT_FOUND', 'this node does not share its secret over the control socket')
        return await this.init.secret()
      case 'observe':
        if (this.init.snapshot === undefined) throw new MeshError('NOT_FOUND', 'this node does not serve the live view over the control socket')
        return this.init.snapshot()
      case 'invite':
      case 'invites':
      case 'revokeInvite':
        return await this.inviteMethod(method, p)
      default:
        throw new MeshError('BAD_REQUEST', `unknown control method "${method}"`)
    }
  }
  private async inviteMethod (method: 'invite' | 'invites' | 'revokeInvite', p: Record<string, unknown>): Promise<unknown> {
    const invites = this.init.invites
    if (invites === undefined) throw new MeshError('NOT_FOUND', 'this node does not hand out invites over the control socket')
    if (method === 'invites') return invites.list()
    if (method === 'revokeInvite') return { revoked: await invites.revoke(requiredString(p, 'id')) }
    const addresses = p.addresses
    if (addresses !== undefined && (!Array.isArray(addresses) || !addresses.every(a => typeof a === 'string'))) throw new MeshError('BAD_REQUEST', '"addresses" must be a list of multiaddrs')
    return await invites.create({
      ...(typeof p.ttlMs === 'number' ? { ttlMs: p.ttlMs } : {}),
      ...(addresses !== undefined ? { addresses: addresses as string[] } : {})
    })
  }
}

/** Starts a control server (see {@link ControlServer}). */
export async function startControlServer (init: ControlServerInit): Promise<ControlServer> {
  const server = new ControlServer(init)
  await server.start()
  return server
}

function requiredString (params: Record<string, unknown>, key: string): string {
  const value = params[key]
  if (typeof value !== 'string' || value === '') throw new MeshError('BAD_REQUEST', `"${key}" must be a non-empty string`)
  return value
}

function optionalString (params: Record<string, unknown>, key: string): string | undefined {
  const value = params[key]
  if (value === undefined || value === null) return undefined
  if (typeof value !== 'string') throw new MeshError('BAD_REQUEST', `"${key}" must be a string`)
  return value
}

function write (socket: Socket, response: ControlResponse): void {
  if (!socket.destroyed && socket.writable) socket.write(JSON.stringify(response) + '\n')
}

/** Whether a node answers on `path` (a connection is accepted). */
async function isAlive (path: string): Promise<boolean> {
  return await new Promise<boolean>(resolve => {
    const socket = createConnection(path)
    socket.once('connect', () => { socket.destroy(); resolve(true) })
    socket.once('error', () => { resolve(false) })
  })
}
