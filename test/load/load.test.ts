// Load: many Gateways, thousands of sessions each, announce/withdraw churn while sends flow.
// Each Gateway is its own process (as in production: its own event loop and heap), on loopback,
// finding the others through the rendezvous folder; each keeps registry links with a few of them
// (bounded degree) and dials the others to deliver. Short in `npm test`; `npm run soak`
// (CLAWMESH_SOAK=1) runs 20 Gateways × 5,000 sessions and 50 Gateways × 1,000 sessions.
import assert from 'node:assert/strict'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it, type TestContext } from 'node:test'
import { DEFAULT_DEGREE } from '../../src/constants.ts'
import { TEST_SECRET } from '../../src/testing.ts'
import { LoopbackGateway } from '../helpers/loopback-gateway.ts'

const SOAK = process.env.CLAWMESH_SOAK === '1'
const sized = (name: string, fallback: number): number => Number(process.env[`CLAWMESH_LOAD_${name}`] ?? fallback)
/** One run of the load test: Gateway processes, stable sessions each, churn per round, rounds, registry links each chooses. */
interface Size { gateways: number, stable: number, churn: number, rounds: number, degree?: number }
/**
 * `npm test`: 6 Gateways that each choose 2 links (12 choices for 15 pairs: never a full mesh), so the
 * registry converges and sends are delivered over a bounded-degree mesh. `npm run soak`: the issue's
 * 20 Gateways × 5,000 sessions and 50 Gateways × 1,000 sessions (default degree). CLAWMESH_LOAD_* picks one size.
 */
const SIZES: Size[] = process.env.CLAWMESH_LOAD_GATEWAYS !== undefined
  ? [{ gateways: sized('GATEWAYS', 6), stable: sized('SESSIONS', 1_000), churn: sized('CHURN', 100), rounds: sized('ROUNDS', 10), ...(process.env.CLAWMESH_LOAD_DEGREE !== undefined ? { degree: sized('DEGREE', 8) } : {}) }]
  : SOAK
    ? [{ gateways: 20, stable: 5_000, churn: 500, rounds: 40 }, { gateways: 50, stable: 1_000, churn: 100, rounds: 10 }]
    : [{ gateways: 6, stable: 1_000, churn: 100, rounds: 10, degree: 2 }]
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

/**
 * After a full GC: live JS objects, memory outside the JS heap (buffers, WebAssembly), the process, and V8's young
 * generation. V8 sizes the young generation from the allocation rate, in steps (64-128 MB committed in the soak), and keeps
 * it: in a busy round every process may step up together by ~50 MB of RSS that is no growth of ours.
 */
interface Memory { heap: number, external: number, rss: number, young: number }
const live = (m: Memory): number => m.heap + m.external
/** RSS without the young generation: what grows if clawmesh holds more. */
const rssNet = (m: Memory): number => m.rss - m.young
interface SendSummary { ok: number, failures: string[], latencyMs: { p50: number, p99: number, max: number } }
interface Cpu { user: number, system: number }
const cpuMs = (a: Cpu, b: Cpu): number => (b.user + b.system - a.user - a.system) / 1000
/** After the churn, before the last memory sample: what is still in flight lands. */
const SETTLE_MS = 3_000
/** Sends only, no churn, for this long: the CPU it costs is taken out of the churn's. */
const BASELINE_MS = 5_000

describe('load', { timeout: SOAK ? 3600_000 : 180_000 }, () => {
  for (const size of SIZES) {
    it(`${size.gateways} Gateway processes × ${size.stable} sessions${size.degree !== undefined ? `, ${size.degree} links chosen each` : ''}, churn while sends flow: every send succeeds, registries end equal, memory stays flat`, async (t) => {
      await loadRun(size, t)
    })
  }
})

