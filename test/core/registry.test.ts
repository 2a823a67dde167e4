// The replicated ownership registry, end to end over real libp2p nodes on 127.0.0.1.
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, it } from 'node:test'
import { createMesh } from '../../src/index.ts'
import { addressOf, createTestMeshes, loopbackOptions, waitForPeer, waitForResolvable, waitUntil } from '../../src/testing.ts'

const echo = async (msg: { text: string }): Promise<{ reply: string }> => ({ reply: `echo ${msg.text}` })

describe('registry', () => {
  it('relays along a chain: an announce on A becomes resolvable on E, and E can send to A', async () => {
    const net = await createTestMeshes(5, { topology: 'chain', options: () => ({ deliver: echo }) })
    try {
      const [a, , , , e] = net.meshes
      assert.ok(a !== undefined && e !== undefined)
      // E never dialled A: the entry travels A→B→C→D→E as a signed, relayed record.
      assert.equal(e.peers().some(p => p.peerId === a.peerId), false)
      await a.announce('agent:main:chain-test')
      await waitForResolvable(e, 'gateway:gw0:agent:main:chain-test')
      assert.equal(e.resolve('agent:main:chain-test').owner.peerId, a.peerId)
      // And delivery dials A directly from the addresses A announced.
      const result = await e.send('agent:main:chain-test', 'end to end')
      assert.equal(result.reply, 'echo end to end')
    } finally {
      await net.stop()
    }
  })

  it('in a full mesh every node receives each record once, straight from its origin', async () => {
    const net = await createTestMeshes(5)
    try {
      // Joining may fetch a peer's initial state twice (its hello's answer crosses its live push);
      // once everyone knows everyone, changes must never arrive twice.
      await Promise.all(net.meshes.map(async m => { await waitUntil(m, () => m.status().gateways === 5 && m.status().peers === 4) }))
      // Gossip forwards a record to a peer unless that peer has said it is linked to the record's origin
      // (bounded degree: most peers are not), and only news of it until the peer has said whom it links to
      // at all (its hello names only the links it had before, none for the last joiner): the news is
      // dropped by a peer linked to the origin, so nothing arrives twice even while claims travel. The warm
      // rounds only make sure the joins and their initial pulls are over before we count.
      for (const round of [0, 1]) {
        await Promise.all(net.meshes.map(async (m, i) => { await m.announce(`agent:main:warm-${i}-${round}`) }))
        await Promise.all(net.meshes.map(async m => { await waitUntil(m, () => m.status().sessions === 5 * (round + 1)) }))
      }
      // And until every node has heard from every other whom it links to (each `links` frame follows a link by
      // ≥ 50 ms; a node not yet known to be linked to an origin is, rightly, pushed that origin's records).
      type Claims = { clawmesh: { gossip: { liveness: { claimsLink: (peer: string, origin: string) => boolean } } } }
      const ids = net.meshes.map(m => m.peerId.toString())
      await Promise.all(net.meshes.map(async (m, k) => {
        const { liveness } = (m.libp2p.services as unknown as Claims).clawmesh.gossip
        await waitUntil(m, () => ids.every((a, i) => i === k || ids.every((b, j) => j === i || j === k || liveness.claimsLink(a, b))))
      }))
      const before = net.meshes.map(m => ({ ...m.status().counters }))
      await Promise.all(net.meshes.map(async (m, i) => {
        await Promise.all(Array.from({ length: 300 }, async (_, k) => { await m.announce(`agent:main:full-${i}-${k}`) }))
        await m.withdraw(`agent:main:full-${i}-0`)
      }))
      await Promise.all(net.meshes.map(async m => { await waitUntil(m, () => m.status().sessions === 5 * 299 + 10) }))
      // A record reaches a node other than by its origin's push only in answer to a want of that node (or as a
      // forwarded goodbye, none here). Nobody lacks anything now, so nobody will ask: no want so far means no
      // second copy is on its way either, and nothing needs waiting for.
      for (const [i, m] of net.meshes.entries()) {
        const { recordsRedundant, pullRequests, deltasApplied } = m.status().counters
        const name = m.status().self.name
        assert.equal(pullRequests - (before[i]?.pullRequests ?? 0), 0, `${name} had to pull: the changes were not all pushed to it`)
        assert.equal(recordsRedundant - (before[i]?.recordsRedundant ?? 0), 0, `${name} received records it already held`)
        assert.ok(deltasApplied >= 4, `${name} applied ${deltasApplied} records`)
      }
    } finally {
      await net.stop()
    }
  })

  it('brings a late joiner up to date with an existing registry of 10,000 sessions', async () => {
    const net = await createTestMeshes(2)
    try {
      const [a, b] = net.meshes
      assert.ok(a !== undefined && b !== undefined)
      await Promise.all(Array.from({ length: 5_000 }, async (_, i) => { await a.announce(`agent:main:a-${i}`, { sessionId: crypto.randomUUID() }) }))
      await Promise.all(Array.from({ length: 5_000 }, async (_, i) => { await b.announce(`agent:main:b-${i}`) }))
      await waitUntil(a, () => a.status().sessions === 10_000)
      const late = await net.add({ name: 'late' }, [b])
      await waitUntil(late, () => late.status().sessions === 10_000)
      assert.equal(late.resolve('agent:main:a-4999').owner.name, 'gw0')
      assert.equal(late.resolve('agent:main:b-0').owner.name, 'gw1')
      // It learned A's entries from B, as records signed by A.
      assert.equal(late.peers().some(p => p.peerId === a.peerId), false)
    } finally {
      await net.stop()
    }
  })

  it('forgets a withdrawn session everywhere: NOT_FOUND', async () => {
    const net = await createTestMeshes(2, { options: () => ({ deliver: echo }) })
    try {
      const [a, b] = net.meshes
      assert.ok(a !== undefined && b !== undefined)
      await b.announce('agent:main:temp')
      await waitForResolvable(a, 'agent:main:temp')
      await b.withdraw('agent:main:temp')
      await waitUntil(a, () => !a.sessions().some(s => s.sessionKey === 'agent:main:temp'))
      await assert.rejects(a.send('agent:main:temp', 'x'), { code: 'NOT_FOUND' })
      await assert.rejects(a.send('gateway:gw1:agent:main:temp', 'x'), { code: 'NOT_FOUND' })
    } finally {
      await net.stop()
    }
  })

  it('marks a stopped Gateway UNREACHABLE at once, not TIMEOUT', async () => {
    const net = await createTestMeshes(3, { options: () => ({ deliver: echo }) })
    try {
      const [a, b, c] = net.meshes
      assert.ok(a !== undefined && b !== undefined && c !== undefined)
      await c.announce('agent:main:c')
      await waitForResolvable(a, 'agent:main:c')
      await c.stop()
      await waitUntil(a, () => a.resolve('agent:main:c').owner.reachable === false)
      // A long timeout: only a fast failure with the right code passes.
      await assert.rejects(a.send('agent:main:c', 'x', { timeoutMs: 60_000 }), (err: { code: string, gateway?: string }) => {
        assert.equal(err.code, 'UNREACHABLE')
        assert.equal(err.gateway, 'gw2')
        return true
      })
      // The entry is still listed (as unreachable, with when it turned so) during the grace period.
      const owner = a.sessions().find(s => s.sessionKey === 'agent:main:c')?.owner
      assert.equal(owner?.reachable, false)
      assert.ok(owner.unreachableSince !== undefined && owner.unreachableSince <= Date.now(), 'the entry says since when it is unreachable')
    } finally {
      await net.stop()
    }
  })

  it('marks a crashed Gateway UNREACHABLE through the peers that saw it go', async () => {
    // A is connected only to B; C (connected to B) vanishes without saying goodbye.
    const net = await createTestMeshes(3, { topology: 'chain', options: () => ({ deliver: echo }) })
    try {
      const [a, b, c] = net.meshes
      assert.ok(a !== undefined && b !== undefined && c !== undefined)
      await c.announce('agent:main:c')
      await waitForResolvable(a, 'agent:main:c')
      // A crash: C stops listening and its connections break, with no bye record. (Only breaking its
      // connections is no crash: A checks B's word with a dial of its own, which would find C alive.)
      await (c.libp2p as unknown as { components: { transportManager: { removeAll: () => Promise<void> } } }).components.transportManager.removeAll()
      for (const connection of c.libp2p.getConnections()) connection.abort(new Error('simulated crash'))
      await waitUntil(a, () => a.resolve('agent:main:c').owner.reachable === false)
      await c.stop()
      await assert.rejects(a.send('agent:main:c', 'x', { timeoutMs: 60_000 }), { code: 'UNREACHABLE' })
    } finally {
      await net.stop()
    }
  })

  it('does not blame its peers for time it was not running itself (a long GC, a starved CPU)', async () => {
    const net = await createTestMeshes(2, { options: () => ({ deliver: echo, heartbeatIntervalMs: 200, peerSilenceMs: 1_000 }) })
    try {
      const [a, b] = net.meshes
      assert.ok(a !== undefined && b !== undefined)
      await b.announce('agent:main:b')
      await waitForResolvable(a, 'agent:main:b')
      const left: string[] = []
      for (const m of net.meshes) m.addEventListener('peer:leave', e => { left.push(`${m.status().self.name} lost ${e.detail.name}`) })
      // Block this process (both nodes) for 2.5 peer-silence periods: both are deaf, neither is hung.
      const until = Date.now() + 2_500
      while (Date.now() < until) { /* busy: no timer or socket runs */ }
      // No sleep: the overdue liveness timers fire in the first timers phase after the block, before
      // any socket is read, so by the time a send has gone both ways every late check has judged.
      await b.announce('agent:main:b2')
      assert.equal((await a.send('agent:main:b', 'still there')).reply, 'echo still there')
      await waitForResolvable(a, 'agent:main:b2')
      assert.deepEqual(left, [])
    } finally {
      await net.stop()
    }
  })

  it('drops an unreachable Gateway\'s sessions after the grace period', async () => {
    const net = await createTestMeshes(2, { options: () => ({ unreachableGraceMs: 200 }) })
    try {
      const [a, b] = net.meshes
      assert.ok(a !== undefined && b !== undefined)
      await b.announce('agent:main:b')
      await waitForResolvable(a, 'agent:main:b')
      await b.stop()
      await waitUntil(a, () => a.status().sessions === 0)
      await assert.rejects(a.send('agent:main:b', 'x'), { code: 'NOT_FOUND' })
    } finally {
      await net.stop()
    }
  })

  it('replaces a restarted Gateway\'s stale sessions (same peer ID, new incarnation)', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'clawmesh-restart-'))
    const a = await createMesh(loopbackOptions({ name: 'a', deliver: echo }))
    try {
      const b1 = await createMesh(loopbackOptions({ name: 'b', dataDir, peers: [addressOf(a)], deliver: echo }))
      const peerId = b1.peerId
      const firstIncarnation = b1.status().incarnation
      await b1.announce('agent:main:old-1')
      await b1.announce('agent:main:old-2')
      await waitForResolvable(a, 'agent:main:old-2')
      await b1.stop()
      const b2 = await createMesh(loopbackOptions({ name: 'b', dataDir, peers: [addressOf(a)], deliver: echo }))
      try {
        assert.equal(b2.peerId, peerId)
        assert.ok(b2.status().incarnation > firstIncarnation)
        await b2.announce('agent:main:new')
        await waitForResolvable(a, 'agent:main:new')
        assert.deepEqual(a.sessions().filter(s => s.owner.peerId === peerId).map(s => s.sessionKey), ['agent:main:new'])
        await assert.rejects(a.send('agent:main:old-1', 'x'), { code: 'NOT_FOUND' })
        assert.equal((await a.send('agent:main:new', 'back')).reply, 'echo back')
      } finally {
        await b2.stop()
      }
    } finally {
      await a.stop()
      await rm(dataDir, { recursive: true, force: true })
    }
  })

  it('emits session:add and session:remove, peer:join and peer:leave', async () => {
    const net = await createTestMeshes(1)
    try {
      const [a] = net.meshes
      assert.ok(a !== undefined)
      const events: string[] = []
      a.addEventListener('peer:join', e => { events.push(`join ${e.detail.name}`) })
      a.addEventListener('peer:leave', e => { events.push(`leave ${e.detail.name}`) })
      a.addEventListener('session:add', e => { events.push(`add ${e.detail.qualifiedKey}`) })
      a.addEventListener('session:remove', e => { events.push(`remove ${e.detail.qualifiedKey}`) })
      const b = await net.add({ name: 'b' })
      await waitForPeer(a, b.peerId)
      await b.announce('agent:main:x')
      await waitUntil(a, () => events.includes('add gateway:b:agent:main:x'))
      await b.withdraw('agent:main:x')
      await waitUntil(a, () => events.includes('remove gateway:b:agent:main:x'))
      await b.stop()
      await waitUntil(a, () => events.includes('leave b'))
      assert.deepEqual(events, ['join b', 'add gateway:b:agent:main:x', 'remove gateway:b:agent:main:x', 'leave b'])
    } finally {
      await net.stop()
    }
  })
})
