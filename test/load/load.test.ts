// Load: many in-process Gateways, thousands of sessions, announce/withdraw churn while sends flow.
// Short in `npm test`; `npm run soak` (CLAWMESH_SOAK=1) runs the 20 Gateways × 5,000 sessions.
import assert from 'node:assert/strict'
import { mkdir, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { createTestMeshes, waitUntil } from '../../src/testing.ts'
import type { Mesh } from '../../src/index.ts'

const SOAK = process.env.CLAWMESH_SOAK === '1'
const GATEWAYS = SOAK ? 20 : 8
const STABLE = SOAK ? 5_000 : 1_000
const CHURN = SOAK ? 500 : 100
const ROUNDS = SOAK ? 40 : 10
/** Sends go on until the churn is over and at least this many were made. */
const MIN_SENDS = SOAK ? 20_000 : 500
const FIGURES_DIR = process.env.CLAWMESH_FIGURES_DIR ?? join(tmpdir(), 'clawmesh-figures')

const stableKey = (gw: number, k: number): string => `agent:s${gw}:${k}`
const churnKey = (gw: number, round: number, k: number): string => `agent:c${gw}:${round}:${k}`
const mb = (bytes: number): number => Math.round(bytes / 1024 / 1024)

/** A registry as one comparable string. */
function fingerprint (mesh: Mesh): string {
  return mesh.sessions().map(s => `${s.owner.peerId} ${s.sessionKey}`).sort().join('\n')
}

async function allOf (meshes: Mesh[], what: string, condition: (m: Mesh) => boolean, ms = SOAK ? 600_000 : 60_000): Promise<void> {
  await Promise.all(meshes.map(async m => {
    await waitUntil(m, () => condition(m), ms).catch(() => { throw new Error(`${m.status().self.name}: ${what}`) })
  }))
}

describe('load', { timeout: SOAK ? 3600_000 : 120_000 }, () => {
  it(`${GATEWAYS} Gateways × ${STABLE} sessions with churn while sends flow: no unexpected error, equal registries, stable RSS`, async (t) => {
    // All Gateways share this process's event loop, so one busy Gateway delays the others' heartbeats:
    // liveness is not what this test measures (the fault scenarios do), so silence is tolerated for longer.
    const net = await createTestMeshes(GATEWAYS, { options: () => ({ deliver: async msg => ({ reply: msg.text }), peerSilenceMs: 60_000 }) })
    const loopDelay = monitorEventLoopDelay({ resolution: 20 })
    loopDelay.enable()
    const meshes = net.meshes
    try {
      const started = Date.now()
      await Promise.all(meshes.map(async (m, i) => { await Promise.all(Array.from({ length: STABLE }, async (_, k) => { await m.announce(stableKey(i, k)) })) }))
      await allOf(meshes, 'all stable sessions', m => m.status().sessions === GATEWAYS * STABLE)
      const convergedMs = Date.now() - started
      const rssWarm = process.memoryUsage().rss

      // Sends flow during the churn: each to a stable session of another Gateway, so each must succeed.
      let churning = true
      const sends = { ok: 0, failed: [] as string[] }
      const latencies: number[] = []
      const sender = async (worker: number): Promise<void> => {
        for (let n = 0; churning || sends.ok + sends.failed.length < MIN_SENDS; n++) {
          const from = (worker + n) % GATEWAYS
          const to = (from + 1 + (n % (GATEWAYS - 1))) % GATEWAYS
          const target = `gateway:gw${to}:${stableKey(to, (n * 7919) % STABLE)}`
          const begun = Date.now()
          try {
            const result = await meshes[from]!.send(target, `n${n}`, { timeoutMs: 30_000 })
            assert.equal(result.reply, `n${n}`)
            sends.ok++
            latencies.push(Date.now() - begun)
          } catch (err) {
            sends.failed.push(`${target}: ${(err as { code?: string }).code ?? String(err)}`)
          }
        }
      }
      const senders = Array.from({ length: 4 }, async (_, w) => { await sender(w) })

      const rss: number[] = []
      for (let round = 0; round < ROUNDS; round++) {
        await Promise.all(meshes.map(async (m, i) => {
          await Promise.all([
            ...Array.from({ length: CHURN }, async (_, k) => { await m.announce(churnKey(i, round, k)) }),
            ...(round > 0 ? Array.from({ length: CHURN }, async (_, k) => { await m.withdraw(churnKey(i, round - 1, k)) }) : [])
          ])
        }))
        rss.push(process.memoryUsage().rss)
      }
      await Promise.all(meshes.map(async (m, i) => { await Promise.all(Array.from({ length: CHURN }, async (_, k) => { await m.withdraw(churnKey(i, ROUNDS - 1, k)) })) }))
      churning = false
      await Promise.all(senders)

      await allOf(meshes, 'churn settled', m => m.status().sessions === GATEWAYS * STABLE && m.status().gateways === GATEWAYS)
      const reference = fingerprint(meshes[0]!)
      await allOf(meshes, 'registry equal to gw0', m => fingerprint(m) === reference)
      assert.equal(reference.split('\n').length, GATEWAYS * STABLE)
      const rssEnd = process.memoryUsage().rss
      const sorted = [...latencies].sort((a, b) => a - b)
      const record = {
        scenario: 'load', soak: SOAK, at: new Date().toISOString(), gateways: GATEWAYS, stableSessions: STABLE, churnPerRound: CHURN, rounds: ROUNDS,
        initialConvergeMs: convergedMs, totalMs: Date.now() - started, sends: sends.ok, failed: sends.failed.length,
        failedByCode: sends.failed.reduce<Record<string, number>>((n, f) => { const code = f.slice(f.lastIndexOf(' ') + 1); n[code] = (n[code] ?? 0) + 1; return n }, {}),
        sendLatencyMs: { p50: sorted[Math.floor(sorted.length / 2)], p99: sorted[Math.floor(sorted.length * 0.99)] },
        rssMB: { warm: mb(rssWarm), peakDuringChurn: mb(Math.max(...rss)), end: mb(rssEnd) },
        eventLoopDelayMs: { p99: Math.round(loopDelay.percentile(99) / 1e6), max: Math.round(loopDelay.max / 1e6) }
      }
      loopDelay.disable()
      t.diagnostic(JSON.stringify(record))
      await mkdir(FIGURES_DIR, { recursive: true })
      await writeFile(join(FIGURES_DIR, `load${SOAK ? '.soak' : ''}.json`), JSON.stringify(record, null, 2))
      assert.deepEqual(sends.failed, [], 'sends to stable sessions never fail')
      assert.ok(sends.ok > 0)
      // Stable: churn that ends where it began must not leave memory behind (generous bound: GC timing varies).
      assert.ok(rssEnd < rssWarm * 1.5 + 150 * 1024 * 1024, `RSS grew from ${mb(rssWarm)} MB to ${mb(rssEnd)} MB`)
    } finally {
      await net.stop()
    }
  })
})
