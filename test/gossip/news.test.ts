// Spreading other origins' records (news.ts) on in-memory stream pairs: to whom a relayed delta goes as it
// is, and to whom only as news. Peers are played by hand, so every frame the service sends them is seen.
import assert from 'node:assert/strict'
import { afterEach, describe, it } from 'node:test'
import { REGISTRY_PROTOCOL } from '../../src/constants.ts'
import { decodeFrame, encodeFrame } from '../../src/gossip/wire.ts'
import { decodeRecord, signRecord } from '../../src/registry/records.ts'
import { compareVersions, type Version } from '../../src/registry/version.ts'
import { FakeNet, handPlayed, until, type FakeNode } from './harness.ts'
import type { RegistryGossip } from '../../src/gossip/index.ts'

const gateway = { name: 'o', host: 'h', addrs: [], maxMessageBytes: 1024 }
let net = new FakeNet()
afterEach(async () => { await net.stopAll() })

/** Our service (X), an origin (O) and a peer (J), both played by hand and linked to X; O has published a snapshot that X applied. */
async function setUp (): Promise<{ gossip: RegistryGossip, o: FakeNode, j: FakeNode, fromO: (frame: Uint8Array) => Promise<void>, fromJ: (frame: Uint8Array) => Promise<void> }> {
  net = new FakeNet()
  const { gossip } = await net.gossip()
  const o = await net.manual(REGISTRY_PROTOCOL)
  const j = await net.manual(REGISTRY_PROTOCOL)
  const fromO = await handPlayed(net, o, net.nodes.get(gossip.selfId) as FakeNode)
  const fromJ = await handPlayed(net, j, net.nodes.get(gossip.selfId) as FakeNode)
  // Hellos written as a stream opens: J is a newcomer, linked to nobody yet.
  for (const [write, name] of [[fromO, 'o'], [fromJ, 'j']] as const) {
    await write(encodeFrame.hello({ protocolVersion: 2, softwareVersion: 't', name, digest: new Map(), links: new Set() }))
  }
  await until(() => gossip.isConnected(o.id) && gossip.isConnected(j.id) && j.inbound.length > 0)
  await fromO(encodeFrame.record((await signRecord({ kind: 'snap', origin: o.id, incarnation: 1, seq: 1, chunk: 0, chunks: 1, gateway, entries: [] }, o.privateKey)).bytes))
  await until(() => gossip.registry.get(o.id)?.seq === 1)
  return { gossip, o, j, fromO, fromJ }
}

async function delta (o: FakeNode, seq: number): Promise<Uint8Array> {
  return encodeFrame.record((await signRecord({ kind: 'delta', origin: o.id, incarnation: 1, seq, base: seq - 1, changes: [{ sessionKey: `k${seq}` }] }, o.privateKey)).bytes)
}

/** Reads what X sends `peer` until it brings `origin`'s `version`: the record itself, or news (a digest) of it. */
async function howItArrives (peer: FakeNode, origin: string, version: Version): Promise<'record' | 'news'> {
  const stream = peer.inbound[0]
  assert.ok(stream !== undefined)
  for (;;) {
    const msg = decodeFrame(await stream.read())
    if (msg.type === 'record') {
      const { record } = decodeRecord(msg.bytes)
      if (record.origin === origin && compareVersions([record.incarnation, record.seq], version) === 0) return 'record'
    }
    const held = msg.type === 'digest' ? msg.digest.get(origin) : undefined
    if (held !== undefined && compareVersions(held.version, version) >= 0) return 'news'
  }
}

describe('news', () => {
  it('a peer that has not said whom it links to since linking gets news of a relayed delta, not the delta: it may be linking to the origin', async () => {
    // Issue 13: the last joiner of a full mesh got each delta from its origin and again from every other
    // peer, whose only word on its links was its hello (written before it had linked to anyone).
    const { o, j, fromO } = await setUp()
    await fromO(await delta(o, 2))
    assert.equal(await howItArrives(j, o.id, [1, 2]), 'news')
  })

  it('once the peer said whom it links to, a delta of an origin it is not linked to is pushed to it as it is', async () => {
    const { gossip, o, j, fromO, fromJ } = await setUp()
    await fromJ(encodeFrame.links([]))
    await until(() => gossip.links.get(j.id)?.linksHeard === true)
    await fromO(await delta(o, 2))
    assert.equal(await howItArrives(j, o.id, [1, 2]), 'record')
  })

  it('news of a delta brings a peer not linked to its origin the delta by a pull', async () => {
    const { gossip, o, j, fromO, fromJ } = await setUp()
    await fromO(await delta(o, 2))
    assert.equal(await howItArrives(j, o.id, [1, 2]), 'news')
    // J lacks O's records and is not linked to O: it asks X, and X serves them.
    await fromJ(encodeFrame.want(new Map([[o.id, undefined]])))
    assert.equal(await howItArrives(j, o.id, [1, 2]), 'record')
    assert.equal(gossip.registry.get(o.id)?.seq, 2)
  })
})
