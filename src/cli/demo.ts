/**
 * `clawmesh demo`: the original problem, live. Two Gateways (`hq` on 18789,
 * `hangzhou` on 18790) in one process, each with its own `agent:main:main`:
 * discovery, the registry, a bare key that is `AMBIGUOUS`, a qualified send
 * with its reply, a send by session UUID, and a Gateway stopped whose
 * sessions turn `UNREACHABLE` at once.
 *
 * Multicast stays off unless `--mdns`: the Gateways find each other through
 * the same-host rendezvous folder of a temporary state directory, so the demo
 * needs no network and never touches the user's own state.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createMesh, type Mesh } from '../mesh.ts'
import { MeshError } from '../errors.ts'
import { generateSecret } from '../security/secret.ts'
import { waitUntil } from '../util/wait-until.ts'
import type { InboundMessage } from '../types.ts'
import { paint } from './output.ts'
import { formatSessions } from './views.ts'

export interface DemoOptions {
  mdns: boolean
  stateDir?: string
}

/** How long the demo waits for something to happen before it calls it a failure. */
const STEP_DEADLINE_MS = 15_000

const SESSIONS = {
  hq: [
    { key: 'agent:main:main', sessionId: '0f6c2a52-7d9e-4c41-9a55-1f0f3c1d0a01', label: 'HQ main' },
    { key: 'agent:ops:telegram:direct:42', sessionId: '3c9e1b7a-5d2f-4e8a-b1c4-6a7d8e9f0a12', label: 'ops on Telegram' },
    { key: 'agent:main:cron:daily-report', sessionId: '9a8b7c6d-1e2f-4a3b-8c4d-5e6f7a8b9c03' }
  ],
  hangzhou: [
    { key: 'agent:main:main', sessionId: '7b1d9a40-2e3f-4b8a-8c6d-5e4f3a2b1c02', label: 'Hangzhou main' },
    { key: 'agent:research:main', sessionId: 'c4d5e6f7-a8b9-4c0d-9e1f-2a3b4c5d6e04', label: 'research' },
    { key: 'agent:main:discord:channel:7', sessionId: 'e1f2a3b4-c5d6-4e7f-8a9b-0c1d2e3f4a05' }
  ]
}

let stepNo = 0
function step (title: string, explain?: string): void {
  stepNo++
  console.log(`\n${paint(['bold', 'cyan'], `${stepNo}. ${title}`)}`)
  if (explain !== undefined) console.log(paint('dim', `   ${explain}`))
}
function say (text: string): void {
  console.log(`   ${text.split('\n').join('\n   ')}`)
}
function arrow (from: string, target: string, message: string): void {
  say(`${paint('bold', from)} ${paint('dim', 'sends')} ${target} ${paint('dim', `"${message}"`)}`)
}

/** An agent-like answer, so the reply shows where the message landed. */
function agent (gateway: string): (msg: InboundMessage) => Promise<{ reply: string }> {
  return async (msg) => ({ reply: `[${gateway} ${msg.sessionKey}] Hi ${msg.from.gateway}, I got "${msg.text}".` })
}

/** Resolves once `condition` holds (re-checked on every mesh event); rejects after the deadline. */
async function until (mesh: Mesh, what: string, condition: () => boolean): Promise<void> {
  try {
    await waitUntil(mesh, condition, STEP_DEADLINE_MS)
  } catch (err) {
    throw new MeshError('TIMEOUT', `demo: ${what} did not happen within ${STEP_DEADLINE_MS / 1000}s`, { cause: err })
  }
}

async function expectError (promise: Promise<unknown>): Promise<MeshError> {
  try {
    await promise
  } catch (err) {
    if (err instanceof MeshError) return err
    throw err
  }
  throw new Error('demo: expected a MeshError, but the call succeeded')
}

