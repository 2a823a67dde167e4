// One origin's entries kept as signed bytes: lookups by key, session ID and label, replacement,
// removal and compaction, checked against a plain Map as the model.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { PackedEntries } from '../../src/registry/packed-entries.ts'
import { Entry, RecordBody, SignedRecord } from '../../src/pb/registry.js'
import type { EntryData } from '../../src/registry/records.ts'

const SOAK = process.env.CLAWMESH_SOAK === '1'
const uuidA = '0f0e0d0c-0b0a-4908-8706-050403020100'
const uuidB = 'aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee'

/** An encoded SignedRecord carrying `entries` (the packed store never checks signatures: the registry did). */
function record (entries: Array<Partial<Entry>>): Uint8Array {
  const body = RecordBody.encode({ kind: RecordBody.Kind.DELTA, origin: new Uint8Array([1]), incarnation: 1, seq: 1, entries: entries.map(e => ({ key: '', agentIsKeyAgent: false, removed: false, ...e })) })
  return SignedRecord.encode({ body, signature: new Uint8Array(64).fill(9) })
}

function uuidBytes (uuid: string): Uint8Array {
  return Buffer.from(uuid.replaceAll('-', ''), 'hex')
}

/** Adds a record of one entry and puts it. */
function put (packed: PackedEntries, entry: Partial<Entry>): void {
  const bytes = record([entry])
  const source = packed.addSource(bytes)
  const body = SignedRecord.decode(bytes).body
  const encoded = Entry.encode({ key: '', agentIsKeyAgent: false, removed: false, ...entry })
  // Find the entry's bytes inside the record (the body's last bytes are its only entry).
  const bodyAt = Buffer.from(bytes).indexOf(Buffer.from(body))
  const start = bodyAt + body.length - encoded.length
  packed.put(source, start, start + encoded.length)
}

