// The liveness rules, over a real registry, with time passed in: who may say a Gateway is down, and what proves it lives.
import assert from 'node:assert/strict'
import { before, describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { Liveness } from '../../src/gossip/liveness.ts'
import { signRecord } from '../../src/registry/records.ts'
import { Registry } from '../../src/registry/registry.ts'
import type { PrivateKey } from '@libp2p/interface'

const gateway = { name: 'o', host: 'h', addrs: [], maxMessageBytes: 1024 }

describe('Liveness', () => {
  let key: PrivateKey
  let o: string
  before(async () => {
    key = await generateKeyPair('Ed25519')
    o = peerIdFromPrivateKey(key).toString()
  })
  const snap = async (r: Registry, incarnation: number, seq: number): Promise<void> => {
    r.apply(await signRecord({ kind: 'snap', origin: o, incarnation, seq, chunk: 0, chunks: 1, gateway, entries: [] }, key), 0)
  }
  const delta = async (r: Registry, seq: number): Promise<void> => {
    r.apply(await signRecord({ kind: 'delta', origin: o, incarnation: 1, seq, base: seq - 1, changes: [{ sessionKey: `k${seq}` }] }, key), 0)
  }

  it('a down is believed only from a peer that said it was linked to the origin', async () => {
    const r = new Registry()
    const l = new Liveness(r)
    await snap(r, 1, 0)
    l.linked('liar', 0)
    l.linked('witness', 0)
    assert.deepEqual(l.down('liar', o, [1, 0], 10), { changed: false, verify: true }, 'the liar never said it was linked to o: a rumour, checked, not believed')
    assert.equal(r.get(o)?.reachable, true)
    l.peerLinks('witness', new Set([o]), 20)
    assert.equal(l.down('witness', o, [1, 0], 30).changed, true)
    assert.equal(r.get(o)?.reachable, false)
    assert.equal(l.evidenceOf(o), 'hearsay')
    assert.equal(l.failFast(o), false, 'hearsay: a send still tries the owner itself')
  })

  it('one witness cannot take down an origin that another peer still sees', async () => {
    const r = new Registry()
    const l = new Liveness(r)
    await snap(r, 1, 0)
    for (const p of ['w1', 'w2']) {
      l.linked(p, 0)
      l.peerLinks(p, new Set([o]), 0)
    }
    assert.equal(l.down('w1', o, [1, 0], 10).changed, false)
    assert.equal(r.get(o)?.reachable, true)
    assert.equal(l.down('w2', o, [1, 0], 20).changed, true, 'the last witness lost it too')
  })

  it('a down about another incarnation, or about an origin we are linked to, changes nothing', async () => {
    const r = new Registry()
    const l = new Liveness(r)
    await snap(r, 2, 0)
    l.linked('w', 0)
    l.peerLinks('w', new Set([o]), 0)
    assert.equal(l.down('w', o, [1, 0], 10).changed, false)
    l.linked(o, 10)
    l.peerLinks('w', new Set([o]), 10)
    assert.equal(l.down('w', o, [2, 0], 20).changed, false)
    assert.equal(r.get(o)?.reachable, true)
  })

  it('fresh records prove life; records up to the version known when it went down do not', async () => {
    const r = new Registry()
    const l = new Liveness(r)
    await snap(r, 1, 0)
    await delta(r, 1)
    l.linked('w', 0)
    l.peerLinks('w', new Set([o]), 0)
    // The witness held seq 2 when it lost o; we hold 1.
    assert.equal(l.down('w', o, [1, 2], 10).changed, true)
    await delta(r, 2)
    assert.equal(l.recordApplied(o, false, 20), false, 'seq 2 was written before o went down')
    await delta(r, 3)
    assert.equal(l.recordApplied(o, false, 30), true, 'seq 3 was written after: o lives')
    assert.equal(r.get(o)?.reachable, true)
  })

  it('a flap healed behind a relay revives the origin: the witness says it is linked again', async () => {
    const r = new Registry()
    const l = new Liveness(r)
    await snap(r, 1, 0)
    l.linked('w', 0)
    l.peerLinks('w', new Set([o]), 0)
    assert.equal(l.down('w', o, [1, 0], 10).changed, true)
    assert.deepEqual(l.peerLinks('w', new Set([o]), 500), [{ origin: o, revived: true }])
    assert.equal(r.get(o)?.reachable, true)
  })

  it('a peer linked to the origin answers our down once it hears from it, and each asker once', () => {
    const r = new Registry()
    const l = new Liveness(r)
    l.linked('x', 0)
    l.linked('y', 0)
    assert.equal(l.askedBy('x', o), false, 'not linked to o: nothing to answer')
    l.linked(o, 0)
    assert.equal(l.askedBy('x', o), true)
    assert.equal(l.askedBy('y', o), true)
    assert.equal(l.askedBy('stranger', o), false, 'only peers of ours are answered')
    l.unlinked('y', 5)
    assert.deepEqual(l.heard(o), ['x'], 'y left meanwhile')
    assert.deepEqual(l.heard(o), [], 'answered once')
    assert.equal(l.askedBy('x', o), true)
    l.unlinked(o, 10)
    assert.deepEqual(l.heard(o), [], 'we lost o ourselves: our own down answers instead')
  })

  it('an alive we asked for revives an origin whose link we lost, about the run we hold only', async () => {
    const r = new Registry()
    const l = new Liveness(r)
    await snap(r, 2, 0)
    l.linked(o, 0)
    l.linked('w', 0)
    l.peerLinks('w', new Set([o]), 0)
    assert.equal(l.unlinked(o, 10), true, 'direct evidence, even though w still sees o')
    assert.equal(l.failFast(o), true, 'our own evidence: sends fail fast')
    assert.equal(l.alive('w', o, [2, 0], 15), undefined, 'unasked: only a claim')
    l.asking(o, ['w', 'stranger'])
    assert.equal(l.alive('stranger', o, [2, 0], 20), undefined, 'only from a peer of ours')
    assert.equal(l.alive('w', o, [1, 0], 20), undefined, 'about an older run')
    assert.equal(r.get(o)?.reachable, false)
    l.asking(o, ['w'])
    assert.deepEqual(l.alive('w', o, [2, 0], 30), { origin: o, revived: true })
    assert.equal(r.get(o)?.reachable, true)
    assert.equal(l.claimsLink('w', o), true, 'so a later down from w is believed')
    assert.equal(l.down('w', o, [2, 0], 40).changed, true)
  })

  it('a dial of ours that failed outranks hearsay: only first-hand proof lifts it', async () => {
    const r = new Registry()
    const l = new Liveness(r)
    await snap(r, 1, 0)
    l.linked('w', 0)
    l.peerLinks('w', new Set([o]), 0)
    assert.equal(l.down('w', o, [1, 0], 10).changed, true)
    assert.equal(l.evidenceOf(o), 'hearsay')
    assert.equal(l.dialFailed(o, 20), false, 'already unreachable: the evidence grows, nothing to announce')
    assert.equal(l.evidenceOf(o), 'dialFailed')
    assert.equal(l.failFast(o), true)
    l.asking(o, ['w'])
    assert.equal(l.alive('w', o, [1, 0], 30), undefined, 'w hears it, but we could not reach it ourselves')
    assert.deepEqual(l.peerLinks('w', new Set([o]), 40), [], 'nor does a peer newly linked to it')
    l.reached(o, 50)
    assert.equal(l.failFast(o), false, 'a connection of ours lifts it: sends are tried again')
    assert.equal(r.get(o)?.reachable, false, 'but it names no run (a restart looks the same): it revives nothing')
    assert.deepEqual(l.linked(o, 60, 1), { origin: o, revived: true }, 'the link it prompts names the run')
  })

  it('a dial of ours that timed out (an overloaded owner looks the same) lists the origin unreachable but never makes sends fail fast; a refused one does', async () => {
    const r = new Registry()
    const l = new Liveness(r)
    await snap(r, 1, 0)
    assert.equal(l.dialFailed(o, 10, true), true)
    assert.equal(r.get(o)?.reachable, false)
    assert.equal(l.evidenceOf(o), 'timedOut')
    assert.equal(l.failFast(o), false, 'sends still try it')
    assert.equal(l.dialFailed(o, 20), false, 'already unreachable: nothing to announce')
    assert.equal(l.failFast(o), true, 'a refused dial is definite')
  })

  it('checks are rate-limited per origin, and never of an origin we are linked to', async () => {
    const r = new Registry()
    const l = new Liveness(r)
    await snap(r, 1, 0)
    assert.equal(l.shouldVerify(o, 0), true)
    assert.equal(l.shouldVerify(o, 1_000), false)
    assert.equal(l.shouldVerify(o, 10_001), true)
    l.linked(o, 10_002)
    assert.equal(l.shouldVerify(o, 30_000), false)
  })

  it('a proof of life lifts the tombstone of an origin dropped without goodbye, never of one that said goodbye', async () => {
    const r = new Registry()
    const l = new Liveness(r)
    await snap(r, 1, 3)
    l.linked('w', 0)
    l.dialFailed(o, 10)
    r.expire(100_000, 60_000, 600_000)
    assert.equal(r.tombstones.buries(o, [1, 3]), true)
    assert.deepEqual(l.peerLinks('w', new Set([o]), 100_010), [{ origin: o, unburied: { version: [1, 3], departed: false } }])
    assert.equal(r.tombstones.buries(o, [1, 3]), false, 'its records can be pulled again')
    // Now with a goodbye.
    await snap(r, 1, 3)
    r.apply(await signRecord({ kind: 'bye', origin: o, incarnation: 1, seq: 3 }, key), 200_000)
    r.expire(300_000, 60_000, 600_000)
    l.peerLinks('w', new Set(), 300_000)
    assert.deepEqual(l.peerLinks('w', new Set([o]), 300_010), [])
    assert.equal(l.alive('w', o, [1, 3], 300_020), undefined)
    assert.equal(l.linked(o, 300_030), undefined)
    assert.equal(r.tombstones.buries(o, [1, 3]), true, 'a goodbye stays final')
  })

  it('a proof revives only the run it names: a restarted origin\'s old run stays unreachable until the new run arrives', async () => {
    const r = new Registry()
    const l = new Liveness(r)
    await snap(r, 1, 0)
    l.linked(o, 0, 1)
    l.linked('w', 0)
    assert.equal(l.unlinked(o, 10), true, 'run 1 killed: our link closed')
    // Run 2 links to W, then to us (first before it published anything: run 0, then as run 2): none revives run 1.
    assert.deepEqual(l.peerLinks('w', new Set([o]), 20, new Map([[o, 2]])), [])
    assert.equal(l.linked(o, 25, 0), undefined)
    assert.equal(l.unlinked(o, 26), false)
    assert.equal(l.linked(o, 30, 2), undefined)
    assert.equal(r.get(o)?.reachable, false)
    await snap(r, 2, 0)
    assert.equal(r.get(o)?.reachable, true, 'the new run arrives reachable')
    // A flap of run 2: proofs naming run 2 (or no run: a peer of an older version) revive it.
    assert.equal(l.unlinked(o, 40), true)
    l.peerLinks('w', new Set(), 50)
    assert.deepEqual(l.peerLinks('w', new Set([o]), 60, new Map([[o, 2]])), [{ origin: o, revived: true }])
    assert.equal(l.unlinked(o, 70), true)
    assert.deepEqual(l.linked(o, 80), { origin: o, revived: true })
  })

  it('our own link lost is direct evidence; a goodbye is final for its incarnation', async () => {
    const r = new Registry()
    const l = new Liveness(r)
    await snap(r, 1, 0)
    l.linked(o, 0)
    assert.equal(l.unlinked(o, 10), true)
    assert.equal(r.get(o)?.reachable, false)
    assert.deepEqual(l.linked(o, 20), { origin: o, revived: true })
    r.apply(await signRecord({ kind: 'bye', origin: o, incarnation: 1, seq: 0 }, key), 30)
    assert.equal(r.get(o)?.reachable, false)
    assert.equal(l.recordApplied(o, true, 40), false)
    assert.equal(l.linked(o, 50), undefined, 'only a new incarnation brings it back')
    await snap(r, 2, 0)
    assert.equal(r.get(o)?.reachable, true)
  })
})