export async function runDemo (opts: DemoOptions): Promise<void> {
  const temporary = opts.stateDir === undefined
  const stateDir = opts.stateDir ?? await mkdtemp(join(tmpdir(), 'clawmesh-demo-'))
  // A fresh private mesh for this run: other meshes on the host or LAN never see it.
  const secret = generateSecret()
  const base = {
    listen: ['/ip4/127.0.0.1/tcp/0'],
    secret,
    stateDir,
    mdns: opts.mdns,
    discovery: { mdns: opts.mdns, local: !opts.mdns }
  }
  const meshes: Mesh[] = []
  try {
    console.log(paint('bold', 'clawmesh demo: two OpenClaw Gateways working as one'))
    console.log(paint('dim', `state directory ${stateDir}${temporary ? ' (temporary)' : ''}; multicast ${opts.mdns ? 'on' : 'off'}`))

    step('Start two Gateways', 'Each embeds a libp2p node. Nobody tells them about each other.')
    const hq = await createMesh({ ...base, name: 'hq', gatewayPort: 18789, deliver: agent('hq') })
    meshes.push(hq)
    say(`${paint('bold', 'hq')}        OpenClaw port 18789  peer ${hq.peerId}`)
    const hangzhou = await createMesh({ ...base, name: 'hangzhou', gatewayPort: 18790, deliver: agent('hangzhou') })
    meshes.push(hangzhou)
    say(`${paint('bold', 'hangzhou')}  OpenClaw port 18790  peer ${hangzhou.peerId}`)

    step('Discovery', opts.mdns ? 'Multicast DNS on the LAN, with a service tag derived from the mesh secret.' : 'Same-host discovery: each node leaves its address in a rendezvous folder of the state directory (no multicast needed).')
    await until(hq, 'hq finding hangzhou', () => hq.peers().some(p => p.peerId === hangzhou.peerId))
    await until(hangzhou, 'hangzhou finding hq', () => hangzhou.peers().some(p => p.peerId === hq.peerId))
    say(`hq found ${paint('bold', 'hangzhou')} and hangzhou found ${paint('bold', 'hq')}: the connection is encrypted (Noise) and needs the mesh secret (pnet).`)

    step('Registry', 'Each Gateway announces the sessions it owns; the signed registry gossips them to every peer.')
    for (const s of SESSIONS.hq) await hq.announce(s.key, { sessionId: s.sessionId, label: s.label, agentId: s.key.split(':')[1] })
    for (const s of SESSIONS.hangzhou) await hangzhou.announce(s.key, { sessionId: s.sessionId, label: s.label, agentId: s.key.split(':')[1] })
    const total = SESSIONS.hq.length + SESSIONS.hangzhou.length
    await until(hq, 'registry sync on hq', () => hq.sessions().length === total)
    await until(hangzhou, 'registry sync on hangzhou', () => hangzhou.sessions().length === total)
    say(`hq's view of the mesh (${total} sessions; both Gateways own an ${paint('bold', 'agent:main:main')}):`)
    printSessionsIndented(hq)

    step('A bare key is ambiguous', 'agent:main:main exists on both Gateways. hq keeps OpenClaw\'s behaviour (its own session first); asked without local-first, it refuses to guess:')
    arrow('hq', 'agent:main:main', 'hello')
    const local = await hq.send('agent:main:main', 'hello')
    say(`→ stays local (as in OpenClaw): ${local.reply ?? ''}`)
    arrow('hq', 'agent:main:main (localFirst: false)', 'which one?')
    const ambiguous = await expectError(hq.send('agent:main:main', 'which one?', { localFirst: false }))
    say(`→ ${paint(['red', 'bold'], ambiguous.code)}: ${ambiguous.message}`)

    step('A qualified send, with its reply', 'gateway:<name>:<key> (or the Gateway\'s port, gateway:18790:<key>) names exactly one session.')
    arrow('hq', 'gateway:hangzhou:agent:main:main', 'status report, please')
    const qualified = await hq.send('gateway:hangzhou:agent:main:main', 'status report, please')
    say(`→ ${paint('green', 'reply')} from ${qualified.owner.name}: ${qualified.reply ?? ''}`)
    arrow('hq', 'gateway:18790:agent:research:main', 'any news?')
    const byPort = await hq.send('gateway:18790:agent:research:main', 'any news?')
    say(`→ ${paint('green', 'reply')} from ${byPort.owner.name}: ${byPort.reply ?? ''}`)

    const uuid = SESSIONS.hangzhou[0]?.sessionId ?? ''
    step('A send by session UUID', 'Session IDs are globally unique, so they route without a Gateway name (this used to say "No session found").')
    arrow('hq', uuid, 'hello by UUID')
    const byId = await hq.send(uuid, 'hello by UUID')
    say(`→ ${paint('green', 'reply')} from ${byId.owner.name} (${byId.sessionKey}): ${byId.reply ?? ''}`)

    step('A Gateway goes away', 'hangzhou stops. hq marks its sessions unreachable at once: sends fail fast with UNREACHABLE, not after a 30 s timeout.')
    await hangzhou.stop()
    meshes.splice(meshes.indexOf(hangzhou), 1)
    await until(hq, 'hangzhou turning unreachable on hq', () => hq.sessions().filter(s => s.owner.name === 'hangzhou').every(s => !s.owner.reachable))
    say('hq\'s view of the mesh:')
    printSessionsIndented(hq)
    arrow('hq', 'gateway:hangzhou:agent:main:main', 'are you there?')
    const started = Date.now()
    const unreachable = await expectError(hq.send('gateway:hangzhou:agent:main:main', 'are you there?', { timeoutMs: 30_000 }))
    say(`→ ${paint(['red', 'bold'], unreachable.code)} after ${Date.now() - started} ms: ${unreachable.message}`)

    step('Done', 'Run your own: `clawmesh run --name hq --gateway-port 18789 --session agent:main:main`, then `clawmesh sessions` and `clawmesh send`.')
  } finally {
    await Promise.all(meshes.map(async m => { await m.stop() }))
    if (temporary) await rm(stateDir, { recursive: true, force: true })
  }
}

function printSessionsIndented (mesh: Mesh): void {
  say(formatSessions(mesh.sessions()).trimEnd())
}
