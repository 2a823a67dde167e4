// The live views' snapshot, built from a hand-played mesh (the public API's shapes, no network).
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { MAX_SNAPSHOT_SESSIONS, MAX_TRACKED_OWNERS, MeshObserver, type ObservableMesh } from '../../src/observe/snapshot.ts'
import type { GatewayInfo, MeshEvents, MeshStatus, PeerStatus, SendOutcome, SessionEntry } from '../../src/types.ts'

function gateway (name: string, extra: Partial<GatewayInfo> = {}): GatewayInfo {
  return { name, peerId: `12D3Koo${name}`, host: 'box', self: false, reachable: true, ...extra }
}

function session (owner: GatewayInfo, sessionKey: string): SessionEntry {
  return { sessionKey, owner, qualifiedKey: `gateway:${owner.name}:${sessionKey}` }
}

/** A mesh whose views the test sets, and whose `send:done` the test fires. */
function fakeMesh (state: { self: GatewayInfo, peers: PeerStatus[], sessions: SessionEntry[] }): ObservableMesh & { fire: (outcome: SendOutcome) => void, listeners: () => number } {
  const listeners = new Set<(event: MeshEvents['send:done']) => void>()
  const status = (): MeshStatus => ({
    self: state.self, addresses: ['/ip4/127.0.0.1/tcp/1'], peers: state.peers.length, sessions: state.sessions.length, localSessions: 0,
    gateways: 0, incarnation: 7, startedAt: 1000, meshId: 'abcd', rejected: [{ reason: 'wrong secret', address: '/ip4/127.0.0.9/tcp/5', at: 1 }],
    counters: { sent: 0, received: 3, failed: 0, duplicates: 0, deltasApplied: 0, deltasRejected: 0, recordsRedundant: 0, pullRequests: 0 }
  })
  return {
    status,
    peers: () => state.peers,
    sessions: () => [...state.sessions],
    addEventListener: (_type, listener) => { listeners.add(listener) },
    removeEventListener: (_type, listener) => { listeners.delete(listener) },
    fire: (outcome) => { for (const l of listeners) l(new CustomEvent('send:done', { detail: outcome })) },
    listeners: () => listeners.size
  }
}

describe('MeshObserver', () => {
  const self = gateway('hq', { self: true })
  const hangzhou = gateway('hangzhou', { gatewayPort: 18790 })
  const berlin = gateway('berlin')
  const remote = gateway('remote', { reachable: false })

  it('lists this Gateway first, then linked peers and registry-only owners by name, with links and session counts', () => {
    const mesh = fakeMesh({
      self,
      peers: [
        { ...hangzhou, addresses: ['/ip4/127.0.0.1/tcp/2'], sessions: 2, rttMs: 1.5 },
        { ...berlin, addresses: ['/ip4/10.0.0.1/tcp/4001/p2p/12D3KooRelay/p2p-circuit'], sessions: 0 }
      ],
      sessions: [session(hangzhou, 'agent:b'), session(self, 'agent:main:main'), session(hangzhou, 'agent:a'), session(remote, 'agent:x')]
    })
    const snap = new MeshObserver(mesh).snapshot(5000)
    assert.deepEqual(snap.gateways.map(g => [g.name, g.link, g.sessions, g.reachable]), [
      ['hq', 'self', 1, true],
      ['berlin', 'relayed', 0, true],
      ['hangzhou', 'direct', 2, true],
      ['remote', 'registry', 1, false]
    ])
    assert.equal(snap.gateways[2]?.rttMs, 1.5)
    assert.deepEqual(snap.gateways[0]?.addresses, ['/ip4/127.0.0.1/tcp/1'])
    assert.deepEqual(snap.sessions.map(s => s.qualifiedKey), ['gateway:hangzhou:agent:a', 'gateway:hangzhou:agent:b', 'gateway:hq:agent:main:main', 'gateway:remote:agent:x'])
    assert.equal(snap.sessionsTotal, 4)
    assert.equal(snap.at, 5000)
    assert.equal(snap.meshId, 'abcd')
    assert.equal(snap.counters.received, 3)
    assert.equal(snap.rejected.length, 1)
  })

  it('takes a peer\'s declared link over what its addresses suggest', () => {
    const mesh = fakeMesh({ self, peers: [{ ...berlin, addresses: ['/ip4/127.0.0.1/tcp/2'], sessions: 0, link: 'relayed' } as PeerStatus], sessions: [] })
    assert.equal(new MeshObserver(mesh).snapshot().gateways[1]?.link, 'relayed')
  })

  it('counts sends by outcome, in total and per owner, only while started', () => {
    const mesh = fakeMesh({ self, peers: [{ ...hangzhou, addresses: [], sessions: 0 }], sessions: [] })
    const observer = new MeshObserver(mesh)
    mesh.fire({ target: 't', outcome: 'ok', durationMs: 1, owner: 'hangzhou' })
    observer.start()
    observer.start()
    assert.equal(mesh.listeners(), 1, 'start is idempotent')
    mesh.fire({ target: 't', outcome: 'ok', durationMs: 1, owner: 'hangzhou' })
    mesh.fire({ target: 't', outcome: 'accepted', durationMs: 1, owner: 'hangzhou' })
    mesh.fire({ target: 't', outcome: 'TIMEOUT', durationMs: 1, owner: 'hangzhou' })
    mesh.fire({ target: 't', outcome: 'NOT_FOUND', durationMs: 1 })
    const snap = observer.snapshot()
    assert.deepEqual(snap.sends, { ok: 1, accepted: 1, failed: 2, errors: { TIMEOUT: 1, NOT_FOUND: 1 } })
    assert.deepEqual(snap.gateways.find(g => g.name === 'hangzhou')?.sends, { ok: 1, accepted: 1, failed: 1, errors: { TIMEOUT: 1 } })
    snap.sends.errors.TIMEOUT = 99
    assert.equal(observer.snapshot().sends.errors.TIMEOUT, 1, 'a snapshot is a copy')
    observer.stop()
    assert.equal(mesh.listeners(), 0)
  })

  it('bounds what a large or hostile mesh can make it keep: sessions per snapshot, owners tallied', () => {
    const many = Array.from({ length: MAX_SNAPSHOT_SESSIONS + 10 }, (_, i) => session(hangzhou, `agent:${String(i).padStart(5, '0')}`))
    const first = gateway('name-0')
    const late = gateway(`name-${MAX_TRACKED_OWNERS + 1}`)
    const mesh = fakeMesh({ self, peers: [{ ...first, addresses: [], sessions: 0 }, { ...late, addresses: [], sessions: 0 }], sessions: many })
    const observer = new MeshObserver(mesh)
    observer.start()
    for (let i = 0; i < MAX_TRACKED_OWNERS + 50; i++) mesh.fire({ target: 't', outcome: 'ok', durationMs: 1, owner: `name-${i}` })
    const snap = observer.snapshot()
    assert.equal(snap.sessions.length, MAX_SNAPSHOT_SESSIONS)
    assert.equal(snap.sessionsTotal, MAX_SNAPSHOT_SESSIONS + 10)
    assert.equal(snap.sends.ok, MAX_TRACKED_OWNERS + 50, 'the total still counts every send')
    assert.equal(snap.gateways.find(g => g.name === 'name-0')?.sends.ok, 1)
    assert.equal(snap.gateways.find(g => g.name === late.name)?.sends.ok, 0, 'owners past the cap are not tallied one by one')
  })
})
