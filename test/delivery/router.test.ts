// The router with a fake client, connector and clock: retries, deadlines, caps and local delivery, without a network.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { defaultLogger } from '@libp2p/logger'
import { raceSignal } from 'race-signal'
import { DEDUP_WINDOW_MS, MAX_DELIVERY_ATTEMPTS } from '../../src/constants.ts'
import { ChannelLost, NotConnected, type Answered } from '../../src/delivery/client.ts'
import { Router, type RouterInit } from '../../src/delivery/router.ts'
import { MeshError } from '../../src/errors.ts'
import { resolveTarget } from '../../src/routing/resolve.ts'
import { FakeDirectory, PEERS } from '../helpers/fake-directory.ts'
import type { DeliveryRequest } from '../../src/delivery/codec.ts'
import type { DeliverHandler, SendOutcome } from '../../src/types.ts'

interface Harness {
  router: Router
  requests: DeliveryRequest[]
  delays: number[]
  timeouts: number[]
  outcomes: SendOutcome[]
  fireTimeout: () => void
  stop: AbortController
}

/** Owners unreachable only because a peer said so (the real connector asks the liveness rules). */
const hearsayOnly = new Set<string>()

function harness (answer: (request: DeliveryRequest, attempt: number) => Promise<Answered>, init: Partial<RouterInit> = {}, directory = new FakeDirectory(PEERS.self, [
  { peerId: PEERS.self, name: 'self', sessions: [{ sessionKey: 'agent:local:main' }] },
  { peerId: PEERS.a, name: 'owner', sessions: [{ sessionKey: 'agent:main:main' }] }
])): Harness {
  const requests: DeliveryRequest[] = []
  const delays: number[] = []
  const timeouts: number[] = []
  const outcomes: SendOutcome[] = []
  let fire = (): void => {}
  const stop = new AbortController()
  let now = 1_000
  const router = new Router({
    name: 'self',
    directory,
    // Like the real client: the answer races the send's signal.
    client: { request: async (_peer, request, signal) => { requests.push(request); return await raceSignal(answer(request, requests.length), signal) } },
    // Like the real connector: an owner unreachable by hearsay only (no own evidence) is tried.
    connector: { ensureConnected: async () => {}, shouldTry: owner => owner.reachable || hearsayOnly.has(owner.peerId), hold: () => () => {}, silentOwnerWaitMs: () => undefined },
    resolve: (target, options) => resolveTarget(target, { directory, selfHost: 'h', localFirst: true }, options.targetGateway),
    handler: () => undefined,
    maxMessageBytes: 1024,
    defaultTimeoutMs: 30_000,
    log: defaultLogger().forComponent('test:router'),
    stopSignal: stop.signal,
    onDone: outcome => { outcomes.push(outcome) },
    timer: (ms, fireTimer) => { timeouts.push(ms); fire = fireTimer; return () => {} },
    sleep: async ms => { delays.push(ms); now += ms },
    now: () => now,
    ...init
  })
  return { router, requests, delays, timeouts, outcomes, stop, fireTimeout: () => { fire() } }
}

