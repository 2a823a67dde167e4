// Deliver v1 (JSON) frames: decoded to the same requests as v2's under the same limits, answered
// in v1's shapes, and served by the same owner rules (sender named by peer ID, policy, dedup).
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { defaultLogger } from '@libp2p/logger'
import { decodeV1Answer, decodeV1ClientFrame, encodeV1Answer, encodeV1Request } from '../../src/compat/deliver-v1.ts'
import { DeliverWires } from '../../src/compat/deliver-wires.ts'
import { DEDUP_WINDOW_MS } from '../../src/constants.ts'
import { DeliveryServer } from '../../src/delivery/server.ts'
import { MeshError } from '../../src/errors.ts'
import { FakeStream, fakeConnection } from '../helpers/fake-stream.ts'
import type { InboundMessage } from '../../src/types.ts'

const json = (value: unknown): Uint8Array => new TextEncoder().encode(JSON.stringify(value))
const parse = (bytes: Uint8Array): Record<string, unknown> => JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>
const request = (fields: Record<string, unknown> = {}): Record<string, unknown> => ({ t: 'req', v: 1, id: 'm1', from: { gw: 'old' }, to: { k: 'agent:main:main' }, text: 'hi', wait: true, ttl: 1000, ...fields })

describe('deliver v1 codec', () => {
  it('a request decodes to what a v2 request would say; ttl is capped at the dedup window, the reply limit is ours', () => {
    const msg = decodeV1ClientFrame(json(request({ from: { gw: 'old', s: 'agent:main:x' }, meta: { a: 1 }, ttl: 24 * 3600_000 })), 1024)
    assert.deepEqual(msg, { kind: 'request', request: { id: 'm1', to: 'agent:main:main', text: 'hi', wait: true, ttlMs: DEDUP_WINDOW_MS, maxReplyBytes: 1024, fromSessionKey: 'agent:main:x', meta: { a: 1 } } })
    assert.deepEqual(decodeV1ClientFrame(json({ t: 'cancel', id: 'm1' }), 1024), { kind: 'cancel', id: 'm1' })
  })

  it('every field is bounded: the error code a v2 request would get, naming the request when it can', () => {
    const cases: Array<[string, Uint8Array, string, boolean]> = [
      ['not JSON', new TextEncoder().encode('{'), 'BAD_REQUEST', false],
      ['an id over 128 characters', json(request({ id: 'i'.repeat(129) })), 'BAD_REQUEST', false],
      ['an empty id', json(request({ id: '' })), 'BAD_REQUEST', false],
      ['a session key over 1024 characters', json(request({ to: { k: 'k'.repeat(1025) } })), 'BAD_REQUEST', true],
      ['an empty session key', json(request({ to: { k: '' } })), 'BAD_REQUEST', true],
      ['text over the owner\'s limit', json(request({ text: 'é'.repeat(600) })), 'TOO_LARGE', true],
      ['meta over 16 KiB', json(request({ meta: { x: 'm'.repeat(17 * 1024) } })), 'TOO_LARGE', true],
      ['meta that is no object', json(request({ meta: ['a'] })), 'BAD_REQUEST', true],
      ['a ttl past a day', json(request({ ttl: 24 * 3600_000 + 1 })), 'BAD_REQUEST', true],
      ['a negative ttl', json(request({ ttl: -1 })), 'BAD_REQUEST', true],
      ['a sender session key over 1024 characters', json(request({ from: { gw: 'old', s: 's'.repeat(1025) } })), 'BAD_REQUEST', true],
      ['a Gateway name over 128 characters', json(request({ from: { gw: 'g'.repeat(129) } })), 'BAD_REQUEST', true],
      ['request version 2', json(request({ v: 2 })), 'BAD_REQUEST', true],
      ['wait that is no boolean', json(request({ wait: 'yes' })), 'BAD_REQUEST', true],
      ['an unknown frame type', json({ t: 'rep', id: 'm1' }), 'BAD_REQUEST', false]
    ]
    for (const [what, bytes, code, named] of cases) {
      const msg = decodeV1ClientFrame(bytes, 1024)
      assert.equal(msg.kind, 'invalid', what)
      if (msg.kind !== 'invalid') continue
      assert.equal(msg.error.code, code, what)
      assert.equal(msg.id !== undefined, named, what)
    }
  })

  it('answers go out in v1 shapes and come back as the same answers', () => {
    const answers = [
      { id: 'a', kind: 'accepted' as const },
      { id: 'b', kind: 'ok' as const, reply: 'done' },
      { id: 'c', kind: 'ok' as const },
      { id: 'd', kind: 'error' as const, error: { code: 'FORBIDDEN' as const, message: 'no' } }
    ]
    for (const answer of answers) assert.deepEqual(decodeV1Answer(encodeV1Answer(answer), 1024), answer)
    assert.deepEqual(parse(encodeV1Answer(answers[3]!)), { t: 'err', id: 'd', code: 'FORBIDDEN', msg: 'no' })
  })

  it('what an owner answers is untrusted: oversized replies are TOO_LARGE, unknown codes REMOTE_ERROR, long messages cut', () => {
    assert.equal((decodeV1Answer(json({ t: 'rep', id: 'x', reply: 'r'.repeat(2000) }), 1024) as { error: { code: string } }).error.code, 'TOO_LARGE')
    const odd = decodeV1Answer(json({ t: 'err', id: 'x', code: 'LAUNCH_MISSILES', msg: 'm'.repeat(100_000) }), 1024) as { error: { code: string, message: string } }
    assert.equal(odd.error.code, 'REMOTE_ERROR')
    assert.equal(odd.error.message.length, 8 * 1024)
    for (const bad of [json({ t: 'acc' }), json({ t: 'what', id: 'x' }), new TextEncoder().encode('nope')]) {
      assert.throws(() => decodeV1Answer(bad, 1024), (err: MeshError) => err.code === 'BAD_REQUEST')
    }
  })

  it('a request we send names our Gateway (v1 requires it) and a whole-millisecond ttl', () => {
    const frame = parse(encodeV1Request({ id: 'm', to: 'k', text: 't', wait: false, ttlMs: 1234.6, maxReplyBytes: 10 }, 'hq'))
    assert.deepEqual(frame, { t: 'req', v: 1, id: 'm', from: { gw: 'hq' }, to: { k: 'k' }, text: 't', wait: false, ttl: 1235 })
  })
})

