// Liveness at scale on in-memory stream pairs with a fake clock: suspicion and indirect probes,
// refutation, hearsay checked by ourselves, links closed on purpose, and what a lying member can
// (not) do with the new frames. Peers other than the one under test are played by hand.
import assert from 'node:assert/strict'
import { afterEach, describe, it } from 'node:test'
import { REGISTRY_PROTOCOL } from '../../src/constants.ts'
import { LINK_MIN_AGE_MS, type LinkPolicy } from '../../src/gossip/links.ts'
import { decodeFrame, encodeFrame, type GossipMessage } from '../../src/gossip/wire.ts'
import { signRecord } from '../../src/registry/records.ts'
import { FramedStream } from '../../src/wire/framed-stream.ts'
import { FakeNet, until, type FakeNode } from './harness.ts'
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

/** A hand-played peer linked to `target`: writes frames to it, and collects what `target` sends it. */
interface Played {
  node: FakeNode
  write: (frame: Uint8Array) => Promise<void>
  received: GossipMessage[]
  /** Messages of one type received so far. */
  of: <T extends GossipMessage['type']>(type: T) => Array<Extract<GossipMessage, { type: T }>>
}

async function play (net: FakeNet, target: FakeNode, links: string[] = []): Promise<Played> {
  const node = await net.manual(REGISTRY_PROTOCOL)
  net.connect(node, target)
  const out = new FramedStream(await net.open(node, target.id, REGISTRY_PROTOCOL), 8 * 1024 * 1024)
  const received: GossipMessage[] = []
  void (async () => {
    await until(() => node.inbound.length > 0)
    for (;;) received.push(decodeFrame(await node.inbound[0]!.read()))
  })().catch(() => {})
  const write = async (frame: Uint8Array): Promise<void> => { await out.write(frame) }
  await write(encodeFrame.hello({ protocolVersion: 2, softwareVersion: 't', name: 'played', digest: new Map(), links: new Set(links) }))
  const snap = await signRecord({ kind: 'snap', origin: node.id, incarnation: 1, seq: 0, chunk: 0, chunks: 1, gateway, entries: [{ sessionKey: `agent:main:${node.id.slice(-4)}` }] }, node.privateKey)
  await write(encodeFrame.record(snap.bytes))
  const of = <T extends GossipMessage['type']>(type: T): Array<Extract<GossipMessage, { type: T }>> => received.filter(m => m.type === type) as Array<Extract<GossipMessage, { type: T }>>
  return { node, write, received, of }
}

/** Runs the periodic check every 250 ms of fake time, `steps` times, without reading anything in between. */
function tick (net: FakeNet, gossip: RegistryGossip, steps: number): void {
  for (let i = 0; i < steps; i++) {
    net.now += 250
    gossip.check()
  }
}

async function underTest (net: FakeNet, policy?: LinkPolicy): Promise<{ node: FakeNode, gossip: RegistryGossip }> {
  const g = await net.gossip()
  if (policy !== undefined) g.gossip.setLinkPolicy(policy)
  running.push(g.gossip)
  return g
}

