// Load: many Gateways, thousands of sessions each, announce/withdraw churn while sends flow.
// Each Gateway is its own process (as in production: its own event loop and heap), on loopback,
// finding the others through the rendezvous folder. Short in `npm test`; `npm run soak`
// (CLAWMESH_SOAK=1) runs the 20 Gateways × 5,000 sessions.
import assert from 'node:assert/strict'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { TEST_SECRET } from '../../src/testing.ts'
import { LoopbackGateway } from '../helpers/loopback-gateway.ts'

const SOAK = process.env.CLAWMESH_SOAK === '1'
const sized = (name: string, fallback: number): number => Number(process.env[`CLAWMESH_LOAD_${name}`] ?? fallback)
const GATEWAYS = sized('GATEWAYS', SOAK ? 20 : 6)
const STABLE = sized('SESSIONS', SOAK ? 5_000 : 1_000)
const CHURN = sized('CHURN', SOAK ? 500 : 100)
const ROUNDS = sized('ROUNDS', SOAK ? 40 : 10)
/**
 * Memory is judged by halves: by half-way each process has reached its working size (V8 sizes its
 * heap to the allocation rate; live memory saw-tooths as origins' deltas pile up and are compacted),
 * and the second half must not go beyond what the first half reached.
 */
const MID_ROUND = Math.max(1, Math.floor(ROUNDS / 2)) - 1
/** A send's own deadline: waiting longer than this is a failure, however busy the machine. */
const SEND_TIMEOUT_MS = 30_000
/** Each Gateway keeps two sends in flight, each followed by this pause: ~20 sends/s per Gateway, a busy Gateway's rate. */
const SEND_PAUSE_MS = 100
/** How long a Gateway may take to apply one round (or the initial load) before the test gives up. */
const CONVERGE_TIMEOUT_MS = SOAK ? 300_000 : 60_000
const FIGURES_DIR = process.env.CLAWMESH_FIGURES_DIR ?? join(tmpdir(), 'clawmesh-figures')

const stableKey = (gw: number, k: number): string => `agent:s${gw}:${k}`
const churnKey = (gw: number, round: number, k: number): string => `agent:c${gw}:${round}:${k}`
const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i)
const mb = (bytes: number): number => Math.round(bytes / 1024 / 1024)
const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0

/** After a full GC: live JS objects, memory outside the JS heap (buffers, WebAssembly), and the process. */
interface Memory { heap: number, external: number, rss: number }
const live = (m: Memory): number => m.heap + m.external
interface SendSummary { ok: number, failures: string[], latencyMs: { p50: number, p99: number, max: number } }

