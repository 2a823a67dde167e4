// Registry records in v1 form (JSON body, signature over it): what a v2 Gateway signs for v1
// peers decodes to the same record, and what a v1 peer may send is held to v2's rules.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { decodeV1Record, signV1Record } from '../../src/compat/v1-records.ts'
import { MeshError } from '../../src/errors.ts'
import { verifyRecord, type RegistryRecord } from '../../src/registry/records.ts'
import { Registry } from '../../src/registry/registry.ts'
import type { PrivateKey } from '@libp2p/interface'

const gateway = { name: 'old', host: 'h', gatewayPort: 18789, addrs: ['/ip4/127.0.0.1/tcp/1'], maxMessageBytes: 1024 }

async function origin (): Promise<{ key: PrivateKey, id: string }> {
  const key = await generateKeyPair('Ed25519')
  return { key, id: peerIdFromPrivateKey(key).toString() }
}

/** A v1 record with a body of our choosing, signed by `key`: what a member could write by hand. */
async function handMade (body: unknown, key: PrivateKey): Promise<Uint8Array> {
  const json = new TextEncoder().encode(JSON.stringify(body))
  const signature = await key.sign(json)
  const bytes = new Uint8Array(5 + json.length + signature.length)
  bytes[0] = 1
  new DataView(bytes.buffer).setUint32(1, json.length)
  bytes.set(json, 5)
  bytes.set(signature, 5 + json.length)
  return bytes
}

function code (fn: () => unknown): string | undefined {
  try {
    fn()
  } catch (err) {
    return err instanceof MeshError ? err.code : `not a MeshError: ${String(err)}`
  }
  return undefined
}

