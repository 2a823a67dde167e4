// The pure parts of liveness at scale, with time passed in: a link's failure detector (suspicion,
// confirmations, indirect acks, verdict), our own health, and the choice of links.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { LinkWatch, watchTiming, type WatchAction } from '../../src/gossip/link-watch.ts'
import { LocalHealth } from '../../src/gossip/local-health.ts'
import { chooseLinks } from '../../src/gossip/topology.ts'

const timing = watchTiming(1_000, 4_000)

/** Steps a watch every 250 ms from `from` to `to`; returns each action other than 'none', with its time. */
function run (watch: LinkWatch, from: number, to: number, multiplier = 1): Array<[number, WatchAction]> {
  const out: Array<[number, WatchAction]> = []
  for (let now = from; now <= to; now += 250) {
    const action = watch.step(now, multiplier, timing)
    if (action !== 'none') out.push([now, action])
  }
  return out
}

describe('LinkWatch (a link\'s failure detector)', () => {
  it('probes, then suspects, then declares a silent peer down; a lone observer waits longest', () => {
    const w = new LinkWatch(0)
    const actions = run(w, 250, 20_000)
    const first = (a: WatchAction): number | undefined => actions.find(([, x]) => x === a)?.[0]
    assert.equal(first('probe'), 1_500)
    assert.equal(first('suspect'), 2_500, 'suspect at 5/8 of the silence allowed')
    // Nobody to confirm: the longest suspicion (3 × the shortest).
    assert.equal(first('declare'), 2_500 + 4_500)
    assert.equal(w.state, 'dead')
    assert.equal(first('hangUp'), undefined, 'the link stays open a while: a stalled peer answers on it')
    assert.equal(run(w, 20_250, 40_000).find(([, a]) => a === 'hangUp')?.[0], 7_000 + 30_000)
  })

  it('an independent confirmation shortens the suspicion to the minimum (hang detection under 5 s)', () => {
    const w = new LinkWatch(0)
    assert.deepEqual(run(w, 250, 2_500).at(-1), [2_500, 'suspect'])
    w.asking(['x'])
    w.confirm('x')
    const declared = run(w, 2_750, 10_000).find(([, a]) => a === 'declare')?.[0]
    assert.equal(declared, 4_000)
  })

  it('a confirmation that arrives just before our own suspicion still counts; any frame from the peer clears everything', () => {
    const w = new LinkWatch(0)
    w.confirm('x')
    w.asking(['x'])
    assert.equal(run(w, 250, 10_000).find(([, a]) => a === 'declare')?.[0], 4_000)
    const again = new LinkWatch(0)
    again.confirm('x')
    assert.equal(again.heard(1_000), 'alive')
    again.asking(['x'])
    assert.equal(run(again, 1_250, 20_000).find(([, a]) => a === 'declare')?.[0], 3_500 + 4_500, 'the earlier confirmation was forgotten when the peer answered')
  })

  it('an answer from the peer ends a suspicion; after a verdict it revives it', () => {
    const w = new LinkWatch(0)
    run(w, 250, 3_000)
    assert.equal(w.state, 'suspect')
    assert.equal(w.heard(3_100), 'suspect')
    assert.equal(w.state, 'alive')
    run(w, 3_250, 20_000)
    assert.equal(w.state, 'dead')
    assert.equal(w.heard(20_100), 'dead', 'the caller revives it')
    assert.equal(w.state, 'alive')
  })

  it('a solicited indirect ack extends the suspicion once, and only from a peer we asked', () => {
    const w = new LinkWatch(0)
    run(w, 250, 2_500)
    w.asking(['witness'])
    assert.equal(w.indirectAck('stranger', 3_000, 1, timing), false)
    assert.equal(w.indirectAck('witness', 3_000, 1, timing), true)
    assert.equal(w.indirectAck('witness', 3_500, 1, timing), false, 'once per suspicion')
    const declared = run(w, 2_750, 30_000).find(([, a]) => a === 'declare')?.[0]
    assert.equal(declared, 3_000 + 4_500, 'a full suspicion from the ack: the peer itself must answer by then')
  })

  it('our own stall is excused, and a slow observer (health multiplier) waits proportionally longer', () => {
    const w = new LinkWatch(0)
    w.excuse(10_000, 10_000)
    assert.equal(w.state, 'alive')
    assert.deepEqual(run(w, 10_250, 12_000).filter(([, a]) => a === 'suspect'), [])
    const slow = new LinkWatch(0)
    const actions = run(slow, 250, 60_000, 3)
    assert.equal(actions.find(([, a]) => a === 'suspect')?.[0], 7_500)
    assert.equal(actions.find(([, a]) => a === 'declare')?.[0], 7_500 + 13_500)
  })
})

