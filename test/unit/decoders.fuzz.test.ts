// Property-based fuzzing of the decoders that see network bytes (the deliver codec's: test/delivery/codec.test.ts): whatever arrives,
// the result is a well-formed value or a MeshError with a wire code, never another exception.
import assert from 'node:assert/strict'
import { before, describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import fc from 'fast-check'
import { MeshError } from '../../src/errors.ts'
import { decodeFrame } from '../../src/gossip/wire.ts'
import { RecordBody, SignedRecord } from '../../src/pb/registry.js'
import { decodeRecord, openRecord, signRecord, type RegistryRecord } from '../../src/registry/records.ts'
import { FramedStream } from '../../src/wire/framed-stream.ts'
import type { PrivateKey, Stream } from '@libp2p/interface'
import { encode as encodeVarint } from 'uint8-varint'

const SOAK = process.env.CLAWMESH_SOAK === '1'
const runs = (n: number): { numRuns: number } => ({ numRuns: SOAK ? n * 20 : n })

/** Passes when `fn` returns, or throws a MeshError whose code is one of `codes`. */
function onlyMeshErrors<T> (fn: () => T, codes: string[] = ['BAD_REQUEST']): T | undefined {
  try {
    return fn()
  } catch (err) {
    assert.ok(err instanceof MeshError, `not a MeshError: ${String(err)}`)
    assert.ok(codes.includes(err.code), `unexpected code ${err.code}`)
    return undefined
  }
}

async function onlyMeshErrorsAsync<T> (fn: () => Promise<T>, codes: string[]): Promise<T | undefined> {
  try {
    return await fn()
  } catch (err) {
    assert.ok(err instanceof MeshError, `not a MeshError: ${String(err)}`)
    assert.ok(codes.includes(err.code), `unexpected code ${err.code}`)
    return undefined
  }
}

describe('registry records', () => {
  let key: PrivateKey
  let origin: string
  let originBytes: Uint8Array
  const gateway = { name: 'g', host: 'h', addrs: ['/ip4/10.0.0.1/tcp/1'], maxMessageBytes: 1024 }

  before(async () => {
    key = await generateKeyPair('Ed25519')
    origin = peerIdFromPrivateKey(key).toString()
    originBytes = peerIdFromPrivateKey(key).toMultihash().bytes
  })

  /** A record body signed by `key`, encoded as on the wire. */
  const signedBytes = async (body: Uint8Array): Promise<Uint8Array> => SignedRecord.encode({ body, signature: await key.sign(body) })

  it('any bytes: BAD_REQUEST or FORBIDDEN, never a record', async () => {
    await fc.assert(fc.asyncProperty(fc.uint8Array({ maxLength: 600 }), async (bytes) => {
      onlyMeshErrors(() => decodeRecord(bytes))
      const opened = await onlyMeshErrorsAsync(async () => await openRecord(bytes), ['BAD_REQUEST', 'FORBIDDEN'])
      assert.equal(opened, undefined)
    }), runs(1000))
  })

  /** Any value a protobuf field of that type can carry, plus what is out of range for it. */
  const entry = fc.record({
    key: fc.string({ maxLength: 40 }),
    keyAgent: fc.option(fc.string({ maxLength: 10 }), { nil: undefined }),
    agentId: fc.option(fc.string({ maxLength: 10 }), { nil: undefined }),
    agentIsKeyAgent: fc.boolean(),
    sessionUuid: fc.option(fc.uint8Array({ maxLength: 20 }), { nil: undefined }),
    sessionId: fc.option(fc.string({ maxLength: 300 }), { nil: undefined }),
    label: fc.option(fc.string({ maxLength: 20 }), { nil: undefined }),
    removed: fc.boolean()
  })
  const fields = {
    kind: fc.constantFrom(RecordBody.Kind.KIND_UNSPECIFIED, RecordBody.Kind.SNAPSHOT, RecordBody.Kind.DELTA, RecordBody.Kind.BYE),
    origin: fc.oneof(fc.uint8Array({ maxLength: 50 }), fc.constant(new Uint8Array(0))),
    incarnation: fc.oneof(fc.nat(), fc.constant(0), fc.constant(Number.MAX_SAFE_INTEGER)),
    seq: fc.oneof(fc.nat(), fc.constant(Number.MAX_SAFE_INTEGER)),
    base: fc.oneof(fc.nat(), fc.constant(Number.MAX_SAFE_INTEGER)),
    chunk: fc.nat({ max: 0xffffffff }),
    chunks: fc.nat({ max: 0xffffffff }),
    gateway: fc.option(fc.record({ name: fc.string({ maxLength: 200 }), host: fc.string({ maxLength: 300 }), addrs: fc.array(fc.string({ maxLength: 20 }), { maxLength: 3 }), maxMessageBytes: fc.nat({ max: 0xffffffff }), gatewayPort: fc.option(fc.nat({ max: 0xffffffff }), { nil: undefined }) }), { nil: undefined }),
    entries: fc.array(entry, { maxLength: 5 })
  }

  it('a correctly signed body with any field replaced by any value: a well-formed record or BAD_REQUEST', async () => {
    const replacement = fc.oneof(...Object.entries(fields).map(([name, arb]) => (arb as fc.Arbitrary<unknown>).map(value => [name, value] as const)))
    await fc.assert(fc.asyncProperty(fc.constantFrom(RecordBody.Kind.SNAPSHOT, RecordBody.Kind.DELTA, RecordBody.Kind.BYE), replacement, async (kind, [name, value]) => {
      const body: RecordBody = { kind, origin: originBytes, incarnation: 1, seq: 1, base: 0, chunk: 0, chunks: 1, gateway: { name: 'g', host: 'h', addrs: [], maxMessageBytes: 1024 }, entries: [{ key: 'a', agentIsKeyAgent: false, removed: false }], [name]: value }
      const opened = await onlyMeshErrorsAsync(async () => await openRecord(await signedBytes(RecordBody.encode(body))), ['BAD_REQUEST', 'FORBIDDEN'])
      if (opened === undefined) return
      const r = opened.record
      assert.ok(['snap', 'delta', 'bye'].includes(r.kind))
      assert.ok(Number.isSafeInteger(r.incarnation) && r.incarnation >= 1 && Number.isSafeInteger(r.seq) && r.seq >= 0)
      if (r.kind === 'delta') {
        assert.ok(r.base < r.seq)
        for (const c of r.changes) assert.ok(typeof c.sessionKey === 'string' && c.sessionKey.length > 0 && c.sessionKey.length <= 1024)
      }
      if (r.kind === 'snap') {
        assert.ok(r.chunk >= 0 && r.chunk < r.chunks)
        for (const e of r.entries) assert.ok(typeof e.sessionKey === 'string' && e.sessionKey.length > 0)
      }
    }), runs(400))
  })

  it('a valid record round-trips, and any single flipped bit is refused', async () => {
    const anyEntry = fc.record({
      sessionKey: fc.oneof(fc.string({ minLength: 1, maxLength: 40 }), fc.string({ minLength: 1, maxLength: 20 }).map(s => `agent:main:${s}`)),
      sessionId: fc.option(fc.oneof(fc.uuid(), fc.string({ minLength: 1, maxLength: 40 })), { nil: undefined }),
      agentId: fc.option(fc.constantFrom('main', 'ops'), { nil: undefined })
    }).map(e => Object.fromEntries(Object.entries(e).filter(([, v]) => v !== undefined)) as { sessionKey: string })
    const record = fc.oneof(
      fc.record({ kind: fc.constant('snap' as const), incarnation: fc.integer({ min: 1 }), seq: fc.nat(), chunk: fc.constant(0), chunks: fc.constant(1), gateway: fc.constant(gateway), entries: fc.array(anyEntry, { maxLength: 5 }) }),
      fc.record({ kind: fc.constant('delta' as const), incarnation: fc.integer({ min: 1 }), seq: fc.integer({ min: 1 }), base: fc.constant(0), changes: fc.array(anyEntry, { maxLength: 5 }) }),
      fc.record({ kind: fc.constant('bye' as const), incarnation: fc.integer({ min: 1 }), seq: fc.nat() }))
    await fc.assert(fc.asyncProperty(record, fc.nat(), fc.integer({ min: 0, max: 7 }), async (r, at, bit) => {
      const signed = await signRecord({ ...r, origin } as RegistryRecord, key)
      const opened = await openRecord(signed.bytes)
      // Entries come back exactly as announced (the compact wire form is invisible).
      assert.deepEqual(opened.record, { ...r, origin })
      const flipped = Uint8Array.from(signed.bytes)
      flipped[at % flipped.length]! ^= 1 << bit
      await assert.rejects(openRecord(flipped), (err: Error) => err instanceof MeshError && ['BAD_REQUEST', 'FORBIDDEN'].includes(err.code))
    }), runs(300))
  })
})

describe('registry frames', () => {
  it('any bytes: a typed message or BAD_REQUEST', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 512 }), bytes => {
      const msg = onlyMeshErrors(() => decodeFrame(bytes))
      if (msg !== undefined) assert.equal(typeof msg.type, 'string')
    }), runs(2000))
  })
})