describe('PackedEntries', () => {
  it('a snapshot: lookups by key however it is spelled, in order; a later duplicate replaces the earlier one', () => {
    const chunks = [
      record([{ keyAgent: 'main', key: 'main', agentIsKeyAgent: true, sessionUuid: uuidBytes(uuidA) }, { key: 'plain' }]),
      record([{ key: 'agent:main:main', sessionId: 'not-a-uuid' }, { key: 'x', label: 'ops' }])
    ]
    const packed = PackedEntries.fromSnapshot(chunks)
    assert.equal(packed.size, 3)
    assert.equal(packed.isLive(0), false, 'the same key again in a later chunk replaced it')
    assert.equal(packed.isLive(2), true)
    assert.deepEqual(packed.get('agent:main:main'), { sessionKey: 'agent:main:main', sessionId: 'not-a-uuid' })
    assert.deepEqual(packed.get('plain'), { sessionKey: 'plain' })
    assert.equal(packed.get('agent:main:mai'), undefined)
    assert.equal(packed.get('agent:main:main:'), undefined)
    assert.deepEqual([...packed.keys()], ['plain', 'agent:main:main', 'x'])
    assert.deepEqual(packed.withLabel('ops'), ['x'])
    assert.equal(packed.withSessionId(uuidA), undefined, 'the entry that had it was replaced')
  })

  it('session IDs: packed or as text, the same lookup finds them; the newest entry with it wins', () => {
    const packed = new PackedEntries()
    put(packed, { key: 'k1', sessionUuid: uuidBytes(uuidA) })
    assert.equal(packed.withSessionId(uuidA)?.sessionKey, 'k1')
    put(packed, { key: 'k2', sessionId: uuidA })
    assert.equal(packed.withSessionId(uuidA)?.sessionKey, 'k2', 'spelled as text, still the same ID')
    packed.remove('k2')
    assert.equal(packed.withSessionId(uuidA)?.sessionKey, 'k1')
    assert.equal(packed.withSessionId(uuidB), undefined)
    assert.equal(packed.withSessionId(uuidA.toUpperCase()), undefined, 'IDs are compared as written')
  })

  it('an entry holding several fields comes back whole; a replaced one is gone from every index', () => {
    const packed = new PackedEntries()
    put(packed, { keyAgent: 'ops', key: 'telegram:group:1', agentIsKeyAgent: true, sessionUuid: uuidBytes(uuidB), label: 'war room' })
    assert.deepEqual(packed.get('agent:ops:telegram:group:1'), { sessionKey: 'agent:ops:telegram:group:1', sessionId: uuidB, label: 'war room', agentId: 'ops' })
    put(packed, { key: 'agent:ops:telegram:group:1', agentId: 'other' })
    assert.equal(packed.size, 1)
    assert.deepEqual(packed.get('agent:ops:telegram:group:1'), { sessionKey: 'agent:ops:telegram:group:1', agentId: 'other' })
    assert.deepEqual(packed.withLabel('war room'), [])
    assert.equal(packed.withSessionId(uuidB), undefined)
  })

  it('behaves like a Map under any puts and removals (with compaction), non-ASCII keys included', () => {
    const key = fc.constantFrom('a', 'b', 'agent:x:a', 'agent:x:b', 'agent:y:a', 'ünï', 'agent:ü:ñ', 'c:d', 'agent::x', 'agent:z:')
    const op = fc.oneof(
      fc.record({ put: key, label: fc.option(fc.constantFrom('l1', 'l2'), { nil: undefined }), id: fc.option(fc.constantFrom(uuidA, uuidB, 'id-1'), { nil: undefined }) }),
      fc.record({ remove: key })
    )
    fc.assert(fc.property(fc.array(op, { maxLength: 400 }), (ops) => {
      const packed = new PackedEntries()
      const model = new Map<string, EntryData>()
      for (const o of ops) {
        if ('remove' in o) {
          const removed = packed.remove(o.remove)
          assert.deepEqual(removed, model.get(o.remove))
          model.delete(o.remove)
        } else {
          const split = /^agent:([^:]+):(.+)$/.exec(o.put)
          const entry: Partial<Entry> = split !== null ? { keyAgent: split[1], key: split[2] } : { key: o.put }
          if (o.label !== undefined) entry.label = o.label
          if (o.id !== undefined) {
            if (o.id === 'id-1') entry.sessionId = o.id
            else entry.sessionUuid = uuidBytes(o.id)
          }
          put(packed, entry)
          const data: EntryData = { sessionKey: o.put }
          if (o.id !== undefined) data.sessionId = o.id
          if (o.label !== undefined) data.label = o.label
          model.delete(o.put)
          model.set(o.put, data)
        }
        packed.tidy()
      }
      assert.equal(packed.size, model.size)
      assert.deepEqual([...packed.values()], [...model.values()], 'the order entries were last put in')
      for (const [k, v] of model) assert.deepEqual(packed.get(k), v)
      for (const label of ['l1', 'l2']) assert.deepEqual(packed.withLabel(label), [...model.values()].filter(e => e.label === label).map(e => e.sessionKey))
      for (const id of [uuidA, uuidB, 'id-1']) assert.equal(packed.withSessionId(id)?.sessionKey, [...model.values()].filter(e => e.sessionId === id).at(-1)?.sessionKey)
    }), { numRuns: SOAK ? 2000 : 200 })
  })

  it('holds 20k entries and finds each; a record whose entries were all replaced is let go', () => {
    const entries = Array.from({ length: 20_000 }, (_, i) => ({ keyAgent: 'main', key: `s${i}`, sessionId: `id-${i}` }))
    const packed = PackedEntries.fromSnapshot([record(entries.slice(0, 10_000)), record(entries.slice(10_000))])
    packed.tidy()
    for (let i = 0; i < 20_000; i += 997) {
      assert.equal(packed.get(`agent:main:s${i}`)?.sessionId, `id-${i}`)
      assert.equal(packed.withSessionId(`id-${i}`)?.sessionKey, `agent:main:s${i}`)
    }
    assert.equal(packed.heldRecords, 2)
    for (let i = 0; i < 10_000; i++) packed.remove(`agent:main:s${i}`)
    packed.tidy()
    assert.equal(packed.heldRecords, 1)
    assert.equal(packed.size, 10_000)
    assert.equal(packed.get('agent:main:s10000')?.sessionId, 'id-10000')
  })
})