describe('LocalHealth', () => {
  it('rises when our own checks run late, more for a long stall, when accused; falls back when quiet', () => {
    const h = new LocalHealth()
    h.checked(0, 10)
    assert.equal(h.multiplier, 1)
    h.checked(250, 400)
    assert.equal(h.score, 1)
    h.checked(500, 5_000)
    assert.equal(h.score, 6, 'a 5 s stall: five steps')
    h.accused(600)
    h.checked(700, 20_000)
    assert.equal(h.score, 8, 'capped')
    h.checked(4_000, 0)
    assert.equal(h.score, 8, 'not quiet long enough')
    h.checked(5_700, 0)
    assert.equal(h.score, 7)
    for (let t = 5_700; t <= 60_000; t += 250) h.checked(t, 0)
    assert.equal(h.score, 0)
  })
})

describe('chooseLinks (topology)', () => {
  const ids = Array.from({ length: 100 }, (_, i) => `peer-${i}`)

  it('a mesh no larger than degree + 1 is a full mesh', () => {
    assert.deepEqual([...chooseLinks('peer-0', ids.slice(0, 9), 8)].sort(), ids.slice(1, 9).sort())
  })

  it('chooses `degree` peers; the ring neighbours choose each other; the union of everyone\'s choices connects everyone in few hops', () => {
    const choices = new Map(ids.map(id => [id, chooseLinks(id, ids, 8)]))
    for (const [id, chosen] of choices) {
      assert.equal(chosen.size, 8)
      assert.equal(chosen.has(id), false)
    }
    // Links are mutual: a link either side chose.
    const adjacency = new Map(ids.map(id => [id, new Set<string>()]))
    for (const [id, chosen] of choices) for (const peer of chosen) { adjacency.get(id)!.add(peer); adjacency.get(peer)!.add(id) }
    // Ring neighbours are mutual: the nearest on one side chooses us back.
    let mutual = 0
    for (const [id, chosen] of choices) for (const peer of chosen) if (choices.get(peer)!.has(id)) mutual++
    assert.ok(mutual >= ids.length * 4, `${mutual} mutual choices`)
    // Breadth-first from every node: connected, and a small diameter.
    let diameter = 0
    for (const start of ids) {
      const dist = new Map([[start, 0]])
      const queue = [start]
      while (queue.length > 0) {
        const at = queue.shift()!
        for (const next of adjacency.get(at)!) if (!dist.has(next)) { dist.set(next, dist.get(at)! + 1); queue.push(next) }
      }
      assert.equal(dist.size, ids.length, 'connected')
      diameter = Math.max(diameter, ...dist.values())
    }
    assert.ok(diameter <= 4, `diameter ${diameter}`)
    const degrees = [...adjacency.values()].map(s => s.size)
    assert.ok(Math.max(...degrees) <= 24, `max links ${Math.max(...degrees)}`)
  })

  it('is stable: a newcomer changes few existing choices', () => {
    const before = new Map(ids.map(id => [id, chooseLinks(id, ids, 8)]))
    const after = new Map(ids.map(id => [id, chooseLinks(id, [...ids, 'newcomer'], 8)]))
    let changed = 0
    for (const id of ids) if ([...before.get(id)!].some(p => !after.get(id)!.has(p))) changed++
    assert.ok(changed <= 12, `${changed} of 100 Gateways changed a choice`)
  })
})
