import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { connect } from 'node:net'
import { preSharedKey } from '@libp2p/pnet'
import { after, describe, it } from 'node:test'
import xsalsa20 from 'xsalsa20'
import { meshConnectionGater, RejectionRecorder } from '../../src/security/gater.ts'
import { meshProtector, type ProtectorRejectEvent } from '../../src/security/protector.ts'
import { KeystreamExhaustedError, XSalsa20Stream } from '../../src/security/xsalsa20.ts'
import { generateSecret, parseSecret } from '../../src/security/secret.ts'
import { createTestNode, waitFor } from '../helpers/libp2p.ts'
import type { Libp2p } from '@libp2p/interface'

const nodes: Libp2p[] = []
after(async () => { await Promise.all(nodes.map(async n => { await n.stop() })) })
async function track<T extends Libp2p> (p: Promise<T>): Promise<T> { const n = await p; nodes.push(n); return n }

function recorderWithEvents (): { recorder: RejectionRecorder, events: EventTarget } {
  const events = new EventTarget()
  const recorder = new RejectionRecorder({ onRejected: (r) => events.dispatchEvent(new CustomEvent('rejected', { detail: r })) })
  return { recorder, events }
}

void describe('mesh secret protector', () => {
  void it('members with the same secret connect; it interoperates with @libp2p/pnet', async () => {
    const secret = parseSecret(generateSecret())
    const a = await track(createTestNode({ protector: meshProtector({ secret }) }))
    const b = await track(createTestNode({ protector: meshProtector({ secret }) }))
    const c = await track(createTestNode({ protector: preSharedKey({ psk: secret.swarmKey }) }))
    await a.dial(b.getMultiaddrs()[0]!)
    await c.dial(a.getMultiaddrs()[0]!)
    await a.dial(c.getMultiaddrs()[0]!)
    assert.equal(a.getConnections(b.peerId).length, 1)
    assert.ok(a.getConnections(c.peerId).length >= 1)
  })

  void it('a different secret fails at once with WrongSecretError, and both sides record why', async () => {
    const ra = recorderWithEvents()
    const rb = recorderWithEvents()
    const seenA: ProtectorRejectEvent[] = []
    const a = await track(createTestNode({ protector: meshProtector({ secret: parseSecret(generateSecret()), onReject: (e) => { seenA.push(e); ra.recorder.record({ kind: e.kind, address: e.address, reason: e.reason }) } }) }))
    const b = await track(createTestNode({ protector: meshProtector({ secret: parseSecret(generateSecret()), onReject: (e) => rb.recorder.record({ kind: e.kind, address: e.address, reason: e.reason }) }) }))
    const started = performance.now()
    await assert.rejects(a.dial(b.getMultiaddrs()[0]!, { signal: AbortSignal.timeout(20_000) }), (err: Error) => {
      // The upgrader may wrap our error; the cause chain or the message names it.
      const text = `${err.name} ${err.message} ${String((err as { cause?: unknown }).cause)}`
      return /WrongSecretError|different mesh secret/.test(text) || err.name === 'EncryptionFailedError'
    })
    const elapsed = performance.now() - started
    await waitFor(() => rb.recorder.list().length > 0, rb.events, ['rejected'], 10_000, 'the listener to record the refusal')
    assert.equal(seenA[0]?.kind, 'wrong-secret')
    assert.equal(seenA[0]?.direction, 'outbound')
    assert.equal(rb.recorder.list()[0]?.kind, 'wrong-secret')
    assert.equal(a.getConnections().length + b.getConnections().length, 0)
    // Not a timed assertion of the test's own speed: the point of the protector is that this is not the ~6 s upgrade timeout.
    assert.ok(elapsed < 5_000, `refused in ${Math.round(elapsed)} ms, not after an upgrade timeout`)
  })

  void it('a stranger that sends a nonce and then nothing is hung up on after proofTimeoutMs, not after libp2p\'s longer upgrade timeout', async () => {
    const r = recorderWithEvents()
    const a = await track(createTestNode({ protector: meshProtector({ secret: parseSecret(generateSecret()), proofTimeoutMs: 300, onReject: (e) => r.recorder.record({ kind: e.kind, address: e.address, reason: e.reason }) }) }))
    const port = Number(a.getMultiaddrs()[0]!.getComponents().find(c => c.name === 'tcp')?.value)
    for (const sends of [randomBytes(24), Buffer.alloc(0)]) { // a nonce and silence; silence from the start
      const socket = connect(port, '127.0.0.1')
      socket.on('error', () => {})
      socket.write(sends)
      // libp2p's own inbound upgrade timeout here is 10 s: the socket must close well before it.
      const closed = await Promise.race([new Promise(resolve => { socket.on('close', () => { resolve(true) }) }), new Promise(resolve => { setTimeout(resolve, 5_000, false) })])
      socket.destroy()
      assert.equal(closed, true, 'the listener hung up on the silent stranger')
    }
    await waitFor(() => r.recorder.list().some(x => /sent nothing valid/.test(x.reason)), r.events, ['rejected'], 5_000, 'the refusal to be recorded')
  })

  void it('a peer with no secret at all is refused as no-secret', async () => {
    const r = recorderWithEvents()
    const a = await track(createTestNode({ protector: meshProtector({ secret: parseSecret(generateSecret()), onReject: (e) => r.recorder.record({ kind: e.kind, address: e.address, reason: e.reason }) }) }))
    const plain = await track(createTestNode())
    await assert.rejects(plain.dial(a.getMultiaddrs()[0]!, { signal: AbortSignal.timeout(20_000) }))
    await waitFor(() => r.recorder.list().length > 0, r.events, ['rejected'], 10_000, 'the member to record the refusal')
    assert.equal(r.recorder.list()[0]?.kind, 'no-secret')
  })
})

