/**
 * Fault scenarios on a private LAN of network namespaces (test/helpers/netns.ts):
 * packet loss and jitter, partitions, kill -9, SIGSTOP and restart storms, with
 * Gateways as real processes (test/fixtures/gateway-process.ts).
 *
 * Short counts in `npm test`; `npm run soak` sets CLAWMESH_SOAK=1 for the full
 * ones. Timeouts below are hang guards, not assertions about speed; the one
 * bound checked is the "no send outlives its deadline" (with slack for
 * a loaded machine).
 */
import assert from 'node:assert/strict'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it, type TestContext } from 'node:test'
import { MESH_ERROR_CODES } from '../../src/errors.ts'
import { generateSecret } from '../../src/security/secret.ts'
import { restartGateway, startGateway, type GatewayHandle, type SendOutcome } from '../helpers/gateway.ts'
import { createNetwork, type Host, type Network } from '../helpers/netns.ts'

const SOAK = process.env.CLAWMESH_SOAK === '1'
const scale = (short: number, full: number): number => SOAK ? full : short
/** A send may settle this long after its deadline on a loaded 2-core machine and still count as "by its deadline". */
const DEADLINE_SLACK_MS = 3_000
/** Where each scenario leaves its figures (docs/reliability.md quotes them). */
const FIGURES_DIR = process.env.CLAWMESH_FIGURES_DIR ?? join(tmpdir(), 'clawmesh-figures')

const networks: Network[] = []
const dirs: string[] = []
after(async () => {
  for (const n of networks) n.destroy()
  await Promise.all(dirs.map(async d => { await rm(d, { recursive: true, force: true }) }))
})

function network (hosts: number): Network {
  const n = createNetwork({ hosts })
  networks.push(n)
  return n
}

async function tempDir (): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'clawmesh-faults-'))
  dirs.push(d)
  return d
}

/** Fast failure detection, so scenarios take seconds: heartbeats every 0.5 s, silence after 2 s. */
const FAST = { heartbeatIntervalMs: 500, peerSilenceMs: 2_000, dialTimeoutMs: 2_000 }

async function gateway (host: Host, name: string, secret: string, extra: Record<string, unknown> = {}): Promise<GatewayHandle> {
  return await startGateway(host, {
    name,
    secret,
    stateDir: await tempDir(),
    dataDir: await tempDir(),
    discovery: { local: false, mdns: { intervalMs: 500 } },
    sessions: [`agent:main:${name}`],
    ...FAST,
    ...extra
  })
}

interface Entry { sessionKey: string, owner: { peerId: string, name: string, reachable: boolean } }

/** A registry as a comparable list: `<owner peer ID> <session key>`, sorted. */
async function registryOf (g: GatewayHandle): Promise<string[]> {
  const sessions = await g.request<Entry[]>('sessions')
  return sessions.map(s => `${s.owner.peerId} ${s.sessionKey}`).sort()
}

/** Re-checks `condition` until it holds; `ms` is a hang guard. */
async function until (what: string, condition: () => Promise<boolean>, ms = 60_000): Promise<void> {
  const giveUp = Date.now() + ms
  for (;;) {
    if (await condition()) return
    if (Date.now() > giveUp) throw new Error(`still waiting after ${ms} ms for ${what}`)
    await new Promise(resolve => setTimeout(resolve, 200))
  }
}

/** True when `g` lists `sessionKey` as owned by `owner`, reachable. */
async function sees (g: GatewayHandle, owner: GatewayHandle, sessionKey: string): Promise<boolean> {
  const sessions = await g.request<Entry[]>('sessions')
  return sessions.some(s => s.sessionKey === sessionKey && s.owner.peerId === owner.peerId && s.owner.reachable)
}

async function sendMany (from: GatewayHandle, target: string, count: number, concurrency: number, prefix: string, options: Record<string, unknown>): Promise<SendOutcome[]> {
  return await from.request<SendOutcome[]>('sendMany', { target, count, concurrency, prefix, options }, 15 * 60_000)
}

/** Message IDs the receiver's deliver handler saw, in order. */
function deliveredIds (g: GatewayHandle): string[] {
  return g.events().filter(e => e.event === 'delivered').map(e => String(e.message?.id))
}

function percentile (values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0
}

function tally (outcomes: SendOutcome[]): Record<string, number> {
  const out: Record<string, number> = {}
  for (const o of outcomes) out[o.outcome] = (out[o.outcome] ?? 0) + 1
  return out
}

async function figures (t: TestContext, scenario: string, data: Record<string, unknown>): Promise<void> {
  const record = { scenario, soak: SOAK, at: new Date().toISOString(), ...data }
  t.diagnostic(JSON.stringify(record))
  await mkdir(FIGURES_DIR, { recursive: true })
  await writeFile(join(FIGURES_DIR, `${scenario}${SOAK ? '.soak' : ''}.json`), JSON.stringify(record, null, 2))
}

