// Whom the dialer keeps registry links with: pure, a fake clock.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { LinkChoice } from '../../src/discovery/link-choice.ts'

const peers = (n: number): string[] => Array.from({ length: n }, (_, i) => `peer-${String(i).padStart(3, '0')}`)

void describe('link choice', () => {
  void it('in a mesh smaller than the degree, links with any member it is connected to', () => {
    const choice = new LinkChoice({ self: 'me', degree: 8, now: () => 0 })
    for (const p of peers(3)) assert.equal(choice.offer(p), true)
    // A member reached by an invite (never offered by discovery) is linked too: a small mesh stays full.
    assert.equal(choice.wants('invited'), true)
  })

  void it('a mesh of more members than the degree: an overloaded Gateway whose dials back off does not link with every connection', () => {
    const choice = new LinkChoice({ self: 'me', degree: 8, now: () => 0 })
    const all = peers(49)
    for (const p of all) choice.offer(p)
    assert.equal(choice.chosen().size, 8)
    // Its dials time out and back off: only two candidates are usable right now.
    const usable = new Set(all.slice(0, 2))
    choice.setUsable(p => usable.has(p))
    const chosen = choice.chosen()
    assert.ok(chosen.size <= 2)
    // A delivery connection to a member it did not choose is no reason for a link: 49 members are known.
    const others = all.filter(p => !chosen.has(p))
    assert.deepEqual(others.filter(p => choice.wants(p)), [])
  })

  void it('members the registry knows count, found by discovery or not', () => {
    const choice = new LinkChoice({ self: 'me', degree: 8, now: () => 0 })
    choice.offer('peer-a')
    choice.setMembers(() => 3)
    assert.equal(choice.wants('invited'), true, '3 members, fewer than the degree: a full mesh')
    choice.setMembers(() => 30)
    assert.equal(choice.wants('invited'), false, '30 members: only the chosen')
    assert.equal(choice.wants('peer-a'), true, 'a chosen peer is wanted')
  })
})
