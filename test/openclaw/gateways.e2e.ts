/**
 * End to end against two real OpenClaw Gateways (openclaw 2026.9.6) of one user on one
 * machine, the seed's setup: the same HOME, A on 127.0.0.1:18789 in the default state folder
 * (~/.openclaw), B on :18790 in a profile's (~/.openclaw-b). Neither has any clawmesh setting:
 * A loads the plugin from a copy of this working tree (`plugins.load.paths`), B installs the
 * packed package (`openclaw plugins install <tarball>`, the tarball run.sh made with `npm pack`).
 * Each Gateway has its own fake model (19801, 19802), whose replies say which one answered.
 * Every send below is a real agent turn calling OpenClaw's built-in `sessions_send`.
 *
 * Then plugin mode's life (issue 18): the clawmesh CLI asking a running Gateway, the privacy
 * default and a config change that lifts it, a second agent and sessions created after start,
 * `/new`, B restarted (sends before, during and after), C made by copying B's state folder
 * (a duplicate peer key), and C put to sleep (SIGSTOP) past the old 60 s grace period. The
 * Gateways are reused across cases: each start costs 15-40 s on a busy machine.
 *
 * Run it with `npm run test:openclaw` (run.sh makes the private network namespace).
 */
import assert from 'node:assert/strict'
import { execFile, type ChildProcess } from 'node:child_process'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'
import { after, before, describe, it } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { promisify } from 'node:util'
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
const TOKEN_C = 'tok-c-0123456789abcdef'
/** The grace period unreachable Gateways' sessions had before issue 18 (now a day). */
const OLD_GRACE_MS = 60_000
const DM_KEY = 'agent:main:telegram:direct:12345'
/** timeoutSeconds for sends that must be answered: generous, as CI machines may be busy (models default to 30). */
const SLOW = 120

interface MeshView {
  status: { self: { name: string, peerId: string }, incarnation: number, addresses: string[], discovery?: { mdns: boolean, local: boolean } }
  sessions: Array<{ sessionKey: string, sessionId?: string, owner: { name: string, peerId: string, gatewayPort?: number, self: boolean, reachable: boolean, unreachableSince?: number } }>
  node?: { socket?: string, network: string, copiedFrom?: string }
}

/** Rewrites an instance's OpenClaw config; the Gateway notices the change and reloads the plugin. */
function patchConfig (inst: Instance, patch: (cfg: { plugins: { entries: Record<string, Record<string, unknown>> } } & Record<string, unknown>) => void): void {
  const cfg = JSON.parse(fs.readFileSync(inst.configPath, 'utf8')) as Parameters<typeof patch>[0]
  patch(cfg)
  fs.writeFileSync(inst.configPath, JSON.stringify(cfg, null, 2) + '\n')
}

