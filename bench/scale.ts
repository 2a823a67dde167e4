/**
 * The bench's bounded-degree section: `size` Gateway processes on loopback (each its own event loop, as
 * in production), found through local discovery, each choosing `degree` registry links (so most pairs
 * are not linked), `sessions` each. Measures how long the mesh takes to form (every registry holds every
 * Gateway), churn rounds applied everywhere, sends to owners the sender is not linked to (dialled on
 * demand), links and RSS per Gateway. Measurements, not assertions; docs/scaling.md quotes them.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { LoopbackGateway } from '../test/helpers/loopback-gateway.ts'

export interface BoundedMeshFigures {
  formedMs: number[]
  roundMs: number[]
  sendUnlinkedMs: number[]
  linksPerGateway: number[]
  rssBytes: number[]
}

const WAIT_MS = 120_000
const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i)

export async function boundedMesh (secret: string, size: number, degree: number, sessions: number, rounds: number, churn: number, sends: number): Promise<BoundedMeshFigures> {
  const home = await mkdtemp(join(tmpdir(), 'clawmesh-bench-scale-'))
  const gateways = range(size).map(i => new LoopbackGateway(
    { name: `s${i}`, secret, degree, listen: ['/ip4/127.0.0.1/tcp/0'], discovery: { mdns: false, local: true } },
    { CLAWMESH_HOME: home }
  ))
  const all = async <T>(what: (gw: LoopbackGateway, i: number) => Promise<T>): Promise<T[]> => await Promise.all(gateways.map(what))
  try {
    await all(async gw => { await Promise.race([gw.ready, gw.exit.then(code => { throw new Error(`${gw.name} exited (${String(code)})`) })]) })
    const t0 = performance.now()
    await all(async gw => { await gw.request('waitMesh', { gateways: size, minPeers: Math.min(degree, 3), timeoutMs: WAIT_MS }) })
    const formedMs = [performance.now() - t0]
    await all(async (gw, i) => { await gw.request('announceMany', { sessionKeys: range(sessions).map(k => `agent:s${i}:${k}`) }) })
    await all(async gw => { await gw.request('waitSessions', { count: size * sessions, timeoutMs: WAIT_MS }) })
    const roundMs: number[] = []
    for (let round = 0; round < rounds; round++) {
      const started = performance.now()
      await all(async (gw, i) => {
        await Promise.all([
          gw.request('announceMany', { sessionKeys: range(churn).map(k => `agent:c${i}:${round}:${k}`) }),
          round > 0 ? gw.request('withdrawMany', { sessionKeys: range(churn).map(k => `agent:c${i}:${round - 1}:${k}`) }) : undefined
        ])
      })
      await all(async gw => { await gw.request('waitSessions', { count: size * (sessions + churn), timeoutMs: WAIT_MS }) })
      roundMs.push(performance.now() - started)
    }
    // Sends from s0 to owners it is not linked to: each a dial on demand (or a reused delivery connection).
    const linked = new Set((await gateways[0]!.request<Array<{ peerId: string }>>('peers')).map(p => p.peerId))
    const unlinked = range(size).filter(i => i > 0 && !linked.has(gateways[i]!.peerId))
    const sendUnlinkedMs: number[] = []
    for (let n = 0; n < sends && unlinked.length > 0; n++) {
      const to = unlinked[n % unlinked.length]!
      const started = performance.now()
      await gateways[0]!.request('send', { target: `gateway:s${to}:agent:s${to}:${n % sessions}`, text: 'ping', options: { timeoutMs: 30_000 } })
      sendUnlinkedMs.push(performance.now() - started)
    }
    const linksPerGateway = await all(async gw => (await gw.request<{ peers: number }>('status')).peers)
    const rssBytes = await all(async gw => (await gw.request<{ rss: number }>('memory')).rss)
    return { formedMs, roundMs, sendUnlinkedMs, linksPerGateway, rssBytes }
  } finally {
    await all(async gw => { await gw.stop() })
    await rm(home, { recursive: true, force: true })
  }
}