describe('deliver v1 on the owner', () => {
  function serve (authorize: (peerId: string) => void): { stream: FakeStream, server: DeliveryServer, seen: InboundMessage[] } {
    const seen: InboundMessage[] = []
    const server = new DeliveryServer({
      log: defaultLogger().forComponent('test:deliver'),
      maxMessageBytes: 1024,
      handler: () => async msg => { seen.push(msg); return { reply: `got ${msg.text}` } },
      exposed: key => key === 'agent:main:main' ? { sessionKey: key } : undefined,
      authorize,
      nameOf: peerId => peerId === 'peer-a' ? 'alpha' : undefined,
      onDelivered: () => {}
    })
    const stream = new FakeStream()
    void server.handle(stream.asStream(), fakeConnection('peer-a'), new DeliverWires([2, 1], 'me').codecFor('/clawmesh/deliver/1.0.0'))
    return { stream, server, seen }
  }

  it('attack: the sender is named by its peer ID, never by the from.gw it claims; a retry reaches the session once', async () => {
    const { stream, server, seen } = serve(() => {})
    stream.push(json(request({ from: { gw: 'hq' } })))
    stream.push(json(request({ from: { gw: 'hq' } })))
    const answers = (await stream.sentFrames(2)).map(parse)
    assert.deepEqual(answers, [{ t: 'rep', id: 'm1', reply: 'got hi' }, { t: 'rep', id: 'm1', reply: 'got hi' }])
    assert.equal(seen.length, 1)
    assert.deepEqual(seen[0]?.from, { gateway: 'alpha', peerId: 'peer-a' })
    assert.equal(seen[0]?.idempotencyKey, 'peer-a/m1')
    server.stop()
  })

  it('attack: the inbound policy judges the proven peer ID; a v1 sender claiming an allowed name is refused', async () => {
    const { stream, server, seen } = serve(peerId => { if (peerId !== 'peer-hq') throw new MeshError('FORBIDDEN', 'only hq') })
    stream.push(json(request({ from: { gw: 'hq' } })))
    const [answer] = (await stream.sentFrames(1)).map(parse)
    assert.equal(answer?.code, 'FORBIDDEN')
    assert.equal(seen.length, 0)
    server.stop()
  })
})