async function loadRun ({ gateways: GATEWAYS, stable: STABLE, churn: CHURN, rounds: ROUNDS, degree }: Size, t: TestContext): Promise<void> {
    /**
     * Memory is judged by halves: by half-way each process has reached its working size (V8 sizes its
     * heap to the allocation rate; live memory saw-tooths as origins' deltas pile up and are compacted),
     * and the second half must not go beyond what the first half reached.
     */
    const MID_ROUND = Math.max(1, Math.floor(ROUNDS / 2)) - 1
    /** Links each Gateway has at least once the mesh is formed (its own choices, at most 3 of them). */
    const MIN_LINKS = Math.min(GATEWAYS - 1, degree ?? 3, 3)
    const home = await mkdtemp(join(tmpdir(), 'clawmesh-load-'))
    // Default liveness settings: this test shows they hold under load when each Gateway has its own process.
    const gateways = range(GATEWAYS).map(i => new LoopbackGateway(
      { name: `gw${i}`, secret: TEST_SECRET, listen: ['/ip4/127.0.0.1/tcp/0'], discovery: { mdns: false, local: true }, ...(degree !== undefined ? { degree } : {}) },
      { CLAWMESH_HOME: home }
    ))
    const all = async <T>(what: (gw: LoopbackGateway, i: number) => Promise<T>): Promise<T[]> => await Promise.all(gateways.map(what))
    /** Every registry holds `count` sessions; if one does not in time, what each Gateway holds and its links, for the failure message. */
    const converged = async (count: number, what: string): Promise<void> => {
      try {
        await all(async gw => { await gw.request('waitSessions', { count, timeoutMs: CONVERGE_TIMEOUT_MS }) })
      } catch (err) {
        const state = await all(async gw => ({ name: gw.name, sessions: (await gw.request<{ sessions: number }>('status')).sessions, links: await gw.request('debugLinks') }))
        t.diagnostic(`${what}: not converged (want ${count}):\n${state.map(s => JSON.stringify(s)).join('\n')}`)
        await explainStuck(state.filter(s => s.sessions !== count).map(s => s.name))
        throw err
      }
    }
    /** For each Gateway that holds the wrong count: the origins it holds differently from the others, and each such origin's view of its link to it. */
    const explainStuck = async (stuck: string[]): Promise<void> => {
      type Dump = { origins: Record<string, unknown[]>, links: Record<string, unknown> }
      const dumps = await all(async gw => await gw.request<Dump>('debugOrigins'))
      const byPeer = new Map(gateways.map((gw, i) => [gw.peerId, i]))
      for (const name of stuck) {
        const i = gateways.findIndex(gw => gw.name === name)
        const mine = dumps[i]!
        for (const [origin, held] of Object.entries(mine.origins)) {
          const o = byPeer.get(origin)
          const theirs = o === undefined ? undefined : dumps[o]!.origins[origin]
          if (JSON.stringify(held.slice(0, 4)) === JSON.stringify(theirs?.slice(0, 4))) continue
          t.diagnostic(`${name} holds gw${String(o)} at ${JSON.stringify(held)}, gw${String(o)} itself ${JSON.stringify(theirs)}; ${name}'s link to it ${JSON.stringify(mine.links[origin])}; its link to ${name} ${JSON.stringify(o === undefined ? undefined : dumps[o]!.links[gateways[i]!.peerId])}; ${name} < gw${String(o)}: ${String(gateways[i]!.peerId < origin)}`)
        }
      }
    }
    try {
      await all(async gw => { await Promise.race([gw.ready, gw.exit.then(code => { throw new Error(`${gw.name} exited (${String(code)}) before it was ready`) })]) })
      const started = Date.now()
      try {
        await all(async gw => { await gw.request('waitMesh', { gateways: GATEWAYS, minPeers: MIN_LINKS, timeoutMs: CONVERGE_TIMEOUT_MS }) })
      } catch (err) {
        const state = await all(async gw => ({ name: gw.name, status: await gw.request<{ gateways: number, peers: number }>('status').then(s => ({ gateways: s.gateways, peers: s.peers })), links: await gw.request('debugLinks') }))
        t.diagnostic(`mesh not formed (want ${GATEWAYS} Gateways, ${MIN_LINKS} links each):\n${state.map(s => JSON.stringify(s)).join('\n')}`)
        throw err
      }
      const formedMs = Date.now() - started
      await all(async (gw, i) => { await gw.request('announceMany', { sessionKeys: range(STABLE).map(k => stableKey(i, k)) }) })
      await converged(GATEWAYS * STABLE, 'initial load')
      const initialConvergeMs = Date.now() - started - formedMs

      // Every Gateway sends, throughout, to stable sessions of every other Gateway: each send must succeed.
      await all(async (gw, i) => {
        const targets = range(GATEWAYS - 1).flatMap(d => {
          const to = (i + 1 + d) % GATEWAYS
          return range(16).map(j => `gateway:gw${to}:${stableKey(to, (i * 7919 + j * 313) % STABLE)}`)
        })
        await gw.request('startSending', { targets, concurrency: 2, pauseMs: SEND_PAUSE_MS, timeoutMs: SEND_TIMEOUT_MS })
      })

      // CPU of sending alone (a measurement window, not an assertion), then of sending and churn.
      const baselineStart = await all(async gw => await gw.request<Cpu>('cpu'))
      const baselineStarted = performance.now()
      await new Promise(resolve => setTimeout(resolve, BASELINE_MS))
      const baselineEnd = await all(async gw => await gw.request<Cpu>('cpu'))
      const baselineMsPerS = range(GATEWAYS).map(i => cpuMs(baselineStart[i]!, baselineEnd[i]!) / ((performance.now() - baselineStarted) / 1000))
      const churnStart = baselineEnd
      const churnStarted = performance.now()

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
        await converged(GATEWAYS * (STABLE + CHURN), `round ${round + 1}`)
        roundMs.push(Date.now() - roundStarted)
        if (SOAK) process.stderr.write(`load: round ${round + 1}/${ROUNDS} applied everywhere in ${roundMs.at(-1)} ms\n`)
        memory.push(await all(async gw => await gw.request<Memory>('memory')))
      }
      await all(async (gw, i) => { await gw.request('withdrawMany', { sessionKeys: range(CHURN).map(k => churnKey(i, ROUNDS - 1, k)) }) })
      await converged(GATEWAYS * STABLE, 'after the churn')
      const churnEnd = await all(async gw => await gw.request<Cpu>('cpu'))
      const churnSeconds = (performance.now() - churnStarted) / 1000
      // Once the last pushes and pulls are through: measured at once after the final withdrawals, a few Gateways
      // held ~25 MB more external memory (buffers in flight, reachable, so a GC keeps them), gone a moment later.
      await new Promise(resolve => setTimeout(resolve, SETTLE_MS))
      // Before the fingerprint below, whose sort of every key (the test's, not the mesh's) raises RSS by tens of MB.
      const end = await all(async gw => await gw.request<Memory>('memory'))
      const sent = await all(async gw => await gw.request<SendSummary>('stopSending'))
      const links = await all(async gw => (await gw.request<{ peers: number }>('status')).peers)
      // Registry changes each Gateway applied during the churn: every Gateway's announces and withdrawals.
      const changesPerGateway = GATEWAYS * CHURN * (2 * ROUNDS)
      const cpuPerChange = range(GATEWAYS).map(i => cpuMs(churnStart[i]!, churnEnd[i]!) * 1000 / changesPerGateway)
      const netCpuPerChange = range(GATEWAYS).map(i => Math.max(0, cpuMs(churnStart[i]!, churnEnd[i]!) - baselineMsPerS[i]! * churnSeconds) * 1000 / changesPerGateway)

      const prints = await all(async gw => await gw.request<{ count: number, hash: string }>('fingerprint'))
      const firstHalf = memory.slice(0, MID_ROUND + 1)
      const secondHalf = [...memory.slice(MID_ROUND + 1), end]
      const mid = memory[MID_ROUND]!
      const lastRound = memory.at(-1)!
      /** Gateway i's highest live memory over some rounds. */
      const livePeak = (rounds: Memory[][], i: number): number => Math.max(...rounds.map(list => live(list[i]!)))
      const mean = (list: Memory[], of: (m: Memory) => number): number => list.reduce((n, m) => n + of(m), 0) / list.length
      const meanMB = (list: Memory[], of: (m: Memory) => number): number => mb(mean(list, of))
      const failures = sent.flatMap(s => s.failures)
      const record = {
        scenario: 'load', soak: SOAK, at: new Date().toISOString(), gateways: GATEWAYS, stableSessions: STABLE, churnPerRound: CHURN, rounds: ROUNDS, degree: degree ?? DEFAULT_DEGREE,
        meshFormedMs: formedMs,
        linksPerGateway: { min: Math.min(...links), median: median(links), max: Math.max(...links) },
        initialConvergeMs,
        roundAppliedEverywhereMs: { p50: median(roundMs), max: Math.max(...roundMs) },
        sends: sent.reduce((n, s) => n + s.ok, 0),
        failed: failures.length,
        sendLatencyMs: { p50: median(sent.map(s => s.latencyMs.p50)), p99: Math.max(...sent.map(s => s.latencyMs.p99)), max: Math.max(...sent.map(s => s.latencyMs.max)) },
        // CPU per registry change applied, per Gateway (median over Gateways), in µs: all of it, and net of what
        // sending alone cost in the baseline window. Changes = every Gateway's announces and withdrawals.
        cpuPerChangeUs: { all: Math.round(median(cpuPerChange)), net: Math.round(median(netCpuPerChange)) },
        sendingCpuMsPerS: Math.round(median(baselineMsPerS)),
        // Per Gateway (the mean over all), after a full GC. live = JS heap in use + external (buffers).
        perGatewayMB: {
          liveFirstHalfPeak: mb(range(GATEWAYS).reduce((n, i) => n + livePeak(firstHalf, i), 0) / GATEWAYS),
          liveSecondHalfPeak: mb(range(GATEWAYS).reduce((n, i) => n + livePeak(secondHalf, i), 0) / GATEWAYS),
          liveEnd: meanMB(end, live),
          rssMid: meanMB(mid, m => m.rss),
          rssLastRound: meanMB(lastRound, m => m.rss),
          // After the final withdrawals: a few Gateways step up ~100 MB there (50 × 1,000), with ~25 MB of buffers
          // in flight at that moment; RSS keeps a process's highest peak, so it is reported, not judged.
          rssEnd: meanMB(end, m => m.rss),
          // The Gateway whose RSS grew most from half-way to the last round, and by how much.
          rssMostGrown: (() => {
            const i = range(GATEWAYS).reduce((best, j) => lastRound[j]!.rss - mid[j]!.rss > lastRound[best]!.rss - mid[best]!.rss ? j : best, 0)
            return { gateway: `gw${i}`, midMB: mb(mid[i]!.rss), lastRoundMB: mb(lastRound[i]!.rss), youngMidMB: mb(mid[i]!.young), youngLastRoundMB: mb(lastRound[i]!.young) }
          })(),
          livePerRound: memory.map(list => meanMB(list, live)),
          rssPerRound: memory.map(list => meanMB(list, m => m.rss)),
          youngGenerationPerRound: memory.map(list => meanMB(list, m => m.young))
        }
      }
      t.diagnostic(JSON.stringify(record))
      if (failures.length > 0) t.diagnostic(`failures (first 20):\n${failures.slice(0, 20).join('\n')}`)
      await mkdir(FIGURES_DIR, { recursive: true })
      await writeFile(join(FIGURES_DIR, `load${SOAK ? '.soak' : ''}${SIZES.length > 1 ? `.${GATEWAYS}` : ''}.json`), JSON.stringify(record, null, 2))

      assert.deepEqual(failures, [], 'sends to stable sessions never fail')
      assert.ok(record.sends >= GATEWAYS, `only ${record.sends} sends were made`)
      for (const print of prints) assert.deepEqual(print, prints[0], 'every registry ends equal')
      assert.equal(prints[0]?.count, GATEWAYS * STABLE)
      // Bounded connectivity: links are mutual, so a Gateway has at least its own choices and at most everyone.
      if (degree !== undefined && GATEWAYS * degree < GATEWAYS * (GATEWAYS - 1) / 2) {
        assert.ok(links.reduce((n, l) => n + l, 0) < GATEWAYS * (GATEWAYS - 1), `not a full mesh: links per Gateway ${links.join(', ')}`)
      }
      // Churn leaves no live data behind and no Gateway keeps growing: in each Gateway the second half (the end
      // included) stays within what the first half reached (live memory: a leak shows here), and across the churn
      // rounds the Gateways' RSS, net of V8's young generation, stops growing by half-way. RSS is judged over all
      // of them: a process keeps the pages of its highest peak (V8 and malloc rarely give them back), so one
      // Gateway that took a burst late on holds more without growing further; a runaway one (half again) fails.
      for (const i of range(GATEWAYS)) {
        const before = livePeak(firstHalf, i)
        const after = livePeak(secondHalf, i)
        assert.ok(after < before * 1.1 + 16 * 1024 * 1024, `gw${i}: live memory peaked at ${mb(before)} MB in the first half, ${mb(after)} MB in the second`)
        assert.ok(rssNet(lastRound[i]!) < rssNet(mid[i]!) * 1.5 + 16 * 1024 * 1024, `gw${i}: RSS net of the young generation grew from ${mb(rssNet(mid[i]!))} MB half-way to ${mb(rssNet(lastRound[i]!))} MB in the last round`)
      }
      assert.ok(mean(lastRound, rssNet) < mean(mid, rssNet) * 1.1 + 16 * 1024 * 1024, `RSS per Gateway net of the young generation grew from ${mb(mean(mid, rssNet))} MB half-way to ${mb(mean(lastRound, rssNet))} MB in the last round (mean)`)
    } finally {
      await Promise.all(gateways.map(async gw => { await gw.stop() }))
      await rm(home, { recursive: true, force: true })
    }
}
