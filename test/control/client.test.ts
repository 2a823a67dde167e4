/**
 * The control client against real Unix sockets: finding the node, failing
 * clearly when there is none or several, and surviving a server that
 * misbehaves (garbage, endless lines, hang-ups).
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { createServer, type Socket } from 'node:net'
import { createInterface } from 'node:readline'
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { MeshError } from '../../src/errors.ts'
import { ControlClient, ControlUnavailableError, connectToNode, listNodes } from '../../src/control/client.ts'
import { controlDir, controlSocketPath } from '../../src/control/protocol.ts'
import { startControlServer, type ControlServer } from '../../src/control/server.ts'
import { FakeMesh } from './fake-mesh.ts'

/** A hand-written server: `onLine` decides what to answer to each request line. `close()` hangs up on every client. */
async function fakeServer (path: string, onLine: (line: string, socket: Socket) => void): Promise<{ close: () => Promise<void> }> {
  const sockets = new Set<Socket>()
  const server = createServer(socket => {
    sockets.add(socket)
    socket.on('close', () => { sockets.delete(socket) })
    socket.on('error', () => {})
    createInterface({ input: socket }).on('line', (line) => { onLine(line, socket) }).on('error', () => {})
  })
  await new Promise<void>(resolve => { server.listen(path, resolve) })
  return {
    close: async () => {
      for (const s of sockets) s.destroy()
      await new Promise<void>(resolve => { server.close(() => { resolve() }) })
    }
  }
}

async function expectUnavailable (promise: Promise<unknown>, reason: string): Promise<ControlUnavailableError> {
  const err = await promise.then(() => undefined, (e: unknown) => e)
  assert.ok(err instanceof ControlUnavailableError, `expected ControlUnavailableError, got ${String(err)}`)
  assert.equal(err.reason, reason)
  return err
}

describe('control client', () => {
  let dir: string
  let n = 0
  const fresh = async (): Promise<string> => {
    const d = join(dir, `s${n++}`)
    await mkdir(controlDir(d), { recursive: true, mode: 0o700 })
    return d
  }
  before(async () => { dir = await mkdtemp(join(tmpdir(), 'clawmesh-client-')) })
  after(async () => { await rm(dir, { recursive: true, force: true }) })

  it('says no node runs when there is no socket, no folder, or only a dead socket', async () => {
    await expectUnavailable(connectToNode(join(dir, 'never-created')), 'not-running')
    const empty = await fresh()
    await expectUnavailable(connectToNode(empty), 'not-running')
    await expectUnavailable(connectToNode(empty, 'hq'), 'not-running')
    execFileSync('python3', ['-c', 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])', controlSocketPath(empty, 'ghost')])
    assert.deepEqual(await listNodes(empty), ['ghost'])
    await expectUnavailable(connectToNode(empty), 'not-running')
  })

  it('finds the only live node beside dead sockets; several live ones need a name', async () => {
    const stateDir = await fresh()
    execFileSync('python3', ['-c', 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])', controlSocketPath(stateDir, 'ghost')])
    const servers: ControlServer[] = []
    try {
      for (const name of ['hq', 'hangzhou']) {
        servers.push(await startControlServer({ mesh: new FakeMesh(), path: controlSocketPath(stateDir, name), info: { name } }))
        if (name === 'hq') {
          const only = await connectToNode(stateDir)
          assert.equal((await only.request('hello')).name, 'hq')
          only.close()
        }
      }
      const several = await expectUnavailable(connectToNode(stateDir), 'several')
      assert.deepEqual(several.nodes, ['hangzhou', 'hq'])
      const named = await connectToNode(stateDir, 'hangzhou')
      assert.equal((await named.request('hello')).name, 'hangzhou')
      named.close()
      assert.deepEqual(await listNodes(stateDir), ['ghost', 'hangzhou', 'hq'])
    } finally {
      await Promise.all(servers.map(async s => { await s.stop() }))
    }
  })

  it('rejects a request with ABORTED when its signal fires, and keeps the connection for the next', async () => {
    const stateDir = await fresh()
    const path = controlSocketPath(stateDir, 'slow')
    const server = await fakeServer(path, (line, socket) => {
      const request = JSON.parse(line) as { id: number, method: string }
      if (request.method === 'hello') socket.write(JSON.stringify({ id: request.id, ok: true, result: { name: 'slow' } }) + '\n')
      // Anything else is never answered.
    })
    const client = await ControlClient.connect(path)
    try {
      const controller = new AbortController()
      const pending = client.request('status', {}, { signal: controller.signal }).catch((e: unknown) => e)
      controller.abort()
      const err = await pending
      assert.ok(err instanceof MeshError)
      assert.equal(err.code, 'ABORTED')
      assert.equal((await client.request('hello')).name, 'slow')
    } finally {
      client.close()
      await server.close()
    }
  })

  it('ignores garbage and unknown ids; an unattributed error fails what is pending; a hang-up fails the rest', async () => {
    const stateDir = await fresh()
    const path = controlSocketPath(stateDir, 'odd')
    const server = await fakeServer(path, (line, socket) => {
      const request = JSON.parse(line) as { id: number, method: string }
      if (request.method === 'hello') {
        socket.write('not json\n{"id":999,"ok":true,"result":1}\n\n')
        socket.write(JSON.stringify({ id: request.id, ok: false, error: { code: 'SELF_DESTRUCT', message: 'm', hint: { kind: 'rm -rf' }, candidates: [1, 'gateway:a:b'] } }) + '\n')
      } else if (request.method === 'status') {
        socket.write(JSON.stringify({ id: null, ok: false, error: { code: 'TOO_LARGE', message: 'too long' } }) + '\n')
      } else {
        socket.destroy()
      }
    })
    try {
      const client = await ControlClient.connect(path)
      const odd = await client.request('hello').catch((e: unknown) => e)
      assert.ok(odd instanceof MeshError)
      assert.equal(odd.code, 'REMOTE_ERROR', 'an unknown code is not passed on as if it were one of ours')
      assert.equal(odd.hint, undefined)
      assert.deepEqual(odd.candidates, ['gateway:a:b'])
      const unattributed = await client.request('status').catch((e: unknown) => e)
      assert.ok(unattributed instanceof MeshError)
      assert.equal(unattributed.code, 'TOO_LARGE')
      client.close()

      const other = await ControlClient.connect(path)
      await expectUnavailable(other.request('peers'), 'disconnected')
      await expectUnavailable(other.request('hello'), 'disconnected')
      other.close()
    } finally {
      await server.close()
    }
  })

  it('gives up on a response line longer than its limit instead of buffering it', async () => {
    const stateDir = await fresh()
    const path = controlSocketPath(stateDir, 'flood')
    const chunk = 'x'.repeat(1024 * 1024)
    const hungUp = Promise.withResolvers<void>()
    const server = await fakeServer(path, (_line, socket) => {
      socket.once('close', () => { hungUp.resolve() })
      // An endless line: the client must stop reading it, not grow without bound.
      const more = (): void => {
        while (!socket.destroyed && socket.write(chunk)) { /* fill */ }
        if (!socket.destroyed) socket.once('drain', more)
      }
      more()
    })
    const client = await ControlClient.connect(path)
    try {
      await expectUnavailable(client.request('hello'), 'disconnected')
      // The client hangs up by itself (before close()): it does not go on reading the flood.
      await hungUp.promise
      await expectUnavailable(client.request('hello'), 'disconnected')
    } finally {
      client.close()
      await server.close()
    }
  })
})
