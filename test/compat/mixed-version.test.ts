// Two builds of the wire in one mesh: the previous release (wire v1, commit e83c189, checked out
// from git into a temporary folder and run as a process) beside this build (wire v2, in process).
// Sessions are visible both ways and sends go both ways; a v2 Gateway that is linked only to the
// v2 one still sees and reaches the v1 Gateway. An incompatible peer is reported, on both sides
// when both are builds that can report.
import assert from 'node:assert/strict'
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { after, before, describe, it } from 'node:test'
import { createMesh, type IncompatiblePeer, type Mesh, type MeshOptions } from '../../src/index.ts'
import { waitUntil } from '../../src/testing.ts'

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
/** The last commit of wire v1. */
const V1_COMMIT = 'e83c189'
const FIXTURE = join(ROOT, 'test/fixtures/build-gateway.ts')
const SECRET = randomBytes(32).toString('hex')

/**
 * The v1 build's sources, as `git archive e83c189 src bin package.json | gzip -9n` wrote them.
 * Kept as a file rather than read from git so that the test runs in a shallow clone, or in a clone
 * owned by another user (git's safe.directory check), as CI's may be.
 */
const V1_SOURCES = join(ROOT, 'test/compat/fixtures', `wire-v1-${V1_COMMIT}.tar.gz`)

function options (name: string, extra: MeshOptions = {}): MeshOptions {
  return { name, listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false, discovery: { mdns: false, local: false }, secret: SECRET, ...extra }
}

/** A Gateway of the v1 build, in its own process. */
class V1Gateway {
  peerId = ''
  addresses: string[] = []
  private readonly child: ChildProcess
  private readonly waiting = new Map<number, (line: Record<string, unknown>) => void>()
  private nextId = 1
  private readonly ready: Promise<void>

  constructor (build: string, opts: MeshOptions) {
    this.child = spawn(process.execPath, [FIXTURE, build, JSON.stringify(opts)], { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, CLAWMESH_HOME: opts.stateDir } })
    this.ready = new Promise((resolve, reject) => {
      this.child.once('exit', code => { reject(new Error(`the v1 Gateway exited (${code}) before it was ready`)) })
      createInterface({ input: this.child.stdout! }).on('line', text => {
        const line = JSON.parse(text) as Record<string, unknown>
        if (line.event === 'ready') {
          this.peerId = line.peerId as string
          this.addresses = line.addresses as string[]
          resolve()
        } else if (typeof line.id === 'number') {
          this.waiting.get(line.id)?.(line)
        }
      })
    })
  }

  async started (): Promise<this> {
    await this.ready
    return this
  }

  async request<T = unknown> (cmd: string, args: Record<string, unknown> = {}): Promise<T> {
    const id = this.nextId++
    const answer = new Promise<Record<string, unknown>>(resolve => { this.waiting.set(id, resolve) })
    this.child.stdin!.write(JSON.stringify({ id, cmd, ...args }) + '\n')
    const line = await answer
    if (line.ok !== true) throw Object.assign(new Error(`v1 Gateway: ${cmd} failed: ${JSON.stringify(line.error)}`), line.error as object)
    return line.result as T
  }

  async stop (): Promise<void> {
    if (this.child.exitCode !== null) return
    const exited = new Promise(resolve => { this.child.once('exit', resolve) })
    this.child.stdin!.write(JSON.stringify({ id: 0, cmd: 'stop' }) + '\n')
    const timer = setTimeout(() => { this.child.kill('SIGKILL') }, 5_000)
    await exited
    clearTimeout(timer)
  }
}

/** Until `condition` holds (re-checked on `mesh`'s changes, and every 20 ms); fails naming `what` after 15 s. */
async function until (mesh: Mesh, what: string, condition: () => boolean): Promise<void> {
  await waitUntil(mesh, condition, 15_000).catch(err => { throw new Error(`${what}: ${(err as Error).message}`) })
}
const keys = (mesh: Mesh): string[] => mesh.sessions().map(s => s.qualifiedKey)
const loopback = (addresses: string[]): string => addresses.find(a => a.includes('/ip4/127.0.0.1/')) as string