describe('load', { timeout: SOAK ? 3600_000 : 180_000 }, () => {
  it(`${GATEWAYS} Gateway processes × ${STABLE} sessions, churn while sends flow: every send succeeds, registries end equal, memory stays flat`, async (t) => {
    const home = await mkdtemp(join(tmpdir(), 'clawmesh-load-'))
    // Default liveness settings: this test shows they hold under load when each Gateway has its own process.
    const gateways = range(GATEWAYS).map(i => new LoopbackGateway(
      { name: `gw${i}`, secret: TEST_SECRET, listen: ['/ip4/127.0.0.1/tcp/0'], discovery: { mdns: false, local: true } },
      { CLAWMESH_HOME: home }
    ))
    const all = async <T>(what: (gw: LoopbackGateway, i: number) => Promise<T>): Promise<T[]> => await Promise.all(gateways.map(what))
    try {
      await all(async gw => { await Promise.race([gw.ready, gw.exit.then(code => { throw new Error(`${gw.name} exited (${String(code)}) before it was ready`) })]) })
      const started = Date.now()
      await all(async gw => { await gw.request('waitPeers', { count: GATEWAYS - 1, timeoutMs: CONVERGE_TIMEOUT_MS }) })
      const formedMs = Date.now() - started
      await all(async (gw, i) => { await gw.request('announceMany', { sessionKeys: range(STABLE).map(k => stableKey(i, k)) }) })
      await all(async gw => { await gw.request('waitSessions', { count: GATEWAYS * STABLE, timeoutMs: CONVERGE_TIMEOUT_MS }) })
      const initialConvergeMs = Date.now() - started - formedMs

      // Every Gateway sends, throughout, to stable sessions of every other Gateway: each send must succeed.
      await all(async (gw, i) => {
        const targets = range(GATEWAYS - 1).flatMap(d => {
          const to = (i + 1 + d) % GATEWAYS
          return range(16).map(j => `gateway:gw${to}:${stableKey(to, (i * 7919 + j * 313) % STABLE)}`)
        })
        await gw.request('startSending', { targets, concurrency: 2, pauseMs: SEND_PAUSE_MS, timeoutMs: SEND_TIMEOUT_MS })
      })

      // Each round every Gateway announces CHURN new sessions and withdraws the previous round's;
      // the next round starts once every registry holds the new count, so the churn runs as fast
      // as the mesh applies it (a backlog growing without bound would measure only the backlog).
      const roundMs: number[] = []
      const memory: Memory[][] = []
      for (let round = 0; round < ROUNDS; round++) {
        const roundStarted = Date.now()
        await all(async (gw, i) => {
          await Promise.all([
            gw.request('announceMany', { sessionKeys: range(CHURN).map(k => churnKey(i, round, k)) }),
            round > 0 ? gw.request('withdrawMany', { sessionKeys: range(CHURN).map(k => churnKey(i, round - 1, k)) }) : undefined
          ])
        })
        await all(async gw => { await gw.request('waitSessions', { count: GATEWAYS * (STABLE + CHURN), timeoutMs: CONVERGE_TIMEOUT_MS }) })
        roundMs.push(Date.now() - roundStarted)
        if (SOAK) process.stderr.write(`load: round ${round + 1}/${ROUNDS} applied everywhere in ${roundMs.at(-1)} ms\n`)
        memory.push(await all(async gw => await gw.request<Memory>('memory')))
      }
      await all(async (gw, i) => { await gw.request('withdrawMany', { sessionKeys: range(CHURN).map(k => churnKey(i, ROUNDS - 1, k)) }) })
      await all(async gw => { await gw.request('waitSessions', { count: GATEWAYS * STABLE, timeoutMs: CONVERGE_TIMEOUT_MS }) })
      const sent = await all(async gw => await gw.request<SendSummary>('stopSending'))

      const prints = await all(async gw => await gw.request<{ count: number, hash: string }>('fingerprint'))
      const end = await all(async gw => await gw.request<Memory>('memory'))
      const firstHalf = memory.slice(0, MID_ROUND + 1)
      const secondHalf = [...memory.slice(MID_ROUND + 1), end]
      const mid = memory[MID_ROUND]!
      /** Gateway i's highest live memory over some rounds. */
      const livePeak = (rounds: Memory[][], i: number): number => Math.max(...rounds.map(list => live(list[i]!)))
      const meanMB = (list: Memory[], of: (m: Memory) => number): number => mb(list.reduce((n, m) => n + of(m), 0) / list.length)
      const failures = sent.flatMap(s => s.failures)
      const record = {
        scenario: 'load', soak: SOAK, at: new Date().toISOString(), gateways: GATEWAYS, stableSessions: STABLE, churnPerRound: CHURN, rounds: ROUNDS,
        meshFormedMs: formedMs,
        initialConvergeMs,
        roundAppliedEverywhereMs: { p50: median(roundMs), max: Math.max(...roundMs) },
        sends: sent.reduce((n, s) => n + s.ok, 0),
        failed: failures.length,
        sendLatencyMs: { p50: median(sent.map(s => s.latencyMs.p50)), p99: Math.max(...sent.map(s => s.latencyMs.p99)), max: Math.max(...sent.map(s => s.latencyMs.max)) },
        // Per Gateway (the mean over all), after a full GC. live = JS heap in use + external (buffers).
        perGatewayMB: {
          liveFirstHalfPeak: mb(range(GATEWAYS).reduce((n, i) => n + livePeak(firstHalf, i), 0) / GATEWAYS),
          liveSecondHalfPeak: mb(range(GATEWAYS).reduce((n, i) => n + livePeak(secondHalf, i), 0) / GATEWAYS),
          liveEnd: meanMB(end, live),
          rssMid: meanMB(mid, m => m.rss),
          rssEnd: meanMB(end, m => m.rss),
          livePerRound: memory.map(list => meanMB(list, live)),
          rssPerRound: memory.map(list => meanMB(list, m => m.rss))
        }
      }
      t.diagnostic(JSON.stringify(record))
      if (failures.length > 0) t.diagnostic(`failures (first 20):\n${failures.slice(0, 20).join('\n')}`)
      await mkdir(FIGURES_DIR, { recursive: true })
      await writeFile(join(FIGURES_DIR, `load${SOAK ? '.soak' : ''}.json`), JSON.stringify(record, null, 2))

      assert.deepEqual(failures, [], 'sends to stable sessions never fail')
      assert.ok(record.sends >= GATEWAYS, `only ${record.sends} sends were made`)
      for (const print of prints) assert.deepEqual(print, prints[0], 'every registry ends equal')
      assert.equal(prints[0]?.count, GATEWAYS * STABLE)
      // Churn leaves no live data behind and no Gateway keeps growing: the second half stays within
      // what the first half reached (live memory), and the process stops growing by half-way (RSS).
      for (const [i, m] of end.entries()) {
        const before = livePeak(firstHalf, i)
        const after = livePeak(secondHalf, i)
        assert.ok(after < before * 1.1 + 16 * 1024 * 1024, `gw${i}: live memory peaked at ${mb(before)} MB in the first half, ${mb(after)} MB in the second`)
        assert.ok(m.rss < mid[i]!.rss * 1.15 + 16 * 1024 * 1024, `gw${i}: RSS grew from ${mb(mid[i]!.rss)} MB half-way to ${mb(m.rss)} MB`)
      }
    } finally {
      await Promise.all(gateways.map(async gw => { await gw.stop() }))
      await rm(home, { recursive: true, force: true })
    }
  })
})