describe('v1 records', () => {
  it('snapshots, deltas and goodbyes signed in v1 form decode to the same record and verify', async () => {
    const { key, id } = await origin()
    const records: RegistryRecord[] = [
      { kind: 'snap', origin: id, incarnation: 7, seq: 3, chunk: 0, chunks: 2, gateway, entries: [{ sessionKey: 'agent:main:main', sessionId: crypto.randomUUID(), agentId: 'main' }, { sessionKey: 'x', label: 'desk' }] },
      { kind: 'delta', origin: id, incarnation: 7, seq: 4, base: 3, changes: [{ sessionKey: 'agent:main:main', removed: true }, { sessionKey: 'y', sessionId: 's' }] },
      { kind: 'bye', origin: id, incarnation: 7, seq: 4 }
    ]
    for (const record of records) {
      const signed = await verifyRecord(decodeV1Record(await signV1Record(record, key)))
      assert.deepEqual(signed.record, record)
    }
  })

  it('a record claiming another origin fails its signature check (FORBIDDEN)', async () => {
    const honest = await origin()
    const forger = await origin()
    const bytes = await handMade({ v: 1, k: 'bye', o: honest.id, i: 1, s: 0 }, forger.key)
    await assert.rejects(verifyRecord(decodeV1Record(bytes)), (err: MeshError) => err.code === 'FORBIDDEN')
  })

  it('a changed byte after signing fails the signature check', async () => {
    const { key, id } = await origin()
    const bytes = await signV1Record({ kind: 'delta', origin: id, incarnation: 1, seq: 2, base: 1, changes: [{ sessionKey: 'agent:main:a' }] }, key)
    const i = new TextDecoder().decode(bytes).indexOf('agent:main:a') + 'agent:main:'.length
    bytes[i] = 'b'.charCodeAt(0)
    await assert.rejects(verifyRecord(decodeV1Record(bytes)), (err: MeshError) => err.code === 'FORBIDDEN')
  })

  it('holds what a member signs to v2\'s rules: every malformed body is BAD_REQUEST', async () => {
    const { key, id } = await origin()
    const snap = { v: 1, k: 'snap', o: id, i: 1, s: 0, n: 0, c: 1, gw: { name: 'm', host: 'h', addrs: [], max: 10 }, e: [] as unknown[] }
    const cases: Array<[string, unknown]> = [
      ['an origin in another spelling than its canonical one', { ...snap, o: peerIdFromPrivateKey(key).toCID().toString() }],
      ['an origin that is no peer ID', { ...snap, o: 'hq' }],
      ['incarnation 0', { ...snap, i: 0 }],
      ['a fractional seq', { ...snap, s: 1.5 }],
      ['a seq past 2^53', { ...snap, s: 2 ** 60 }],
      ['an empty label', { ...snap, e: [['k', null, '', null]] }],
      ['an empty session ID', { ...snap, e: [['k', '', null, null]] }],
      ['a session key over 1024 characters', { ...snap, e: [['k'.repeat(1025)]] }],
      ['a session ID over 256 characters', { ...snap, e: [['k', 'i'.repeat(257), null, null]] }],
      ['a removal inside a snapshot', { ...snap, e: [['k']] }],
      ['an entry that is no array', { ...snap, e: [{ k: 'x' }] }],
      ['more than 10,000 entries', { ...snap, e: Array.from({ length: 10_001 }, (_, n) => [`k${n}`, null, null, null]) }],
      ['more than 32 addresses', { ...snap, gw: { ...snap.gw, addrs: Array.from({ length: 33 }, () => '/ip4/1.2.3.4/tcp/1') } }],
      ['an empty Gateway name', { ...snap, gw: { ...snap.gw, name: '' } }],
      ['a port out of range', { ...snap, gw: { ...snap.gw, port: 70000 } }],
      ['a chunk past the count', { ...snap, n: 1 }],
      ['a delta whose base is not below its seq', { v: 1, k: 'delta', o: id, i: 1, s: 2, b: 2, e: [] }],
      ['an unknown kind', { ...snap, k: 'mint' }],
      ['record version 2', { ...snap, v: 2 }]
    ]
    for (const [what, body] of cases) {
      const bytes = await handMade(body, key)
      assert.equal(code(() => decodeV1Record(bytes)), 'BAD_REQUEST', what)
    }
  })

  it('refuses bytes that are no v1 record, or whose lengths do not add up', async () => {
    const { key, id } = await origin()
    const good = await signV1Record({ kind: 'bye', origin: id, incarnation: 1, seq: 0 }, key)
    const padded = new Uint8Array(good.length + 2000)
    padded.set(good)
    const cut = good.slice(0, 5 + new DataView(good.buffer).getUint32(1))
    for (const bytes of [new Uint8Array(0), Uint8Array.of(1, 0, 0), Uint8Array.of(2, ...good.subarray(1)), padded, cut, new TextEncoder().encode('\u0001\u0000\u0000\u0000\u0002{}')]) {
      assert.equal(code(() => decodeV1Record(bytes)), 'BAD_REQUEST')
    }
  })

  it('v1 records applied to the registry: entries found by key and session ID, removals applied, peers served the bytes as signed', async () => {
    const { key, id } = await origin()
    const registry = new Registry()
    const open = async (record: RegistryRecord): Promise<{ bytes: Uint8Array, outcome: string }> => {
      const bytes = await signV1Record(record, key)
      return { bytes, outcome: registry.apply(await verifyRecord(decodeV1Record(bytes)), 0).status }
    }
    const sessionId = '0b6a2f6e-6a7c-4d6b-9d3e-2c1f5a4b3c2d'
    const snap = await open({ kind: 'snap', origin: id, incarnation: 1, seq: 1, chunk: 0, chunks: 1, gateway, entries: [{ sessionKey: 'agent:main:main', sessionId, label: 'ops', agentId: 'main' }, { sessionKey: 'plain' }] })
    assert.equal(snap.outcome, 'applied')
    const state = registry.get(id)
    assert.deepEqual(state?.entries.get('agent:main:main'), { sessionKey: 'agent:main:main', sessionId, label: 'ops', agentId: 'main' })
    assert.deepEqual(registry.ownersOfSessionId(sessionId), [{ origin: id, sessionKey: 'agent:main:main' }])
    assert.deepEqual(registry.withLabel('ops'), [{ origin: id, sessionKey: 'agent:main:main' }])
    const delta = await open({ kind: 'delta', origin: id, incarnation: 1, seq: 2, base: 1, changes: [{ sessionKey: 'plain', removed: true }, { sessionKey: 'later' }] })
    assert.equal(delta.outcome, 'applied')
    assert.deepEqual([...(registry.get(id)?.entries.keys() ?? [])].sort(), ['agent:main:main', 'later'])
    assert.deepEqual(registry.ownersOfKey('later'), [id])
    assert.deepEqual(registry.recordsSince(id, undefined), [snap.bytes, delta.bytes])
  })
})
