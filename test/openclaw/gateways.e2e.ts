/**
 * End to end against two real OpenClaw Gateways (openclaw 2026.9.6) of one user on one
 * machine, the seed's setup: the same HOME, A on 127.0.0.1:18789 in the default state folder
 * (~/.openclaw), B on :18790 in a profile's (~/.openclaw-b). Neither has any clawmesh setting:
 * A loads the plugin from a copy of this working tree (`plugins.load.paths`), B installs the
 * packed package (`openclaw plugins install <tarball>`, the tarball run.sh made with `npm pack`).
 * Each Gateway has its own fake model (19801, 19802), whose replies say which one answered.
 * Every send below is a real agent turn calling OpenClaw's built-in `sessions_send`.
 *
 * Run it with `npm run test:openclaw` (run.sh makes the private network namespace).
 */
import assert from 'node:assert/strict'
import type { ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { after, before, describe, it } from 'node:test'
import { createMesh, type Mesh } from '../../src/index.ts'
import {
  agentTurn, cli, GatewayClient, history, instance, lastToolResult, startFakeModel, startGateway, textOf, waitFor, writeConfig,
  type HistoryMessage, type Instance, type RunningGateway
} from './harness.ts'

const ROOT = path.resolve(import.meta.dirname, '..', '..')
const RUN_DIR = process.env.CLAWMESH_E2E_DIR ?? path.join(os.tmpdir(), 'clawmesh-openclaw-e2e')
const HOME = path.join(RUN_DIR, 'home')
const TARBALL = process.env.CLAWMESH_PLUGIN_TARBALL ?? ''
const TOKEN_A = 'tok-a-0123456789abcdef'
const TOKEN_B = 'tok-b-0123456789abcdef'
/** timeoutSeconds for sends that must be answered: generous, as CI machines may be busy (models default to 30). */
const SLOW = 120

interface MeshView {
  status: { self: { name: string, peerId: string } }
  sessions: Array<{ sessionKey: string, sessionId?: string, owner: { name: string, gatewayPort?: number, self: boolean, reachable: boolean } }>
}

/**
 * A's plugin as loaded: a copy of this working tree's plugin files (src/, package.json,
 * openclaw.plugin.json, node_modules), taken when the test starts. OpenClaw fingerprints a
 * plugin's source and refuses to (re)load it while it changes ("Plugin source changed while
 * preparing its reload"), which edits in a busy checkout do.
 */
function pluginCopy (): string {
  const dir = path.join(RUN_DIR, 'plugin')
  fs.cpSync(path.join(ROOT, 'src'), path.join(dir, 'src'), { recursive: true })
  for (const f of ['package.json', 'openclaw.plugin.json']) fs.copyFileSync(path.join(ROOT, f), path.join(dir, f))
  fs.cpSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'), { recursive: true, verbatimSymlinks: true })
  return dir
}

if (process.env.CLAWMESH_IN_NETNS !== '1') {
  throw new Error('run this test with `npm run test:openclaw`: OpenClaw Gateways must run in a private network namespace')
}

const isInbound = (m: HistoryMessage, body: string): boolean => textOf(m).startsWith('[Inter-session message]') && textOf(m).includes(body)

void describe('OpenClaw\'s own sessions_send across two real Gateways', { timeout: 900_000 }, () => {
  const fakes: ChildProcess[] = []
  let b: RunningGateway
  let startingA: Promise<RunningGateway> | undefined
  let startingB: Promise<RunningGateway> | undefined
  let instA: Instance
  let instB: Instance
  let other: Mesh | undefined
  const clientA = new GatewayClient(18789, TOKEN_A)
  const clientB = new GatewayClient(18790, TOKEN_B)
  let nameA = ''
  let nameB = ''

  const meshView = async (client: GatewayClient): Promise<MeshView> => await client.call<MeshView>('clawmesh.status')
  const remoteEntry = async (client: GatewayClient, key: string, port: number): Promise<MeshView['sessions'][number] | undefined> =>
    (await meshView(client)).sessions.find((s) => s.sessionKey === key && s.owner.gatewayPort === port)
  /** One real agent turn in `sessionKey` whose model calls `tool` with `args`; the tool's result. */
  const callTool = async (client: GatewayClient, sessionKey: string, args: Record<string, unknown>, tool = 'sessions_send'): Promise<{ value: Record<string, unknown>, isError: boolean }> => {
    const run = await agentTurn(client, sessionKey, `CALL_TOOL ${tool} ${JSON.stringify(args)}`)
    assert.equal(run.status, 'ok', `agent turn in ${sessionKey}`)
    return await lastToolResult(client, sessionKey, tool)
  }

  before(async () => {
    const t0 = Date.now()
    const phase = (what: string): void => { console.log(`setup: ${what} after ${((Date.now() - t0) / 1000).toFixed(1)} s`) }
    fs.rmSync(RUN_DIR, { recursive: true, force: true })
    fs.mkdirSync(RUN_DIR, { recursive: true })
    assert.ok(TARBALL !== '' && fs.existsSync(TARBALL), `the packed plugin (CLAWMESH_PLUGIN_TARBALL=${TARBALL}); run.sh makes it`)
    const plugin = pluginCopy()
    fakes.push(await startFakeModel(19801, RUN_DIR), await startFakeModel(19802, RUN_DIR))
    instA = instance(HOME, 'a', 18789, TOKEN_A)
    instB = instance(HOME, 'b', 18790, TOKEN_B, 'b')
    writeConfig(instA, 19801, { pluginPath: plugin })
    // B: a second agent, and OpenClaw's own agent-to-agent rule that keeps `ops` to itself.
    writeConfig(instB, 19802, { extra: { agents: { ownership: 'explicit', entries: { main: {}, ops: {} } }, tools: { agentToAgent: { allow: ['main'] } } } })
    const installB = async (): Promise<void> => {
      // openclaw installs the plugin's dependencies with npm: from the cache run.sh warmed, offline.
      await cli({ ...instB, env: { ...instB.env, npm_config_cache: process.env.CLAWMESH_NPM_CACHE ?? '', npm_config_offline: 'true' } },
        ['plugins', 'install', '--force', '--accept-capabilities', TARBALL])
    }
    // A starts while B installs the tarball.
    startingA = startGateway(instA)
    await installB()
    phase('B installed the tarball')
    for (const inst of [instA, instB]) {
      const cfg = JSON.parse(fs.readFileSync(inst.configPath, 'utf8')) as { plugins: { entries: Record<string, Record<string, unknown>> } }
      assert.equal(cfg.plugins.entries.clawmesh?.enabled, true, `clawmesh is enabled on ${inst.name}`)
      assert.equal(cfg.plugins.entries.clawmesh?.config, undefined, `no clawmesh settings on ${inst.name}`)
    }
    startingB = startGateway(instB)
    ;[, b] = await Promise.all([startingA, startingB])
    phase('A and B ready')
    await Promise.all([clientA.connect(), clientB.connect()])
    // Each main session has had a turn (so it has a session ID), and each Gateway's first,
    // slowest agent run is behind it.
    for (const [client, text] of [[clientA, 'A warms up'], [clientB, 'B warms up']] as const) {
      assert.equal((await agentTurn(client, 'agent:main:main', text)).status, 'ok')
    }
    phase('first agent runs done')
  })

  after(async () => {
    clientA.close()
    clientB.close()
    await other?.stop()
    const started = await Promise.all([startingA, startingB].map(async (s) => await s?.catch(() => undefined)))
    await Promise.all(started.map(async (g) => { await g?.stop() }))
    for (const f of fakes) f.kill('SIGTERM')
  })

  void it('finds each other with no clawmesh settings, B running the installed tarball', async () => {
    const inspect = await cli(instB, ['plugins', 'inspect', 'clawmesh', '--json'])
    assert.ok(inspect.includes(path.join(instB.root, 'extensions', 'clawmesh')) && !inspect.includes(ROOT), `B runs the installed package, not the checkout: ${inspect}`)
    await waitFor('A to see B\'s agent:main:main', async () => await remoteEntry(clientA, 'agent:main:main', 18790))
    await waitFor('B to see A\'s agent:main:main', async () => await remoteEntry(clientB, 'agent:main:main', 18789))
    nameA = (await meshView(clientA)).status.self.name
    nameB = (await meshView(clientB)).status.self.name
    assert.notEqual(nameA, nameB)
  })

  void it('the seed\'s first call: A\'s agent reaches gateway:18790:agent:main:main and gets B\'s reply', async () => {
    const { value, isError } = await callTool(clientA, 'agent:main:caller', { sessionKey: 'gateway:18790:agent:main:main', message: 'hello B from A', timeoutSeconds: SLOW })
    console.log(`seed call 1, after: ${JSON.stringify(value)}`)
    assert.equal(value.status, 'ok', JSON.stringify(value))
    assert.equal(isError, false, 'OpenClaw does not flag the answer as an error')
    assert.equal(value.reply, 'ECHO(19802): hello B from A')
    assert.equal(value.sessionKey, `gateway:${nameB}:agent:main:main`)
    const onB = await history(clientB, 'agent:main:main')
    const inbound = onB.find((m) => isInbound(m, 'hello B from A'))
    assert.ok(inbound, `B's session holds the message: ${JSON.stringify(onB.map(textOf))}`)
    assert.ok(textOf(inbound).includes('sourceSession=gateway:') && textOf(inbound).includes(':agent:main:caller'), textOf(inbound))
    // The stand-in notify of the calling session was withdrawn (the plugin warns when it cannot).
    const onA = await history(clientA, 'agent:main:caller')
    assert.ok(!onA.some((m) => textOf(m).includes('clawmesh bookkeeping')), JSON.stringify(onA.map(textOf)))
    assert.ok(!fs.readFileSync(path.join(instA.root, 'gateway.out'), 'utf8').includes('could not withdraw'), 'A withdrew the note')
  })

  void it('reaches gateway:<name>:<key> too', async () => {
    const { value } = await callTool(clientA, 'agent:main:caller', { sessionKey: `gateway:${nameB}:agent:main:main`, message: 'by name', timeoutSeconds: SLOW })
    assert.equal(value.status, 'ok', JSON.stringify(value))
    assert.equal(value.reply, 'ECHO(19802): by name')
  })

  void it('the seed\'s second call: B\'s agent reaches the session UUID of A\'s agent:main:main', async () => {
    const entry = await waitFor('B to know the ID of A\'s agent:main:main', async () => {
      const e = await remoteEntry(clientB, 'agent:main:main', 18789)
      return e?.sessionId === undefined ? undefined : e
    })
    const { value } = await callTool(clientB, 'agent:main:main', { sessionKey: entry.sessionId, message: 'hello A by UUID', timeoutSeconds: SLOW })
    console.log(`seed call 2, after: ${JSON.stringify(value)}`)
    assert.equal(value.status, 'ok', JSON.stringify(value))
    assert.equal(value.reply, 'ECHO(19801): hello A by UUID')
  })

  void it('reaches a bare key that only B owns, and honours targetGateway', async () => {
    assert.equal((await agentTurn(clientB, 'agent:main:only-b', 'B-local turn')).status, 'ok')
    await waitFor('A to see B\'s agent:main:only-b', async () => await remoteEntry(clientA, 'agent:main:only-b', 18790))
    const bare = await callTool(clientA, 'agent:main:caller', { sessionKey: 'agent:main:only-b', message: 'bare key', timeoutSeconds: SLOW })
    assert.equal(bare.value.status, 'ok', JSON.stringify(bare.value))
    assert.equal(bare.value.reply, 'ECHO(19802): bare key')
    // The model may pass targetGateway (OpenClaw does not let a plugin add it to the tool's schema).
    const aimed = await callTool(clientA, 'agent:main:caller', { sessionKey: 'agent:main:main', targetGateway: '18790', message: 'aimed', timeoutSeconds: SLOW })
    assert.equal(aimed.value.status, 'ok', JSON.stringify(aimed.value))
    assert.equal(aimed.value.reply, 'ECHO(19802): aimed')
  })

  void it('leaves a local key to OpenClaw, exactly as without the plugin', async () => {
    const { value, isError } = await callTool(clientA, 'agent:main:caller', { sessionKey: 'agent:main:main', message: 'hello A itself', timeoutSeconds: SLOW })
    assert.equal(isError, false)
    assert.deepEqual(Object.keys(value).sort(), ['delivery', 'reply', 'runId', 'sessionKey', 'status'], 'the built-in\'s own result')
    assert.equal(value.reply, 'ECHO(19801): hello A itself')
    assert.ok(!(await history(clientB, 'agent:main:main')).some((m) => textOf(m).includes('hello A itself')), 'B never saw it')
  })

  void it('answers timeoutSeconds: 0 with accepted; B\'s reply comes later into the calling session', async () => {
    const { value } = await callTool(clientA, 'agent:main:later', { sessionKey: 'gateway:18790:agent:main:main', message: 'reply when you can', timeoutSeconds: 0 })
    assert.equal(value.status, 'accepted', JSON.stringify(value))
    await waitFor('B\'s reply in A\'s agent:main:later', async () =>
      (await history(clientA, 'agent:main:later')).some((m) => isInbound(m, 'ECHO(19802): reply when you can')) ? true : undefined, 120_000)
  })

  void it('runs the agent-to-agent exchange (ping-pong, announce) across the Gateways', async () => {
    assert.equal((await agentTurn(clientB, 'agent:main:pingpong', 'B-local turn')).status, 'ok')
    await waitFor('A to see B\'s agent:main:pingpong', async () => await remoteEntry(clientA, 'agent:main:pingpong', 18790))
    const { value } = await callTool(clientA, 'agent:main:talk', { sessionKey: 'gateway:18790:agent:main:pingpong', message: 'PINGPONG hi', timeoutSeconds: SLOW })
    assert.equal(value.status, 'ok', JSON.stringify(value))
    // Turns 1, 3, 5 run in A's requester session, 2 and 4 in B's target session, then the announce step on B.
    await waitFor('the announce step on B', async () => (await history(clientB, 'agent:main:pingpong', 60)).some((m) => isInbound(m, 'Agent-to-agent announce step.')) ? true : undefined, 240_000)
    const onB = (await history(clientB, 'agent:main:pingpong', 60)).map(textOf)
    assert.ok(onB.some((t) => t.includes('a2aStep=reply turn=2/5')) && onB.some((t) => t.includes('a2aStep=reply turn=4/5')), JSON.stringify(onB))
    const onA = (await history(clientA, 'agent:main:talk', 60)).map(textOf)
    assert.equal(onA.filter((t) => t.startsWith('[Inter-session message]') && t.includes('a2aStep=reply')).length, 3, JSON.stringify(onA))
  })

  void it('returns forbidden for a session B\'s OpenClaw rules keep from A, and injects nothing', async () => {
    const { value } = await callTool(clientA, 'agent:main:caller', { sessionKey: 'gateway:18790:agent:ops:main', message: 'let me in' })
    assert.equal(value.status, 'forbidden', JSON.stringify(value))
    assert.match(String(value.error), /tools\.agentToAgent\.allow/)
    const onB = await history(clientB, 'agent:ops:main')
    assert.ok(!onB.some((m) => textOf(m).includes('let me in')), 'the denied message was not injected')
  })

  void it('lists the choices of an ambiguous key', async () => {
    // A third mesh member (not an OpenClaw Gateway) of the same user owns agent:main:shared too.
    other = await createMesh({ name: 'third', stateDir: path.join(HOME, '.clawmesh'), mdns: false, listen: ['/ip4/127.0.0.1/tcp/0'], deliver: async () => ({ reply: 'third' }) })
    await other.announce('agent:main:shared', { agentId: 'main' })
    assert.equal((await agentTurn(clientB, 'agent:main:shared', 'B-local turn')).status, 'ok')
    await waitFor('A to see both owners of agent:main:shared', async () =>
      (await meshView(clientA)).sessions.filter((s) => s.sessionKey === 'agent:main:shared').length === 2 ? true : undefined)
    const { value } = await callTool(clientA, 'agent:main:caller', { sessionKey: 'agent:main:shared', message: 'which one?' })
    assert.equal(value.status, 'error', JSON.stringify(value))
    assert.equal(value.code, 'AMBIGUOUS')
    assert.ok(String(value.error).includes(`gateway:${nameB}:agent:main:shared`) && String(value.error).includes('gateway:third:agent:main:shared'), String(value.error))
  })

  void it('shows remote sessions in the built-in sessions_list, with the keys sessions_send takes', async () => {
    const { value } = await callTool(clientA, 'agent:main:caller', {}, 'sessions_list')
    const keys = (value.sessions as Array<{ key: string }>).map((s) => s.key)
    assert.ok(keys.includes('agent:main:main'), 'local rows stay')
    assert.ok(keys.includes(`gateway:${nameB}:agent:main:main`) && keys.includes(`gateway:${nameB}:agent:main:only-b`), JSON.stringify(keys))
  })

  void it('with B stopped, answers at once with an error naming B', async () => {
    await b.stop()
    const started = Date.now()
    // A 120 s budget: an "error" (not "timeout") shows the failure did not wait for it.
    const { value } = await callTool(clientA, 'agent:main:caller', { sessionKey: 'gateway:18790:agent:main:main', message: 'anyone there?', timeoutSeconds: 120 })
    console.log(`unreachable send answered after ${Date.now() - started} ms (whole agent turn): ${JSON.stringify(value)}`)
    assert.equal(value.status, 'error', JSON.stringify(value))
    assert.ok(String(value.error).includes(nameB), `error names ${nameB}: ${String(value.error)}`)
  })
})