describe('router', () => {
  it('resends with the same message ID after a broken stream, with growing backoff, passing the remaining budget', async () => {
    const h = harness(async (_r, attempt) => { if (attempt < 3) throw new ChannelLost(attempt === 2); return { status: 'ok', reply: 'done' } })
    const result = await h.router.send('agent:main:main', 'hi', { messageId: 'fixed' })
    assert.equal(result.reply, 'done')
    assert.deepEqual(h.requests.map(r => r.id), ['fixed', 'fixed', 'fixed'])
    assert.equal(h.delays.length, 2)
    assert.ok((h.delays[1] ?? 0) > (h.delays[0] ?? 0) * 1.2, `backoff grows: ${h.delays.join(', ')}`)
    assert.ok((h.requests[2]?.ttlMs ?? 0) < (h.requests[0]?.ttlMs ?? 0), 'the budget shrinks with each attempt')
    assert.equal(h.requests[0]?.maxReplyBytes, 1024)
    assert.deepEqual(h.outcomes.map(o => o.outcome), ['ok'])
  })

  it('gives up after a bounded number of broken streams: UNREACHABLE, not a loop until the deadline', async () => {
    const h = harness(async () => { throw new ChannelLost(false) })
    await assert.rejects(h.router.send('agent:main:main', 'hi'), { code: 'UNREACHABLE' })
    assert.equal(h.requests.length, MAX_DELIVERY_ATTEMPTS)
  })

  it('a request that never left (no connection in time) is tried again until it goes through, past the broken-stream bound, with a capped backoff', async () => {
    const failures = MAX_DELIVERY_ATTEMPTS + 4
    const h = harness(async (_r, attempt) => { if (attempt <= failures) throw new NotConnected(); return { status: 'ok', reply: 'done' } })
    const result = await h.router.send('agent:main:main', 'hi', { messageId: 'fixed' })
    assert.equal(result.reply, 'done')
    assert.equal(h.requests.length, failures + 1)
    assert.ok(h.requests.every(r => r.id === 'fixed'))
    assert.ok((h.delays[1] ?? 0) > (h.delays[0] ?? 0) * 1.2, `backoff grows: ${h.delays.join(', ')}`)
    assert.ok(Math.max(...h.delays) <= 2_000 * 1.2, `backoff capped: ${h.delays.join(', ')}`)
  })

  it('an owner never connected to by the deadline is TIMEOUT, caused by the last failed connection', async () => {
    let fire = (): void => {}
    let dials = 0
    // Like the real connector: the deadline firing during a dial rejects it with the signal's reason.
    const ensureConnected = async (_o: unknown, _p: unknown, signal: AbortSignal): Promise<void> => { if (++dials === 5) { fire(); throw signal.reason } }
    const h = harness(async () => { throw new NotConnected(new Error('dial timed out')) }, {
      connector: { ensureConnected, shouldTry: () => true, hold: () => () => {}, silentOwnerWaitMs: () => undefined }
    })
    fire = h.fireTimeout
    await assert.rejects(h.router.send('agent:main:main', 'hi'), (err: MeshError) => err.code === 'TIMEOUT' && err.cause instanceof NotConnected && /could be made/.test(err.message))
    assert.equal(h.requests.length, 4)
  })

  it('a deadline that fires while a request is under way on a connection is a plain TIMEOUT, not blamed on an earlier failed connection', async () => {
    let fire = (): void => {}
    const h = harness(async (_r, attempt) => {
      if (attempt === 1) throw new NotConnected(new Error('dial timed out'))
      fire() // connected this time: the owner is slow to answer
      return await new Promise<Answered>(() => {})
    })
    fire = h.fireTimeout
    await assert.rejects(h.router.send('agent:main:main', 'hi'), (err: MeshError) => err.code === 'TIMEOUT' && !(err.cause instanceof NotConnected) && !/could be made/.test(err.message))
    assert.equal(h.requests.length, 2)
  })

  it('a definite answer while dialling again ends the send at once: a refused dial is UNREACHABLE', async () => {
    const h = harness(async (_r, attempt) => {
      if (attempt === 1) throw new NotConnected()
      throw new MeshError('UNREACHABLE', 'refused') // what the connector throws for a refused dial
    })
    await assert.rejects(h.router.send('agent:main:main', 'hi'), { code: 'UNREACHABLE' })
    assert.equal(h.requests.length, 2)
  })

  it('a channel torn down twice by an oversized answer is TOO_LARGE', async () => {
    const h = harness(async () => { throw new ChannelLost(false, new MeshError('TOO_LARGE', 'frame rejected')) })
    await assert.rejects(h.router.send('agent:main:main', 'hi'), { code: 'TOO_LARGE', remote: true })
    assert.equal(h.requests.length, 2)
  })

  it('the deadline is TIMEOUT, the caller\'s signal ABORTED, stop STOPPED; timeouts are capped at the dedup window', async () => {
    const pending = (): Promise<Answered> => new Promise(() => {})
    const h = harness(pending)
    const sent = h.router.send('agent:main:main', 'hi', { timeoutMs: 24 * 3600_000 })
    assert.deepEqual(h.timeouts, [DEDUP_WINDOW_MS])
    await new Promise(resolve => { setImmediate(resolve) })
    assert.equal(h.requests[0]?.ttlMs, DEDUP_WINDOW_MS)
    h.fireTimeout()
    await assert.rejects(sent, { code: 'TIMEOUT' })
    const controller = new AbortController()
    const h2 = harness(pending)
    const aborted = h2.router.send('agent:main:main', 'hi', { signal: controller.signal })
    controller.abort()
    await assert.rejects(aborted, { code: 'ABORTED' })
    const h3 = harness(pending)
    const stopped = h3.router.send('agent:main:main', 'hi')
    h3.stop.abort(new MeshError('STOPPED', 'stopping'))
    await assert.rejects(stopped, { code: 'STOPPED' })
    assert.deepEqual(h3.outcomes.map(o => o.outcome), ['STOPPED'])
  })

  it('a remote error keeps its code and names the owner; it is not retried', async () => {
    const h = harness(async () => { throw new MeshError('FORBIDDEN', 'no', { remote: true }) })
    await assert.rejects(h.router.send('agent:main:main', 'hi'), { code: 'FORBIDDEN', remote: true, gateway: 'owner' })
    assert.equal(h.requests.length, 1)
  })

  it('refuses what the owner could not take, and owners known to be down, before any network', async () => {
    const d = new FakeDirectory(PEERS.self, [{ peerId: PEERS.a, name: 'owner', maxMessageBytes: 4, reachable: false, sessions: [{ sessionKey: 'k' }] }])
    const h = harness(async () => ({ status: 'ok' }), {}, d)
    await assert.rejects(h.router.send('k', 'too long'), { code: 'TOO_LARGE', gateway: 'owner' })
    await assert.rejects(h.router.send('k', 'ok'), { code: 'UNREACHABLE' })
    await assert.rejects(h.router.send('k', 'x'.repeat(2000)), { code: 'TOO_LARGE' })
    assert.equal(h.requests.length, 0)
  })

  it('an owner listed as unreachable only by hearsay is tried directly, not refused', async () => {
    const d = new FakeDirectory(PEERS.self, [{ peerId: PEERS.a, name: 'owner', reachable: false, sessions: [{ sessionKey: 'k' }] }])
    hearsayOnly.add(PEERS.a)
    try {
      const h = harness(async () => ({ status: 'ok', reply: 'here' }), {}, d)
      assert.equal((await h.router.send('k', 'hi')).reply, 'here')
      assert.equal(h.requests.length, 1)
    } finally {
      hearsayOnly.delete(PEERS.a)
    }
  })

  it('local delivery: fire-and-forget returns once the handler has taken the message', async () => {
    let accept: () => void = () => {}
    let finish: () => void = () => {}
    const handler: DeliverHandler = async (_msg, ctx) => {
      accept = ctx.accept
      await new Promise<void>(resolve => { finish = resolve })
      return {}
    }
    const h = harness(async () => ({ status: 'ok' }), { handler: () => handler })
    let settled = false
    const sent = h.router.send('agent:local:main', 'hi', { waitForReply: false }).then(r => { settled = true; return r })
    await new Promise(resolve => { setImmediate(resolve) })
    assert.equal(settled, false)
    accept()
    assert.equal((await sent).status, 'accepted')
    finish()
    // A handler that fails before taking the message fails the send.
    const failing = harness(async () => ({ status: 'ok' }), { handler: () => async () => { throw new MeshError('NOT_FOUND', 'gone') } })
    await assert.rejects(failing.router.send('agent:local:main', 'hi', { waitForReply: false }), { code: 'NOT_FOUND' })
  })
})
