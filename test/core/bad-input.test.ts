// Bad input from a member: a raw libp2p peer that holds the mesh secret and speaks our protocols by hand.
// Every case ends in a clear error or a dropped stream, and the Gateway keeps serving honest peers.
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { after, before, describe, it } from 'node:test'
import { getHeapStatistics } from 'node:v8'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { DELIVER_PROTOCOL, REGISTRY_PROTOCOL, type Mesh } from '../../src/index.ts'
import { encodeFrame } from '../../src/gossip/wire.ts'
import { Frame, RecordBody, SignedRecord } from '../../src/pb/registry.js'
import { signRecord, type GatewayMeta } from '../../src/registry/records.ts'
import { addressOf, createTestMeshes, waitForResolvable, waitUntil, type TestNetwork } from '../../src/testing.ts'
import { answerOf, requestFrame } from '../helpers/deliver-frames.ts'
import { createRawPeer, type RawPeer } from '../helpers/raw-peer.ts'
// The length prefix of every frame: unsigned LEB128.
import { encode as varint } from 'uint8-varint'

const SOAK = process.env.CLAWMESH_SOAK === '1'
const TARGET = 'gateway:gw1:agent:main:main'
const gateway: GatewayMeta = { name: 'raw', host: 'raw', addrs: [], maxMessageBytes: 1024 }
const rawHello = (): Uint8Array => encodeFrame.hello({ protocolVersion: 2, softwareVersion: 'raw', name: 'raw', digest: new Map(), links: new Set() })