void describe('allowlist gater and rejection recorder', () => {
  void it('only allowlisted peers connect; the refusal is recorded with the peer ID', async () => {
    const secret = parseSecret(generateSecret())
    const friend = await track(createTestNode({ protector: meshProtector({ secret }) }))
    const stranger = await track(createTestNode({ protector: meshProtector({ secret }) }))
    const r = recorderWithEvents()
    const gater = meshConnectionGater({ allow: [friend.peerId.toString()], recorder: r.recorder })
    const guarded = await track(createTestNode({ protector: meshProtector({ secret }), gater }))
    await friend.dial(guarded.getMultiaddrs()[0]!)
    // The stranger's dial may even resolve (its muxer negotiation is optimistic) before the refusal closes it.
    await stranger.dial(guarded.getMultiaddrs()[0]!, { signal: AbortSignal.timeout(10_000) }).catch(() => {})
    await waitFor(() => r.recorder.list().length > 0, r.events, ['rejected'], 10_000, 'the refusal')
    await waitFor(() => stranger.getConnections(guarded.peerId).length === 0, stranger, ['connection:close'], 10_000, 'the stranger to be disconnected')
    const [rej] = r.recorder.toStatus()
    assert.equal(rej?.peerId, stranger.peerId.toString())
    assert.equal(r.recorder.list()[0]?.kind, 'not-allowed')
    assert.equal(guarded.getConnections(stranger.peerId).length, 0)
    assert.equal(guarded.getConnections(friend.peerId).length, 1)
    // Outbound too: the guarded node will not dial the stranger.
    await assert.rejects(guarded.dial(stranger.getMultiaddrs()[0]!, { signal: AbortSignal.timeout(10_000) }))
    assert.equal(gater.isAllowed(stranger.peerId), false)
    assert.equal(meshConnectionGater().isAllowed(stranger.peerId), true, 'no allowlist: every member allowed')
  })

  void it('folds repeats of the same refusal, keeps the newest last and bounds memory', () => {
    let t = 1000
    const seen: number[] = []
    const rec = new RejectionRecorder({ now: () => t, maxKept: 3, onRejected: (r) => seen.push(r.count) })
    rec.record({ kind: 'wrong-secret', address: '/ip4/10.0.0.1/tcp/1111', reason: 'x' })
    t++
    rec.record({ kind: 'wrong-secret', address: '/ip4/10.0.0.1/tcp/2222', reason: 'x' })
    assert.equal(rec.list().length, 1, 'a new source port is the same stranger')
    assert.equal(rec.list()[0]?.count, 2)
    for (const id of ['p1', 'p2', 'p3']) { t++; rec.record({ kind: 'bad-signature', peerId: id, reason: 'sig' }) }
    assert.deepEqual(rec.list().map(r => r.peerId), ['p1', 'p2', 'p3'])
    t++
    rec.record({ kind: 'bad-signature', peerId: 'p1', reason: 'sig' })
    assert.deepEqual(rec.list().map(r => r.peerId), ['p2', 'p3', 'p1'])
    assert.deepEqual(seen, [1, 2, 1, 1, 1, 2])
  })
})

void describe('the protector\'s XSalsa20 stream', () => {
  void it('gives the bytes of the xsalsa20 package (what @libp2p/pnet uses) for any split of the stream, aligned or not', () => {
    for (let trial = 0; trial < 20; trial++) {
      const key = randomBytes(32)
      const nonce = randomBytes(24)
      const reference = xsalsa20(nonce, key)
      const ours = new XSalsa20Stream(nonce, key)
      for (let piece = 0; piece < 200; piece++) {
        const length = piece % 17 === 0 ? 5_000 + (piece * 7919) % 70_000 : (piece * 131) % 300
        const offset = piece % 4
        const data = new Uint8Array(randomBytes(length + offset).buffer, offset, length)
        assert.deepEqual(ours.update(data), reference.update(data), `trial ${trial}, piece ${piece} (${length} bytes at offset ${offset})`)
      }
      reference.finalize()
    }
  })

  void it('refuses to run past its 32-bit block counter instead of repeating keystream', () => {
    const stream = new XSalsa20Stream(randomBytes(24), randomBytes(32))
    ;(stream as unknown as { block: number }).block = 2 ** 32 - 1 - 4
    // The first piece makes its 4 blocks of keystream ahead, the last ones the counter allows.
    stream.update(new Uint8Array(64))
    assert.throws(() => stream.update(new Uint8Array(64 * 64)), KeystreamExhaustedError)
  })

  void it('is unusable once destroyed (the connection closed and its keys were wiped)', () => {
    const stream = new XSalsa20Stream(randomBytes(24), randomBytes(32))
    stream.destroy()
    assert.throws(() => stream.update(new Uint8Array(1)))
  })
})
