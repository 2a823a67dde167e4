// The receiving side on an in-memory stream: acceptance, duplicates, per-request limits and bounded answer queues.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { defaultLogger } from '@libp2p/logger'
import { MAX_INFLIGHT_PER_PEER } from '../../src/constants.ts'
import { DeliveryServer, type DeliveryServerInit } from '../../src/delivery/server.ts'
import { answerOf, requestFrame } from '../helpers/deliver-frames.ts'
import { FakeStream, fakeConnection } from '../helpers/fake-stream.ts'
import type { DeliverHandler } from '../../src/types.ts'

function serve (handler: DeliverHandler, init: Partial<DeliveryServerInit> = {}, peer = 'peer-a'): { stream: FakeStream, server: DeliveryServer, done: Promise<void> } {
  const server = new DeliveryServer({
    log: defaultLogger().forComponent('test:deliver'),
    maxMessageBytes: 1024,
    handler: () => handler,
    exposed: key => key === 'agent:main:main' ? { sessionKey: key } : undefined,
    authorize: () => {},
    nameOf: () => undefined,
    onDelivered: () => {},
    ...init
  })
  const stream = new FakeStream()
  const done = server.handle(stream.asStream(), fakeConnection(peer))
  return { stream, server, done }
}

describe('delivery server', () => {
  it('fire-and-forget: no ACCEPTED before the handler has taken the message; a handler failing first is an error', async () => {
    let fail: (err: Error) => void = () => {}
    const { stream, server } = serve(async () => await new Promise((_resolve, reject) => { fail = reject }))
    stream.push(requestFrame({ id: 'm1', wait: false }))
    await new Promise(resolve => { setImmediate(resolve) })
    fail(new Error('queue full'))
    const [first] = await stream.sentFrames(1)
    assert.equal(answerOf(first as Uint8Array).status, 'REMOTE_ERROR')
    server.stop()
  })

  it('ACCEPTED as soon as the handler calls accept(), while it still runs', async () => {
    let finish: () => void = () => {}
    const { stream, server } = serve(async (_msg, { accept }) => {
      accept()
      await new Promise<void>(resolve => { finish = resolve })
      return { reply: 'late' }
    })
    stream.push(requestFrame({ id: 'ff', wait: false }))
    stream.push(requestFrame({ id: 'waits', wait: true }))
    const [a, b] = await stream.sentFrames(2)
    assert.deepEqual([answerOf(a as Uint8Array), answerOf(b as Uint8Array)].map(x => `${x.id}:${x.status}`).sort(), ['ff:ACCEPTED', 'waits:ACCEPTED'])
    finish()
    const [, , c] = await stream.sentFrames(3)
    assert.deepEqual(answerOf(c as Uint8Array), { id: 'waits', status: 'OK', reply: 'late' })
    server.stop()
  })

  it('a reply larger than the sender takes is TOO_LARGE for that request only; the stream goes on', async () => {
    const { stream, server } = serve(async msg => ({ reply: msg.text === 'big' ? 'x'.repeat(100) : 'small' }))
    stream.push(requestFrame({ id: 'm1', text: 'big', maxReplyBytes: 50 }))
    stream.push(requestFrame({ id: 'm2', text: 'fine', maxReplyBytes: 50 }))
    const answers = (await stream.sentFrames(2)).map(f => answerOf(f))
    assert.deepEqual(answers.find(a => a.id === 'm1')?.status, 'TOO_LARGE')
    assert.deepEqual(answers.find(a => a.id === 'm2'), { id: 'm2', status: 'OK', reply: 'small' })
    // The same message retried by a sender that takes more gets the reply it is owed.
    stream.push(requestFrame({ id: 'm1', text: 'big', maxReplyBytes: 1024 }))
    const [, , again] = await stream.sentFrames(3)
    assert.deepEqual(answerOf(again as Uint8Array), { id: 'm1', status: 'OK', reply: 'x'.repeat(100) })
    assert.equal(stream.status, 'open')
    server.stop()
  })

  it('a retry joins the delivery in flight and is never delivered twice; another sender\'s same ID is its own message', async () => {
    let calls = 0
    let release: () => void = () => {}
    const gate = new Promise<void>(resolve => { release = resolve })
    const handler: DeliverHandler = async msg => { calls++; await gate; return { reply: msg.idempotencyKey } }
    const { stream, server } = serve(handler)
    stream.push(requestFrame({ id: 'm' }))
    stream.push(requestFrame({ id: 'm' }))
    release()
    const answers = (await stream.sentFrames(2)).map(f => answerOf(f))
    assert.deepEqual(answers, [{ id: 'm', status: 'OK', reply: 'peer-a/m' }, { id: 'm', status: 'OK', reply: 'peer-a/m' }])
    assert.equal(calls, 1)
    const other = new FakeStream()
    void server.handle(other.asStream(), fakeConnection('peer-b'))
    other.push(requestFrame({ id: 'm' }))
    assert.deepEqual(answerOf((await other.sentFrames(1))[0] as Uint8Array), { id: 'm', status: 'OK', reply: 'peer-b/m' })
    assert.equal(calls, 2)
    server.stop()
  })

  it('a sender that never reads its answers: reading stops at the bound, then the stream is dropped', async () => {
    let calls = 0
    const { stream, server } = serve(async () => { calls++; return { reply: 'r'.repeat(500) } }, { answerStallMs: 50 })
    stream.block()
    const closed = new Promise(resolve => { stream.addEventListener('close', resolve) })
    for (let i = 0; i < 2_000; i++) stream.push(requestFrame({ id: `m${i}` }))
    await closed
    assert.ok(calls <= MAX_INFLIGHT_PER_PEER, `${calls} deliveries for a sender that reads nothing`)
    assert.equal(stream.abortedWith?.name, 'MeshError')
    server.stop()
  })

  it('refusals are not remembered: NOT_FOUND and FORBIDDEN per request', async () => {
    const { stream, server } = serve(async () => ({ reply: 'r' }), { authorize: () => { throw Object.assign(new Error('no'), { code: 'FORBIDDEN' }) } })
    stream.push(requestFrame({ id: 'm1', to: 'agent:other:main' }))
    stream.push(requestFrame({ id: 'm2' }))
    const answers = (await stream.sentFrames(2)).map(f => answerOf(f))
    assert.deepEqual(answers.map(a => a.status), ['NOT_FOUND', 'FORBIDDEN'])
    server.stop()
  })
})
