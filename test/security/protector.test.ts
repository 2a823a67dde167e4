import assert from 'node:assert/strict'
import { preSharedKey } from '@libp2p/pnet'
import { after, describe, it } from 'node:test'
import xsalsa20 from 'xsalsa20'
import { meshConnectionGater, RejectionRecorder } from '../../src/security/gater.ts'
import { meshProtector, xorInChunks, type ProtectorRejectEvent } from '../../src/security/protector.ts'
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

describe('mesh protector cipher', () => {
  it('keeps the shared WebAssembly memory bounded when two ciphers take turns on large buffers', () => {
    const key = new Uint8Array(32)
    const inbound = xsalsa20(new Uint8Array(24).fill(1), key)
    const outbound = xsalsa20(new Uint8Array(24).fill(2), key)
    const data = new Uint8Array(1 << 20).fill(7)
    // Unchunked, this loop makes Memory.grow() throw well before 300 rounds (it took the process down).
    for (let i = 0; i < 300; i++) {
      xorInChunks(inbound, data)
      xorInChunks(outbound, data)
    }
    // And chunking changes nothing on the wire: same bytes as one update on a fresh cipher pair.
    const a = xsalsa20(new Uint8Array(24).fill(3), key)
    const b = xsalsa20(new Uint8Array(24).fill(3), key)
    const big = Uint8Array.from({ length: 100_000 }, (_, i) => i % 251)
    assert.deepEqual(xorInChunks(a, big), b.update(big))
  })
})