describe('mixed versions: a v1 build and a v2 build in one mesh', () => {
  let folder = ''
  let build = ''
  const meshes: Mesh[] = []
  const olds: V1Gateway[] = []

  before(() => {
    folder = mkdtempSync(join(tmpdir(), 'clawmesh-mixed-'))
    build = join(folder, 'v1')
    execFileSync('mkdir', ['-p', build, join(folder, 'state')])
    // The old build's own sources, run on this checkout's dependencies (the same majors; its xsalsa20 is still installed).
    execFileSync('tar', ['-xzf', V1_SOURCES, '-C', build])
    symlinkSync(join(ROOT, 'node_modules'), join(build, 'node_modules'))
  })

  after(async () => {
    for (const old of olds) await old.stop()
    for (const mesh of meshes) await mesh.stop()
    if (folder !== '') rmSync(folder, { recursive: true, force: true })
  })

  async function v2 (name: string, extra: MeshOptions = {}): Promise<Mesh> {
    const mesh = await createMesh(options(name, { stateDir: join(folder, 'state'), deliver: async msg => ({ reply: `${name} got: ${msg.text}` }), ...extra }))
    meshes.push(mesh)
    return mesh
  }

  async function v1 (name: string, peers: string[]): Promise<V1Gateway> {
    const old = new V1Gateway(build, options(name, { peers, stateDir: join(folder, 'state') }))
    olds.push(old)
    return await old.started()
  }

  it('sessions are visible both ways and sends go both ways; a v2 Gateway linked only to the v2 one sees and reaches the v1 one', async () => {
    const hq = await v2('hq')
    await hq.announce('agent:main:hq')
    const old = await v1('old', [loopback(hq.status().addresses)])
    await old.request('announce', { sessionKey: 'agent:main:old' })
    await until(hq, 'hq lists the v1 Gateway\'s session', () => keys(hq).includes('gateway:old:agent:main:old'))
    await old.request('waitSession', { qualifiedKey: 'gateway:hq:agent:main:hq' })
    const peer = hq.peers().find(p => p.peerId === old.peerId)
    assert.equal(peer?.protocolVersion, 1, 'hq talks v1 with it')
    assert.equal(peer?.softwareVersion, undefined, 'a v1 Gateway does not tell its version')

    assert.equal((await hq.send('gateway:old:agent:main:old', 'from v2')).reply, 'old got: from v2')
    assert.equal((await old.request<{ reply: string }>('send', { target: 'gateway:hq:agent:main:hq', text: 'from v1' })).reply, 'hq got: from v1')

    // A v2 Gateway that dials only hq: the v1 Gateway's records reach it through hq, as they are.
    const branch = await v2('branch', { peers: [loopback(hq.status().addresses)] })
    await branch.announce('agent:main:branch')
    await until(branch, 'branch lists the v1 Gateway\'s session', () => keys(branch).includes('gateway:old:agent:main:old'))
    assert.equal(branch.peers().some(p => p.peerId === old.peerId), false, 'not linked to it')
    // Sending dials it, and it links: then the v1 Gateway sees branch's sessions too.
    assert.equal((await branch.send('gateway:old:agent:main:old', 'relayed')).reply, 'old got: relayed')
    await old.request('waitSession', { qualifiedKey: 'gateway:branch:agent:main:branch' })
    assert.equal((await old.request<{ reply: string }>('send', { target: 'gateway:branch:agent:main:branch', text: 'back' })).reply, 'branch got: back')

    // Changes of the v1 Gateway after start reach both.
    await old.request('announce', { sessionKey: 'agent:main:later' })
    await old.request('withdraw', { sessionKey: 'agent:main:old' })
    await until(hq, 'the change reaches hq and branch', () => [hq, branch].every(m => keys(m).includes('gateway:old:agent:main:later') && !keys(m).includes('gateway:old:agent:main:old')))
    for (const mesh of [hq, branch]) assert.deepEqual(mesh.status().rejected, [])

    // It stops: its goodbye (signed in v1 form) turns its sessions unreachable at once.
    await old.stop()
    await until(hq, 'hq marks the v1 Gateway unreachable', () => hq.sessions().find(s => s.qualifiedKey === 'gateway:old:agent:main:later')?.owner.reachable === false)
  })

  it('incompatible: a v2 Gateway that no longer speaks v1 reports the v1 Gateway clearly (the v1 build has no way to report)', async () => {
    const strict = await v2('strict', { protocolVersions: [2] })
    const reports: IncompatiblePeer[] = []
    strict.addEventListener('peer:incompatible', e => { reports.push(e.detail) })
    const old = await v1('old2', [loopback(strict.status().addresses)])
    await old.request('announce', { sessionKey: 'agent:main:old2' })
    await until(strict, 'strict reports the v1 Gateway', () => reports.length > 0)
    assert.equal(reports[0]?.peerId, old.peerId)
    assert.equal(reports[0]?.kind, 'no-common-version')
    assert.deepEqual(reports[0]?.versions, [1])
    assert.deepEqual(strict.status().incompatible?.map(p => p.peerId), [old.peerId])
    // No registry stream can open between them: nothing of the v1 Gateway's is listed.
    assert.equal(strict.sessions().some(s => s.owner.peerId === old.peerId), false)
    await assert.rejects(old.request('send', { target: strict.peerId, text: 'x' }))
  })
})

describe('incompatible peers, both builds able to report', () => {
  it('a Gateway speaking only v2 and one speaking only v1 each report the other, with its versions; neither lists the other\'s sessions', async () => {
    const meshes: Mesh[] = []
    try {
      const modern = await createMesh(options('modern', { protocolVersions: [2] }))
      meshes.push(modern)
      const legacy = await createMesh(options('legacy', { protocolVersions: [1], peers: [loopback(modern.status().addresses)] }))
      meshes.push(legacy)
      const reports = new Map<string, IncompatiblePeer>()
      modern.addEventListener('peer:incompatible', e => { reports.set('modern', e.detail) })
      legacy.addEventListener('peer:incompatible', e => { reports.set('legacy', e.detail) })
      await modern.announce('agent:main:m')
      await legacy.announce('agent:main:l')
      await until(modern, 'both sides report', () => reports.size === 2)
      assert.deepEqual([reports.get('modern')?.peerId, reports.get('modern')?.versions], [legacy.peerId, [1]])
      assert.deepEqual([reports.get('legacy')?.peerId, reports.get('legacy')?.versions], [modern.peerId, [2]])
      assert.match(reports.get('modern')?.agentVersion ?? '', /^clawmesh\//)
      for (const mesh of meshes) {
        assert.equal(mesh.status().incompatible?.length, 1)
        assert.equal(mesh.sessions().length, 1)
        assert.equal(mesh.peers().length, 0)
      }
      await assert.rejects(modern.send(legacy.peerId, 'x'), (err: { code?: string }) => err.code === 'NOT_FOUND')
    } finally {
      for (const mesh of meshes) await mesh.stop()
    }
  })
})
