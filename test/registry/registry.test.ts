// The registry is pure state: every apply rule, exercised directly with signed records.
import assert from 'node:assert/strict'
import { before, describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { openRecord, signRecord, type GatewayMeta, type RegistryRecord } from '../../src/registry/records.ts'
import { Registry } from '../../src/registry/registry.ts'
import type { PrivateKey } from '@libp2p/interface'

const gateway: GatewayMeta = { name: 'b', host: 'h', addrs: [], maxMessageBytes: 1024 }

describe('Registry', () => {
  let key: PrivateKey
  let origin: string
  const sign = async (record: Omit<RegistryRecord, 'origin'>): Promise<Awaited<ReturnType<typeof signRecord>>> =>
    await signRecord({ ...record, origin } as RegistryRecord, key)
  const snap = async (incarnation: number, seq: number, keys: string[], chunk = 0, chunks = 1): Promise<Awaited<ReturnType<typeof signRecord>>> =>
    await sign({ kind: 'snap', incarnation, seq, chunk, chunks, gateway, entries: keys.map(sessionKey => ({ sessionKey })) } as Omit<RegistryRecord, 'origin'>)
  const delta = async (incarnation: number, base: number, seq: number, add: string[], remove: string[] = []): Promise<Awaited<ReturnType<typeof signRecord>>> =>
    await sign({ kind: 'delta', incarnation, seq, base, changes: [...add.map(sessionKey => ({ sessionKey })), ...remove.map(sessionKey => ({ sessionKey, removed: true as const }))] } as Omit<RegistryRecord, 'origin'>)
  const keys = (r: Registry): string[] => [...(r.get(origin)?.entries.keys() ?? [])].sort()

  before(async () => {
    key = await generateKeyPair('Ed25519')
    origin = peerIdFromPrivateKey(key).toString()
  })

  it('applies a snapshot, then contiguous deltas; ignores duplicates; reports gaps', async () => {
    const r = new Registry()
    assert.equal(r.apply(await delta(1, 0, 1, ['x']), 0).status, 'gap')
    assert.equal(r.apply(await snap(1, 0, ['a']), 0).status, 'applied')
    const d1 = await delta(1, 0, 1, ['b'])
    assert.equal(r.apply(d1, 0).status, 'applied')
    assert.equal(r.apply(d1, 0).status, 'stale')
    assert.equal(r.apply(await delta(1, 2, 3, ['c']), 0).status, 'gap')
    assert.equal(r.apply(await delta(1, 1, 2, [], ['a']), 0).status, 'applied')
    assert.deepEqual(keys(r), ['b'])
    assert.deepEqual(r.digest(), new Map([[origin, { version: [1, 2], departed: false }]]))
  })

  it('replaces everything on a new incarnation and ignores the old one afterwards', async () => {
    const r = new Registry()
    r.apply(await snap(1, 0, ['old-1', 'old-2']), 0)
    const outcome = r.apply(await snap(2, 0, ['new']), 0)
    assert.equal(outcome.status, 'applied')
    if (outcome.status === 'applied') {
      assert.deepEqual(outcome.changes.removed.map(c => c.entry.sessionKey).sort(), ['old-1', 'old-2'])
      assert.deepEqual(outcome.changes.added.map(c => c.entry.sessionKey), ['new'])
    }
    assert.equal(r.apply(await delta(1, 0, 1, ['late']), 0).status, 'stale')
    assert.deepEqual(keys(r), ['new'])
  })

  it('assembles a chunked snapshot only when every chunk has arrived', async () => {
    const r = new Registry()
    assert.equal(r.apply(await snap(1, 5, ['a'], 1, 2), 0).status, 'pending')
    assert.equal(r.get(origin), undefined)
    assert.equal(r.apply(await snap(1, 5, ['b'], 0, 2), 0).status, 'applied')
    assert.deepEqual(keys(r), ['a', 'b'])
    assert.equal(r.get(origin)?.checkpoint.length, 2)
  })

  it('serves a peer behind it exactly the records it lacks', async () => {
    const r = new Registry()
    const s = await snap(1, 0, ['a'])
    const d1 = await delta(1, 0, 1, ['b'])
    const d2 = await delta(1, 1, 2, ['c'])
    for (const rec of [s, d1, d2]) r.apply(rec, 0)
    assert.deepEqual(r.recordsSince(origin, [1, 1]), [d2.bytes])
    assert.deepEqual(r.recordsSince(origin, undefined), [s.bytes, d1.bytes, d2.bytes])
    assert.deepEqual(r.recordsSince(origin, [0, 7]), [s.bytes, d1.bytes, d2.bytes])
    assert.equal(r.isAhead(origin, { version: [1, 2], departed: false }), false)
    assert.equal(r.isBehind(origin, { version: [1, 3], departed: false }), true)
  })

  it('marks an origin unreachable on bye, and drops it after the grace period', async () => {
    const r = new Registry()
    r.apply(await snap(1, 0, ['a']), 0)
    assert.equal(r.apply(await sign({ kind: 'bye', incarnation: 1, seq: 0 } as Omit<RegistryRecord, 'origin'>), 100).status, 'applied')
    assert.equal(r.get(origin)?.reachable, false)
    assert.equal(r.setReachable(origin, true, 150), false, 'a departed origin comes back only with a new incarnation')
    assert.equal(r.expire(1_000, 5_000, 60_000).removed.length, 0)
    assert.equal(r.expire(5_200, 5_000, 60_000).removed.length, 1)
    assert.equal(r.get(origin), undefined)
  })

  it('indexes owners by key, session ID and label', async () => {
    const r = new Registry()
    await sign({ kind: 'snap', incarnation: 1, seq: 0, chunk: 0, chunks: 1, gateway, entries: [{ sessionKey: 'k', sessionId: 'id-1', label: 'desk' }] } as Omit<RegistryRecord, 'origin'>).then(rec => r.apply(rec, 0))
    assert.deepEqual(r.ownersOfKey('k'), [origin])
    assert.deepEqual(r.ownersOfSessionId('id-1'), [{ origin, sessionKey: 'k' }])
    assert.deepEqual(r.withLabel('desk'), [{ origin, sessionKey: 'k' }])
    r.apply(await delta(1, 0, 1, [], ['k']), 0)
    assert.deepEqual(r.ownersOfKey('k'), [])
    assert.deepEqual(r.ownersOfSessionId('id-1'), [])
    assert.deepEqual(r.withLabel('desk'), [])
  })

  it('verifies signatures: a record signed by another key is refused with FORBIDDEN', async () => {
    const other = await generateKeyPair('Ed25519')
    const forged = await signRecord({ kind: 'snap', origin, incarnation: 9, seq: 0, chunk: 0, chunks: 1, gateway, entries: [] }, other)
    await assert.rejects(openRecord(forged.bytes), { code: 'FORBIDDEN' })
    const genuine = await snap(9, 0, [])
    assert.equal((await openRecord(genuine.bytes)).record.origin, origin)
    const tampered = Uint8Array.from(genuine.bytes)
    tampered[10] = (tampered[10] ?? 0) ^ 1
    await assert.rejects(openRecord(tampered), (err: { code: string }) => ['FORBIDDEN', 'BAD_REQUEST'].includes(err.code))
  })
})

describe('Registry.isStale', () => {
  it('says stale exactly when apply would ignore the record', async () => {
    const key = await generateKeyPair('Ed25519')
    const origin = peerIdFromPrivateKey(key).toString()
    const r = new Registry()
    const s0 = await signRecord({ kind: 'snap', origin, incarnation: 2, seq: 0, chunk: 0, chunks: 1, gateway, entries: [] }, key)
    const d1 = await signRecord({ kind: 'delta', origin, incarnation: 2, seq: 1, base: 0, changes: [{ sessionKey: 'a' }] }, key)
    const old = await signRecord({ kind: 'snap', origin, incarnation: 1, seq: 9, chunk: 0, chunks: 1, gateway, entries: [] }, key)
    assert.equal(r.isStale(s0.record), false)
    r.apply(s0, 0)
    assert.equal(r.isStale(s0.record), true)
    assert.equal(r.isStale(d1.record), false)
    r.apply(d1, 0)
    assert.equal(r.isStale(d1.record), true)
    assert.equal(r.isStale(old.record), true)
    assert.equal(r.apply(old, 0).status, 'stale')
  })
})
