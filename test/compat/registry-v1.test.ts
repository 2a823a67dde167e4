// The registry gossip talking to a hand-played v1 peer (JSON frames, JSON-signed records) over
// in-memory streams: what a v1 Gateway sees of us, what we take from it, and that the v1 path
// keeps every rule of v2 (signatures, allowlist, peer IDs, versions turned off).
import assert from 'node:assert/strict'
import { afterEach, describe, it } from 'node:test'
import { REGISTRY_PROTOCOL_V1 } from '../../src/compat/protocols.ts'
import { RegistryV1 } from '../../src/compat/registry-v1.ts'
import { decodeV1Record, isV1Record, signV1Record } from '../../src/compat/v1-records.ts'
import { REGISTRY_PROTOCOL } from '../../src/constants.ts'
import { encodeFrame } from '../../src/gossip/wire.ts'
import { verifyRecord, type RegistryRecord } from '../../src/registry/records.ts'
import { FramedStream } from '../../src/wire/framed-stream.ts'
import { FakeNet, until, type FakeNode } from '../gossip/harness.ts'
import type { RegistryGossip, RegistryGossipInit } from '../../src/gossip/index.ts'
import type { PrivateKey } from '@libp2p/interface'

const gateway = { name: 'old', host: 'h', addrs: [], maxMessageBytes: 1024 }
const nets: FakeNet[] = []
afterEach(async () => {
  for (const net of nets.splice(0)) await net.stopAll()
})

/** A gossip service on `net`, stopped after the test. */
async function gossip (net: FakeNet, init: Partial<RegistryGossipInit> = {}): Promise<{ node: FakeNode, gossip: RegistryGossip }> {
  if (!nets.includes(net)) nets.push(net)
  return await net.gossip(init)
}

type V1Frame = { record?: Uint8Array, t?: unknown, [field: string]: unknown }

/** A v1 peer played by hand (with `privateKey`: a restart of that peer ID): connected to `target`, it reads what the target writes and writes v1 frames back. */
async function v1Peer (net: FakeNet, target: FakeNode, privateKey?: PrivateKey): Promise<{ node: FakeNode, send: (frame: object | Uint8Array) => Promise<void>, next: () => Promise<V1Frame> }> {
  const node = await net.manual(REGISTRY_PROTOCOL_V1, privateKey)
  net.connect(node, target)
  const out = new FramedStream(await net.open(node, target.id, [REGISTRY_PROTOCOL_V1]), 8 * 1024 * 1024)
  await until(() => node.inbound.length > 0)
  return {
    node,
    send: async (frame) => { await out.write(frame instanceof Uint8Array ? frame : new TextEncoder().encode(JSON.stringify(frame))) },
    next: async () => {
      const bytes = await node.inbound[0]!.read()
      return isV1Record(bytes) ? { record: bytes.slice() } : JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>
    }
  }
}

/** Reads frames until one matches. */
async function nextWhere (peer: { next: () => Promise<V1Frame> }, match: (f: V1Frame) => boolean): Promise<V1Frame> {
  for (;;) {
    const frame = await peer.next()
    if (match(frame)) return frame
  }
}

const hello = (extra: object = {}): object => ({ t: 'hello', v: 1, name: 'old', d: {}, p: [], ...extra })
const snapshot = async (node: FakeNode, entries: string[], seq = 0): Promise<Uint8Array> => await signV1Record({ kind: 'snap', origin: node.id, incarnation: 1, seq, chunk: 0, chunks: 1, gateway, entries: entries.map(sessionKey => ({ sessionKey })) }, node.privateKey)

