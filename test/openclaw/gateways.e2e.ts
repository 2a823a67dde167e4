/**
 * End to end against two real OpenClaw Gateways (openclaw 2026.9.6) on
 * 127.0.0.1:18789 (A) and :18790 (B), each loading the clawmesh plugin from this
 * working tree: A through `plugins.load.paths`, B through `openclaw plugins
 * install --link`. Each has its own fake model (19801, 19802), whose replies say
 * which one answered. Run it with `npm run test:openclaw` (run.sh makes the
 * private network namespace); it refuses to run outside one.
 */
import assert from 'node:assert/strict'
import type { ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { after, before, describe, it } from 'node:test'
import {
  agentTurn, cli, GatewayClient, history, instance, lastToolResult, startFakeModel, startGateway, textOf, waitFor, writeConfig,
  type Instance, type RunningGateway
} from './harness.ts'

const ROOT = path.resolve(import.meta.dirname, '..', '..')
const RUN_DIR = process.env.CLAWMESH_E2E_DIR ?? path.join(os.tmpdir(), 'clawmesh-openclaw-e2e')
const SEND = 'mesh_sessions_send'
/** Both Gateways hold the same mesh secret (each has its own HOME, so the default key files would differ). */
const SECRET = randomBytes(32).toString('hex')

interface MeshView { status: { self: { name: string } }, sessions: Array<{ sessionKey: string, owner: { name: string, gatewayPort?: number, self: boolean, reachable: boolean } }> }

/**
 * The plugin as loaded: a copy of this working tree's plugin files (src/, package.json,
 * openclaw.plugin.json, node_modules), taken when the test starts. OpenClaw
 * fingerprints a plugin's source files and folders and refuses to (re)load it when
 * they change meanwhile ("Plugin source changed while preparing its reload"), which
 * edits in a busy checkout do. CLAWMESH_E2E_LIVE=1 loads the working tree itself.
 */
function pluginDir (): string {
  if (process.env.CLAWMESH_E2E_LIVE === '1') return ROOT
  const dir = path.join(RUN_DIR, 'plugin')
  fs.cpSync(path.join(ROOT, 'src'), path.join(dir, 'src'), { recursive: true })
  for (const f of ['package.json', 'openclaw.plugin.json']) fs.copyFileSync(path.join(ROOT, f), path.join(dir, f))
  // A copy, not a link: `plugins install` refuses a node_modules that points outside the plugin.
  fs.cpSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'), { recursive: true, verbatimSymlinks: true })
  return dir
}

if (process.env.CLAWMESH_IN_NETNS !== '1') {
  throw new Error('run this test with `npm run test:openclaw`: OpenClaw Gateways must run in a private network namespace')
}

void describe('clawmesh OpenClaw plugin, two real Gateways', { timeout: 600_000 }, () => {
  const fakes: ChildProcess[] = []
  let a: RunningGateway
  let b: RunningGateway
  let instA: Instance
  let instB: Instance
  const clientA = new GatewayClient(18789, 'tok-a-0123456789abcdef')
  const clientB = new GatewayClient(18790, 'tok-b-0123456789abcdef')
  let nameA = ''
  let nameB = ''

  const meshView = async (client: GatewayClient): Promise<MeshView> => await client.call<MeshView>('clawmesh.status')
  const ownerOf = (view: MeshView, key: string, port: number): MeshView['sessions'][number] | undefined =>
    view.sessions.find((s) => s.sessionKey === key && s.owner.gatewayPort === port)
  const callTool = async (client: GatewayClient, sessionKey: string, args: Record<string, unknown>): Promise<Record<string, unknown>> => {
    const run = await agentTurn(client, sessionKey, `CALL_TOOL ${SEND} ${JSON.stringify(args)}`)
    assert.equal(run.status, 'ok', `agent turn in ${sessionKey}`)
    return await lastToolResult(client, sessionKey, SEND)
  }

  before(async () => {
    fs.rmSync(RUN_DIR, { recursive: true, force: true })
    fs.mkdirSync(RUN_DIR, { recursive: true })
    const plugin = pluginDir()
    fakes.push(await startFakeModel(19801, RUN_DIR), await startFakeModel(19802, RUN_DIR))
    instA = instance(RUN_DIR, 'a', 18789, 'tok-a-0123456789abcdef')
    instB = instance(RUN_DIR, 'b', 18790, 'tok-b-0123456789abcdef')
    // The mesh: fixed loopback ports, each Gateway bootstraps from the other. mDNS stays at its
    // default (on): multicast cannot leave this namespace. (mdns: false currently fails in createMesh: "mdns not set".)
    writeConfig(instA, 19801, {
      loadPath: plugin,
      config: { secret: SECRET, listen: ['/ip4/127.0.0.1/tcp/17789'], peers: ['/ip4/127.0.0.1/tcp/17790'] }
    })
    writeConfig(instB, 19802)
    await cli(instB, ['plugins', 'install', '--link', '--force', '--accept-capabilities', plugin])
    const cfgB = JSON.parse(fs.readFileSync(instB.configPath, 'utf8')) as { plugins: { entries: Record<string, Record<string, unknown>> } }
    assert.equal(cfgB.plugins.entries.clawmesh?.enabled, true, '`plugins install --link` enabled the plugin on B')
    cfgB.plugins.entries.clawmesh = {
      ...cfgB.plugins.entries.clawmesh,
      config: { secret: SECRET, listen: ['/ip4/127.0.0.1/tcp/17790'], peers: ['/ip4/127.0.0.1/tcp/17789'], policy: { deny: [{ sessionKey: 'agent:main:private*' }] } }
    }
    fs.writeFileSync(instB.configPath, JSON.stringify(cfgB, null, 2) + '\n')
    ;[a, b] = await Promise.all([startGateway(instA), startGateway(instB)])
    await Promise.all([clientA.connect(), clientB.connect()])
  })

  after(async () => {
    clientA.close()
    clientB.close()
    await Promise.all([a?.stop(), b?.stop()])
    for (const f of fakes) f.kill('SIGTERM')
  })

  void it('each Gateway joins the mesh and sees the other\'s sessions', async () => {
    const viewA = await waitFor('A to see B\'s agent:main:main', async () => {
      const v = await meshView(clientA)
      return ownerOf(v, 'agent:main:main', 18790) === undefined ? undefined : v
    })
    const viewB = await waitFor('B to see A\'s agent:main:main', async () => {
      const v = await meshView(clientB)
      return ownerOf(v, 'agent:main:main', 18789) === undefined ? undefined : v
    })
    nameA = viewA.status.self.name
    nameB = viewB.status.self.name
    assert.notEqual(nameA, nameB)
    assert.equal(ownerOf(viewA, 'agent:main:main', 18790)?.owner.name, nameB)
  })

  void it('A\'s agent sends to gateway:18790:agent:main:main and gets B\'s reply', async () => {
    const result = await callTool(clientA, 'agent:main:main', { sessionKey: 'gateway:18790:agent:main:main', message: 'hello B from A' })
    assert.equal(result.status, 'ok', JSON.stringify(result))
    assert.equal(result.gateway, nameB)
    assert.match(String(result.reply), /^ECHO\(19802\): hello B from A$/)
    const messages = await history(clientB, 'agent:main:main')
    const inbound = messages.find((m) => m.role === 'user' && textOf(m).includes('hello B from A'))
    assert.ok(inbound, `B's history holds the message: ${JSON.stringify(messages.map(textOf))}`)
    const text = textOf(inbound)
    assert.match(text, /\[Inter-gateway message\]/)
    assert.ok(text.includes(`sourceGateway=${nameA}`), text)
    assert.ok(text.includes('sourceSession=agent:main:main'), text)
    assert.ok(messages.some((m) => m.role === 'assistant' && textOf(m).includes('ECHO(19802): hello B from A')))
  })

  void it('a bare agent:main:main from A stays on A', async () => {
    const result = await callTool(clientA, 'agent:main:caller', { sessionKey: 'agent:main:main', message: 'hello A itself' })
    assert.equal(result.status, 'ok', JSON.stringify(result))
    assert.equal(result.gateway, nameA)
    assert.match(String(result.reply), /^ECHO\(19801\): hello A itself$/)
    const onA = await history(clientA, 'agent:main:main')
    assert.ok(onA.some((m) => m.role === 'user' && textOf(m).includes('hello A itself')))
    const onB = await history(clientB, 'agent:main:main')
    assert.ok(!onB.some((m) => textOf(m).includes('hello A itself')), 'B never saw it')
  })

  void it('a session B\'s policy denies returns forbidden, and nothing reaches it', async () => {
    assert.equal((await agentTurn(clientB, 'agent:main:private', 'B-local turn')).status, 'ok')
    await waitFor('A to see B\'s agent:main:private', async () => ownerOf(await meshView(clientA), 'agent:main:private', 18790))
    const result = await callTool(clientA, 'agent:main:main', { sessionKey: 'gateway:18790:agent:main:private', message: 'let me in' })
    assert.equal(result.status, 'forbidden', JSON.stringify(result))
    const onB = await history(clientB, 'agent:main:private')
    assert.ok(!onB.some((m) => textOf(m).includes('let me in')), 'the denied message was not injected')
  })

  void it('with B stopped, the send fails at once with an error naming B', async () => {
    await b.stop()
    const started = Date.now()
    // A 120 s budget: an "error" (not "timeout") result shows the failure did not wait for it.
    const result = await callTool(clientA, 'agent:main:main', { sessionKey: 'gateway:18790:agent:main:main', message: 'anyone there?', timeoutSeconds: 120 })
    console.log(`unreachable send answered after ${Date.now() - started} ms (whole agent turn)`)
    assert.equal(result.status, 'error', JSON.stringify(result))
    assert.ok(String(result.error).includes(nameB), `error names ${nameB}: ${String(result.error)}`)
  })
})
