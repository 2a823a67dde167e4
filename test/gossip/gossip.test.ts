// The registry gossip service on in-memory stream pairs with a fake clock: snapshot, delta, gap, pull,
// tombstone and liveness, each driven by hand (periodic work is run by calling it, after moving the clock).
import assert from 'node:assert/strict'
import { afterEach, describe, it } from 'node:test'
import { REGISTRY_PROTOCOL } from '../../src/constants.ts'
import { decodeFrame, encodeFrame } from '../../src/gossip/wire.ts'
import { signRecord } from '../../src/registry/records.ts'
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

async function pair (net: FakeNet): Promise<[{ node: FakeNode, gossip: RegistryGossip }, { node: FakeNode, gossip: RegistryGossip }]> {
  const a = await net.gossip()
  const b = await net.gossip()
  running.push(a.gossip, b.gossip)
  return [a, b]
}

/** Opens a hand-played stream from `manual` to `target`, and returns a writer of frames. */
async function handPlayed (net: FakeNet, manual: FakeNode, target: FakeNode): Promise<(frame: Uint8Array) => Promise<void>> {
  net.connect(manual, target)
  const { FramedStream } = await import('../../src/wire/framed-stream.ts')
  const out = new FramedStream(await net.open(manual, target.id, REGISTRY_PROTOCOL), 8 * 1024 * 1024)
  return async (frame) => { await out.write(frame) }
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

  it('liveness: a silent peer is hung up on, and time this process did not run is not its silence', async () => {
    const net = new FakeNet()
    const [a, b] = await pair(net)
    net.connect(a.node, b.node)
    await until(() => b.gossip.isConnected(a.node.id) && b.gossip.registry.get(a.node.id) !== undefined)
    // The clock jumps by more than the silence allowed, as after a long stall of this process: nobody is blamed.
    net.now += 10_000
    b.gossip.check()
    assert.equal(b.gossip.isConnected(a.node.id), true)
    // Then real silence: checks run on time, nothing is heard.
    for (let i = 0; i < 12; i++) {
      net.now += 500
      b.gossip.check()
    }
    assert.equal(b.gossip.isConnected(a.node.id), false)
    assert.equal(b.gossip.registry.get(a.node.id)?.reachable, false)
  })
})
