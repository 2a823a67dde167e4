/**
 * The plugin's `join` and `relay` options (issue 15): an OpenClaw Gateway whose config holds an
 * invite code joins the mesh on its first start with nothing else (the key lands in the shared
 * state folder, mode 0600), and one with `relay: true` serves as a relay member for another.
 * Real mesh nodes on 127.0.0.1; OpenClaw's runtime is the stand-in of fake-host.ts.
 */
import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { createMesh, type Mesh } from '../../src/index.ts'
import { parsePluginConfig } from '../../src/openclaw/config.ts'
import type { ServiceContext } from '../../src/openclaw/host.ts'
import { MeshService } from '../../src/openclaw/service.ts'
import type { MeshHolder } from '../../src/openclaw/tools.ts'
import { generateSecret, parseSecret } from '../../src/security/secret.ts'
import { loopbackOptions, waitForResolvable, waitUntil } from '../../src/testing.ts'
import { fakeHost } from './fake-host.ts'

const LOOPBACK = { listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false, discovery: { mdns: false, local: false } }
const quiet = { info: () => {}, warn: () => {}, error: () => {}, debug: () => {} }

describe('the plugin joins by invite, and relays', { timeout: 60_000 }, () => {
  const dirs: string[] = []
  const meshes: Mesh[] = []
  const services: Array<{ service: MeshService, ctx: ServiceContext }> = []
  let home: string
  const savedHome = process.env.CLAWMESH_HOME

  const dir = async (): Promise<string> => {
    const d = await mkdtemp(join(tmpdir(), 'clawmesh-plugin-join-'))
    dirs.push(d)
    return d
  }

  /** Starts the plugin's service as OpenClaw would, with `config` as `plugins.entries.clawmesh.config`. */
  const startPlugin = async (config: Record<string, unknown>): Promise<MeshHolder> => {
    const holder: MeshHolder = { defaultTimeoutSeconds: 30 }
    // A slot of its own per service: each stands for a separate Gateway process.
    const service = new MeshService(holder, { stopping: Promise.resolve() }, fakeHost({ sessions: { 'agent:main:main': {} } }).runtime, { ...LOOPBACK, ...config })
    const ctx: ServiceContext = { config: {}, stateDir: await dir(), logger: quiet }
    services.push({ service, ctx })
    await service.start(ctx)
    return holder
  }

  before(async () => {
    // The plugin keeps the mesh key in the user's clawmesh state folder: a temporary one here.
    home = await dir()
    process.env.CLAWMESH_HOME = home
  })

  after(async () => {
    await Promise.allSettled(services.map(async ({ service, ctx }) => { await service.stop(ctx) }))
    await Promise.allSettled(meshes.map(async m => { await m.stop() }))
    if (savedHome === undefined) delete process.env.CLAWMESH_HOME
    else process.env.CLAWMESH_HOME = savedHome
    await Promise.all(dirs.map(async d => { await rm(d, { recursive: true, force: true }) }))
  })

  it('passes join and relay through, and refuses them mistyped', () => {
    const cfg = parsePluginConfig({ join: 'clawmesh-invite:abc', relay: true }, {}, '/state')
    assert.equal(cfg.join, 'clawmesh-invite:abc')
    assert.equal(cfg.relay, true)
    assert.throws(() => parsePluginConfig({ relay: 'yes' }, {}, '/state'), TypeError)
    assert.throws(() => parsePluginConfig({ join: 42 }, {}, '/state'), TypeError)
  })

  it('a Gateway with only an invite code in its config joins, stores the key (0600) and sends', async () => {
    const secret = generateSecret()
    const hq = await createMesh({ ...LOOPBACK, name: 'hq', secret, stateDir: await dir() })
    meshes.push(hq)
    await hq.announce('agent:main:main')
    hq.setDeliverHandler(async m => ({ reply: `hq got ${m.text}` }))
    const { code } = await hq.invite()

    const holder = await startPlugin({ name: 'branch', join: code })
    // The plugin's mesh is createMesh's.
    const mesh = holder.mesh as Mesh
    const key = join(home, 'mesh.key')
    assert.equal((await stat(key)).mode & 0o777, 0o600)
    assert.equal(parseSecret(await readFile(key, 'utf8')).meshId, parseSecret(secret).meshId)
    assert.equal(mesh.status().meshId, hq.status().meshId)
    await waitForResolvable(mesh, 'gateway:hq:agent:main:main')
    assert.equal((await mesh.send('gateway:hq:agent:main:main', 'hi')).reply, 'hq got hi')
    assert.deepEqual(hq.invites().map(i => i.state), ['used'])
  })

  it('a Gateway with relay: true gives a slot to a member no other network can reach', async () => {
    const secret = generateSecret()
    const relay = (await startPlugin({ name: 'relay', secret, relay: true })).mesh as Mesh
    const relayAddress = relay.status().addresses.find(a => a.includes('/ip4/127.0.0.1/'))!
    const branch = await createMesh(loopbackOptions({ name: 'branch', secret, peers: [relayAddress], reachability: { holePunch: false } }))
    meshes.push(branch)
    await waitUntil(branch, () => (branch.status().reachability?.relayed.length ?? 0) > 0)
    assert.match(branch.status().reachability!.relayed[0]!, new RegExp(`/p2p/${relay.peerId}/p2p-circuit/p2p/${branch.peerId}$`))
  })
})