/** Every outcome is a success or one of `allowed`, and none settled past its deadline. */
function assertDefinite (outcomes: SendOutcome[], allowed: string[]): void {
  for (const o of outcomes) {
    assert.ok(o.outcome === 'ok' || allowed.includes(o.outcome), `${o.id}: ${o.outcome}`)
    assert.ok(o.ms <= o.timeoutMs + DEADLINE_SLACK_MS, `${o.id} settled after ${o.ms} ms, past its ${o.timeoutMs} ms deadline`)
  }
}

/** No message delivered twice anywhere; every message reported `ok` is in its receiver's log. */
function assertNoDuplicateNoGap (receivers: GatewayHandle[], outcomes: SendOutcome[], receiverOf: (id: string) => GatewayHandle): void {
  const logs = new Map(receivers.map(r => [r, deliveredIds(r)]))
  for (const [r, ids] of logs) {
    assert.equal(new Set(ids).size, ids.length, `${r.name} delivered some message twice`)
  }
  for (const o of outcomes) {
    if (o.outcome !== 'ok') continue
    assert.ok(logs.get(receiverOf(o.id))?.includes(o.id), `${o.id} was reported delivered but is not in the receiver's log`)
  }
}

async function stopAll (gateways: GatewayHandle[]): Promise<void> {
  await Promise.all(gateways.map(async g => { await g.stop() }))
}

