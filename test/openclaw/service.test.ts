// The plugin's service (src/openclaw/service.ts, node.ts) with real mesh nodes on 127.0.0.1 and a
// stand-in for OpenClaw's runtime: the control socket the CLI reaches, config changes and restarts,
// the privacy default, the keyring passed through, start failures reported as the service's health,
// and the mesh's events in OpenClaw's log (refusals rate-limited).
import assert from 'node:assert/strict'
import { execFile, spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { after, describe, it } from 'node:test'
import { createMesh, type Mesh } from '../../src/index.ts'
import { connectToNode } from '../../src/control/client.ts'
import type { HostConfig, HostSessionEntry, PluginLogger, ServiceContext, SessionsChangedEvent } from '../../src/openclaw/host.ts'
import { MeshService, type MeshSlot } from '../../src/openclaw/service.ts'
import type { MeshHolder } from '../../src/openclaw/tools.ts'
import { REFUSALS_PER_MINUTE } from '../../src/openclaw/mesh-log.ts'
import { exportSecret, generateSecret, parseSecret } from '../../src/security/secret.ts'
import { waitForResolvable, waitUntil } from '../../src/testing.ts'
import { fakeHost, type FakeHost } from './fake-host.ts'

const run = promisify(execFile)
const ROOT = join(import.meta.dirname, '..', '..')
const root = mkdtempSync(join(tmpdir(), 'clawmesh-service-'))
after(() => { rmSync(root, { recursive: true, force: true }) })
let folders = 0

interface Gateway {
  service: MeshService
  holder: MeshHolder
  slot: MeshSlot
  host: FakeHost
  ctx: ServiceContext
  lines: string[]
  failures: string[]
  sessionsChanged: (event: SessionsChangedEvent) => void
  mesh: () => Mesh
}

/** A Gateway as the service sees it: its config, state folder, logger, session events and health. */
function gateway (opts: { pluginConfig?: Record<string, unknown>, sessions?: Record<string, HostSessionEntry>, stateDir: string, gatewayPort?: number, slot?: MeshSlot, holder?: MeshHolder }): Gateway {
  const dir = join(root, `gw${folders++}`)
  mkdirSync(dir, { recursive: true })
  const config: HostConfig = { gateway: { port: opts.gatewayPort ?? 18789 } }
  const host = fakeHost({ sessions: opts.sessions ?? {}, config })
  const lines: string[] = []
  const failures: string[] = []
  const logger: PluginLogger = { info: m => lines.push(`info ${m}`), warn: m => lines.push(`warn ${m}`), error: m => lines.push(`error ${m}`) }
  const handlers: Array<(e: SessionsChangedEvent) => void> = []
  const ctx: ServiceContext = {
    config,
    stateDir: dir,
    logger,
    gatewayEvents: { onSessionsChanged: h => { handlers.push(h); return () => { handlers.splice(handlers.indexOf(h), 1) } } },
    serviceHealth: { reportFailure: e => failures.push(e instanceof Error ? e.message : String(e)), clearFailure: () => { failures.length = 0 } }
  }
  const holder = opts.holder ?? { defaultTimeoutSeconds: 30 }
  const slot = opts.slot ?? { stopping: Promise.resolve() }
  const service = new MeshService(holder, slot, host.runtime, { stateDir: opts.stateDir, port: 0, ...opts.pluginConfig })
  return {
    service, holder, slot, host, ctx, lines, failures,
    sessionsChanged: e => { for (const h of handlers) h(e) },
    mesh: () => {
      assert.ok(holder.mesh !== undefined, 'the mesh runs')
      return holder.mesh as unknown as Mesh
    }
  }
}

function stateDir (): string {
  const dir = join(root, `state${folders++}`)
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  return dir
}

async function freePort (): Promise<number> {
  const server = createServer()
  await new Promise<void>(resolve => server.listen(0, '127.0.0.1', resolve))
  const port = (server.address() as { port: number }).port
  await new Promise(resolve => server.close(resolve))
  return port
}

describe('the plugin\'s mesh service', () => {
  it('serves the control socket named after the Gateway: the clawmesh CLI asks a running Gateway', async () => {
    const state = stateDir()
    const gw = gateway({ stateDir: state, pluginConfig: { name: 'hq' }, sessions: { 'agent:main:main': { sessionId: '0f6c2a52-7d9e-4c41-9a55-1f0f3c1d0a01' } } })
    await gw.service.start(gw.ctx)
    try {
      const client = await connectToNode(state, 'hq')
      try {
        const status = await client.request('status')
        assert.equal(status.self.name, 'hq')
        assert.equal(status.node.name, 'hq')
        assert.deepEqual((await client.request('sessions')).map(s => s.sessionKey), ['agent:main:main'])
      } finally {
        client.close()
      }
      // The CLI itself, as a person runs it.
      const { stdout } = await run(process.execPath, [join(ROOT, 'bin', 'clawmesh.js'), 'sessions', '--node', 'hq', '--state-dir', state, '--json'])
      assert.equal((JSON.parse(stdout) as Array<{ qualifiedKey: string }>)[0]?.qualifiedKey, 'gateway:hq:agent:main:main')
      assert.ok(gw.lines.some(l => l.startsWith('info clawmesh: joined the mesh as hq') && l.includes('clawmesh status --node hq')), gw.lines.join('\n'))
    } finally {
      await gw.service.stop(gw.ctx)
    }
  })

  it('restarts with the same peer ID and announces its sessions again', async () => {
    const state = stateDir()
    const gw = gateway({ stateDir: state, sessions: { 'agent:main:main': { sessionId: '0f6c2a52-7d9e-4c41-9a55-1f0f3c1d0a02' } } })
    const peer = await createMesh({ stateDir: state, mdns: false, listen: ['/ip4/127.0.0.1/tcp/0'] })
    try {
      await gw.service.start(gw.ctx)
      const first = gw.mesh().peerId
      const name = gw.mesh().status().self.name
      await waitForResolvable(peer, `gateway:${name}:agent:main:main`)
      await gw.service.stop(gw.ctx)
      await waitUntil(peer, () => peer.sessions().some(s => s.owner.peerId === first && !s.owner.reachable))
      await gw.service.start(gw.ctx)
      assert.equal(gw.mesh().peerId, first, 'the same peer ID')
      await waitUntil(peer, () => peer.sessions().some(s => s.owner.peerId === first && s.owner.reachable && s.sessionId === '0f6c2a52-7d9e-4c41-9a55-1f0f3c1d0a02'))
    } finally {
      await gw.service.stop(gw.ctx)
      await peer.stop()
    }
  })

  it('takes a config change: the new registration replaces the running mesh, waiting for its port', async () => {
    const state = stateDir()
    const port = await freePort()
    const dm = 'agent:main:telegram:direct:12345'
    const sessions = { 'agent:main:main': {}, [dm]: { sessionId: '0f6c2a52-7d9e-4c41-9a55-1f0f3c1d0a03' } }
    const old = gateway({ stateDir: state, sessions, pluginConfig: { name: 'hq', port } })
    await old.service.start(old.ctx)
    await waitUntil(old.mesh(), () => old.mesh().sessions().some(s => s.sessionKey === 'agent:main:main'))
    assert.ok(!old.mesh().sessions().some(s => s.sessionKey === dm), 'a direct-message key stays private by default')
    // OpenClaw reloads the plugin: a new registration, the new config, one process.
    const fresh = gateway({ stateDir: state, sessions, slot: old.slot, holder: old.holder, pluginConfig: { name: 'hq', port, announce: ['*'] } })
    const stopping = old.service.stop(old.ctx)
    await fresh.service.start(fresh.ctx)
    await stopping
    try {
      await waitUntil(fresh.mesh(), () => fresh.mesh().sessions().some(s => s.sessionKey === dm))
      assert.ok(fresh.mesh().status().addresses.some(a => a.includes(`/tcp/${port}/`)), 'the same fixed port, free again')
      // A start while an older registration still runs stops that one first.
      const third = gateway({ stateDir: state, sessions, slot: old.slot, holder: old.holder, pluginConfig: { name: 'hq', port } })
      await third.service.start(third.ctx)
      await waitUntil(third.mesh(), () => third.mesh().sessions().some(s => s.sessionKey === 'agent:main:main'))
      assert.ok(!third.mesh().sessions().some(s => s.sessionKey === dm), 'the third config applies')
      assert.ok(third.lines.some(l => l.includes('stopping the mesh of the previous plugin load')))
      await third.service.stop(third.ctx)
    } finally {
      await fresh.service.stop(fresh.ctx)
    }
  })

  it('keeps direct-message and cron sessions from other Gateways: not listed, not deliverable', async () => {
    const state = stateDir()
    const dm = 'agent:main:telegram:direct:12345'
    const cron = 'agent:main:cron:nightly:run:8f1e'
    const gw = gateway({ stateDir: state, pluginConfig: { name: 'owner' }, sessions: { 'agent:main:main': {}, [dm]: {}, [cron]: {} } })
    await gw.service.start(gw.ctx)
    const member = await createMesh({ name: 'member', stateDir: state, mdns: false, listen: ['/ip4/127.0.0.1/tcp/0'] })
    try {
      await waitForResolvable(member, 'gateway:owner:agent:main:main')
      // A session created later is held to the same rule.
      gw.host.sessions.set('agent:main:direct:+15551234567', {})
      gw.sessionsChanged({ sessionKey: 'agent:main:direct:+15551234567', reason: 'create' })
      gw.host.sessions.set('agent:main:later', {})
      gw.sessionsChanged({ sessionKey: 'agent:main:later', reason: 'create' })
      await waitForResolvable(member, 'gateway:owner:agent:main:later')
      assert.deepEqual(member.sessions().filter(s => s.owner.name === 'owner').map(s => s.sessionKey).sort(), ['agent:main:later', 'agent:main:main'])
      // A member that knows the key cannot reach it either: the owner never exposed it.
      for (const key of [dm, cron, 'agent:main:direct:+15551234567']) {
        await assert.rejects(member.send(`gateway:owner:${key}`, 'let me in', { targetGateway: 'owner' }), (err: { code?: string }) => ['NOT_FOUND'].includes(err.code ?? ''))
      }
      assert.deepEqual(gw.host.runs, [], 'nothing was injected')
    } finally {
      await member.stop()
      await gw.service.stop(gw.ctx)
    }
  })

  it('passes a keyring through: Gateways on the old key and on the new one both connect during a rotation', async () => {
    const state = stateDir()
    const [oldKey, newKey] = [exportSecret(parseSecret(generateSecret())), exportSecret(parseSecret(generateSecret()))]
    const gw = gateway({ stateDir: state, pluginConfig: { name: 'rotating', secret: { primary: newKey, accept: [oldKey] } }, sessions: { 'agent:main:main': {} } })
    await gw.service.start(gw.ctx)
    const address = gw.mesh().status().addresses[0] as string
    const onOld = await createMesh({ name: 'on-old', secret: oldKey, stateDir: stateDir(), mdns: false, discovery: { local: false }, peers: [address], listen: ['/ip4/127.0.0.1/tcp/0'] })
    const onNew = await createMesh({ name: 'on-new', secret: newKey, stateDir: stateDir(), mdns: false, discovery: { local: false }, peers: [address], listen: ['/ip4/127.0.0.1/tcp/0'] })
    try {
      for (const m of [onOld, onNew]) await waitForResolvable(m, 'gateway:rotating:agent:main:main')
      assert.equal((await onOld.send('gateway:rotating:agent:main:main', 'hi from the old key')).status, 'ok')
      assert.equal((await onNew.send('gateway:rotating:agent:main:main', 'hi from the new key')).status, 'ok')
    } finally {
      await onOld.stop()
      await onNew.stop()
      await gw.service.stop(gw.ctx)
    }
  })

  it('reports a mesh that cannot start as the service\'s failure, keeps the Gateway running, and restarts once fixed', async () => {
    const state = stateDir()
    writeFileSync(join(state, 'mesh.key'), 'not a key\n', { mode: 0o600 })
    const gw = gateway({ stateDir: state, pluginConfig: { name: 'broken' } })
    await gw.service.start(gw.ctx)
    assert.equal(gw.holder.mesh, undefined)
    assert.equal(gw.failures.length, 1)
    assert.match(gw.failures[0] ?? '', /mesh key file/)
    assert.ok(gw.lines.some(l => l.startsWith('error clawmesh: the mesh did not start')))
    assert.match(gw.service.startFailure ?? '', /mesh key file/)
    writeFileSync(join(state, 'mesh.key'), generateSecret() + '\n', { mode: 0o600 })
    await gw.service.restart()
    assert.equal(gw.mesh().status().self.name, 'broken')
    assert.deepEqual(gw.failures, [], 'the failure is cleared')
    await gw.service.stop(gw.ctx)
  })

  it('falls back to a free port, with a warning, when the stable one is taken', async () => {
    const state = stateDir()
    const taken = createServer()
    await new Promise<void>(resolve => taken.listen(0, '127.0.0.1', resolve))
    const port = (taken.address() as { port: number }).port
    // The default port is the Gateway's + 1000.
    const gw = gateway({ stateDir: state, gatewayPort: port - 1000, pluginConfig: { name: 'busy', port: undefined } })
    try {
      await gw.service.start(gw.ctx)
      assert.ok(!gw.mesh().status().addresses.some(a => a.includes(`/tcp/${port}/`)))
      assert.ok(gw.lines.some(l => l.startsWith(`warn clawmesh: the mesh port ${port} is taken`)), gw.lines.join('\n'))
    } finally {
      await gw.service.stop(gw.ctx)
      taken.close()
    }
  })

  it('writes refusals to OpenClaw\'s log, at most a few a minute however many strangers try', async () => {
    const state = stateDir()
    const gw = gateway({ stateDir: state, pluginConfig: { name: 'guarded' } })
    await gw.service.start(gw.ctx)
    try {
      const port = Number(/\/tcp\/(\d+)\//.exec(gw.mesh().status().addresses[0] ?? '')?.[1])
      // 30 strangers (30 source addresses), one connection each, without the secret.
      const sources = Array.from({ length: 30 }, (_, i) => `127.0.${1 + i}.9`)
      const stranger = spawn(process.execPath, [join(ROOT, 'test', 'fixtures', 'stranger.ts'), JSON.stringify({ port, count: 30, concurrency: 5, sources, modes: ['random64'], holdMs: 3000 })], { stdio: ['ignore', 'pipe', 'inherit'] })
      await new Promise(resolve => stranger.once('exit', resolve))
      await waitUntil(gw.mesh(), () => gw.mesh().status().rejected.length >= 30, 20_000).catch(() => {})
      assert.ok(gw.mesh().status().rejected.length >= 20, `the mesh refused them all (${gw.mesh().status().rejected.length} recorded)`)
      const refusals = gw.lines.filter(l => l.startsWith('warn clawmesh: refused '))
      assert.equal(refusals.length, REFUSALS_PER_MINUTE, refusals.join('\n'))
      assert.match(refusals[0] ?? '', /different mesh secret|secret/)
    } finally {
      await gw.service.stop(gw.ctx)
    }
  })

  it('logs a name another Gateway holds as an error and marks the service failed until it is gone', async () => {
    const state = stateDir()
    const gw = gateway({ stateDir: state, pluginConfig: { name: 'twin' } })
    await gw.service.start(gw.ctx)
    const other = await createMesh({ name: 'twin', stateDir: state, mdns: false, listen: ['/ip4/127.0.0.1/tcp/0'] })
    try {
      // As a real Gateway has: since registry v2 a peer that announced nothing may not be described to the others.
      await other.announce('agent:main:main')
      await waitUntil(gw.mesh(), () => gw.failures.length > 0)
      assert.match(gw.failures[0] ?? '', /shares this Gateway's name twin/)
      assert.ok(gw.lines.some(l => l.startsWith('error clawmesh: another Gateway shares this Gateway\'s name twin')))
      assert.ok(gw.lines.some(l => l.startsWith('info clawmesh: Gateway twin joined')))
    } finally {
      await other.stop()
      await gw.service.stop(gw.ctx)
    }
  })
})
