// Addressing against an in-memory directory: one owner, or an error that says what to use instead.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { resolveTarget, type ResolveContext } from '../../src/routing/resolve.ts'
import { FakeDirectory, PEERS } from '../helpers/fake-directory.ts'
import type { MeshError } from '../../src/errors.ts'

const UUID = '0b6bd0a8-3f7e-4c9a-9d2a-1f5b6c7d8e9f'

function ctx (directory: FakeDirectory, localFirst = true): ResolveContext {
  return { directory, selfHost: 'host-self', localFirst }
}

/** Every candidate of an AMBIGUOUS error is distinct and resolves to exactly one session. */
function assertUsableCandidates (err: MeshError, c: ResolveContext): void {
  const candidates = err.candidates ?? []
  assert.ok(candidates.length >= 2)
  assert.equal(new Set(candidates).size, candidates.length, `distinct: ${candidates.join(', ')}`)
  const owners = candidates.map(k => resolveTarget(k, c).owner.peerId)
  assert.equal(new Set(owners).size, owners.length)
}

describe('resolveTarget', () => {
  it('a session UUID announced by two origins: ours first, else AMBIGUOUS with qualified choices, never the newest', () => {
    const d = new FakeDirectory(PEERS.self, [
      { peerId: PEERS.self, name: 'self', sessions: [{ sessionKey: 'agent:main:main', sessionId: UUID }] },
      { peerId: PEERS.a, name: 'thief', sessions: [{ sessionKey: 'agent:x:main', sessionId: UUID }] }
    ])
    // Local first even when bare keys are not (a UUID we announce is ours, whatever others claim).
    assert.equal(resolveTarget(UUID, ctx(d, false)).owner.peerId, PEERS.self)
    const observer = new FakeDirectory(PEERS.c, [...d.records.values()].map(r => ({ ...r, sessions: [...d.sessions(r.peerId)] })))
    assert.throws(() => resolveTarget(UUID, ctx(observer)), (err: MeshError) => {
      assert.equal(err.code, 'AMBIGUOUS')
      assertUsableCandidates(err, ctx(observer))
      return true
    })
  })

  it('a name with a colon is ignored: gateway:alice:agent:main:main reaches alice, not "alice:agent"', () => {
    const d = new FakeDirectory(PEERS.self, [
      { peerId: PEERS.a, name: 'alice', sessions: [{ sessionKey: 'agent:main:main' }] },
      { peerId: PEERS.b, name: 'alice:agent', sessions: [{ sessionKey: 'main:main' }] }
    ])
    const r = resolveTarget('gateway:alice:agent:main:main', ctx(d))
    assert.equal(r.owner.peerId, PEERS.a)
    assert.equal(r.sessionKey, 'agent:main:main')
    // The impostor is listed under its peer ID only.
    assert.equal(d.gateway(PEERS.b)?.name, undefined)
    assert.equal(resolveTarget(`gateway:${PEERS.b}:main:main`, ctx(d)).owner.name, PEERS.b)
  })

  it('a duplicate name or port is AMBIGUOUS everywhere, with distinct peer-ID choices', () => {
    const d = new FakeDirectory(PEERS.self, [
      { peerId: PEERS.a, name: 'hq', gatewayPort: 18789, host: 'one', sessions: [{ sessionKey: 'agent:main:main', label: 'desk' }] },
      { peerId: PEERS.b, name: 'hq', gatewayPort: 18789, host: 'two', sessions: [{ sessionKey: 'agent:main:main', label: 'desk' }] },
      { peerId: PEERS.c, name: 'solo', sessions: [{ sessionKey: 'agent:solo:main' }] }
    ])
    for (const target of ['gateway:hq:agent:main:main', 'gateway:18789:agent:main:main', 'agent:main:main', 'desk']) {
      assert.throws(() => resolveTarget(target, ctx(d)), (err: MeshError) => {
        assert.equal(err.code, 'AMBIGUOUS', target)
        assertUsableCandidates(err, ctx(d))
        return true
      })
    }
    assert.throws(() => resolveTarget('agent:main:main', ctx(d), 'hq'), { code: 'AMBIGUOUS' })
    // host:port still tells them apart; a unique name still qualifies keys.
    assert.equal(resolveTarget('gateway:two:18789:agent:main:main', ctx(d)).owner.peerId, PEERS.b)
    const solo = resolveTarget('agent:solo:main', ctx(d))
    assert.equal(solo.qualifiedKey, 'gateway:solo:agent:solo:main')
    assert.equal(resolveTarget(`gateway:${PEERS.a}:agent:main:main`, ctx(d)).qualifiedKey, `gateway:${PEERS.a}:agent:main:main`)
  })

  it('bare keys: local first (or AMBIGUOUS without it), else the single owner; labels likewise', () => {
    const d = new FakeDirectory(PEERS.self, [
      { peerId: PEERS.self, name: 'self', sessions: [{ sessionKey: 'agent:main:main' }] },
      { peerId: PEERS.a, name: 'a', sessions: [{ sessionKey: 'agent:main:main' }, { sessionKey: 'agent:ops:main', label: 'ops' }] }
    ])
    assert.equal(resolveTarget('agent:main:main', ctx(d)).owner.self, true)
    assert.throws(() => resolveTarget('agent:main:main', ctx(d, false)), { code: 'AMBIGUOUS' })
    assert.equal(resolveTarget('ops', ctx(d)).sessionKey, 'agent:ops:main')
    assert.equal(resolveTarget('ops', ctx(d)).via, 'label')
    assert.equal(resolveTarget('gateway:localhost:1:x', ctx(new FakeDirectory(PEERS.self, [{ peerId: PEERS.a, name: 'a', host: 'host-self', gatewayPort: 1, sessions: [{ sessionKey: 'x' }] }]))).owner.peerId, PEERS.a)
  })

  it('NOT_FOUND names what exists', () => {
    const d = new FakeDirectory(PEERS.self, [{ peerId: PEERS.a, name: 'a', sessions: [{ sessionKey: 'k' }] }])
    assert.throws(() => resolveTarget('gateway:nobody:k', ctx(d)), { code: 'NOT_FOUND', gateway: 'nobody' })
    assert.throws(() => resolveTarget('gateway:a:missing', ctx(d)), { code: 'NOT_FOUND', gateway: 'a' })
    assert.throws(() => resolveTarget(UUID, ctx(d)), { code: 'NOT_FOUND' })
    assert.throws(() => resolveTarget('nothing', ctx(d)), { code: 'NOT_FOUND' })
  })
})
