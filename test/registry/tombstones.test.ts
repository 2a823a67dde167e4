// Tombstones: a dropped origin cannot come back through an old copy, and a goodbye is kept and served.
import assert from 'node:assert/strict'
import { before, describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { signRecord, type SignedRecord } from '../../src/registry/records.ts'
import { Registry } from '../../src/registry/registry.ts'
import { MAX_TOMBSTONES, Tombstones } from '../../src/registry/tombstones.ts'
import type { PrivateKey } from '@libp2p/interface'

const gateway = { name: 'o', host: 'h', addrs: [], maxMessageBytes: 1024 }

describe('tombstones', () => {
  let key: PrivateKey
  let o: string
  let snap: SignedRecord
  let bye: SignedRecord
  before(async () => {
    key = await generateKeyPair('Ed25519')
    o = peerIdFromPrivateKey(key).toString()
    snap = await signRecord({ kind: 'snap', origin: o, incarnation: 1, seq: 3, chunk: 0, chunks: 1, gateway, entries: [{ sessionKey: 'agent:main:main' }] }, key)
    bye = await signRecord({ kind: 'bye', origin: o, incarnation: 1, seq: 3 }, key)
  })

  it('a goodbye travels with the records: a peer pulling during the grace period learns the origin left', () => {
    const holder = new Registry()
    holder.apply(snap, 0)
    holder.apply(bye, 100)
    const joiner = new Registry()
    const served = holder.recordsSince(o, undefined)
    assert.equal(served.length, 2)
    assert.deepEqual(holder.digest().get(o), { version: [1, 3], departed: true })
    // A peer holding the same version alive is behind: it pulls the goodbye.
    assert.equal(joiner.isBehind(o, { version: [1, 3], departed: true }), true)
    joiner.apply(snap, 200)
    joiner.apply(bye, 200)
    assert.equal(joiner.get(o)?.reachable, false)
  })

  it('after the grace period the origin is dropped, and the same or older records are stale', () => {
    const r = new Registry()
    r.apply(snap, 0)
    r.apply(bye, 100)
    assert.deepEqual(r.expire(100 + 60_000, 60_000, 600_000).dropped, [o])
    assert.equal(r.get(o), undefined)
    // A peer that still holds the old copy offers it: refused, the origin stays gone.
    assert.equal(r.isStale(snap.record), true)
    assert.equal(r.apply(snap, 70_000).status, 'stale')
    assert.equal(r.isBehind(o, { version: [1, 3], departed: false }), false, 'a digest showing the old copy starts no pull')
    // The goodbye is still served, so that peers still holding the origin drop it too.
    assert.deepEqual(r.recordsSince(o, [1, 3]), [bye.bytes])
    assert.deepEqual(r.digest().get(o), { version: [1, 3], departed: true })
  })

  it('a crashed origin (no goodbye) is buried too, and comes back only with something newer', async () => {
    const r = new Registry()
    r.apply(snap, 0)
    r.setReachable(o, false, 10)
    r.expire(10 + 60_000, 60_000, 600_000)
    assert.equal(r.apply(snap, 70_000).status, 'stale')
    assert.equal(r.digest().has(o), false, 'nothing signed to serve')
    const restarted = await signRecord({ kind: 'snap', origin: o, incarnation: 2, seq: 0, chunk: 0, chunks: 1, gateway, entries: [] }, key)
    assert.equal(r.apply(restarted, 80_000).status, 'applied')
    assert.equal(r.get(o)?.reachable, true)
    assert.equal(r.tombstones.get(o), undefined)
  })

  it('tombstones are forgotten after their time, and never more than MAX_TOMBSTONES are kept', () => {
    const t = new Tombstones()
    t.lay('a', { version: [1, 1], at: 0 })
    t.lay('b', { version: [1, 1], at: 500 })
    t.prune(1_000, 800)
    assert.equal(t.get('a'), undefined)
    assert.notEqual(t.get('b'), undefined)
    for (let i = 0; i < MAX_TOMBSTONES + 5; i++) t.lay(`x${i}`, { version: [1, 1], at: 600 })
    assert.equal(t.size, MAX_TOMBSTONES)
  })
})