describe('bad input from a member', () => {
  let net: TestNetwork
  let a: Mesh
  let b: Mesh
  let raw: RawPeer
  let honest = 0

  /** The honest path: A sends to B's session and gets B's reply. */
  const honestSendWorks = async (): Promise<void> => {
    const text = `honest ${++honest}`
    assert.equal((await a.send(TARGET, text, { timeoutMs: 20_000 })).reply, `b: ${text}`)
  }

  /** The raw peer's stream was dropped: reading from it fails or ends. */
  const dropped = async (stream: Awaited<ReturnType<RawPeer['open']>>): Promise<void> => {
    await assert.rejects(stream.read({ signal: AbortSignal.timeout(20_000) }), (err: Error) => err.name !== 'AbortError' && err.name !== 'TimeoutError')
  }

  /** Reads answers until the final one (OK or an error) for `id`; ACCEPTED may come first. */
  const finalAnswer = async (stream: Awaited<ReturnType<RawPeer['open']>>, id: string): Promise<ReturnType<typeof answerOf>> => {
    for (;;) {
      const answer = answerOf(await stream.read({ signal: AbortSignal.timeout(20_000) }))
      if (answer.id === id && answer.status !== 'ACCEPTED') return answer
    }
  }

  before(async () => {
    net = await createTestMeshes(2, { options: i => ({ deliver: async msg => ({ reply: `${i === 1 ? 'b' : 'a'}: ${msg.text}` }) }) })
    ;[a, b] = net.meshes as [Mesh, Mesh]
    await b.announce('agent:main:main')
    await waitForResolvable(a, TARGET)
    raw = await createRawPeer()
  })

  after(async () => {
    await raw.stop()
    await net.stop()
  })

  describe('deliver protocol', () => {
    it('random bytes in frames: no answer without an ID, the stream stays usable', async () => {
      const stream = await raw.open(addressOf(b), DELIVER_PROTOCOL)
      for (let i = 0; i < 200; i++) await stream.write(randomBytes(1 + (i * 37) % 500))
      await stream.write(requestFrame({ id: 'after-noise' }))
      assert.deepEqual(await finalAnswer(stream, 'after-noise'), { id: 'after-noise', status: 'OK', reply: 'b: x' })
      await honestSendWorks()
    })

    it('random bytes without framing: the stream is reset', async () => {
      const stream = await raw.open(addressOf(b), DELIVER_PROTOCOL)
      // 0xff... reads as a length prefix far past the limit.
      stream.unwrap().send(Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0x7f, ...randomBytes(64)]))
      await dropped(stream)
      await honestSendWorks()
    })

    it('an oversized length prefix (1 GiB) resets the stream without allocating it', async () => {
      const heapBefore = getHeapStatistics().used_heap_size
      const stream = await raw.open(addressOf(b), DELIVER_PROTOCOL)
      stream.unwrap().send(varint(1024 * 1024 * 1024))
      stream.unwrap().send(randomBytes(1024))
      await dropped(stream)
      assert.ok(getHeapStatistics().used_heap_size - heapBefore < 256 * 1024 * 1024, 'nothing near 1 GiB was allocated')
      await honestSendWorks()
    })

    it('a truncated frame followed by the end of the stream: the stream ends, nothing is delivered', async () => {
      const received = b.status().counters.received
      const stream = await raw.open(addressOf(b), DELIVER_PROTOCOL)
      const frame = requestFrame({ id: 'cut', text: 'cut short' })
      stream.unwrap().send(varint(frame.length))
      stream.unwrap().send(frame.subarray(0, frame.length - 10))
      await stream.unwrap().close()
      await dropped(stream)
      assert.equal(b.status().counters.received, received)
      await honestSendWorks()
    })

    it('fields out of bounds: BAD_REQUEST or TOO_LARGE per request, the stream stays usable', async () => {
      const stream = await raw.open(addressOf(b), DELIVER_PROTOCOL)
      const bad = [
        requestFrame({ id: 'b1', to: '' }),
        requestFrame({ id: 'b2', to: 'k'.repeat(1025) }),
        requestFrame({ id: 'b3', metaJson: '[1, 2]' }),
        requestFrame({ id: 'b4', metaJson: JSON.stringify({ big: 'm'.repeat(20_000) }) }),
        requestFrame({ id: 'b5', metaJson: 'not json' }),
        requestFrame({ id: 'b6', fromSessionKey: 's'.repeat(1025) }),
        requestFrame({ id: 'b7', text: 'x'.repeat(1024 * 1024 + 1) })
      ]
      for (const frame of bad) await stream.write(frame)
      const answers = new Map<string, string>()
      for (let i = 0; i < bad.length; i++) {
        const answer = answerOf(await stream.read())
        answers.set(answer.id, answer.status)
      }
      for (let i = 1; i <= bad.length; i++) {
        assert.ok(['BAD_REQUEST', 'TOO_LARGE'].includes(answers.get(`b${i}`) ?? ''), `b${i}: ${answers.get(`b${i}`)}`)
      }
      // Frames that name no request (an ID out of bounds, both request and cancel) get no answer and break nothing.
      await stream.write(requestFrame({ id: 'i'.repeat(129) }))
      await stream.write(requestFrame({ id: '' }))
      await stream.write(requestFrame({ id: 'fine' }))
      assert.deepEqual(await finalAnswer(stream, 'fine'), { id: 'fine', status: 'OK', reply: 'b: x' })
      await honestSendWorks()
    })

    it('slow-loris: streams that never finish a frame do not hold up anyone else', async () => {
      const streams = await Promise.all(Array.from({ length: 8 }, async () => await raw.open(addressOf(b), DELIVER_PROTOCOL)))
      for (const stream of streams) {
        stream.unwrap().send(varint(100_000))
        stream.unwrap().send(randomBytes(10))
      }
      // A byte now and then, never the whole frame.
      for (let i = 0; i < 5; i++) {
        for (const stream of streams) stream.unwrap().send(randomBytes(1))
        await honestSendWorks()
      }
      for (const stream of streams) stream.unwrap().abort(new Error('done'))
    })

    it('thousands of stream opens: past the per-connection limit they are refused, and the Gateway keeps serving', async () => {
      const attempts = SOAK ? 10_000 : 1_000
      const connection = await raw.node.dial(multiaddr(addressOf(b)))
      const opened = await Promise.allSettled(Array.from({ length: attempts }, async () =>
        await connection.newStream(DELIVER_PROTOCOL, { maxOutboundStreams: attempts + 1, signal: AbortSignal.timeout(30_000) })))
      const ok = opened.filter(o => o.status === 'fulfilled')
      // Each side counts its own open streams; only 16 deliver streams per connection are read at once.
      await honestSendWorks()
      for (const o of ok) o.value.abort(new Error('done'))
      assert.ok(ok.length < attempts, `${ok.length} of ${attempts} opened: the limit held`)
      await honestSendWorks()
    })

    it('thousands of requests on one stream with a handler that never answers: back-pressure, then the honest peer is served', async () => {
      let release: () => void = () => {}
      const gate = new Promise<void>(resolve => { release = resolve })
      b.setDeliverHandler(async (msg, { signal }) => {
        if (msg.from.peerId === raw.node.peerId.toString()) await Promise.race([gate, new Promise(resolve => { signal.addEventListener('abort', resolve) })])
        return { reply: `b: ${msg.text}` }
      })
      try {
        const stream = await raw.open(addressOf(b), DELIVER_PROTOCOL)
        const count = SOAK ? 20_000 : 2_000
        const writing = (async () => {
          for (let i = 0; i < count; i++) {
            await stream.write(requestFrame({ id: `flood-${i}`, ttlMs: 60_000 }))
          }
        })()
        await waitUntil(b, () => b.status().counters.received >= 256)
        await honestSendWorks()
        release()
        await writing
        stream.unwrap().abort(new Error('done'))
      } finally {
        release()
        b.setDeliverHandler(async msg => ({ reply: `b: ${msg.text}` }))
      }
      await honestSendWorks()
    })
  })

  describe('registry protocol', () => {
    it('random bytes, unknown frame types, wrong types and bad records: ignored or refused, the registry intact', async () => {
      const rawId = raw.node.peerId.toString()
      const notAPeerId = Uint8Array.from([1, 2, 3])
      // A frame that is not protobuf, or names an origin that is not a peer ID: the stream is dropped.
      const badControl = [
        Uint8Array.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]),
        Frame.encode({ record: new Uint8Array(0), hello: { protocolVersion: 2, softwareVersion: 'x', name: 'raw', links: [notAPeerId], linkIncarnations: [] } }),
        Frame.encode({ record: new Uint8Array(0), digest: { origins: [{ origin: notAPeerId, incarnation: 1, seq: 1, departed: false }], reply: false } }),
        Frame.encode({ record: new Uint8Array(0), down: { origin: notAPeerId, incarnation: 1, seq: 0 } }),
        Frame.encode({ record: new Uint8Array(0), heartbeat: { digestHash: randomBytes(200) } })
      ]
      for (const frame of badControl) {
        const stream = await raw.open(addressOf(a), REGISTRY_PROTOCOL)
        await stream.write(frame)
        await dropped(stream)
      }
      await honestSendWorks()
      const stream = await raw.open(addressOf(a), REGISTRY_PROTOCOL)
      const before = a.sessions().length
      await stream.write(encodeFrame.hello({ protocolVersion: 2, softwareVersion: 'raw', name: 'raw', digest: new Map(), links: new Set() }))
      // A frame kind from the future (field 15), and an empty frame: ignored.
      await stream.write(Uint8Array.from([0x7a, 0x01, 0x00]))
      await stream.write(new Uint8Array(0))
      await stream.write(encodeFrame.record(randomBytes(100)))
      await stream.write(encodeFrame.record(SignedRecord.encode({ body: randomBytes(300), signature: randomBytes(64) })))
      const origin = peerIdFromString(rawId).toMultihash().bytes
      // Signed, but not a valid record body: unknown kind, incarnation 0, a snapshot without its gateway, a packed UUID of 3 bytes.
      const base = { origin, incarnation: 1, seq: 0, base: 0, chunk: 0, chunks: 1, entries: [] }
      const gw = { name: 'raw', host: 'raw', addrs: [], maxMessageBytes: 1024 }
      for (const body of [
        { ...base, kind: RecordBody.Kind.KIND_UNSPECIFIED },
        { ...base, kind: RecordBody.Kind.SNAPSHOT, incarnation: 0, gateway: gw },
        { ...base, kind: RecordBody.Kind.SNAPSHOT },
        { ...base, kind: RecordBody.Kind.SNAPSHOT, gateway: gw, entries: [{ key: 'k', agentIsKeyAgent: false, removed: false, sessionUuid: Uint8Array.from([1, 2, 3]) }] }
      ]) {
        const encoded = RecordBody.encode(body)
        await stream.write(encodeFrame.record(SignedRecord.encode({ body: encoded, signature: await raw.privateKey.sign(encoded) })))
      }
      // A genuine record last: once it is in, every frame before it was judged.
      const genuine = await signRecord({ kind: 'snap', origin: rawId, incarnation: 1, seq: 0, chunk: 0, chunks: 1, gateway, entries: [{ sessionKey: 'agent:raw:one' }] }, raw.privateKey)
      await stream.write(encodeFrame.record(genuine.bytes))
      await waitForResolvable(a, 'agent:raw:one')
      assert.equal(a.sessions().length, before + 1)
      assert.ok(a.status().counters.deltasRejected >= 6)
      await honestSendWorks()
    })

    it('forged, replayed and foreign-origin deltas change nothing', async () => {
      const rawId = raw.node.peerId.toString()
      const stream = await raw.open(addressOf(a), REGISTRY_PROTOCOL)
      await stream.write(rawHello())
      const incarnation = 1000
      await stream.write(encodeFrame.record((await signRecord({ kind: 'snap', origin: rawId, incarnation, seq: 0, chunk: 0, chunks: 1, gateway, entries: [] }, raw.privateKey)).bytes))
      const d1 = await signRecord({ kind: 'delta', origin: rawId, incarnation, base: 0, seq: 1, changes: [{ sessionKey: 'agent:raw:replayed' }] }, raw.privateKey)
      await stream.write(encodeFrame.record(d1.bytes))
      await waitForResolvable(a, 'agent:raw:replayed')
      const d2 = await signRecord({ kind: 'delta', origin: rawId, incarnation, base: 1, seq: 2, changes: [{ sessionKey: 'agent:raw:replayed', removed: true }] }, raw.privateKey)
      await stream.write(encodeFrame.record(d2.bytes))
      await waitUntil(a, () => !a.sessions().some(s => s.sessionKey === 'agent:raw:replayed'))
      const applied = a.status().counters.deltasApplied
      // Replay: the older delta is stale and must not bring the session back.
      await stream.write(encodeFrame.record(d1.bytes))
      // Forged: a delta in B's name (ahead of anything B sent, so it is not dropped as stale unverified), signed by us, withdrawing B's session.
      const forged = await signRecord({ kind: 'delta', origin: b.peerId, incarnation: b.status().incarnation, base: 1e9, seq: 1e9 + 1, changes: [{ sessionKey: 'agent:main:main', removed: true }] }, raw.privateKey)
      const rejected = a.status().counters.deltasRejected
      await stream.write(encodeFrame.record(forged.bytes))
      // Our own origin, claiming B's session key: allowed (two owners), but never displaces B.
      await stream.write(encodeFrame.record((await signRecord({ kind: 'delta', origin: rawId, incarnation, base: 2, seq: 3, changes: [{ sessionKey: 'agent:main:main' }] }, raw.privateKey)).bytes))
      await waitUntil(a, () => a.sessions().some(s => s.sessionKey === 'agent:main:main' && s.owner.peerId === rawId))
      assert.equal(a.status().counters.deltasRejected, rejected + 1, 'the forgery was refused')
      assert.equal(a.status().counters.deltasApplied, applied + 1, 'the replay was not applied, the foreign-key delta was')
      assert.ok(!a.sessions().some(s => s.sessionKey === 'agent:raw:replayed'))
      assert.equal(a.resolve(TARGET).owner.peerId, b.peerId)
      assert.throws(() => a.resolve('agent:main:main', { localFirst: false }), { code: 'AMBIGUOUS' })
      await honestSendWorks()
      // The other member never heard of the forgery either.
      assert.equal(b.resolve(TARGET).owner.self, true)
    })

    it('a flood of deltas is applied in order, relayed, and memory stays bounded', async () => {
      const rawId = raw.node.peerId.toString()
      const stream = await raw.open(addressOf(a), REGISTRY_PROTOCOL)
      const incarnation = 2000
      const count = SOAK ? 50_000 : 3_000
      const heapBefore = getHeapStatistics().used_heap_size
      await stream.write(encodeFrame.record((await signRecord({ kind: 'snap', origin: rawId, incarnation, seq: 0, chunk: 0, chunks: 1, gateway, entries: [] }, raw.privateKey)).bytes))
      for (let seq = 1; seq <= count; seq++) {
        // Announce and withdraw the same few keys over and over (churn without growth).
        const key = `agent:flood:${seq % 10}`
        const changes = seq % 2 === 1 ? [{ sessionKey: key }] : [{ sessionKey: `agent:flood:${(seq - 1) % 10}`, removed: true as const }]
        await stream.write(encodeFrame.record((await signRecord({ kind: 'delta', origin: rawId, incarnation, base: seq - 1, seq, changes }, raw.privateKey)).bytes))
        // The raw peer shares this process's event loop: let I/O run now and then, as a remote sender would,
        // or the Gateway reads nothing until the loop ends and (rightly) hangs up on a peer silent that long.
        if (seq % 200 === 0) await new Promise(resolve => { setImmediate(resolve) })
      }
      await waitUntil(b, () => b.status().gateways >= 3 && JSON.stringify(b.sessions().filter(s => s.owner.peerId === rawId)) === JSON.stringify(a.sessions().filter(s => s.owner.peerId === rawId)), 60_000)
      await waitUntil(a, () => a.status().counters.deltasApplied > 0 && !a.sessions().some(s => s.sessionKey.startsWith('agent:flood:')), 60_000)
      const growth = getHeapStatistics().used_heap_size - heapBefore
      assert.ok(growth < 256 * 1024 * 1024, `heap grew by ${growth} bytes`)
      await honestSendWorks()
    })

    it('a digest naming too many origins drops the stream; the Gateway keeps serving', async () => {
      const stream = await raw.open(addressOf(a), REGISTRY_PROTOCOL)
      const origins = Array.from({ length: 10_001 }, () => ({ origin: randomBytes(38), incarnation: 1, seq: 1, departed: false }))
      await stream.write(Frame.encode({ record: new Uint8Array(0), digest: { origins, reply: false } }))
      await dropped(stream)
      await honestSendWorks()
    })
  })
})
