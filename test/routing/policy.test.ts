// Inbound policy: rules match proven peer IDs; names resolve to peer IDs when the message arrives.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { compilePolicy } from '../../src/routing/policy.ts'
import { FakeDirectory, PEERS } from '../helpers/fake-directory.ts'

describe('inbound policy', () => {
  it('a member that names itself after a trusted peer ID does not pass an allow rule for that ID', () => {
    const d = new FakeDirectory(PEERS.self, [{ peerId: PEERS.a, name: 'alice' }, { peerId: PEERS.b, name: PEERS.a }])
    const check = compilePolicy({ allow: [{ from: PEERS.a }] }, d)
    assert.doesNotThrow(() => { check(PEERS.a, 'agent:main:main') })
    assert.throws(() => { check(PEERS.b, 'agent:main:main') }, { code: 'FORBIDDEN' })
  })

  it('a deny rule by name cannot be dodged by a name that is a peer ID, and matches the proven ID', () => {
    const d = new FakeDirectory(PEERS.self, [{ peerId: PEERS.b, name: 'mallory' }])
    const check = compilePolicy({ deny: [{ from: PEERS.b }, { from: 'mallory', sessionKey: 'agent:private:*' }] }, d)
    assert.throws(() => { check(PEERS.b, 'agent:main:main') }, { code: 'FORBIDDEN' })
    const byName = compilePolicy({ deny: [{ from: 'mallory', sessionKey: 'agent:private:*' }] }, d)
    assert.throws(() => { byName(PEERS.b, 'agent:private:x') }, { code: 'FORBIDDEN' })
    assert.doesNotThrow(() => { byName(PEERS.b, 'agent:main:main') })
  })

  it('a name held by two Gateways: deny matches both, allow matches neither', () => {
    const d = new FakeDirectory(PEERS.self, [{ peerId: PEERS.a, name: 'hq' }, { peerId: PEERS.b, name: 'hq' }, { peerId: PEERS.c, name: 'ops' }])
    const allow = compilePolicy({ allow: [{ from: 'hq' }, { from: 'ops' }] }, d)
    assert.throws(() => { allow(PEERS.a, 'k') }, { code: 'FORBIDDEN' })
    assert.throws(() => { allow(PEERS.b, 'k') }, { code: 'FORBIDDEN' })
    assert.doesNotThrow(() => { allow(PEERS.c, 'k') })
    const deny = compilePolicy({ deny: [{ from: 'hq' }] }, d)
    assert.throws(() => { deny(PEERS.a, 'k') }, { code: 'FORBIDDEN' })
    assert.throws(() => { deny(PEERS.b, 'k') }, { code: 'FORBIDDEN' })
    assert.doesNotThrow(() => { deny(PEERS.c, 'k') })
  })

  it('names are looked up when the message arrives: a renamed Gateway is judged by its new name', () => {
    const d = new FakeDirectory(PEERS.self, [{ peerId: PEERS.a, name: 'hq' }])
    const check = compilePolicy({ allow: [{ from: 'hq' }] }, d)
    assert.doesNotThrow(() => { check(PEERS.a, 'k') })
    d.add({ peerId: PEERS.a, name: 'elsewhere' })
    assert.throws(() => { check(PEERS.a, 'k') }, { code: 'FORBIDDEN' })
    // A stranger to the registry is judged by its peer ID alone.
    assert.throws(() => { check(PEERS.c, 'k') }, { code: 'FORBIDDEN' })
  })

  it('no policy lets every member reach every session', () => {
    assert.doesNotThrow(() => { compilePolicy(undefined, new FakeDirectory(PEERS.self))(PEERS.c, 'k') })
  })
})
