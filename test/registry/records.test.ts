// Records on the wire: compact entries that decode to exactly what was announced.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { decodeRecord, openRecord, signRecord, verifyRecord, type EntryData } from '../../src/registry/records.ts'
import { recordSigner } from '../../src/registry/signing.ts'
import { Registry } from '../../src/registry/registry.ts'

const gateway = { name: 'o', host: 'h', addrs: [], maxMessageBytes: 1024 }

describe('records', () => {
  it('entries round-trip in every shape: agent-prefixed keys, UUIDs in any case, other IDs, labels', async () => {
    const key = await generateKeyPair('Ed25519')
    const origin = peerIdFromPrivateKey(key).toString()
    const entries: EntryData[] = [
      { sessionKey: 'agent:main:main', sessionId: '0f8fad5b-d9cb-469f-a165-70867728950e', agentId: 'main' },
      { sessionKey: 'agent:ops:telegram:direct:42', agentId: 'main', label: 'desk' },
      { sessionKey: 'agent:main:x', sessionId: '0F8FAD5B-D9CB-469F-A165-70867728950E' },
      { sessionKey: 'plain', sessionId: 'not-a-uuid' },
      { sessionKey: 'agent::odd' },
      { sessionKey: 'agent:x:' }
    ]
    const signed = await signRecord({ kind: 'snap', origin, incarnation: 1, seq: 0, chunk: 0, chunks: 1, gateway, entries }, key)
    const opened = await openRecord(signed.bytes)
    assert.equal(opened.record.kind, 'snap')
    if (opened.record.kind === 'snap') assert.deepEqual(opened.record.entries, entries)
  })

  it('the imported signing key signs exactly as libp2p does; a signature from another key or over other bytes is refused', async () => {
    const key = await generateKeyPair('Ed25519')
    const other = await generateKeyPair('Ed25519')
    const origin = peerIdFromPrivateKey(key).toString()
    const record = { kind: 'delta' as const, origin, incarnation: 1, seq: 2, base: 1, changes: [{ sessionKey: 'k' }] }
    const ours = await signRecord(record, recordSigner(key))
    const theirs = await signRecord(record, key)
    assert.deepEqual(ours.bytes, theirs.bytes, 'Ed25519 is deterministic: the same bytes either way')
    const decoded = decodeRecord(ours.bytes)
    assert.equal(await key.publicKey.verify(decoded.body, decoded.signature), true)
    await verifyRecord(decoded)
    // The same record claimed by `origin` but signed by another key.
    const forged = decodeRecord((await signRecord(record, recordSigner(other))).bytes)
    await assert.rejects(verifyRecord(forged), { code: 'FORBIDDEN' })
    // A valid signature over other bytes.
    await assert.rejects(verifyRecord({ ...decoded, body: decodeRecord(theirs.bytes).body.map((b, i) => i === 3 ? b ^ 1 : b) }), { code: 'FORBIDDEN' })
    await assert.rejects(verifyRecord({ ...decoded, signature: decoded.signature.subarray(0, 63) }), { code: 'FORBIDDEN' })
  })

  it('a typical entry (agent key, UUID) costs under 40 bytes in a snapshot chunk', async () => {
    const key = await generateKeyPair('Ed25519')
    const origin = peerIdFromPrivateKey(key).toString()
    const entries = Array.from({ length: 2_000 }, (_, k) => ({ sessionKey: `agent:g0:s${k}`, sessionId: crypto.randomUUID() }))
    const signed = await signRecord({ kind: 'snap', origin, incarnation: 1, seq: 0, chunk: 0, chunks: 1, gateway, entries }, key)
    assert.ok(signed.bytes.length / entries.length < 40, `${signed.bytes.length / entries.length} bytes per entry`)
  })

  it('a session ID announced by two origins is indexed for both, never overwritten', async () => {
    const r = new Registry()
    const id = crypto.randomUUID()
    const origins: string[] = []
    for (const name of ['honest', 'copycat']) {
      const key = await generateKeyPair('Ed25519')
      const origin = peerIdFromPrivateKey(key).toString()
      origins.push(origin)
      r.apply(await signRecord({ kind: 'snap', origin, incarnation: 1, seq: 0, chunk: 0, chunks: 1, gateway: { ...gateway, name }, entries: [{ sessionKey: `agent:${name}:main`, sessionId: id }] }, key), 0)
    }
    assert.deepEqual(r.ownersOfSessionId(id).map(o => o.origin).sort(), [...origins].sort())
  })
})
