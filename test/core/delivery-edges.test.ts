// Delivery at the trust boundary (issue 11, items 6 and 7) between real nodes on 127.0.0.1.
import assert from 'node:assert/strict'
import { createServer, type Socket } from 'node:net'
import { describe, it } from 'node:test'
import { REGISTRY_PROTOCOL } from '../../src/index.ts'
import { encodeFrame } from '../../src/gossip/wire.ts'
import { signRecord } from '../../src/registry/records.ts'
import { addressOf, createTestMeshes, waitForResolvable } from '../../src/testing.ts'
import { createRawPeer } from '../helpers/raw-peer.ts'

describe('delivery edges', () => {
  it('a reply larger than the sender takes is TOO_LARGE at once, the handler runs once, and the pair keeps working', async () => {
    let calls = 0
    const net = await createTestMeshes(2, {
      options: i => i === 0
        ? { maxMessageBytes: 64 * 1024 }
        : { maxMessageBytes: 4 * 1024 * 1024, deliver: async msg => { calls++; return { reply: msg.text === 'big' ? 'z'.repeat(200 * 1024) : 'small' } } }
    })
    try {
      const [a, b] = net.meshes
      assert.ok(a !== undefined && b !== undefined)
      await b.announce('agent:main:main')
      await waitForResolvable(a, 'gateway:gw1:agent:main:main')
      await assert.rejects(a.send('gateway:gw1:agent:main:main', 'big', { timeoutMs: 15_000 }), { code: 'TOO_LARGE', remote: true })
      assert.equal(calls, 1)
      assert.equal((await a.send('gateway:gw1:agent:main:main', 'again')).reply, 'small')
    } finally {
      await net.stop()
    }
  })

  it('fire-and-forget is accepted only once the handler has taken the message', async () => {
    const net = await createTestMeshes(2, { options: i => i === 1 ? { deliver: async msg => { if (msg.text === 'refuse') throw new Error('queue is full'); return {} } } : {} })
    try {
      const [a, b] = net.meshes
      assert.ok(a !== undefined && b !== undefined)
      await b.announce('agent:main:main')
      await waitForResolvable(a, 'gateway:gw1:agent:main:main')
      await assert.rejects(a.send('gateway:gw1:agent:main:main', 'refuse', { waitForReply: false }), { code: 'REMOTE_ERROR', remote: true })
      assert.equal((await a.send('gateway:gw1:agent:main:main', 'take it', { waitForReply: false })).status, 'accepted')
    } finally {
      await net.stop()
    }
  })

  it('an address a member announces but was never reached at is not dialled', async () => {
    // A trap: a plain TCP listener standing in for a service on this host that the member wants us to hit.
    const hits: Socket[] = []
    const trap = createServer(socket => { hits.push(socket); socket.destroy() })
    await new Promise<void>(resolve => { trap.listen(0, '127.0.0.1', resolve) })
    const trapPort = (trap.address() as { port: number }).port
    // The member is linked only to gw0; gw1 learns of it by relay and must dial to deliver.
    const net = await createTestMeshes(2)
    const raw = await createRawPeer()
    try {
      const [hub, sender] = net.meshes
      assert.ok(hub !== undefined && sender !== undefined)
      const rawId = raw.node.peerId.toString()
      const gateway = { name: 'liar', host: 'another-host', addrs: [`/ip4/127.0.0.1/tcp/${trapPort}`, '/ip4/203.0.113.50/tcp/4001'], maxMessageBytes: 1024 }
      const stream = await raw.open(addressOf(hub), REGISTRY_PROTOCOL)
      await stream.write(encodeFrame.record((await signRecord({ kind: 'snap', origin: rawId, incarnation: 1, seq: 0, chunk: 0, chunks: 1, gateway, entries: [{ sessionKey: 'agent:liar:main' }] }, raw.privateKey)).bytes))
      await waitForResolvable(sender, 'gateway:liar:agent:liar:main')
      await assert.rejects(sender.send('gateway:liar:agent:liar:main', 'hello', { timeoutMs: 10_000 }), { code: 'UNREACHABLE' })
      assert.equal(hits.length, 0, 'the announced loopback port was never dialled')
    } finally {
      await raw.stop()
      await net.stop()
      await new Promise(resolve => { trap.close(resolve) })
    }
  })
})