void describe('faults across network namespaces', { timeout: SOAK ? 60 * 60_000 : 120_000 }, () => {
  void it('5% loss and 20 ms jitter between three hosts: every send ends delivered or typed, no duplicate, no gap', async (t) => {
    const net = network(3)
    const secret = generateSecret()
    const gateways = await Promise.all(net.hosts.map(async (host, i) => await gateway(host, `g${i + 1}`, secret)))
    try {
      for (const g of gateways) {
        for (const o of gateways) if (o !== g) await until(`${g.name} to see ${o.name}`, async () => await sees(g, o, `agent:main:${o.name}`))
      }
      for (const host of net.hosts) await net.impair(host, { delayMs: 25, jitterMs: 20, lossPercent: 5 })
      const perPair = scale(40, 1_000)
      const started = Date.now()
      const runs = await Promise.all(gateways.flatMap(from => gateways.filter(to => to !== from).map(async to => {
        const outcomes = await sendMany(from, `agent:main:${to.name}`, perPair, 8, `${from.name}>${to.name}`, { timeoutMs: 20_000 })
        return outcomes
      })))
      const elapsed = Date.now() - started
      const outcomes = runs.flat()
      assertDefinite(outcomes, [...MESH_ERROR_CODES])
      const byName = new Map(gateways.map(g => [g.name, g]))
      assertNoDuplicateNoGap(gateways, outcomes, id => byName.get(id.slice(id.indexOf('>') + 1, id.lastIndexOf('-')))!)
      const ok = outcomes.filter(o => o.outcome === 'ok').map(o => o.ms)
      await figures(t, 'loss-jitter', {
        method: net.impairMethod(), sends: outcomes.length, outcomes: tally(outcomes), elapsedMs: elapsed,
        latencyMs: { p50: percentile(ok, 0.5), p99: percentile(ok, 0.99), max: Math.max(...ok) },
        duplicates: 0
      })
      // Under 5% loss TCP retransmits; with a 20 s budget every send should get through.
      assert.ok(ok.length >= outcomes.length * 0.95, `only ${ok.length} of ${outcomes.length} delivered: ${JSON.stringify(tally(outcomes))}`)
    } finally {
      for (const host of net.hosts) await net.clearImpairment(host)
      await stopAll(gateways)
    }
  })

  void it('a partition longer than the grace period: fast UNREACHABLE during it, every registry the same after it heals', async (t) => {
    const net = network(3)
    const secret = generateSecret()
    const extra = { unreachableGraceMs: 3_000 }
    const [g1, g2, g3] = await Promise.all(net.hosts.map(async (host, i) => await gateway(host, `g${i + 1}`, secret, {
      ...extra, sessions: [`agent:main:g${i + 1}`, `agent:main:g${i + 1}-old`]
    }))) as [GatewayHandle, GatewayHandle, GatewayHandle]
    const all = [g1, g2, g3]
    try {
      for (const g of all) for (const o of all) if (o !== g) await until(`${g.name} to see ${o.name}`, async () => await sees(g, o, `agent:main:${o.name}`))
      const before = await registryOf(g1)
      assert.equal(before.length, 6)
      const cut = Date.now()
      net.partition(net.hosts[2]!)
      // Both sides notice (heartbeats stop), then sends fail fast instead of waiting for their deadline.
      await until('g1 to see g3 unreachable', async () => !(await sees(g1, g3, 'agent:main:g3')))
      await until('g3 to see g1 unreachable', async () => !(await sees(g3, g1, 'agent:main:g1')))
      const during = [
        ...await sendMany(g1, 'gateway:g3:agent:main:g3', 5, 1, 'g1>g3', { timeoutMs: 10_000 }),
        ...await sendMany(g3, 'gateway:g1:agent:main:g1', 5, 1, 'g3>g1', { timeoutMs: 10_000 })
      ]
      for (const o of during) assert.ok(o.outcome === 'UNREACHABLE' || o.outcome === 'NOT_FOUND', `${o.id}: ${o.outcome}`)
      assert.ok(during.some(o => o.outcome === 'UNREACHABLE'))
      // Changes on both sides of the cut.
      await g1.request('announce', { sessionKey: 'agent:main:g1-new' })
      await g1.request('withdraw', { sessionKey: 'agent:main:g1-old' })
      await g3.request('announce', { sessionKey: 'agent:main:g3-new' })
      await g3.request('withdraw', { sessionKey: 'agent:main:g3-old' })
      // Past the grace period each side forgets the other.
      await until('g1 to drop g3', async () => !(await registryOf(g1)).some(e => e.startsWith(g3.peerId)))
      await until('g3 to drop g1 and g2', async () => (await registryOf(g3)).every(e => e.startsWith(g3.peerId)))
      const partitionMs = Date.now() - cut
      const healed = Date.now()
      net.heal(net.hosts[2]!)
      const expected = [
        `${g1.peerId} agent:main:g1`, `${g1.peerId} agent:main:g1-new`,
        `${g2.peerId} agent:main:g2`, `${g2.peerId} agent:main:g2-old`,
        `${g3.peerId} agent:main:g3`, `${g3.peerId} agent:main:g3-new`
      ].sort()
      for (const g of all) await until(`${g.name} to converge`, async () => JSON.stringify(await registryOf(g)) === JSON.stringify(expected))
      const convergeMs = Date.now() - healed
      for (const g of all) assert.deepEqual(await registryOf(g), expected)
      const afterHeal = await g1.request<{ status: string }>('send', { target: 'agent:main:g3-new', text: 'back' })
      assert.equal(afterHeal.status, 'ok')
      await figures(t, 'partition', { partitionMs, graceMs: 3_000, sendsDuringPartition: tally(during), failFastMaxMs: Math.max(...during.map(o => o.ms)), convergeAfterHealMs: convergeMs, registrySize: expected.length })
    } finally {
      net.heal(net.hosts[2]!)
      await stopAll(all)
    }
  })

  void it('kill -9 of the owner mid-burst: every send ends by its deadline; after restart, sends succeed and stale entries are gone', async (t) => {
    const net = network(2)
    const secret = generateSecret()
    // A long grace: the old entries must go because of the new incarnation, not because they expired.
    const g1 = await gateway(net.hosts[0]!, 'g1', secret, { unreachableGraceMs: 120_000 })
    let g2 = await gateway(net.hosts[1]!, 'g2', secret, { unreachableGraceMs: 120_000, sessions: ['agent:main:owner', 'agent:main:stale'] })
    const oldG2 = g2
    try {
      await until('g1 to see g2', async () => await sees(g1, g2, 'agent:main:stale'))
      const count = scale(300, 3_000)
      const timeoutMs = 5_000
      const burst = sendMany(g1, 'agent:main:owner', count, 10, 'burst', { timeoutMs })
      let seen = 0
      await g2.proc.waitForLine(l => l.includes('"event":"delivered"') && ++seen >= Math.floor(count / 10), 60_000, 'the burst to be under way')
      g2.signal('SIGKILL')
      const outcomes = await burst
      assertDefinite(outcomes, ['UNREACHABLE', 'TIMEOUT'])
      assertNoDuplicateNoGap([oldG2], outcomes, () => oldG2)
      const failed = outcomes.filter(o => o.outcome !== 'ok')
      assert.ok(failed.length > 0, 'the kill interrupted the burst')

      const restartedAt = Date.now()
      g2 = await restartGateway(oldG2, { sessions: ['agent:main:owner'] })
      assert.equal(g2.peerId, oldG2.peerId, 'same dataDir, same peer ID')
      await until('g1 to see the new incarnation', async () => {
        const keys = (await registryOf(g1)).filter(e => e.startsWith(g2.peerId))
        return keys.length === 1 && await sees(g1, g2, 'agent:main:owner')
      })
      const after = await sendMany(g1, 'agent:main:owner', 20, 4, 'after', { timeoutMs: 10_000 })
      assert.deepEqual(tally(after), { ok: 20 })
      assert.ok(!(await registryOf(g1)).includes(`${g2.peerId} agent:main:stale`), 'the stale entry of the old incarnation is gone')
      await figures(t, 'kill9', {
        sends: outcomes.length, outcomes: tally(outcomes),
        failedSettledMs: { p50: percentile(failed.map(o => o.ms), 0.5), max: Math.max(...failed.map(o => o.ms)) },
        timeoutMs, restartToServingMs: Date.now() - restartedAt
      })
    } finally {
      await stopAll([g1, g2])
    }
  })

  void it('SIGSTOP of the owner: TIMEOUT or UNREACHABLE by the deadline; after SIGCONT it rejoins', async (t) => {
    const net = network(2)
    const secret = generateSecret()
    const g1 = await gateway(net.hosts[0]!, 'g1', secret)
    const g2 = await gateway(net.hosts[1]!, 'g2', secret)
    let stopped = false
    try {
      await until('g1 to see g2', async () => await sees(g1, g2, 'agent:main:g2'))
      g2.signal('SIGSTOP')
      stopped = true
      const timeoutMs = 3_000
      const outcomes = await sendMany(g1, 'agent:main:g2', scale(10, 200), 5, 'frozen', { timeoutMs })
      assertDefinite(outcomes, ['UNREACHABLE', 'TIMEOUT'])
      assert.equal(outcomes.filter(o => o.outcome === 'ok').length, 0)
      // TIMEOUT means the caller's deadline passed; a hang detected earlier is UNREACHABLE.
      for (const o of outcomes) if (o.outcome === 'TIMEOUT') assert.ok(o.ms >= o.timeoutMs - 50, `${o.id}: TIMEOUT after ${o.ms} ms, before its ${o.timeoutMs} ms deadline`)
      const resumedAt = Date.now()
      g2.signal('SIGCONT')
      stopped = false
      let attempts = 0
      await until('a send to g2 to succeed again', async () => {
        attempts++
        try {
          return (await g1.request<{ status: string }>('send', { target: 'agent:main:g2', text: 'awake?', options: { timeoutMs: 3_000 } })).status === 'ok'
        } catch {
          return false
        }
      })
      await until('g2 to see g1 again', async () => await sees(g2, g1, 'agent:main:g1'))
      // No message sent while frozen reached the session twice (some may arrive late, once).
      const ids = deliveredIds(g2)
      assert.equal(new Set(ids).size, ids.length)
      await figures(t, 'sigstop', { sends: outcomes.length, outcomes: tally(outcomes), maxSettledMs: Math.max(...outcomes.map(o => o.ms)), timeoutMs, rejoinMs: Date.now() - resumedAt, probeAttempts: attempts })
    } finally {
      if (stopped) g2.signal('SIGCONT')
      await stopAll([g1, g2])
    }
  })

  void it('restart storm: every Gateway of a host restarts at once, repeatedly; the mesh re-forms each time', async (t) => {
    const net = network(2)
    const secret = generateSecret()
    const g1 = await gateway(net.hosts[0]!, 'g1', secret)
    let local = await Promise.all(['g2a', 'g2b'].map(async name => await gateway(net.hosts[1]!, name, secret)))
    const rounds = scale(3, 10)
    const reform: number[] = []
    try {
      const formed = async (): Promise<void> => {
        const all = [g1, ...local]
        for (const g of all) for (const o of all) if (o !== g) await until(`${g.name} to see ${o.name}`, async () => await sees(g, o, `agent:main:${o.name}`))
        for (const g of local) {
          assert.equal((await g1.request<{ status: string }>('send', { target: `agent:main:${g.name}`, text: 'ping', options: { timeoutMs: 10_000 } })).status, 'ok')
          assert.equal((await g.request<{ status: string }>('send', { target: 'agent:main:g1', text: 'pong', options: { timeoutMs: 10_000 } })).status, 'ok')
        }
      }
      await formed()
      for (let round = 0; round < rounds; round++) {
        const started = Date.now()
        for (const g of local) g.signal('SIGKILL')
        await Promise.all(local.map(async g => await g.proc.exited))
        local = await Promise.all(local.map(async g => await restartGateway(g)))
        await formed()
        reform.push(Date.now() - started)
      }
      const status = await g1.request<{ rejected: unknown[], gateways: number, sessions: number }>('status')
      assert.deepEqual(status.rejected, [], 'no connection was refused (no rate limit hit)')
      assert.equal(status.gateways, 3, 'one registry origin per Gateway, old incarnations replaced')
      assert.equal(status.sessions, 3)
      await figures(t, 'restart-storm', { rounds, gatewaysRestartedPerRound: local.length, reformMs: { p50: percentile(reform, 0.5), max: Math.max(...reform) } })
    } finally {
      await stopAll([g1, ...local])
    }
  })
})