/** The clawmesh CLI of this checkout, run as the Gateways' user (their HOME, so ~/.clawmesh). */
async function clawmeshCli (args: string[]): Promise<string> {
  const env: NodeJS.ProcessEnv = { ...process.env, HOME }
  for (const k of ['CLAWMESH_HOME', 'CLAWMESH_SECRET', 'XDG_STATE_HOME']) delete env[k]
  const { stdout } = await promisify(execFile)(process.execPath, [path.join(ROOT, 'bin', 'clawmesh.js'), ...args], { env })
  return stdout
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
  let c: RunningGateway | undefined
  let instC: Instance
  /** The PID of C's Gateway while it is stopped with SIGSTOP. */
  let sleepingPid: number | undefined
  let nameC = ''
  /** When A saw C turn unreachable (C's clock is frozen, so A's view is the one that counts). */
  let cUnreachableSince = 0
  let startingA: Promise<RunningGateway> | undefined
  let startingB: Promise<RunningGateway> | undefined
  let instA: Instance
  let instB: Instance
  let other: Mesh | undefined
  const clientA = new GatewayClient(18789, TOKEN_A)
  let clientB = new GatewayClient(18790, TOKEN_B)
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
    fakes.push(await startFakeModel(19801, RUN_DIR), await startFakeModel(19802, RUN_DIR), await startFakeModel(19803, RUN_DIR))
    instA = instance(HOME, 'a', 18789, TOKEN_A)
    instB = instance(HOME, 'b', 18790, TOKEN_B, 'b')
    writeConfig(instA, 19801, { pluginPath: plugin })
    // B: more agents, and OpenClaw's own agent-to-agent rule that keeps `ops` to itself.
    writeConfig(instB, 19802, { extra: { agents: { ownership: 'explicit', entries: { main: {}, ops: {}, dev: {} } }, tools: { agentToAgent: { allow: ['main', 'dev'] } } } })
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
    if (sleepingPid !== undefined) process.kill(sleepingPid, 'SIGCONT')
    const started = await Promise.all([startingA, startingB].map(async (s) => await s?.catch(() => undefined)))
    await Promise.all([...started, b, c].map(async (g) => { await g?.stop() }))
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

  void it('answers the clawmesh CLI from a running Gateway: status and sessions, on the same-host defaults', async () => {
    const status = JSON.parse(await clawmeshCli(['status', '--node', nameA, '--json'])) as MeshView['status'] & { node: { name: string, pid: number } }
    assert.equal(status.self.name, nameA)
    // The Gateway binds to loopback: so does its mesh, on the stable port (18789 + 1000), without mDNS.
    assert.ok(status.addresses.some(a => a.startsWith('/ip4/127.0.0.1/tcp/19789/')), JSON.stringify(status.addresses))
    assert.ok(!status.addresses.some(a => a.startsWith('/ip4/0.0.0.0') || !a.startsWith('/ip4/127.')), 'loopback only')
    assert.equal(status.discovery?.mdns, false)
    const sessions = JSON.parse(await clawmeshCli(['sessions', '--node', nameA, '--json'])) as MeshView['sessions']
    assert.ok(sessions.some(s => s.sessionKey === 'agent:main:main' && s.owner.name === nameB), 'B\'s sessions, as A knows them')
    const human = await clawmeshCli(['sessions', '--node', nameA, '--owner', nameB])
    console.log(`clawmesh sessions --node ${nameA} --owner ${nameB}:\n${human}`)
    assert.match(human, new RegExp(`${nameB}\\s+agent:main:main\\s+reachable`))
  })

  void it('keeps a direct-message session from the other Gateway until configured; the config change takes effect', async () => {
    assert.equal((await agentTurn(clientB, DM_KEY, 'a user writes to B')).status, 'ok')
    assert.equal((await agentTurn(clientB, 'agent:main:after-dm', 'B-local turn')).status, 'ok')
    // B announced what it created after the direct-message session; the latter stays private.
    await waitFor('A to see B\'s agent:main:after-dm', async () => await remoteEntry(clientA, 'agent:main:after-dm', 18790))
    assert.equal(await remoteEntry(clientA, DM_KEY, 18790), undefined)
    const denied = await callTool(clientA, 'agent:main:caller', { sessionKey: `gateway:18790:${DM_KEY}`, message: 'peek', timeoutSeconds: SLOW })
    assert.equal(denied.value.status, 'error', JSON.stringify(denied.value))
    assert.ok(!(await history(clientB, DM_KEY)).some(m => textOf(m).includes('peek')), 'nothing reached the private session')
    // Configured on B, without a Gateway restart: OpenClaw reloads the plugin, the mesh restarts and announces every key.
    const incarnationB = (await meshView(clientB)).status.incarnation
    patchConfig(instB, cfg => { cfg.plugins.entries.clawmesh = { ...cfg.plugins.entries.clawmesh, config: { announce: ['*'] } } })
    await waitFor('A to see B\'s direct-message session', async () => await remoteEntry(clientA, DM_KEY, 18790), 240_000, 1000)
    assert.ok((await meshView(clientB)).status.incarnation > incarnationB, 'B\'s mesh restarted with its new settings')
    const allowed = await callTool(clientA, 'agent:main:caller', { sessionKey: `gateway:18790:${DM_KEY}`, message: 'now you are announced', timeoutSeconds: SLOW })
    assert.equal(allowed.value.status, 'ok', JSON.stringify(allowed.value))
    assert.equal(allowed.value.reply, 'ECHO(19802): now you are announced')
  })

  void it('announces a second agent\'s sessions created after start, and reaches them', async () => {
    assert.equal((await agentTurn(clientB, 'agent:dev:work', 'B\'s dev agent at work')).status, 'ok')
    await waitFor('A to see B\'s agent:dev:work', async () => await remoteEntry(clientA, 'agent:dev:work', 18790))
    assert.ok(await remoteEntry(clientA, 'agent:dev:main', 18790), 'a configured agent\'s main session is announced from the start')
    const { value } = await callTool(clientA, 'agent:main:caller', { sessionKey: `gateway:${nameB}:agent:dev:work`, message: 'hello dev', timeoutSeconds: SLOW })
    assert.equal(value.status, 'ok', JSON.stringify(value))
    assert.equal(value.reply, 'ECHO(19802): hello dev')
  })

  void it('/new keeps a session reachable; a session made anew under its key replaces the old ID everywhere', async () => {
    assert.equal((await agentTurn(clientB, 'agent:main:renew', 'first life')).status, 'ok')
    const first = await waitFor('A to know agent:main:renew\'s ID', async () => (await remoteEntry(clientA, 'agent:main:renew', 18790))?.sessionId)
    // /new, as OpenClaw's own clients send it. In 2026.9.6 it keeps the session ID and starts a new transcript segment.
    await clientB.call('sessions.reset', { key: 'agent:main:renew', reason: 'new' })
    const afterNew = await callTool(clientA, 'agent:main:caller', { sessionKey: first, message: 'after /new', timeoutSeconds: SLOW })
    assert.equal(afterNew.value.status, 'ok', JSON.stringify(afterNew.value))
    // Deleted and created again: a new ID under the same key.
    // OpenClaw refuses to delete a session while a run is active (UNAVAILABLE, "try again"): the exchange's
    // announce step after the send above may still be running there.
    await waitFor('B to delete agent:main:renew', async () => { await clientB.call('sessions.delete', { key: 'agent:main:renew' }); return true }, 120_000, 1000)
    assert.equal((await agentTurn(clientB, 'agent:main:renew', 'second life')).status, 'ok')
    const second = await waitFor('A to know the new ID', async () => {
      const id = (await remoteEntry(clientA, 'agent:main:renew', 18790))?.sessionId
      return id !== undefined && id !== first ? id : undefined
    })
    assert.ok(!(await meshView(clientA)).sessions.some(s => s.sessionId === first), 'the old ID is gone from A\'s view')
    const stale = await callTool(clientA, 'agent:main:caller', { sessionKey: first, message: 'to the old ID', timeoutSeconds: SLOW })
    assert.equal(stale.value.status, 'error', JSON.stringify(stale.value))
    const fresh = await callTool(clientA, 'agent:main:caller', { sessionKey: second, message: 'to the new ID', timeoutSeconds: SLOW })
    assert.equal(fresh.value.status, 'ok', JSON.stringify(fresh.value))
    assert.equal(fresh.value.reply, 'ECHO(19802): to the new ID')
    assert.ok(!(await history(clientB, 'agent:main:renew')).some(m => textOf(m).includes('to the old ID')), 'nothing went to the old ID')
  })

  void it('restarts B with sends before, during and after; C, copied from B\'s state folder, gets a peer key of its own', async () => {
    const before = await callTool(clientA, 'agent:main:caller', { sessionKey: 'gateway:18790:agent:main:main', message: 'before the restart', timeoutSeconds: SLOW })
    assert.equal(before.value.status, 'ok', JSON.stringify(before.value))
    const peerB = (await meshView(clientB)).status.self.peerId
    // In flight when B stops: one send waiting for its reply, one accepted with timeoutSeconds 0 (B's model holds both).
    const waiting = callTool(clientA, 'agent:main:inflight', { sessionKey: 'gateway:18790:agent:main:main', message: 'HOLD waiting for the reply', timeoutSeconds: SLOW })
    const accepted = await callTool(clientA, 'agent:main:inflight0', { sessionKey: 'gateway:18790:agent:main:only-b', message: 'HOLD reply later', timeoutSeconds: 0 })
    assert.equal(accepted.value.status, 'accepted', JSON.stringify(accepted.value))
    await waitFor('B to run the held turn', async () => (await history(clientB, 'agent:main:main')).some(m => isInbound(m, 'HOLD waiting for the reply')) ? true : undefined, 120_000)
    const stoppedAt = Date.now()
    clientB.close()
    await b.stop()
    // The waiting send ends with an error naming B, not with its 120 s timeout.
    const failed = await waiting
    console.log(`in-flight send answered ${Date.now() - stoppedAt} ms after B stopped: ${JSON.stringify(failed.value)}`)
    assert.equal(failed.value.status, 'error', JSON.stringify(failed.value))
    // Named by the result's gateway field; the text is B's (UNREACHABLE when its mesh said goodbye first, B's own
    // "agent.wait unavailable during gateway restart" when OpenClaw stopped the run first).
    assert.equal(failed.value.gateway, nameB, JSON.stringify(failed.value))
    await waitFor('the failed accepted send reported in A\'s calling session', async () =>
      (await history(clientA, 'agent:main:inflight0')).some(m => textOf(m).includes('sessions_send delivery to') && textOf(m).includes('failed')) ? true : undefined, 120_000)
    // C: B's state folder copied, as people make a second profile, with its own port, token and model.
    instC = { ...instance(HOME, 'c', 18791, TOKEN_C, 'c') }
    fs.cpSync(instB.root, instC.root, { recursive: true })
    const text = fs.readFileSync(instC.configPath, 'utf8').replaceAll(instB.root, instC.root)
    const cfg = JSON.parse(text) as { gateway: { port: number, auth: { token: string } }, models: { providers: { fake: { baseUrl: string } } } }
    cfg.gateway.port = 18791
    cfg.gateway.auth.token = TOKEN_C
    cfg.models.providers.fake.baseUrl = 'http://127.0.0.1:19803/v1'
    fs.writeFileSync(instC.configPath, JSON.stringify(cfg, null, 2) + '\n')
    ;[b, c] = await Promise.all([startGateway(instB), startGateway(instC)])
    clientB = new GatewayClient(18790, TOKEN_B)
    await clientB.connect()
    assert.equal((await meshView(clientB)).status.self.peerId, peerB, 'B keeps its peer ID')
    await waitFor('A to see B\'s sessions again', async () => {
      const e = await remoteEntry(clientA, 'agent:main:main', 18790)
      return e?.owner.reachable === true ? e : undefined
    }, 120_000)
    const after = await callTool(clientA, 'agent:main:caller', { sessionKey: 'gateway:18790:agent:main:main', message: 'after the restart', timeoutSeconds: SLOW })
    assert.equal(after.value.status, 'ok', JSON.stringify(after.value))
    assert.equal(after.value.reply, 'ECHO(19802): after the restart')
    // The copy: warned about, with a peer ID and name of its own.
    const log = fs.readFileSync(path.join(instC.root, 'gateway.out'), 'utf8')
    assert.match(log, /clawmesh: .* was copied from .*\.openclaw-b.*: this Gateway gets a peer key and name of its own/)
    const onC = await waitFor('A to see C', async () => (await meshView(clientA)).sessions.find(s => s.owner.gatewayPort === 18791 && s.sessionKey === 'agent:main:main'))
    assert.notEqual(onC.owner.peerId, peerB)
    nameC = onC.owner.name
    assert.notEqual(nameC, nameB)
  })

  void it('puts C to sleep (SIGSTOP): A calls it unreachable and keeps its sessions listed', async () => {
    const status = JSON.parse(await clawmeshCli(['status', '--node', nameC, '--json'])) as { node: { pid: number } }
    sleepingPid = status.node.pid
    process.kill(sleepingPid, 'SIGSTOP')
    const entry = await waitFor('A to call C unreachable', async () => {
      const e = (await meshView(clientA)).sessions.find(s => s.owner.name === nameC && s.sessionKey === 'agent:main:main')
      return e?.owner.reachable === false ? e : undefined
    }, 120_000)
    cUnreachableSince = entry.owner.unreachableSince ?? 0
    assert.ok(cUnreachableSince > 0, 'A says since when')
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

  void it('with B stopped, answers at once with an error naming B', async () => {
    await b.stop()
    const started = Date.now()
    // A 120 s budget: an "error" (not "timeout") shows the failure did not wait for it.
    const { value } = await callTool(clientA, 'agent:main:caller', { sessionKey: 'gateway:18790:agent:main:main', message: 'anyone there?', timeoutSeconds: 120 })
    console.log(`unreachable send answered after ${Date.now() - started} ms (whole agent turn): ${JSON.stringify(value)}`)
    assert.equal(value.status, 'error', JSON.stringify(value))
    assert.ok(String(value.error).includes(nameB), `error names ${nameB}: ${String(value.error)}`)
  })

  void it('still lists the sleeping Gateway\'s sessions past the old 60 s grace: senders get UNREACHABLE, not NOT_FOUND', async () => {
    assert.ok(sleepingPid !== undefined && cUnreachableSince > 0)
    // The cases above ran meanwhile; wait out what is left of the old grace period (the point of the case is time passing).
    const left = cUnreachableSince + OLD_GRACE_MS + 1_000 - Date.now()
    console.log(`sleeping Gateway: ${Math.max(0, left)} ms left to wait past the old grace period`)
    if (left > 0) await sleep(left)
    const entry = (await meshView(clientA)).sessions.find(s => s.owner.name === nameC && s.sessionKey === 'agent:main:main')
    assert.ok(entry !== undefined, 'still listed')
    assert.equal(entry.owner.reachable, false)
    const { value } = await callTool(clientA, 'agent:main:caller', { sessionKey: `gateway:${nameC}:agent:main:main`, message: 'are you awake?', timeoutSeconds: SLOW })
    console.log(`send to the sleeping Gateway: ${JSON.stringify(value)}`)
    assert.equal(value.status, 'error', JSON.stringify(value))
    assert.equal(value.code, 'UNREACHABLE')
    assert.ok(String(value.error).includes(nameC), String(value.error))
    const listed = await callTool(clientA, 'agent:main:caller', { search: 'agent:main:main' }, 'sessions_list')
    const row = (listed.value.sessions as Array<{ key: string, reachable?: boolean, unreachableSince?: string }>).find(r => r.key === `gateway:${nameC}:agent:main:main`)
    assert.ok(row !== undefined && row.reachable === false && row.unreachableSince !== undefined, JSON.stringify(row))
  })
})