describe('suspicion and indirect probes', () => {
  it('a silent peer is asked about through a peer linked to it; that peer\'s alive extends the suspicion once; then the verdict, and the accused is told', async () => {
    const net = new FakeNet()
    const a = await underTest(net)
    const o = await play(net, a.node)
    const w = await play(net, a.node, [o.node.id])
    await until(() => a.gossip.isConnected(w.node.id) && a.gossip.isConnected(o.node.id) && a.gossip.liveness.claimsLink(w.node.id, o.node.id))
    const link = a.gossip.links.get(o.node.id)!
    // O goes silent; W keeps answering (W's frames are read as they come).
    let suspected = false
    for (let i = 0; i < 40 && !suspected; i++) {
      tick(net, a.gossip, 1)
      await w.write(encodeFrame.heartbeatAck())
      await until(() => a.gossip.links.get(w.node.id)!.lastHeard === net.now)
      suspected = link.watch.state === 'suspect'
    }
    assert.ok(suspected)
    assert.equal(a.gossip.registry.get(o.node.id)?.reachable, true, 'a suspect is still reachable')
    await until(() => w.of('suspect').some(m => m.origin === o.node.id))
    // W hears O: A waits another full suspicion before its verdict.
    await w.write(encodeFrame.alive(o.node.id, [1, 0]))
    await until(() => a.gossip.links.get(w.node.id)!.lastHeard === net.now)
    const answeredAt = net.now
    for (let i = 0; i < 40 && link.watch.state === 'suspect'; i++) {
      tick(net, a.gossip, 1)
      await w.write(encodeFrame.heartbeatAck())
      await until(() => a.gossip.links.get(w.node.id)!.lastHeard === net.now)
    }
    assert.equal(link.watch.state, 'dead')
    assert.ok(net.now - answeredAt >= a.gossip.timing.suspicionMaxMs, 'the alive bought one more suspicion')
    assert.equal(a.gossip.registry.get(o.node.id)?.reachable, false)
    assert.equal(a.gossip.failFast(o.node.id), true)
    // O is told it was declared down (it refutes if it runs again); W is told too.
    await until(() => o.of('down').some(m => m.origin === o.node.id) && w.of('down').some(m => m.origin === o.node.id))
  })

  it('a Gateway declared down by a peer refutes with a fresh record, at most once per interval', async () => {
    const net = new FakeNet()
    const a = await underTest(net)
    const b = await underTest(net)
    net.connect(a.node, b.node)
    await until(() => b.gossip.registry.get(a.node.id) !== undefined && a.gossip.isConnected(b.node.id))
    const m = await play(net, a.node)
    await until(() => a.gossip.isConnected(m.node.id))
    const seq = a.gossip.registry.get(a.node.id)!.seq
    for (let i = 0; i < 5; i++) await m.write(encodeFrame.down(a.node.id, [1, seq]))
    await until(() => b.gossip.registry.get(a.node.id)!.seq === seq + 1)
    assert.ok(a.gossip.health.score > 0, 'being accused makes us slower to accuse others')
    await m.write(encodeFrame.links([]))
    await until(() => m.received.length > 0 && a.gossip.links.get(m.node.id)!.lastHeard === net.now)
    assert.equal(a.gossip.registry.get(a.node.id)!.seq, seq + 1, 'five accusations, one refutation')
  })
})

