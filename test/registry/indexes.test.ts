// The entry indexes: one owner per slot as the common case, collections when a second owner comes, and back.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { EntryIndexes } from '../../src/registry/indexes.ts'

const uuid = '0f0e0d0c-0b0a-4908-8706-050403020100'

describe('EntryIndexes', () => {
  it('a key owned by one, then two, then one origin again', () => {
    const idx = new EntryIndexes()
    idx.add('a', { sessionKey: 'k' })
    idx.add('a', { sessionKey: 'k' })
    assert.deepEqual(idx.ownersOfKey('k'), ['a'])
    idx.add('b', { sessionKey: 'k' })
    assert.deepEqual(idx.ownersOfKey('k').sort(), ['a', 'b'])
    idx.remove('a', { sessionKey: 'k' })
    assert.deepEqual(idx.ownersOfKey('k'), ['b'])
    idx.remove('a', { sessionKey: 'k' })
    assert.deepEqual(idx.ownersOfKey('k'), ['b'], 'removing a non-owner changes nothing')
    idx.remove('b', { sessionKey: 'k' })
    assert.deepEqual(idx.ownersOfKey('k'), [])
  })

  it('a session ID: one key per origin, every origin that announces it, removals by origin and key', () => {
    const idx = new EntryIndexes()
    idx.add('a', { sessionKey: 'k1', sessionId: uuid })
    idx.add('a', { sessionKey: 'k2', sessionId: uuid })
    assert.deepEqual(idx.ownersOfSessionId(uuid), [{ origin: 'a', sessionKey: 'k2' }], 'the origin moved it to another key')
    idx.add('b', { sessionKey: 'x', sessionId: uuid })
    idx.add('c', { sessionKey: 'y', sessionId: uuid })
    idx.add('b', { sessionKey: 'x2', sessionId: uuid })
    assert.deepEqual(idx.ownersOfSessionId(uuid).map(o => `${o.origin} ${o.sessionKey}`).sort(), ['a k2', 'b x2', 'c y'])
    idx.remove('a', { sessionKey: 'k1', sessionId: uuid })
    assert.equal(idx.ownersOfSessionId(uuid).length, 3, 'a stale key of a is not its current one')
    idx.remove('a', { sessionKey: 'k2', sessionId: uuid })
    idx.remove('c', { sessionKey: 'y', sessionId: uuid })
    assert.deepEqual(idx.ownersOfSessionId(uuid), [{ origin: 'b', sessionKey: 'x2' }])
    // What callers get is theirs to change.
    const [owner] = idx.ownersOfSessionId(uuid)
    owner!.sessionKey = 'changed'
    assert.deepEqual(idx.ownersOfSessionId(uuid), [{ origin: 'b', sessionKey: 'x2' }])
    idx.remove('b', { sessionKey: 'x2', sessionId: uuid })
    assert.deepEqual(idx.ownersOfSessionId(uuid), [])
  })

  it('labels', () => {
    const idx = new EntryIndexes()
    idx.add('a', { sessionKey: 'k1', label: 'ops' })
    idx.add('b', { sessionKey: 'k2', label: 'ops' })
    assert.deepEqual(idx.withLabel('ops').map(o => `${o.origin} ${o.sessionKey}`).sort(), ['a k1', 'b k2'])
    idx.remove('a', { sessionKey: 'k1', label: 'ops' })
    assert.deepEqual(idx.withLabel('ops'), [{ origin: 'b', sessionKey: 'k2' }])
  })
})
