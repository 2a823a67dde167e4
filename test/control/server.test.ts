/**
 * The control server with a real Unix socket in a temporary folder, a
 * hand-played mesh behind it, and clients written by hand (raw lines) or the
 * real ControlClient.
 */
import { after, afterEach, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { createConnection, type Socket } from 'node:net'
import { createInterface } from 'node:readline'
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MeshError, toWireError } from '../../src/errors.ts'
import { ControlClient } from '../../src/control/client.ts'
import { CONTROL_PROTOCOL_VERSION, MAX_CONTROL_LINE_BYTES, controlSocketPath } from '../../src/control/protocol.ts'
import { ControlServer, startControlServer } from '../../src/control/server.ts'
import { FakeMesh, aborted } from './fake-mesh.ts'

/** A raw client: write lines, read parsed response lines as they come. */
async function raw (path: string): Promise<{ socket: Socket, send: (line: string) => void, next: () => Promise<Record<string, unknown>>, closed: Promise<void> }> {
  const socket = createConnection(path)
  await new Promise<void>((resolve, reject) => { socket.once('connect', resolve); socket.once('error', reject) })
  const lines: string[] = []
  const waiting: Array<(line: string) => void> = []
  createInterface({ input: socket }).on('line', (line) => {
    const w = waiting.shift()
    if (w !== undefined) w(line)
    else lines.push(line)
  }).on('error', () => {})
  const closed = new Promise<void>(resolve => { socket.once('close', () => { resolve() }) })
  return {
    socket,
    send: (line) => { socket.write(line + '\n') },
    next: async () => {
      const line = lines.shift() ?? await new Promise<string>(resolve => { waiting.push(resolve) })
      return JSON.parse(line) as Record<string, unknown>
    },
    closed
  }
}