describe('hearsay is checked, links close on purpose', () => {
  it('a down from the only peer linked to the origin: listed unreachable but not failing fast, checked by us, and back when our check reaches it (the link it prompts names the run)', async () => {
    const net = new FakeNet()
    const a = await underTest(net)
    const o = await underTest(net)
    // Neither chooses the other: only our check makes a link between them.
    const never: LinkPolicy = { wants: () => false, chosen: () => [] }
    a.gossip.setLinkPolicy(never)
    o.gossip.setLinkPolicy(never)
    const liar = await play(net, a.node, [o.node.id])
    await liar.write(encodeFrame.record((await signRecord({ kind: 'snap', origin: o.node.id, incarnation: 1, seq: 0, chunk: 0, chunks: 1, gateway, entries: [{ sessionKey: 'agent:main:o' }] }, o.node.privateKey)).bytes))
    await until(() => a.gossip.registry.get(o.node.id) !== undefined && a.gossip.liveness.claimsLink(liar.node.id, o.node.id))
    const checked: string[] = []
    a.gossip.setVerifier(async origin => {
      checked.push(origin)
      net.connect(a.node, o.node)
      a.gossip.reached(o.node.peerId)
    })
    await liar.write(encodeFrame.down(o.node.id, [1, 0]))
    await until(() => checked.length > 0)
    assert.deepEqual(checked, [o.node.id], 'hearsay is checked by a dial of our own')
    await until(() => a.gossip.registry.get(o.node.id)?.reachable === true)
    assert.equal(a.gossip.liveness.isLinked(o.node.id), true, 'revived by the link our check opened (its hello names run 1)')
    // The link closes again; without a check (it could not dial), the origin is listed unreachable, yet sends are still tried.
    a.gossip.setVerifier(async () => {})
    net.disconnect(a.node, o.node)
    await until(() => a.gossip.registry.get(o.node.id)?.reachable === false)
    await liar.write(encodeFrame.links([o.node.id]))
    await until(() => a.gossip.registry.get(o.node.id)?.reachable === true)
    net.now += 20_000
    await liar.write(encodeFrame.down(o.node.id, [1, 0]))
    await until(() => a.gossip.registry.get(o.node.id)?.reachable === false)
    assert.equal(a.gossip.failFast(o.node.id), false, 'hearsay never makes a send fail fast')
  })

  it('a check that reaches a restarted Gateway revives nothing of its previous run: the link it prompts brings the new run', async () => {
    const net = new FakeNet()
    const a = await underTest(net)
    const never: LinkPolicy = { wants: () => false, chosen: () => [] }
    a.gossip.setLinkPolicy(never)
    const o1 = await net.node()
    const liar = await play(net, a.node, [o1.id])
    await liar.write(encodeFrame.record((await signRecord({ kind: 'snap', origin: o1.id, incarnation: 1, seq: 0, chunk: 0, chunks: 1, gateway, entries: [{ sessionKey: 'agent:main:o' }] }, o1.privateKey)).bytes))
    await until(() => a.gossip.registry.get(o1.id) !== undefined && a.gossip.liveness.claimsLink(liar.node.id, o1.id))
    // Whenever reachability or entries change: run 1 must never be shown reachable again.
    const revived: number[] = []
    const watch = (): void => {
      const state = a.gossip.registry.get(o1.id)
      if (state !== undefined && state.reachable && state.incarnation === 1) revived.push(1)
    }
    a.gossip.addEventListener('gateway:reachability', watch)
    a.gossip.addEventListener('registry:change', watch)
    // Run 2 of the same peer ID, announcing nothing yet.
    const o2 = await net.gossip({ incarnation: 2 }, o1.privateKey)
    running.push(o2.gossip)
    o2.gossip.setLinkPolicy(never)
    a.gossip.setVerifier(async () => {
      net.connect(a.node, o2.node)
      a.gossip.reached(o2.node.peerId)
    })
    await liar.write(encodeFrame.down(o1.id, [1, 0]))
    await until(() => a.gossip.registry.get(o1.id)?.reachable === false || a.gossip.registry.get(o1.id)?.incarnation === 2)
    await until(() => a.gossip.registry.get(o1.id)?.incarnation === 2)
    assert.equal(a.gossip.registry.get(o1.id)?.entries.size, 0, 'the new run, which announced nothing yet')
    assert.equal(a.gossip.registry.get(o1.id)?.reachable, true)
    assert.deepEqual(revived, [], 'run 1 was never shown reachable again')
  })

  it('a rumour (a down from a peer never linked to the origin) is believed by nobody; whoever holds the origin reachable checks it', async () => {
    const net = new FakeNet()
    const a = await underTest(net)
    const o = await underTest(net)
    const w = await underTest(net)
    net.connect(o.node, w.node)
    net.connect(w.node, a.node)
    await until(() => a.gossip.registry.get(o.node.id) !== undefined)
    const checked: string[] = []
    a.gossip.setVerifier(async origin => { checked.push(origin) })
    const m = await play(net, a.node)
    await until(() => a.gossip.isConnected(m.node.id))
    await m.write(encodeFrame.down(o.node.id, [1, 0]))
    await until(() => checked.length === 1)
    assert.equal(a.gossip.registry.get(o.node.id)?.reachable, true)
  })

  it('an unlink closes the link with no evidence: the peer stays reachable and nobody is told it is down', async () => {
    const net = new FakeNet()
    const a = await underTest(net)
    const b = await underTest(net)
    net.connect(a.node, b.node)
    await until(() => a.gossip.isConnected(b.node.id) && b.gossip.isConnected(a.node.id) && a.gossip.registry.get(b.node.id) !== undefined)
    const m = await play(net, a.node)
    await until(() => a.gossip.isConnected(m.node.id))
    await m.write(encodeFrame.unlink())
    await until(() => !a.gossip.links.has(m.node.id))
    assert.equal(a.gossip.registry.get(m.node.id)?.reachable, true)
    assert.equal(a.gossip.failFast(m.node.id), false)
  })

  it('a link neither side chooses any more is closed on purpose once it is old enough; one the peer still wants is kept', async () => {
    const net = new FakeNet()
    let wanted = true
    const a = await underTest(net, { wants: () => wanted, chosen: () => [] })
    const keeps = await play(net, a.node)
    const drops = await play(net, a.node)
    await until(() => a.gossip.isConnected(keeps.node.id) && a.gossip.isConnected(drops.node.id))
    wanted = false
    await keeps.write(encodeFrame.heartbeat(undefined, undefined, true))
    await drops.write(encodeFrame.heartbeat(undefined, undefined, false))
    await until(() => a.gossip.links.get(drops.node.id)?.remoteKeep === false && a.gossip.links.get(keeps.node.id)?.remoteKeep === true)
    tick(net, a.gossip, 1)
    assert.equal(a.gossip.isConnected(drops.node.id), true, 'too young: choices settle while a mesh forms')
    net.now += LINK_MIN_AGE_MS
    // Both keep answering, so neither is suspected.
    await keeps.write(encodeFrame.heartbeatAck(true))
    await drops.write(encodeFrame.heartbeatAck(false))
    await until(() => a.gossip.links.get(drops.node.id)!.lastHeard === net.now && a.gossip.links.get(keeps.node.id)!.lastHeard === net.now)
    tick(net, a.gossip, 1)
    await until(() => drops.of('unlink').length === 1)
    assert.equal(a.gossip.links.has(drops.node.id), false)
    assert.equal(a.gossip.isConnected(keeps.node.id), true)
    assert.equal(a.gossip.registry.get(drops.node.id)?.reachable, true, 'closed on purpose: no evidence')
  })

  it('a connection nobody chose carries no link; one the peer opens a registry stream on does', async () => {
    const net = new FakeNet()
    const a = await underTest(net, { wants: () => false, chosen: () => [] })
    const b = await underTest(net, { wants: () => false, chosen: () => [] })
    net.connect(a.node, b.node)
    const c = await underTest(net)
    net.connect(c.node, a.node)
    await until(() => a.gossip.isConnected(c.node.id))
    assert.equal(a.gossip.links.has(b.node.id), false, 'a delivery connection: no registry link')
    assert.equal(b.gossip.links.has(a.node.id), false)
  })
})

