// The pull tracker is pure state: one pull per origin, claims as candidates, fail-over on silence.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { PullTracker } from '../../src/gossip/pull-tracker.ts'
import type { Held } from '../../src/registry/version.ts'

const held = (incarnation: number, seq: number, departed = false): Held => ({ version: [incarnation, seq], departed })
const tracker = (): PullTracker => new PullTracker({ timeoutMs: 2_000, maxPulls: 3, maxCandidates: 2 })

describe('PullTracker', () => {
  it('asks one peer per origin; other claims wait as candidates', () => {
    const t = tracker()
    assert.equal(t.claim('p1', 'o', held(1, 5), 0), true)
    assert.equal(t.claim('p2', 'o', held(1, 5), 10), false)
    assert.equal(t.pulling('o'), 'p1')
    // p1 delivers what it claimed: done, nobody claims more.
    assert.equal(t.progress('p1', 'o', held(1, 5), 20), undefined)
    assert.equal(t.pulling('o'), undefined)
  })

  it('an unproven claim never raises the version we wait for; the pull moves on when a peer does not deliver', () => {
    const t = tracker()
    assert.equal(t.claim('honest', 'o', held(1, 5), 0), true)
    // A liar claims far more while the honest pull is under way.
    assert.equal(t.claim('liar', 'o', held(Number.MAX_SAFE_INTEGER, Number.MAX_SAFE_INTEGER), 1), false)
    // The honest peer delivers up to its claim: the pull is done, then the liar is asked once.
    assert.deepEqual(t.progress('honest', 'o', held(1, 5), 100), { peer: 'liar', origin: 'o' })
    // The liar never delivers: after the timeout its claim is dropped and it is not asked again.
    assert.deepEqual(t.expire(2_200, () => held(1, 5)), [])
    assert.equal(t.pulling('o'), undefined)
    assert.equal(t.claim('liar', 'o', held(Number.MAX_SAFE_INTEGER, 1), 3_000), false, 'its claims about o are ignored until it delivers')
    // Once it delivers a record of o, it is believed again.
    t.progress('liar', 'o', held(1, 6), 3_100)
    assert.equal(t.claim('liar', 'o', held(1, 9), 3_200), true)
  })

  it('distrust expires: a peer that was only slow, and is the only one holding what we lack, is asked again later', () => {
    // The 50-Gateway soak once stayed one origin short for 300 s: under overload every peer's pull of it had
    // timed out once, and each was distrusted for good, so no digest ever started a pull again.
    const t = new PullTracker({ timeoutMs: 2_000, maxPulls: 3, maxCandidates: 2, distrustMs: 30_000 })
    assert.equal(t.claim('slow', 'o', held(1, 5), 0), true)
    assert.deepEqual(t.expire(2_000, () => held(1, 0)), [])
    assert.equal(t.claim('slow', 'o', held(1, 5), 10_000), false, 'distrusted for a while')
    assert.equal(t.claim('slow', 'o', held(1, 5), 32_000), true, 'then its claim starts a pull again')
  })

  it('fails over to the candidate with the newest claim, skipping claims we already hold', () => {
    const t = tracker()
    t.claim('silent', 'o', held(1, 9), 0)
    t.claim('old', 'o', held(1, 2), 0)
    t.claim('good', 'o', held(1, 8), 0)
    assert.deepEqual(t.expire(2_000, () => held(1, 3)), [{ peer: 'good', origin: 'o' }])
    assert.equal(t.pulling('o'), 'good')
  })

  it('records still coming keep a pull alive; a gone peer fails over at once', () => {
    const t = tracker()
    t.claim('p1', 'o', held(1, 10), 0)
    t.claim('p2', 'o', held(1, 10), 0)
    t.progress('p1', 'o', held(1, 4), 1_900)
    assert.deepEqual(t.expire(3_000, () => held(1, 4)), [], 'p1 delivered 1.1 s ago')
    t.peerGone('p1')
    assert.deepEqual(t.expire(3_001, () => held(1, 4)), [{ peer: 'p2', origin: 'o' }])
  })

  it('is bounded: past maxPulls origins and maxCandidates claims, claims wait for the next digest', () => {
    const t = tracker()
    for (const o of ['a', 'b', 'c']) assert.equal(t.claim('p', o, held(1, 1), 0), true)
    assert.equal(t.claim('p', 'd', held(1, 1), 0), false)
    assert.equal(t.size, 3)
    t.claim('q1', 'a', held(1, 1), 0)
    t.claim('q2', 'a', held(1, 1), 0)
    t.claim('q3', 'a', held(1, 2), 0)
    assert.deepEqual(t.expire(5_000, () => undefined).find(a => a.origin === 'a')?.peer, 'q1')
  })
})