describe('control server', () => {
  let dir: string
  let mesh: FakeMesh
  let server: ControlServer
  let path: string
  const clients: ControlClient[] = []

  before(async () => { dir = await mkdtemp(join(tmpdir(), 'clawmesh-control-')) })
  after(async () => { await rm(dir, { recursive: true, force: true }) })

  const startServer = async (name = 'hq', withSecret = true): Promise<void> => {
    mesh = new FakeMesh()
    path = controlSocketPath(dir, name)
    server = await startControlServer({
      mesh,
      path,
      info: { name, meshId: '0123456789abcdef', stateDir: dir },
      ...(withSecret ? { secret: () => ({ meshId: '0123456789abcdef', hex: 'ab'.repeat(32), swarmKey: 'k', instructions: 'i', source: 'option' }) } : {})
    })
  }
  const client = async (): Promise<ControlClient> => {
    const c = await ControlClient.connect(path)
    clients.push(c)
    return c
  }
  afterEach(async () => {
    for (const c of clients.splice(0)) c.close()
    await server?.stop()
  })

  it('listens on a 0600 socket in a 0700 folder and says who it is', async () => {
    await startServer()
    assert.equal((await stat(path)).mode & 0o777, 0o600)
    assert.equal((await stat(join(dir, 'run'))).mode & 0o777, 0o700)
    const hello = await (await client()).request('hello')
    assert.deepEqual(hello, { name: 'hq', meshId: '0123456789abcdef', stateDir: dir, pid: process.pid, socket: path, protocol: CONTROL_PROTOCOL_VERSION })
    const status = await (await client()).request('status')
    assert.equal(status.self.name, 'hq')
    assert.equal(status.node.name, 'hq')
  })

  it('answers every method, passing the options on', async () => {
    await startServer()
    const c = await client()
    assert.equal((await c.request('peers'))[0]?.name, 'hangzhou')
    assert.equal((await c.request('sessions')).length, 3)
    for (const owner of ['hangzhou', '12D3KooWHz', '18790']) {
      assert.deepEqual((await c.request('sessions', { owner })).map(s => s.qualifiedKey), ['gateway:hangzhou:agent:main:main', 'gateway:hangzhou:agent:research:main'], owner)
    }
    assert.equal((await c.request('resolve', { target: 'agent:x:main', targetGateway: 'hangzhou' })).via, 'targetGateway')
    const r = await c.request('send', { target: 'agent:main:main', message: 'hi', waitForReply: false, timeoutMs: 1234, localFirst: false, targetGateway: 'hangzhou' })
    assert.equal(r.reply, 're: hi')
    const call = mesh.sends[0]
    assert.equal(call?.options.waitForReply, false)
    assert.equal(call?.options.timeoutMs, 1234)
    assert.equal(call?.options.localFirst, false)
    assert.equal(call?.options.targetGateway, 'hangzhou')
    assert.ok(call?.options.signal instanceof AbortSignal)
    assert.equal((await c.request('secret')).hex, 'ab'.repeat(32))
  })

  it('carries a MeshError across as the same MeshError: code, candidates, hint, summary', async () => {
    await startServer()
    const c = await client()
    const ambiguous = await c.request('resolve', { target: 'agent:main:main', localFirst: false }).catch((e: unknown) => e)
    assert.ok(ambiguous instanceof MeshError)
    assert.equal(ambiguous.code, 'AMBIGUOUS')
    assert.deepEqual(ambiguous.candidates, ['gateway:hq:agent:main:main', 'gateway:hangzhou:agent:main:main'])
    assert.deepEqual(ambiguous.hint, { kind: 'pick-candidate' })
    const missing = await c.request('resolve', { target: 'nope' }).catch((e: unknown) => e)
    assert.ok(missing instanceof MeshError)
    const local = new MeshError('NOT_FOUND', 'No session "nope" in the mesh', { hint: { kind: 'list-sessions' } })
    assert.equal(missing.message, local.message)
    assert.equal(missing.summary, local.summary)
    assert.deepEqual(missing.hint, { kind: 'list-sessions' })
    // A remote Gateway's failure keeps its Gateway and remote flag.
    mesh.onSend = async () => { throw new MeshError('FORBIDDEN', 'denied', { gateway: 'hangzhou', remote: true }) }
    const forbidden = await c.request('send', { target: 'k', message: 'm' }).catch((e: unknown) => e)
    assert.ok(forbidden instanceof MeshError)
    assert.equal(forbidden.code, 'FORBIDDEN')
    assert.equal(forbidden.gateway, 'hangzhou')
    assert.equal(forbidden.remote, true)
    // Anything else is REMOTE_ERROR, never a crash of the node.
    mesh.onSend = async () => { throw new TypeError('boom') }
    const odd = await c.request('send', { target: 'k', message: 'm' }).catch((e: unknown) => e)
    assert.ok(odd instanceof MeshError)
    assert.equal(odd.code, 'REMOTE_ERROR')
    assert.equal(toWireError('a string').code, 'REMOTE_ERROR')
  })

  it('refuses bad requests with BAD_REQUEST and keeps serving', async () => {
    await startServer('hq', false)
    const r = await raw(path)
    const codeOf = (response: Record<string, unknown>): unknown => (response.error as { code?: unknown } | undefined)?.code
    r.send('this is not json')
    const garbage = await r.next()
    assert.equal(garbage.id, null)
    assert.equal(codeOf(garbage), 'BAD_REQUEST')
    for (const [line, id] of [['[1,2]', null], ['{"id":1}', null], ['{"id":2,"method":"launch"}', 2], ['{"id":3,"method":"send","params":{"target":7,"message":"m"}}', 3],
      ['{"id":4,"method":"send","params":{"target":"k"}}', 4], ['{"id":5,"method":"sessions","params":{"owner":["x"]}}', 5], ['{"id":6,"method":"secret"}', 6],
      ['{"id":{"x":1},"method":"hello"}', null]] as const) {
      r.send(line)
      const response = await r.next()
      assert.equal(response.id, id, line)
      if (line.includes('"secret"')) assert.equal(codeOf(response), 'NOT_FOUND', line)
      else if (!line.includes('"hello"')) assert.equal(codeOf(response), 'BAD_REQUEST', line)
    }
    assert.equal(mesh.sends.length, 0, 'nothing bad reached the mesh')
    // Blank lines are ignored; the connection still works.
    r.send('')
    r.send('{"id":"last","method":"hello"}')
    const hello = await r.next()
    assert.equal(hello.id, 'last')
    assert.equal(hello.ok, true)
    r.socket.destroy()
  })

  it('answers out of order: a slow send does not hold back a status', async () => {
    await startServer()
    const release = Promise.withResolvers<void>()
    mesh.onSend = async (call) => {
      await release.promise
      return { status: 'ok', reply: 'late', owner: mesh.peers()[0]!, sessionKey: call.target, qualifiedKey: 'q', messageId: 'm' }
    }
    const c = await client()
    const slow = c.request('send', { target: 'k', message: 'm' })
    const status = await c.request('status')
    assert.equal(status.self.name, 'hq')
    release.resolve()
    assert.equal((await slow).reply, 'late')
  })

  it('aborts a pending send when its client goes away (ABORTED), and every pending one on stop (STOPPED)', async () => {
    await startServer()
    let arrived = Promise.withResolvers<AbortSignal>()
    mesh.onSend = async (call) => {
      arrived.resolve(call.options.signal as AbortSignal)
      throw await aborted(call.options.signal)
    }
    const gone = await client()
    void gone.request('send', { target: 'k', message: 'm' }).catch(() => {})
    const first = await arrived.promise
    gone.close()
    const reason = await aborted(first)
    assert.ok(reason instanceof MeshError)
    assert.equal(reason.code, 'ABORTED')

    arrived = Promise.withResolvers<AbortSignal>()
    const staying = await client()
    const pending = staying.request('send', { target: 'k', message: 'm' }).catch((e: unknown) => e)
    const second = await arrived.promise
    await server.stop()
    const stopped = await aborted(second)
    assert.ok(stopped instanceof MeshError)
    assert.equal(stopped.code, 'STOPPED')
    await pending
    assert.ok(!existsSync(path), 'the socket is removed')
    await server.stop() // idempotent
  })

  it('cuts off a line longer than its limit with TOO_LARGE', async () => {
    await startServer()
    const r = await raw(path)
    r.socket.write('{"id":1,"method":"send","params":{"target":"k","message":"' + 'x'.repeat(MAX_CONTROL_LINE_BYTES) + '"}}')
    const response = await r.next()
    assert.equal((response.error as { code: string }).code, 'TOO_LARGE')
    await r.closed
    assert.equal(mesh.sends.length, 0)
  })

  it('stops reading a client that goes on sending after its line was cut off', async () => {
    await startServer()
    // A client that keeps its half of the connection open and never ends its line.
    const socket = createConnection({ path, allowHalfOpen: true })
    socket.on('error', () => {})
    await new Promise<void>(resolve => { socket.once('connect', () => { resolve() }) })
    const closed = new Promise<void>(resolve => { socket.once('close', () => { resolve() }) })
    const chunk = 'x'.repeat(1024 * 1024)
    const flood = (): void => {
      while (!socket.destroyed && socket.write(chunk)) { /* fill */ }
      if (!socket.destroyed) socket.once('drain', flood)
    }
    flood()
    await closed
    assert.equal(mesh.sends.length, 0)
  })

  it('replaces a socket nobody answers on, and refuses to start beside a live one', async () => {
    path = controlSocketPath(dir, 'phoenix')
    // A crashed node's socket: bound by a process that exited without removing it.
    await mkdir(join(dir, 'run'), { recursive: true, mode: 0o700 })
    execFileSync('python3', ['-c', 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(1)', path])
    assert.ok((await stat(path)).isSocket())
    await startServer('phoenix')
    assert.equal((await (await client()).request('hello')).name, 'phoenix')
    const second = new ControlServer({ mesh, path, info: { name: 'phoenix' } })
    const refused = await second.start().catch((e: unknown) => e)
    assert.ok(refused instanceof MeshError)
    assert.equal(refused.code, 'BAD_REQUEST')
    assert.equal((await (await client()).request('hello')).pid, process.pid, 'the first server still answers')
  })
})
