// The registry gossip service on in-memory stream pairs with a fake clock: snapshot, delta, gap, pull,
// tombstone and liveness, each driven by hand (periodic work is run by calling it, after moving the clock).
import assert from 'node:assert/strict'
import { afterEach, describe, it } from 'node:test'
import { REGISTRY_PROTOCOL } from '../../src/constants.ts'
import { decodeFrame, encodeFrame } from '../../src/gossip/wire.ts'
import { signRecord } from '../../src/registry/records.ts'
import { FakeNet, handPlayed, until, type FakeNode } from './harness.ts'
import type { RegistryGossip } from '../../src/gossip/index.ts'

const gateway = { name: 'm', host: 'h', addrs: [], maxMessageBytes: 1024 }
let running: RegistryGossip[] = []
afterEach(async () => {
  for (const g of running) {
    await g.beforeStop()
    await g.stop()
  }
  running = []
})

interface Running { node: FakeNode, gossip: RegistryGossip }

async function pair (net: FakeNet): Promise<[Running, Running]> {
  const a = await net.gossip()
  const b = await net.gossip()
  running.push(a.gossip, b.gossip)
  return [a, b]
}

/** Three gossip services, not yet connected: we (A), a witness (W) and an origin (O). */
async function trio (net: FakeNet): Promise<[Running, Running, Running]> {
  const [a, w] = await pair(net)
  const o = await net.gossip()
  running.push(o.gossip)
  return [a, w, o]
}

/** Counts the `want` frames a hand-played node receives, as they arrive. */
function countWants (node: FakeNode): { count: number } {
  const seen = { count: 0 }
  void (async () => {
    await until(() => node.inbound.length > 0)
    for (;;) {
      const msg = decodeFrame(await node.inbound[0]!.read())
      if (msg.type === 'want') seen.count++
    }
  })().catch(() => {})
  return seen
}

/**
 * Watches what `node` shows of `origin`: returns the runs it showed reachable although they had died
 * (`dead(run)` marks every run up to `run` as killed). Checked at every event, so a state held only
 * for a moment is caught too.
 */
function watchRuns (node: RegistryGossip, origin: string): { dead: (run: number) => void, revived: number[] } {
  let deadUpTo = 0
  const seen = { dead: (run: number) => { deadUpTo = run }, revived: [] as number[] }
  const check = (): void => {
    const state = node.registry.get(origin)
    if (state !== undefined && state.reachable && state.incarnation <= deadUpTo) seen.revived.push(state.incarnation)
  }
  node.addEventListener('gateway:reachability', check)
  node.addEventListener('registry:change', check)
  return seen
}