describe('FramedStream (length prefixes on every stream)', () => {
  /** The parts of a libp2p stream FramedStream touches; chunks are pushed in as 'message' events. */
  class FakeStream extends EventTarget {
    status = 'open'
    aborted?: Error
    pause (): void {}
    resume (): void {}
    send (): boolean { return true }
    async onDrain (): Promise<void> {}
    abort (err: Error): void {
      this.aborted = err
      this.status = 'aborted'
    }

    push (data: Uint8Array): void {
      const evt = new Event('message') as Event & { data: Uint8Array }
      evt.data = data
      this.dispatchEvent(evt)
    }
  }

  const varint = (n: number): number[] => [...encodeVarint(n)]

  // Empty frames (a zero length prefix) are skipped by the decoder: they carry nothing in either protocol.
  it('frames split into any chunks come out whole and in order (empty frames skipped)', async () => {
    await fc.assert(fc.asyncProperty(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 20 }), fc.array(fc.integer({ min: 1, max: 50 }), { minLength: 1 }), async (frames, cuts) => {
      const stream = new FakeStream()
      const framed = new FramedStream(stream as unknown as Stream, 1024)
      const wire = Uint8Array.from(frames.flatMap(f => [...varint(f.length), ...f]))
      for (let at = 0, i = 0; at < wire.length; i++) {
        const size = cuts[i % cuts.length]!
        stream.push(wire.subarray(at, at + size))
        at += size
      }
      for (const frame of frames.filter(f => f.length > 0)) assert.deepEqual(await framed.read(), frame)
      stream.dispatchEvent(new Event('remoteCloseWrite'))
      await assert.rejects(framed.read(), { code: 'ABORTED' }, 'nothing more than what was sent')
      assert.equal(stream.aborted, undefined)
    }), runs(500))
  })

  it('any bytes: whole frames within the limit, or the stream aborted with TOO_LARGE; nothing thrown at the muxer', async () => {
    await fc.assert(fc.asyncProperty(fc.array(fc.uint8Array({ minLength: 1, maxLength: 200 }), { maxLength: 10 }), async (chunks) => {
      const stream = new FakeStream()
      const framed = new FramedStream(stream as unknown as Stream, 64)
      for (const chunk of chunks) stream.push(chunk)
      stream.dispatchEvent(new Event('remoteCloseWrite'))
      for (;;) {
        try {
          const frame = await framed.read()
          assert.ok(frame.length <= 64)
        } catch (err) {
          assert.ok(err instanceof MeshError && ['TOO_LARGE', 'ABORTED'].includes(err.code), String(err))
          if (err.code === 'TOO_LARGE') assert.ok(stream.aborted instanceof MeshError)
          break
        }
      }
    }), runs(1000))
  })
})
