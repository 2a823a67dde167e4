// Address capture by a member (issue 11, 3a-3c), against real nodes on 127.0.0.1:
// session UUIDs resolve local-first or AMBIGUOUS, names cannot swallow keys, duplicate names are AMBIGUOUS and warned.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { DELIVER_PROTOCOL, REGISTRY_PROTOCOL, type MeshError, type NameConflict } from '../../src/index.ts'
import { encodeFrame } from '../../src/gossip/wire.ts'
import { signRecord } from '../../src/registry/records.ts'
import { addressOf, createTestMeshes, waitForEvent, waitForResolvable, waitUntil } from '../../src/testing.ts'
import { answerOf, requestFrame } from '../helpers/deliver-frames.ts'
import { createRawPeer } from '../helpers/raw-peer.ts'

const UUID = '7c0ffee0-1234-4abc-8def-0123456789ab'

describe('addressing under attack', () => {
  it('a member announcing another Gateway\'s session UUID captures nothing', async () => {
    const received: string[] = []
    const net = await createTestMeshes(3, { options: i => ({ name: ['alice', 'mallory', 'observer'][i], deliver: async msg => { received.push(`${i}:${msg.sessionKey}`); return { reply: 'ok' } } }) })
    try {
      const [alice, mallory, observer] = net.meshes
      assert.ok(alice !== undefined && mallory !== undefined && observer !== undefined)
      await alice.announce('agent:main:main', { sessionId: UUID })
      await waitForResolvable(observer, 'gateway:alice:agent:main:main')
      // Mallory announces the same UUID afterwards: the newest claim.
      await mallory.announce('agent:evil:main', { sessionId: UUID })
      await waitForResolvable(alice, 'gateway:mallory:agent:evil:main')
      await waitForResolvable(observer, 'gateway:mallory:agent:evil:main')
      // The real owner's own send to its UUID stays local.
      assert.equal(alice.resolve(UUID).owner.name, 'alice')
      await alice.send(UUID, 'to myself')
      assert.deepEqual(received, ['0:agent:main:main'])
      // Anyone else is told to choose.
      assert.throws(() => observer.resolve(UUID), (err: MeshError) => {
        assert.equal(err.code, 'AMBIGUOUS')
        assert.deepEqual(err.candidates, ['gateway:alice:agent:main:main', 'gateway:mallory:agent:evil:main'])
        return true
      })
      await assert.rejects(observer.send(UUID, 'where?'), { code: 'AMBIGUOUS' })
      assert.deepEqual(received, ['0:agent:main:main'])
    } finally {
      await net.stop()
    }
  })

  it('a member named "alice:agent" cannot receive gateway:alice:agent:main:main', async () => {
    const net = await createTestMeshes(2, { options: i => ({ name: ['alice', 'observer'][i] }) })
    const raw = await createRawPeer()
    try {
      const [alice, observer] = net.meshes
      assert.ok(alice !== undefined && observer !== undefined)
      await alice.announce('agent:main:main')
      await waitForResolvable(observer, 'gateway:alice:agent:main:main')
      // A hostile member skips its own name check: its signed snapshot calls it "alice:agent".
      const rawId = raw.node.peerId.toString()
      const gateway = { name: 'alice:agent', host: 'raw', addrs: [], maxMessageBytes: 1024 }
      const stream = await raw.open(addressOf(observer), REGISTRY_PROTOCOL)
      await stream.write(encodeFrame.record((await signRecord({ kind: 'snap', origin: rawId, incarnation: 1, seq: 0, chunk: 0, chunks: 1, gateway, entries: [{ sessionKey: 'main:main' }] }, raw.privateKey)).bytes))
      await waitForResolvable(observer, `gateway:${rawId}:main:main`)
      const r = observer.resolve('gateway:alice:agent:main:main')
      assert.equal(r.owner.peerId, alice.peerId)
      assert.equal(r.sessionKey, 'agent:main:main')
      // It is listed under its peer ID, never under the name it chose.
      assert.equal(observer.sessions().find(s => s.sessionKey === 'main:main')?.qualifiedKey, `gateway:${rawId}:main:main`)
    } finally {
      await raw.stop()
      await net.stop()
    }
  })

  it('two Gateways named hq: AMBIGUOUS everywhere with usable choices, and both warn', async () => {
    const net = await createTestMeshes(1, { options: () => ({ name: 'observer' }) })
    try {
      const observer = net.meshes[0]
      assert.ok(observer !== undefined)
      const hq1 = await net.add({ name: 'hq', deliver: async () => ({ reply: 'one' }) })
      const warned = waitForEvent(hq1, 'gateway:conflict')
      const hq2 = await net.add({ name: 'hq', deliver: async () => ({ reply: 'two' }) }, [observer, hq1])
      await hq1.announce('agent:main:main')
      await hq2.announce('agent:main:main')
      await waitUntil(observer, () => observer.sessions().length === 2)
      for (const target of ['gateway:hq:agent:main:main', 'agent:main:main']) {
        const err: MeshError | undefined = await observer.send(target, 'hi').then(() => undefined, (e: MeshError) => e)
        assert.equal(err?.code, 'AMBIGUOUS', target)
        const candidates: string[] = err?.candidates ?? []
        assert.equal(new Set(candidates).size, 2, `two distinct choices: ${candidates.join(', ')}`)
        const replies: Array<string | undefined> = await Promise.all(candidates.map(async (c: string): Promise<string | undefined> => (await observer.send(c, 'hi')).reply))
        assert.deepEqual(replies.sort(), ['one', 'two'])
      }
      // Sessions are listed with keys that name one Gateway each.
      assert.deepEqual(observer.sessions().map(s => s.qualifiedKey).sort(), [`gateway:${hq1.peerId}:agent:main:main`, `gateway:${hq2.peerId}:agent:main:main`].sort())
      const conflict: NameConflict = await warned
      assert.deepEqual(conflict, { kind: 'name', value: 'hq', peerIds: [hq1.peerId, hq2.peerId].sort() })
      await waitUntil(hq2, () => hq2.status().conflicts?.length === 1)
      assert.deepEqual(hq2.status().conflicts, [conflict])
      assert.deepEqual(observer.status().conflicts, [])
    } finally {
      await net.stop()
    }
  })

  it('a member named after a trusted peer ID does not pass an allow rule for that peer ID', async () => {
    const delivered: string[] = []
    const net = await createTestMeshes(2, { options: i => ({ name: ['alice', 'bob'][i] }) })
    const raw = await createRawPeer()
    try {
      const [alice, bob] = net.meshes
      assert.ok(alice !== undefined && bob !== undefined)
      // This Gateway takes messages from Alice's peer ID only.
      const guarded = await net.add({ name: 'guarded', policy: { allow: [{ from: alice.peerId }] }, deliver: async msg => { delivered.push(msg.from.peerId); return { reply: 'in' } } })
      await guarded.announce('agent:main:main')
      // The raw member calls itself by Alice's peer ID in its signed snapshot, then sends.
      const rawId = raw.node.peerId.toString()
      const registry = await raw.open(addressOf(guarded), REGISTRY_PROTOCOL)
      await registry.write(encodeFrame.record((await signRecord({ kind: 'snap', origin: rawId, incarnation: 1, seq: 0, chunk: 0, chunks: 1, gateway: { name: alice.peerId, host: 'raw', addrs: [], maxMessageBytes: 1024 }, entries: [] }, raw.privateKey)).bytes))
      await waitUntil(guarded, () => guarded.status().gateways === 4)
      const deliver = await raw.open(addressOf(guarded), DELIVER_PROTOCOL)
      await deliver.write(requestFrame({ id: 'sneak' }))
      assert.equal(answerOf(await deliver.read()).status, 'FORBIDDEN')
      await waitForResolvable(alice, 'gateway:guarded:agent:main:main')
      assert.equal((await alice.send('gateway:guarded:agent:main:main', 'hi')).reply, 'in')
      assert.deepEqual(delivered, [alice.peerId])
    } finally {
      await raw.stop()
      await net.stop()
    }
  })
})