describe('registry gossip', () => {
  it('snapshot: a peer that connects pulls what the other already holds', async () => {
    const net = new FakeNet()
    const [a, b] = await pair(net)
    for (const k of ['x', 'y', 'z']) a.gossip.stage({ sessionKey: `agent:main:${k}` })
    await a.gossip.flushed()
    net.connect(a.node, b.node)
    await until(() => b.gossip.registry.get(a.node.id)?.entries.size === 3)
    assert.equal(b.gossip.isConnected(a.node.id), true)
    assert.equal(b.gossip.connectedPeers()[0]?.protocolVersion, 2, 'the hello carries the protocol version')
  })

  it('delta: a change is pushed to linked peers as one signed record', async () => {
    const net = new FakeNet()
    const [a, b] = await pair(net)
    net.connect(a.node, b.node)
    await until(() => b.gossip.registry.get(a.node.id) !== undefined && b.gossip.isConnected(a.node.id))
    const applied = b.gossip.counters.recordsApplied
    a.gossip.stage({ sessionKey: 'agent:main:new', sessionId: crypto.randomUUID() })
    await a.gossip.flushed()
    await until(() => b.gossip.registry.ownersOfKey('agent:main:new').length === 1)
    assert.equal(b.gossip.counters.recordsApplied, applied + 1)
  })

  it('gap: a delta whose base we lack makes us pull the origin from the peer that sent it', async () => {
    const net = new FakeNet()
    const { node: b, gossip } = await net.gossip()
    running.push(gossip)
    const m = await net.manual(REGISTRY_PROTOCOL)
    const write = await handPlayed(net, m, b)
    await write(encodeFrame.hello({ protocolVersion: 2, softwareVersion: 't', name: 'm', digest: new Map(), links: new Set() }))
    await write(encodeFrame.record((await signRecord({ kind: 'delta', origin: m.id, incarnation: 1, seq: 5, base: 4, changes: [{ sessionKey: 'k' }] }, m.privateKey)).bytes))
    // B asks M for everything of M on its own outbound stream.
    await until(() => m.inbound.length > 0)
    let want
    while (want === undefined) {
      const msg = decodeFrame(await m.inbound[0]!.read())
      if (msg.type === 'want') want = msg
    }
    assert.deepEqual([...want.wants], [[m.id, undefined]])
    await write(encodeFrame.record((await signRecord({ kind: 'snap', origin: m.id, incarnation: 1, seq: 5, chunk: 0, chunks: 1, gateway, entries: [{ sessionKey: 'k' }] }, m.privateKey)).bytes))
    await until(() => gossip.registry.get(m.id)?.seq === 5)
  })

  it('pull: a claim that is not delivered moves the pull to another peer (fake clock)', async () => {
    const net = new FakeNet()
    const [a, b] = await pair(net)
    const origin = await net.node()
    // A holds origin's snapshot; the liar claims a far newer version of it.
    a.gossip.registry.apply(await signRecord({ kind: 'snap', origin: origin.id, incarnation: 1, seq: 2, chunk: 0, chunks: 1, gateway, entries: [{ sessionKey: 'o' }] }, origin.privateKey), net.now)
    const liar = await net.manual(REGISTRY_PROTOCOL)
    const write = await handPlayed(net, liar, b.node)
    const claim = new Map([[origin.id, { version: [1, 900] as const, departed: false }]])
    await write(encodeFrame.hello({ protocolVersion: 2, softwareVersion: 't', name: 'liar', digest: claim, links: new Set() }))
    await until(() => b.gossip.pulls.pulling(origin.id) === liar.id)
    net.connect(a.node, b.node)
    await until(() => b.gossip.isConnected(a.node.id))
    assert.equal(b.gossip.registry.get(origin.id), undefined, 'A\'s claim waits while the liar is asked')
    net.now += 2_001
    b.gossip.check()
    await until(() => b.gossip.registry.get(origin.id)?.seq === 2)
    assert.equal(b.gossip.pulls.pulling(origin.id), undefined)
  })

  it('tombstone: a stopped Gateway pulled during the grace period does not come back after it', async () => {
    const net = new FakeNet()
    const [a, b] = await pair(net)
    const c = await net.gossip()
    c.gossip.stage({ sessionKey: 'agent:main:c' })
    await c.gossip.flushed()
    net.connect(c.node, a.node)
    await until(() => a.gossip.registry.get(c.node.id)?.entries.size === 1)
    // C stops (goodbye); B joins A during the grace period and pulls C's records, goodbye included.
    await c.gossip.beforeStop()
    await c.gossip.stop()
    net.disconnect(c.node, a.node)
    await until(() => a.gossip.registry.get(c.node.id)?.bye !== undefined)
    net.connect(a.node, b.node)
    await until(() => b.gossip.registry.get(c.node.id)?.bye !== undefined)
    assert.equal(b.gossip.registry.get(c.node.id)?.reachable, false)
    // After the grace period both drop it, and keep its tombstone.
    net.now += 61_000
    a.gossip.expire()
    b.gossip.expire()
    assert.equal(a.gossip.registry.get(c.node.id), undefined)
    assert.equal(b.gossip.registry.get(c.node.id), undefined)
  })

  it('tombstone: a signed record newer than the tombstone, pulled from a peer not linked to the origin, brings the origin back', async () => {
    const net = new FakeNet()
    const { node: a, gossip } = await net.gossip()
    running.push(gossip)
    const o = await net.node()
    const m = await net.manual(REGISTRY_PROTOCOL)
    const write = await handPlayed(net, m, a)
    const snap = await signRecord({ kind: 'snap', origin: o.id, incarnation: 1, seq: 1, chunk: 0, chunks: 1, gateway, entries: [{ sessionKey: 'k1' }] }, o.privateKey)
    const delta = await signRecord({ kind: 'delta', origin: o.id, incarnation: 1, seq: 2, base: 1, changes: [{ sessionKey: 'k2' }] }, o.privateKey)
    await write(encodeFrame.hello({ protocolVersion: 2, softwareVersion: 't', name: 'm', digest: new Map(), links: new Set() }))
    await write(encodeFrame.record(snap.bytes))
    await until(() => gossip.registry.get(o.id) !== undefined)
    // A cannot reach O and drops it after the grace period.
    gossip.markUnreachable(o.id)
    net.now += 61_000
    gossip.expire()
    assert.equal(gossip.registry.get(o.id), undefined)
    // O wrote since. M (not linked to O) shows it, A pulls, and M serves from scratch: the checkpoint (buried) then the delta.
    const wants = countWants(m)
    await write(encodeFrame.digest(new Map([[o.id, { version: [1, 2], departed: false }]]), true))
    await until(() => wants.count === 1)
    await write(encodeFrame.record(snap.bytes))
    await write(encodeFrame.record(delta.bytes))
    // The signed delta proves O wrote after the tombstone: A asks again, and the checkpoint is no longer buried.
    await until(() => wants.count === 2)
    await write(encodeFrame.record(snap.bytes))
    await write(encodeFrame.record(delta.bytes))
    await until(() => gossip.registry.get(o.id)?.seq === 2)
    assert.deepEqual([...gossip.registry.get(o.id)!.entries.keys()].sort(), ['k1', 'k2'])
  })

  it('liveness: a down from a peer that was never linked to the origin is not believed', async () => {
    const net = new FakeNet()
    const [a, b] = await pair(net)
    net.connect(a.node, b.node)
    a.gossip.stage({ sessionKey: 'agent:main:a' })
    await a.gossip.flushed()
    const m = await net.manual(REGISTRY_PROTOCOL)
    const write = await handPlayed(net, m, b.node)
    await until(() => b.gossip.registry.get(a.node.id)?.entries.size === 1)
    await write(encodeFrame.hello({ protocolVersion: 2, softwareVersion: 't', name: 'm', digest: new Map(), links: new Set() }))
    await write(encodeFrame.down(a.node.id, [1, 1]))
    // A frame after it proves the down was judged.
    await write(encodeFrame.links([]))
    const rec = await signRecord({ kind: 'snap', origin: m.id, incarnation: 1, seq: 0, chunk: 0, chunks: 1, gateway, entries: [] }, m.privateKey)
    await write(encodeFrame.record(rec.bytes))
    await until(() => b.gossip.registry.get(m.id) !== undefined)
    assert.equal(b.gossip.registry.get(a.node.id)?.reachable, true)
  })

  it('liveness: an origin we lost our link to, that a peer of ours still hears, is reachable again once that peer hears from it', async () => {
    const net = new FakeNet()
    const [a, w, o] = await trio(net)
    net.connect(a.node, w.node)
    net.connect(w.node, o.node)
    net.connect(a.node, o.node)
    await until(() => a.gossip.isConnected(o.node.id) && a.gossip.registry.get(o.node.id) !== undefined && a.gossip.liveness.claimsLink(w.node.id, o.node.id))
    // Our link to O breaks (a hang-up under loss): direct evidence, O turns unreachable here at once.
    net.disconnect(a.node, o.node)
    assert.equal(a.gossip.registry.get(o.node.id)?.reachable, false)
    // O is alive and idle: it writes nothing, and W's link to it never changed. W hears from it, and says so.
    await until(() => a.gossip.registry.get(o.node.id)?.reachable === true)
    assert.equal(a.gossip.isConnected(o.node.id), false, 'revived by what W heard, not by a link of ours')
  })

  it('liveness: an idle Gateway dropped after a partition longer than the grace period comes back when the link heals', async () => {
    const net = new FakeNet()
    const [a, b] = await pair(net)
    b.gossip.stage({ sessionKey: 'agent:main:b' })
    await b.gossip.flushed()
    net.connect(a.node, b.node)
    await until(() => a.gossip.registry.get(b.node.id)?.entries.size === 1)
    net.disconnect(a.node, b.node)
    net.now += 61_000
    a.gossip.expire()
    assert.equal(a.gossip.registry.get(b.node.id), undefined, 'dropped after the grace period')
    // B never stopped and wrote nothing since: the same version as the tombstone, and its own link proves it lives.
    net.connect(a.node, b.node)
    await until(() => a.gossip.registry.get(b.node.id)?.entries.size === 1)
    assert.equal(a.gossip.registry.get(b.node.id)?.reachable, true)
  })

  it('liveness: a peer linked again to an idle Gateway we dropped brings it back', async () => {
    const net = new FakeNet()
    const [a, w, o] = await trio(net)
    o.gossip.stage({ sessionKey: 'agent:main:o' })
    await o.gossip.flushed()
    net.connect(w.node, o.node)
    net.connect(a.node, w.node)
    await until(() => a.gossip.registry.get(o.node.id)?.entries.size === 1 && a.gossip.liveness.claimsLink(w.node.id, o.node.id))
    // W, our only way to O, loses it for longer than the grace period: we believe W, then drop O.
    net.disconnect(w.node, o.node)
    await until(() => a.gossip.registry.get(o.node.id)?.reachable === false)
    net.now += 61_000
    a.gossip.expire()
    assert.equal(a.gossip.registry.get(o.node.id), undefined)
    net.connect(w.node, o.node)
    await until(() => a.gossip.registry.get(o.node.id)?.entries.size === 1)
    assert.equal(a.gossip.registry.get(o.node.id)?.reachable, true)
  })

  it('liveness: a silent peer is suspected, then declared down, and back the moment it answers; time this process did not run is not its silence', async () => {
    const net = new FakeNet()
    const [a, b] = await pair(net)
    net.connect(a.node, b.node)
    await until(() => b.gossip.isConnected(a.node.id) && b.gossip.registry.get(a.node.id) !== undefined)
    // The clock jumps by more than the silence allowed, as after a long stall of this process: nobody is blamed.
    net.now += 10_000
    b.gossip.check()
    assert.equal(b.gossip.isConnected(a.node.id), true)
    assert.ok(b.gossip.health.score > 0, 'our own stall makes us slower to accuse')
    // Then real silence (checks on time, nothing read in between): suspect first, still reachable...
    const states: string[] = []
    for (let i = 0; i < 120 && b.gossip.isConnected(a.node.id); i++) {
      net.now += 250
      b.gossip.check()
      const state = b.gossip.links.get(a.node.id)?.watch.state ?? 'gone'
      if (states.at(-1) !== state) states.push(state)
      if (state === 'suspect') assert.equal(b.gossip.registry.get(a.node.id)?.reachable, true, 'a suspect is still reachable')
    }
    assert.deepEqual(states, ['alive', 'suspect', 'dead'])
    assert.equal(b.gossip.registry.get(a.node.id)?.reachable, false)
    assert.equal(b.gossip.failFast(a.node.id), true, 'our own verdict: sends fail fast')
    // ...A was only slow: its answers, queued meanwhile, bring it back at once.
    await until(() => b.gossip.isConnected(a.node.id))
    assert.equal(b.gossip.registry.get(a.node.id)?.reachable, true)
  })

  // The restart storm (test/netns/faults.test.ts) once failed so: A showed the killed run's session as
  // reachable again (a proof of life of the new run revived the old one), then the new run's first
  // snapshot (empty: sessions are announced after start) replaced it, and a send in between was NOT_FOUND.
  it('restart: neither a peer linked to the restarted Gateway nor its own hello revives its previous run', async () => {
    const net = new FakeNet()
    const [a, w, o1] = await trio(net)
    const key = o1.node.privateKey
    const o = o1.node.id
    o1.gossip.stage({ sessionKey: 'agent:main:o' })
    await o1.gossip.flushed()
    net.connect(a.node, w.node)
    net.connect(w.node, o1.node)
    net.connect(a.node, o1.node)
    await until(() => a.gossip.registry.get(o)?.entries.size === 1 && a.gossip.liveness.claimsLink(w.node.id, o))
    const runs = watchRuns(a.gossip, o)

    // kill -9 of run 1; A and W see their links close.
    net.kill(o1.node)
    runs.dead(1)
    await until(() => a.gossip.registry.get(o)?.reachable === false && !a.gossip.liveness.claimsLink(w.node.id, o))
    // Run 2 links to W first: W's links name O again (before W's news of run 2 reaches A).
    const o2 = await net.gossip({ incarnation: 2 }, key)
    running.push(o2.gossip)
    net.connect(w.node, o2.node)
    await until(() => a.gossip.liveness.claimsLink(w.node.id, o))
    o2.gossip.stage({ sessionKey: 'agent:main:o' })
    await o2.gossip.flushed()
    await until(() => a.gossip.registry.get(o)?.incarnation === 2 && a.gossip.registry.get(o)?.entries.size === 1)
    assert.equal(a.gossip.registry.get(o)?.reachable, true, 'the new run is reachable')

    // kill -9 of run 2; run 3 links to A itself first.
    net.kill(o2.node)
    runs.dead(2)
    await until(() => a.gossip.registry.get(o)?.reachable === false)
    const o3 = await net.gossip({ incarnation: 3 }, key)
    running.push(o3.gossip)
    net.connect(a.node, o3.node)
    await until(() => a.gossip.isConnected(o) && a.gossip.registry.get(o)?.incarnation === 3)
    assert.deepEqual(runs.revived, [], 'a run that died was never shown reachable again')
    assert.equal(a.gossip.registry.get(o)?.reachable, true)
  })

  it('restart: a peer linked to the new run but still holding the old one does not answer our down with an alive for the old run', async () => {
    const net = new FakeNet()
    // W sends no heartbeat of its own: the one run 2 receives is W's probe after our down.
    const [a, w, o1] = await Promise.all([net.gossip(), net.gossip({ heartbeatIntervalMs: 1e12 }), net.gossip()])
    running.push(a.gossip, w.gossip, o1.gossip)
    const o = o1.node.id
    o1.gossip.stage({ sessionKey: 'agent:main:o' })
    await o1.gossip.flushed()
    net.connect(a.node, w.node)
    net.connect(w.node, o1.node)
    net.connect(a.node, o1.node)
    await until(() => a.gossip.registry.get(o)?.entries.size === 1 && w.gossip.registry.get(o)?.entries.size === 1 && a.gossip.liveness.claimsLink(w.node.id, o))
    const runs = watchRuns(a.gossip, o)
    // Run 1 dies; W notices at once, A not yet (its connection lingers).
    net.disconnect(w.node, o1.node)
    runs.dead(1)
    await until(() => w.gossip.registry.get(o)?.reachable === false)
    // Run 2 (played by hand) links to W and says which run it is; W still holds run 1.
    const o2 = await net.manual(REGISTRY_PROTOCOL, o1.node.privateKey)
    const write = await handPlayed(net, o2, w.node)
    await write(encodeFrame.hello({ protocolVersion: 2, softwareVersion: 't', name: 'o', digest: new Map([[o, { version: [2, 0], departed: false }]]), links: new Set() }))
    await until(() => w.gossip.isConnected(o) && a.gossip.liveness.claimsLink(w.node.id, o))
    // Now A loses run 1 too and tells W (its down); W asks run 2 and hears from it.
    net.disconnect(a.node, o1.node)
    await until(() => o2.inbound.length > 0)
    for (;;) {
      const msg = decodeFrame(await o2.inbound[0]!.read())
      if (msg.type === 'heartbeat') break
    }
    await write(encodeFrame.heartbeatAck())
    // Then run 2's first record: W takes it, and its news brings run 2 to A (after any alive W sent).
    const snap = await signRecord({ kind: 'snap', origin: o, incarnation: 2, seq: 0, chunk: 0, chunks: 1, gateway, entries: [{ sessionKey: 'agent:main:o' }] }, o1.node.privateKey)
    await write(encodeFrame.record(snap.bytes))
    await until(() => a.gossip.registry.get(o)?.incarnation === 2)
    assert.deepEqual(runs.revived, [], 'run 1 was never shown reachable after it died')
  })
})