describe('what a lying member can do with liveness frames', () => {
  it('an alive from a peer we did not ask, or that never said it was linked to the origin, revives nothing; nor does any alive after a dial of ours failed', async () => {
    const net = new FakeNet()
    const a = await underTest(net)
    const o = await net.node()
    const w = await play(net, a.node, [o.id])
    const liar = await play(net, a.node)
    await w.write(encodeFrame.record((await signRecord({ kind: 'snap', origin: o.id, incarnation: 1, seq: 0, chunk: 0, chunks: 1, gateway, entries: [{ sessionKey: 'agent:main:o' }] }, o.privateKey)).bytes))
    await until(() => a.gossip.registry.get(o.id) !== undefined && a.gossip.isConnected(liar.node.id) && a.gossip.liveness.claimsLink(w.node.id, o.id))
    a.gossip.setVerifier(async () => {})
    // W, the one peer linked to O, lost it: A believes it, and asks W (only W) whether it hears O again.
    await w.write(encodeFrame.down(o.id, [1, 0]))
    await until(() => a.gossip.registry.get(o.id)?.reachable === false)
    await liar.write(encodeFrame.alive(o.id, [1, 0]))
    await liar.write(encodeFrame.links([]))
    await until(() => a.gossip.links.get(liar.node.id)!.lastHeard === net.now && liar.received.some(m => m.type === 'down'))
    assert.equal(a.gossip.registry.get(o.id)?.reachable, false, 'the liar was never asked: its alive is a claim')
    // A dial of ours fails: not even W's answer lifts that, only a proof of our own.
    a.gossip.markUnreachable(o.id)
    await w.write(encodeFrame.alive(o.id, [1, 0]))
    await w.write(encodeFrame.links([o.id]))
    await until(() => a.gossip.links.get(w.node.id)!.lastHeard === net.now && a.gossip.liveness.claimsLink(w.node.id, o.id))
    assert.equal(a.gossip.registry.get(o.id)?.reachable, false)
    assert.equal(a.gossip.failFast(o.id), true)
  })

  it('a flood of suspicions changes nobody\'s view and costs one probe per heartbeat interval', async () => {
    const net = new FakeNet()
    // No heartbeats of its own (fake time stands still): every heartbeat o receives is a probe.
    const w = await net.gossip({ heartbeatIntervalMs: 1e12 })
    running.push(w.gossip)
    const o = await play(net, w.node)
    const liar = await play(net, w.node)
    await until(() => w.gossip.isConnected(o.node.id) && w.gossip.isConnected(liar.node.id) && o.received.length > 0)
    const heartbeatsBefore = o.of('heartbeat').length
    for (let i = 0; i < 1_000; i++) await liar.write(encodeFrame.suspect(o.node.id, [1, 0]))
    await liar.write(encodeFrame.links([]))
    await until(() => w.gossip.links.get(liar.node.id)!.lastHeard === net.now && w.gossip.liveness.claimsLink(liar.node.id, o.node.id) === false)
    await until(() => o.of('heartbeat').length > heartbeatsBefore)
    assert.ok(o.of('heartbeat').length - heartbeatsBefore <= 1, `${o.of('heartbeat').length - heartbeatsBefore} probes`)
    assert.equal(w.gossip.registry.get(o.node.id)?.reachable, true)
    assert.equal(w.gossip.links.get(o.node.id)?.watch.state, 'alive')
  })

  it('a liar that answers alive for a silent peer delays our verdict once, never indefinitely; after it, a lie only makes us dial', async () => {
    const net = new FakeNet()
    const a = await underTest(net)
    const o = await play(net, a.node)
    const liar = await play(net, a.node, [o.node.id])
    await until(() => a.gossip.isConnected(o.node.id) && a.gossip.liveness.claimsLink(liar.node.id, o.node.id))
    const link = a.gossip.links.get(o.node.id)!
    const started = net.now
    let declaredAt: number | undefined
    for (let i = 0; i < 200 && declaredAt === undefined; i++) {
      tick(net, a.gossip, 1)
      if (link.watch.state === 'dead') declaredAt = net.now
      // The liar answers every question about O, and keeps its own link alive.
      await liar.write(encodeFrame.alive(o.node.id, [1, 0]))
      await liar.write(encodeFrame.heartbeatAck())
      await until(() => a.gossip.links.get(liar.node.id)!.lastHeard === net.now)
    }
    assert.ok(declaredAt !== undefined)
    const { suspectAfterMs, suspicionMaxMs } = a.gossip.timing
    assert.ok(declaredAt - started <= suspectAfterMs + 2 * suspicionMaxMs + 1_000, `declared after ${declaredAt - started} ms`)
    // The liar (asked, as a peer linked to O) says O runs: O is listed again, but our silent link to it is hung up...
    await until(() => !a.gossip.links.has(o.node.id))
    // ...so a send dials O, which fails: our own evidence, which no alive lifts.
    a.gossip.markUnreachable(o.node.id)
    await liar.write(encodeFrame.alive(o.node.id, [1, 0]))
    await liar.write(encodeFrame.links([o.node.id]))
    await until(() => a.gossip.links.get(liar.node.id)!.lastHeard === net.now)
    assert.equal(a.gossip.registry.get(o.node.id)?.reachable, false)
    assert.equal(a.gossip.failFast(o.node.id), true)
  })
})
