// Delivery: limits, timeouts, remote errors, cancellation and exactly-once retries.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { DELIVER_PROTOCOL, REGISTRY_PROTOCOL, type InboundMessage } from '../../src/index.ts'
import { encodeFrame } from '../../src/gossip/wire.ts'
import { signRecord } from '../../src/registry/records.ts'
import { addressOf, createTestMeshes, waitForResolvable, waitUntil } from '../../src/testing.ts'
import { answerOf, requestFrame } from '../helpers/deliver-frames.ts'
import { createRawPeer } from '../helpers/raw-peer.ts'

describe('delivery', () => {
  it('refuses a 2 MiB message with TOO_LARGE, and both nodes keep working', async () => {
    const net = await createTestMeshes(2, { options: i => ({ deliver: async msg => ({ reply: `${i}:${msg.text.length}` }) }) })
    try {
      const [a, b] = net.meshes
      assert.ok(a !== undefined && b !== undefined)
      await b.announce('agent:main:main')
      await waitForResolvable(a, 'gateway:gw1:agent:main:main')
      await assert.rejects(a.send('gateway:gw1:agent:main:main', 'x'.repeat(2 * 1024 * 1024)), { code: 'TOO_LARGE' })
      assert.equal((await a.send('gateway:gw1:agent:main:main', 'still here')).reply, '1:10')
      // A sender allowing larger messages is held to the owner's advertised limit.
      const big = await net.add({ name: 'big', maxMessageBytes: 4 * 1024 * 1024 })
      await waitForResolvable(big, 'gateway:gw1:agent:main:main')
      await assert.rejects(big.send('gateway:gw1:agent:main:main', 'y'.repeat(1024 * 1024 + 1)), { code: 'TOO_LARGE' })
      assert.equal((await big.send('gateway:gw1:agent:main:main', 'y'.repeat(1000 * 1000))).reply, '1:1000000')
    } finally {
      await net.stop()
    }
  })

  it('gives the sender TIMEOUT when the handler is slow, aborts the handler, and keeps serving', async () => {
    let aborted = 0
    const net = await createTestMeshes(2, {
      options: () => ({
        deliver: async (msg, { signal }) => {
          if (msg.text !== 'slow') return { reply: 'fast' }
          await new Promise<void>(resolve => { signal.addEventListener('abort', () => { aborted++; resolve() }, { once: true }) })
          return { reply: 'too late' }
        }
      })
    })
    try {
      const [a, b] = net.meshes
      assert.ok(a !== undefined && b !== undefined)
      await b.announce('agent:main:main')
      await waitForResolvable(a, 'gateway:gw1:agent:main:main')
      await assert.rejects(a.send('gateway:gw1:agent:main:main', 'slow', { timeoutMs: 300 }), { code: 'TIMEOUT' })
      await waitUntil(b, () => aborted === 1)
      assert.equal((await a.send('gateway:gw1:agent:main:main', 'quick')).reply, 'fast')
    } finally {
      await net.stop()
    }
  })

  it('reports acceptance through onAccepted before the reply, once, also when the reply is the acceptance', async () => {
    let release: () => void = () => {}
    const held = new Promise<void>(resolve => { release = resolve })
    const net = await createTestMeshes(2, {
      options: () => ({
        deliver: async (msg, { accept }) => {
          if (msg.text === 'slow') {
            accept()
            await held
          }
          return { reply: `re:${msg.text}` }
        }
      })
    })
    try {
      const [a, b] = net.meshes
      assert.ok(a !== undefined && b !== undefined)
      await b.announce('agent:main:main')
      await waitForResolvable(a, 'gateway:gw1:agent:main:main')
      let accepted = 0
      const sending = a.send('gateway:gw1:agent:main:main', 'slow', { onAccepted: () => { accepted++ } })
      await waitUntil(a, () => accepted === 1)
      release()
      assert.equal((await sending).reply, 're:slow')
      assert.equal(accepted, 1)
      // A handler that never calls accept(): its reply is the acceptance.
      let quick = 0
      assert.equal((await a.send('gateway:gw1:agent:main:main', 'quick', { onAccepted: () => { quick++ } })).reply, 're:quick')
      assert.equal(quick, 1)
      // A refused message is never reported as accepted; a throwing callback breaks nothing.
      let refused = 0
      await assert.rejects(a.send('gateway:gw1:agent:main:nope', 'x', { onAccepted: () => { refused++ } }), { code: 'NOT_FOUND' })
      assert.equal(refused, 0)
      const r = await a.send('gateway:gw1:agent:main:main', 'again', { onAccepted: () => { throw new Error('caller bug') } })
      assert.equal(r.reply, 're:again')
    } finally {
      release()
      await net.stop()
    }
  })

  it('turns a throwing handler into a typed remote error on the sender', async () => {
    const net = await createTestMeshes(2, { options: () => ({ deliver: async () => { throw new Error('agent crashed') } }) })
    try {
      const [a, b] = net.meshes
      assert.ok(a !== undefined && b !== undefined)
      await b.announce('agent:main:main')
      await waitForResolvable(a, 'gateway:gw1:agent:main:main')
      await assert.rejects(a.send('gateway:gw1:agent:main:main', 'boom'), (err: { name: string, code: string, remote: boolean, gateway: string, message: string }) => {
        assert.equal(err.name, 'MeshError')
        assert.equal(err.code, 'REMOTE_ERROR')
        assert.equal(err.remote, true)
        assert.equal(err.gateway, 'gw1')
        assert.match(err.message, /agent crashed/)
        return true
      })
    } finally {
      await net.stop()
    }
  })

  it('honours an AbortSignal with ABORTED and tells the receiver', async () => {
    let cancelled = false
    const net = await createTestMeshes(2, {
      options: () => ({
        deliver: async (_msg, { signal }) => {
          await new Promise<void>(resolve => { signal.addEventListener('abort', () => { cancelled = true; resolve() }, { once: true }) })
          return {}
        }
      })
    })
    try {
      const [a, b] = net.meshes
      assert.ok(a !== undefined && b !== undefined)
      await b.announce('agent:main:main')
      await waitForResolvable(a, 'gateway:gw1:agent:main:main')
      const controller = new AbortController()
      const sent = a.send('gateway:gw1:agent:main:main', 'wait', { signal: controller.signal })
      await waitUntil(b, () => b.status().counters.received === 1)
      controller.abort()
      await assert.rejects(sent, { code: 'ABORTED' })
      await waitUntil(b, () => cancelled)
    } finally {
      await net.stop()
    }
  })

  it('enforces the inbound policy before delivering: FORBIDDEN names the rule', async () => {
    const delivered: string[] = []
    const net = await createTestMeshes(2, {
      options: i => i === 1
        ? { deliver: async msg => { delivered.push(msg.sessionKey); return { reply: 'ok' } }, policy: { deny: [{ from: 'gw0', sessionKey: 'agent:private:*' }] } }
        : {}
    })
    try {
      const [a, b] = net.meshes
      assert.ok(a !== undefined && b !== undefined)
      await b.announce('agent:private:main')
      await b.announce('agent:main:main')
      await waitForResolvable(a, 'agent:private:main')
      await waitForResolvable(a, 'gateway:gw1:agent:main:main')
      await assert.rejects(a.send('agent:private:main', 'let me in'), { code: 'FORBIDDEN' })
      assert.equal((await a.send('gateway:gw1:agent:main:main', 'hi')).reply, 'ok')
      assert.deepEqual(delivered, ['agent:main:main'])
    } finally {
      await net.stop()
    }
  })

  it('retries after a dropped connection and delivers exactly once', async () => {
    const deliveries: InboundMessage[] = []
    let release: (() => void) | undefined
    const net = await createTestMeshes(2, {
      options: i => i === 1
        ? {
            deliver: async msg => {
              deliveries.push(msg)
              // Hold the first message until the test has cut the connection.
              if (deliveries.length === 1) await new Promise<void>(resolve => { release = resolve })
              return { reply: `done ${msg.text}` }
            }
          }
        : {}
    })
    try {
      const [a, b] = net.meshes
      assert.ok(a !== undefined && b !== undefined)
      await b.announce('agent:main:main')
      await waitForResolvable(a, 'gateway:gw1:agent:main:main')
      const sent = a.send('gateway:gw1:agent:main:main', 'once', { timeoutMs: 20_000 })
      await waitUntil(b, () => deliveries.length === 1)
      // Cut every connection between the two while the message is in the handler.
      for (const connection of a.libp2p.getConnections()) connection.abort(new Error('cable pulled'))
      await waitUntil(a, () => a.libp2p.getConnections(b.libp2p.peerId).length > 0 || a.status().counters.failed > 0)
      release?.()
      const result = await sent
      assert.equal(result.reply, 'done once')
      assert.equal(deliveries.length, 1)
      assert.equal(b.status().counters.duplicates >= 1, true)
      // The same message ID sent again is answered from the dedup window, not delivered.
      const again = await a.send('gateway:gw1:agent:main:main', 'once', { messageId: result.messageId })
      assert.equal(again.reply, 'done once')
      assert.equal(deliveries.length, 1)
    } finally {
      await net.stop()
    }
  })

  it('ignores a forged registry record and accepts a genuine one from the same peer', async () => {
    const net = await createTestMeshes(2)
    const raw = await createRawPeer()
    try {
      const [a, b] = net.meshes
      assert.ok(a !== undefined && b !== undefined)
      await b.announce('agent:main:main')
      await waitForResolvable(a, 'gateway:gw1:agent:main:main')
      const rawId = raw.node.peerId.toString()
      const gateway = { name: 'raw', host: 'raw', addrs: [], maxMessageBytes: 1024 }
      const stream = await raw.open(addressOf(a), REGISTRY_PROTOCOL)
      // Claims to be B (a new incarnation that would replace B's sessions), signed with the raw peer's key.
      const forged = await signRecord({ kind: 'snap', origin: b.peerId, incarnation: Date.now() + 1e9, seq: 1, chunk: 0, chunks: 1, gateway, entries: [{ sessionKey: 'agent:evil:main' }] }, raw.privateKey)
      await stream.write(encodeFrame.record(forged.bytes))
      // A genuine record of the raw peer's own: proves the stream works, so the forgery was judged.
      const genuine = await signRecord({ kind: 'snap', origin: rawId, incarnation: 1, seq: 0, chunk: 0, chunks: 1, gateway, entries: [{ sessionKey: 'agent:raw:main' }] }, raw.privateKey)
      await stream.write(encodeFrame.record(genuine.bytes))
      await waitForResolvable(a, 'agent:raw:main')
      assert.equal(a.status().counters.deltasRejected, 1)
      assert.match(a.status().rejected[0]?.reason ?? '', /bad signature/)
      assert.throws(() => a.resolve('agent:evil:main'), { code: 'NOT_FOUND' })
      assert.equal(a.resolve('gateway:gw1:agent:main:main').owner.peerId, b.peerId)
    } finally {
      await raw.stop()
      await net.stop()
    }
  })

  it('answers malformed deliver frames with BAD_REQUEST and keeps the stream usable', async () => {
    const net = await createTestMeshes(1, { options: () => ({ deliver: async msg => ({ reply: msg.text }) }) })
    const raw = await createRawPeer()
    try {
      const [a] = net.meshes
      assert.ok(a !== undefined)
      await a.announce('agent:main:main')
      const stream = await raw.open(addressOf(a), DELIVER_PROTOCOL)
      await stream.write(requestFrame({ id: 'm1', to: '' }))
      const refused = answerOf(await stream.read())
      assert.deepEqual({ id: refused.id, status: refused.status }, { id: 'm1', status: 'BAD_REQUEST' })
      await stream.write(requestFrame({ id: 'm2', metaJson: '"not an object"' }))
      assert.equal(answerOf(await stream.read()).status, 'BAD_REQUEST')
      await stream.write(requestFrame({ id: 'm3', text: 'fine' }))
      // A handler that answers at once: the reply alone, no ACCEPTED before it.
      assert.deepEqual(answerOf(await stream.read()), { id: 'm3', status: 'OK', reply: 'fine' })
      // Fire-and-forget gets ACCEPTED once the handler has taken the message.
      await stream.write(requestFrame({ id: 'm4', text: 'ff', wait: false }))
      assert.deepEqual(answerOf(await stream.read()), { id: 'm4', status: 'ACCEPTED' })
    } finally {
      await raw.stop()
      await net.stop()
    }
  })
})

describe('delivery limits on replies', () => {
  it('refuses to return a reply larger than the limit: TOO_LARGE, no retry loop', async () => {
    let calls = 0
    const net = await createTestMeshes(2, { options: () => ({ maxMessageBytes: 1024, deliver: async () => { calls++; return { reply: 'z'.repeat(2048) } } }) })
    try {
      const [a, b] = net.meshes
      assert.ok(a !== undefined && b !== undefined)
      await b.announce('agent:main:main')
      await waitForResolvable(a, 'gateway:gw1:agent:main:main')
      await assert.rejects(a.send('gateway:gw1:agent:main:main', 'huge answer please'), { code: 'TOO_LARGE', remote: true })
      assert.equal(calls, 1)
    } finally {
      await net.stop()
    }
  })
})
