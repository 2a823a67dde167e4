// The receiver's dedup memory, on a fake clock: kept from completion, in-flight never evicted, quotas per sender.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { DedupStore, type DedupLimits } from '../../src/delivery/dedup.ts'

function store (limits: Partial<DedupLimits> = {}): { dedup: DedupStore<string>, clock: { now: number } } {
  const clock = { now: 0 }
  return { dedup: new DedupStore<string>({ windowMs: 1_000, maxPerSender: 100, maxEntries: 1_000, maxReplyBytes: 1_000_000, now: () => clock.now, ...limits }), clock }
}

describe('dedup store', () => {
  it('keeps a finished message for the window from its completion, not from its start', () => {
    const { dedup, clock } = store()
    dedup.begin('a', 'm1', 'running')
    clock.now = 900 // a long delivery: it ends near the end of a window counted from its start
    dedup.finish('a', 'm1', { reply: 'r' })
    clock.now = 1_800
    assert.deepEqual(dedup.get('a', 'm1'), { finished: { reply: 'r' } })
    clock.now = 1_901
    assert.equal(dedup.get('a', 'm1'), undefined)
  })

  it('never evicts a delivery in flight, however many others finish', () => {
    const { dedup } = store({ maxPerSender: 5, maxEntries: 10 })
    dedup.begin('a', 'slow', 'running')
    for (let i = 0; i < 1_000; i++) {
      dedup.begin('a', `m${i}`, 'x')
      dedup.finish('a', `m${i}`, {})
    }
    assert.deepEqual(dedup.get('a', 'slow'), { inflight: 'running' })
    assert.ok(dedup.finishedEntries <= 5)
  })

  it('one sender\'s flood evicts only its own history', () => {
    const { dedup } = store({ maxPerSender: 50, maxEntries: 60 })
    for (const sender of ['a', 'b']) {
      dedup.begin(sender, 'first', 'x')
      dedup.finish(sender, 'first', { reply: sender })
    }
    for (let i = 0; i < 10_000; i++) {
      dedup.begin('mallory', `m${i}`, 'x')
      dedup.finish('mallory', `m${i}`, {})
    }
    assert.deepEqual(dedup.get('a', 'first'), { finished: { reply: 'a' } })
    assert.deepEqual(dedup.get('b', 'first'), { finished: { reply: 'b' } })
    assert.equal(dedup.get('mallory', 'm0'), undefined)
    assert.ok(dedup.get('mallory', 'm9999') !== undefined)
    assert.ok(dedup.finishedEntries <= 60)
  })

  it('past the global cap, the largest holder loses its oldest first', () => {
    const { dedup } = store({ maxPerSender: 100, maxEntries: 30 })
    for (let i = 0; i < 10; i++) { dedup.begin('a', `a${i}`, 'x'); dedup.finish('a', `a${i}`, {}) }
    for (let i = 0; i < 40; i++) { dedup.begin('b', `b${i}`, 'x'); dedup.finish('b', `b${i}`, {}) }
    assert.equal(dedup.finishedEntries, 30)
    for (let i = 0; i < 10; i++) assert.ok(dedup.get('a', `a${i}`) !== undefined, `a${i}`)
  })

  it('forgets old replies past the byte budget but still knows their IDs', () => {
    const { dedup } = store({ maxReplyBytes: 10 })
    dedup.begin('a', 'm1', 'x')
    dedup.finish('a', 'm1', { reply: '12345678' })
    dedup.begin('a', 'm2', 'x')
    dedup.finish('a', 'm2', { reply: '12345678' })
    const first = dedup.get('a', 'm1')
    assert.ok(first !== undefined && 'finished' in first && 'error' in first.finished)
    assert.deepEqual(dedup.get('a', 'm2'), { finished: { reply: '12345678' } })
    assert.ok(dedup.retainedReplyBytes <= 10)
  })

  it('the same ID from two senders is two messages', () => {
    const { dedup } = store()
    dedup.begin('a', 'm', 'x')
    assert.equal(dedup.get('b', 'm'), undefined)
  })

  it('a sender far past its quota keeps exactly its newest, expiring and forgetting replies in completion order', () => {
    const { dedup, clock } = store({ maxPerSender: 100, maxEntries: 1_000, maxReplyBytes: 50 * 3 })
    for (let i = 0; i < 5_000; i++) {
      clock.now = i
      dedup.begin('a', `m${i}`, 'x')
      dedup.finish('a', `m${i}`, { reply: 'abc' })
    }
    assert.equal(dedup.finishedEntries, 100)
    assert.equal(dedup.get('a', 'm4899'), undefined)
    // The reply budget holds the newest 50 replies; the 50 before them are known but forgotten.
    assert.deepEqual(dedup.get('a', 'm4999'), { finished: { reply: 'abc' } })
    assert.deepEqual(dedup.get('a', 'm4950'), { finished: { reply: 'abc' } })
    const forgotten = dedup.get('a', 'm4949')
    assert.ok(forgotten !== undefined && 'finished' in forgotten && 'error' in forgotten.finished)
    assert.equal(dedup.retainedReplyBytes, 150)
    // The window runs out oldest first.
    clock.now = 4_950 + 1_000
    assert.equal(dedup.get('a', 'm4950'), undefined)
    assert.deepEqual(dedup.get('a', 'm4951'), { finished: { reply: 'abc' } })
    assert.equal(dedup.finishedEntries, 49)
  })
})
