// The trust boundary, registry side (issue 11): what a member can no longer do with the registry.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { REGISTRY_PROTOCOL } from '../../src/constants.ts'
import { decodeFrame, encodeFrame } from '../../src/gossip/wire.ts'
import { signRecord } from '../../src/registry/records.ts'
import { createTestMeshes, waitForResolvable, waitUntil } from '../../src/testing.ts'
import { FakeNet, until } from '../gossip/harness.ts'

const gateway = { name: 'x', host: 'h', addrs: [], maxMessageBytes: 1024 }

describe('registry trust boundary', () => {
  it('3a: a member announcing another Gateway\'s session ID captures nothing: local first, else AMBIGUOUS', async () => {
    const net = await createTestMeshes(3, { options: i => ({ deliver: async msg => ({ reply: `gw${i}: ${msg.text}` }) }) })
    try {
      const [owner, other, copycat] = net.meshes
      assert.ok(owner !== undefined && other !== undefined && copycat !== undefined)
      const id = crypto.randomUUID()
      await owner.announce('agent:main:main', { sessionId: id })
      await waitForResolvable(other, id)
      // The copycat announces the same UUID after the owner: with one global index, the last writer won.
      await copycat.announce('agent:main:stolen', { sessionId: id })
      await waitUntil(owner, () => owner.sessions().filter(s => s.sessionId === id).length === 2)
      await waitUntil(other, () => other.sessions().filter(s => s.sessionId === id).length === 2)
      // The owner's own sends to its UUID stay home.
      assert.equal((await owner.send(id, 'mine')).reply, 'gw0: mine')
      // Anyone else must choose: the candidates name both Gateways.
      assert.throws(() => other.resolve(id), (err: { code: string, candidates?: string[] }) => {
        assert.equal(err.code, 'AMBIGUOUS')
        assert.deepEqual(err.candidates, ['gateway:gw0:agent:main:main', 'gateway:gw2:agent:main:stolen'])
        return true
      })
    } finally {
      await net.stop()
    }
  })

  it('3d: records of origins outside the allowlist are refused, relayed ones too, and never pulled', async () => {
    const net = new FakeNet()
    const member = await net.manual(REGISTRY_PROTOCOL)
    const stranger = await net.node()
    const { node: b, gossip } = await net.gossip({ allow: [member.id] })
    try {
      net.connect(member, b)
      const { FramedStream } = await import('../../src/wire/framed-stream.ts')
      const out = new FramedStream(await net.open(member, b.id, REGISTRY_PROTOCOL), 1 << 20)
      const strangerSnap = await signRecord({ kind: 'snap', origin: stranger.id, incarnation: 1, seq: 3, chunk: 0, chunks: 1, gateway, entries: [{ sessionKey: 'agent:main:evil' }] }, stranger.privateKey)
      // The member says it holds the stranger's records, and relays one.
      await out.write(encodeFrame.hello({ protocolVersion: 2, softwareVersion: 't', name: 'm', digest: new Map([[stranger.id, { version: [1, 3], departed: false }]]), links: new Set() }))
      await out.write(encodeFrame.record(strangerSnap.bytes))
      const own = await signRecord({ kind: 'snap', origin: member.id, incarnation: 1, seq: 0, chunk: 0, chunks: 1, gateway, entries: [] }, member.privateKey)
      await out.write(encodeFrame.record(own.bytes))
      await until(() => gossip.registry.get(member.id) !== undefined)
      assert.equal(gossip.registry.get(stranger.id), undefined)
      assert.equal(gossip.counters.recordsRejected, 1)
      assert.equal(gossip.pulls.pulling(stranger.id), undefined, 'the claim about the stranger started no pull')
      // Nor did B ask for it on its own stream to the member.
      await until(() => member.inbound.length > 0)
      const first = decodeFrame(await member.inbound[0]!.read())
      assert.equal(first.type, 'hello')
    } finally {
      await gossip.beforeStop()
      await gossip.stop()
    }
  })

  it('5: a stopped Gateway whose old copy a peer still offers after the grace period does not come back', async () => {
    const net = new FakeNet()
    const { node: a, gossip } = await net.gossip()
    const gone = await net.node()
    const member = await net.manual(REGISTRY_PROTOCOL)
    try {
      net.connect(member, a)
      const { FramedStream } = await import('../../src/wire/framed-stream.ts')
      const out = new FramedStream(await net.open(member, a.id, REGISTRY_PROTOCOL), 1 << 20)
      const snap = await signRecord({ kind: 'snap', origin: gone.id, incarnation: 1, seq: 4, chunk: 0, chunks: 1, gateway, entries: [{ sessionKey: 'agent:main:gone' }] }, gone.privateKey)
      const bye = await signRecord({ kind: 'bye', origin: gone.id, incarnation: 1, seq: 4 }, gone.privateKey)
      await out.write(encodeFrame.hello({ protocolVersion: 2, softwareVersion: 't', name: 'm', digest: new Map(), links: new Set() }))
      await out.write(encodeFrame.record(snap.bytes))
      await out.write(encodeFrame.record(bye.bytes))
      await until(() => gossip.registry.get(gone.id)?.bye !== undefined)
      net.now += 61_000
      gossip.expire()
      assert.equal(gossip.registry.get(gone.id), undefined)
      // A member that missed the goodbye (or lies) offers the old snapshot again, shows it in a digest,
      // and claims to be linked to it and to hear from it (proofs of life that lift a tombstone without goodbye).
      await out.write(encodeFrame.record(snap.bytes))
      await out.write(encodeFrame.digest(new Map([[gone.id, { version: [1, 4], departed: false }]]), false))
      await out.write(encodeFrame.links([gone.id]))
      await out.write(encodeFrame.alive(gone.id, [1, 4]))
      await out.write(encodeFrame.record(snap.bytes))
      const marker = await signRecord({ kind: 'snap', origin: member.id, incarnation: 1, seq: 0, chunk: 0, chunks: 1, gateway, entries: [] }, member.privateKey)
      await out.write(encodeFrame.record(marker.bytes))
      await until(() => gossip.registry.get(member.id) !== undefined)
      assert.equal(gossip.registry.get(gone.id), undefined, 'the stopped Gateway stays gone')
      assert.equal(gossip.registry.ownersOfKey('agent:main:gone').length, 0)
    } finally {
      await gossip.beforeStop()
      await gossip.stop()
    }
  })
})