describe('registry v1 (a Gateway not yet upgraded)', () => {
  it('is offered v2 then v1, and gets our hello and our own records in v1 form; its v1 records are applied', async () => {
    const net = new FakeNet()
    const a = await gossip(net, { softwareVersion: '9.9.9' })
    a.gossip.stage({ sessionKey: 'agent:main:new', sessionId: crypto.randomUUID() })
    await a.gossip.flushed()
    const m = await v1Peer(net, a.node)
    const greeting = await m.next() as Record<string, unknown>
    assert.equal(greeting.t, 'hello')
    assert.equal(greeting.v, 1)
    assert.equal(greeting.sw, '9.9.9')
    assert.deepEqual(Object.keys(greeting.d as object), [a.node.id])
    await m.send(hello())
    await m.send(await snapshot(m.node, ['agent:main:old']))
    await until(() => a.gossip.registry.get(m.node.id)?.entries.has('agent:main:old') === true)
    assert.deepEqual(a.gossip.connectedPeers().map(p => [p.name, p.protocolVersion]), [['old', 1]])
    // It pulls us: our records come signed by us in v1 form, at the versions our digest showed.
    await m.send({ t: 'want', w: { [a.node.id]: null } })
    const shown = (greeting.d as Record<string, number[]>)[a.node.id]
    for (let at: number[] = []; at[1] !== shown?.[1];) {
      const frame = await nextWhere(m, f => 'record' in f) as { record: Uint8Array }
      const { record } = await verifyRecord(decodeV1Record(frame.record))
      assert.equal(record.origin, a.node.id)
      at = [record.incarnation, record.seq]
      assert.equal(at[0], shown?.[0])
    }
    // A change of ours is pushed to it in v1 form too.
    a.gossip.stage({ sessionKey: 'agent:main:later' })
    await a.gossip.flushed()
    const pushed = await nextWhere(m, f => 'record' in f && decodeV1Record((f as { record: Uint8Array }).record).record.kind === 'delta') as { record: Uint8Array }
    const delta = (await verifyRecord(decodeV1Record(pushed.record))).record as RegistryRecord & { kind: 'delta' }
    assert.deepEqual(delta.changes.map(c => c.sessionKey), ['agent:main:later'])
  })

  it('a v1 origin\'s records reach a v2 Gateway that is not linked to it (relayed as they are)', async () => {
    const net = new FakeNet()
    const a = await gossip(net)
    const b = await gossip(net)
    net.connect(a.node, b.node)
    const m = await v1Peer(net, a.node)
    await m.send(hello())
    await m.send(await snapshot(m.node, ['agent:main:old']))
    await until(() => b.gossip.registry.get(m.node.id)?.entries.has('agent:main:old') === true)
    assert.equal(b.gossip.isConnected(m.node.id), false)
    assert.equal(b.gossip.counters.recordsRejected, 0)
  })

  it('a v2 origin\'s records are never given to a v1 peer, nor shown to it unless it is linked to that origin', async () => {
    const net = new FakeNet()
    const a = await gossip(net)
    const o = await gossip(net)
    o.gossip.stage({ sessionKey: 'agent:main:o' })
    await o.gossip.flushed()
    net.connect(a.node, o.node)
    await until(() => a.gossip.registry.get(o.node.id)?.entries.size === 1)
    const m = await v1Peer(net, a.node)
    const greeting = await m.next() as Record<string, unknown>
    assert.deepEqual(Object.keys(greeting.d as object), [a.node.id], 'the digest shows what a v1 peer can hold')
    await m.send(hello())
    // Asked for both in one want, A serves them in order: a record of O would come before ours.
    await m.send({ t: 'want', w: { [o.node.id]: null, [a.node.id]: null } })
    const first = await nextWhere(m, f => 'record' in f) as { record: Uint8Array }
    assert.equal(decodeV1Record(first.record).record.origin, a.node.id)
    // Once it says it is linked to O (so it has O's records from O), O is in what it is shown.
    await m.send({ t: 'links', p: [o.node.id] })
    await m.send({ t: 'hb', h: 'not-our-hash' })
    const digest = await nextWhere(m, f => f.t === 'digest') as Record<string, unknown>
    assert.deepEqual(Object.keys(digest.d as object).sort(), [a.node.id, o.node.id].sort())
  })

  it('anti-entropy: a v1 peer in sync sends the v1 hash of what it can hold, and is not answered with a digest', async () => {
    const net = new FakeNet()
    const a = await gossip(net)
    const m = await v1Peer(net, a.node)
    await m.send(hello())
    await m.send(await snapshot(m.node, ['agent:main:old']))
    await until(() => a.gossip.registry.get(m.node.id) !== undefined)
    const state = a.gossip.registry.get(a.node.id)!
    const inSync = RegistryV1.hash(new Map([[a.node.id, { version: [state.incarnation, state.seq], departed: false }], [m.node.id, { version: [1, 0], departed: false }]]))
    await m.send({ t: 'hb', h: inSync })
    await m.send({ t: 'hb', h: 'different' })
    // Answers come in order: an ack, then (only for the second) the digest.
    const answers: string[] = []
    while (!answers.includes('digest')) {
      const f = await m.next()
      if (typeof f.t === 'string' && ['hback', 'digest'].includes(f.t)) answers.push(f.t)
    }
    assert.deepEqual(answers, ['hback', 'hback', 'digest'])
  })

  it('attack: a v1 peer relaying the record of an origin outside the allowlist is refused, as on v2', async () => {
    const net = new FakeNet()
    const stranger = await net.node()
    const m0 = await net.node()
    const a = await gossip(net, { allow: [m0.id] })
    const rejected: string[] = []
    a.gossip.addEventListener('record:rejected', e => { rejected.push(e.detail.reason) })
    const m = await v1Peer(net, a.node)
    await m.send(hello())
    await m.send(await snapshot(stranger, ['agent:main:smuggled']))
    await until(() => rejected.length === 1)
    assert.match(rejected[0]!, /allowlist/)
    assert.equal(a.gossip.registry.get(stranger.id), undefined)
  })

  it('attack: a v1 record forged for another origin is refused (bad signature)', async () => {
    const net = new FakeNet()
    const a = await gossip(net)
    const victim = await net.node()
    const rejected: string[] = []
    a.gossip.addEventListener('record:rejected', e => { rejected.push(e.detail.reason) })
    const m = await v1Peer(net, a.node)
    await m.send(hello())
    const forged = await signV1Record({ kind: 'snap', origin: victim.id, incarnation: 9, seq: 0, chunk: 0, chunks: 1, gateway, entries: [{ sessionKey: 'agent:main:main' }] }, m.node.privateKey)
    await m.send(forged)
    await until(() => rejected.length === 1)
    assert.match(rejected[0]!, /bad signature/)
    assert.equal(a.gossip.registry.get(victim.id), undefined)
  })

  it('attack: a v1 frame naming an origin in a non-canonical spelling drops the stream and reports the peer', async () => {
    const net = new FakeNet()
    const a = await gossip(net)
    const reports: string[] = []
    a.gossip.addEventListener('peer:incompatible', e => { reports.push(e.detail.kind) })
    const m = await v1Peer(net, a.node)
    await m.send(hello({ d: { [m.node.peerId.toCID().toString()]: [1, 0] } }))
    await until(() => reports.length === 1)
    assert.deepEqual(reports, ['unreadable-frames'])
    assert.equal(a.gossip.isConnected(m.node.id), false)
  })

  it('a restart behind a v1 peer: its links, which cannot name the run, never revive the run that died', async () => {
    const net = new FakeNet()
    const a = await gossip(net)
    const o1 = await gossip(net)
    const o = o1.node.id
    o1.gossip.stage({ sessionKey: 'agent:main:o' })
    await o1.gossip.flushed()
    net.connect(a.node, o1.node)
    await until(() => a.gossip.registry.get(o)?.entries.size === 1)
    // kill -9 of run 1: A sees its link close.
    net.kill(o1.node)
    await until(() => a.gossip.registry.get(o)?.reachable === false)
    // A v1 peer (linked to the new run, say) names O in its hello, then newly in its links.
    const m = await v1Peer(net, a.node)
    await m.send(hello({ p: [o] }))
    await m.send({ t: 'links', p: [] })
    await m.send({ t: 'links', p: [o] })
    // Frames are handled in order: once our answer to its heartbeat arrives, all of the above was.
    await m.send({ t: 'hb' })
    await nextWhere(m, f => f.t === 'hback')
    assert.equal(a.gossip.liveness.claimsLink(m.node.id, o), true, 'its claim counts as a link (rule 2)')
    assert.equal(a.gossip.registry.get(o)?.reachable, false, 'run 1 stays unreachable')
  })

  it('a v1 peer\'s own hello names its run: the same run linking again is reachable, a new run does not revive the one that died', async () => {
    const net = new FakeNet()
    const a = await gossip(net)
    const run1 = await v1Peer(net, a.node)
    const { id, privateKey } = run1.node
    const held = (): { incarnation?: number, reachable?: boolean } => ({ incarnation: a.gossip.registry.get(id)?.incarnation, reachable: a.gossip.registry.get(id)?.reachable })
    await run1.send(hello({ d: { [id]: [1, 0] } }))
    await run1.send(await snapshot(run1.node, ['agent:main:old']))
    await until(() => a.gossip.registry.get(id)?.entries.size === 1)
    net.disconnect(run1.node, a.node)
    await until(() => held().reachable === false)
    // The same run links again (a flap): its hello digest names run 1.
    const again = await v1Peer(net, a.node, privateKey)
    await again.send(hello({ d: { [id]: [1, 0] } }))
    await until(() => held().reachable === true)
    net.disconnect(again.node, a.node)
    await until(() => held().reachable === false)
    // Run 2 links (a restart): linked, but run 1's entries stay unreachable until run 2's records replace them.
    const run2 = await v1Peer(net, a.node, privateKey)
    await run2.send(hello({ d: { [id]: [2, 0] } }))
    await run2.send({ t: 'hb' })
    await nextWhere(run2, f => f.t === 'hback')
    assert.equal(a.gossip.isConnected(id), true)
    assert.deepEqual(held(), { incarnation: 1, reachable: false })
    await run2.send(await signV1Record({ kind: 'snap', origin: id, incarnation: 2, seq: 0, chunk: 0, chunks: 1, gateway, entries: [{ sessionKey: 'agent:main:new' }] }, privateKey))
    await until(() => held().incarnation === 2)
    assert.deepEqual(held(), { incarnation: 2, reachable: true })
  })

  it('with protocolVersions [2]: no v1 stream, no v1 record inside v2 frames, and a v1-only peer is reported', async () => {
    const net = new FakeNet()
    const a = await gossip(net, { protocolVersions: [2] })
    assert.equal(a.node.handlers.has(REGISTRY_PROTOCOL_V1), false)
    const reports: string[] = []
    a.gossip.addEventListener('peer:incompatible', e => { reports.push(`${e.detail.peerId} ${e.detail.kind}`) })
    const old = await net.manual(REGISTRY_PROTOCOL_V1)
    net.connect(old, a.node)
    await until(() => reports.length === 1)
    assert.deepEqual(reports, [`${old.id} no-common-version`])
    // A v2 peer relaying a v1-form record: refused as malformed, never parsed as v1.
    const rejected: string[] = []
    a.gossip.addEventListener('record:rejected', e => { rejected.push(e.detail.reason) })
    const m = await net.manual(REGISTRY_PROTOCOL)
    net.connect(m, a.node)
    const out = new FramedStream(await net.open(m, a.node.id, REGISTRY_PROTOCOL), 8 * 1024 * 1024)
    await out.write(encodeFrame.hello({ protocolVersion: 2, softwareVersion: 't', name: 'm', digest: new Map(), links: new Set() }))
    await out.write(encodeFrame.record(await snapshot(old, ['agent:main:old'])))
    await until(() => rejected.length === 1)
    assert.match(rejected[0]!, /malformed/)
    assert.equal(a.gossip.registry.get(old.id), undefined)
  })
})
