import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { SeenCache } from '../../src/util/seen-cache.ts'

describe('SeenCache', () => {
  it('keeps at most maxEntries, evicting the oldest and reporting each eviction', () => {
    const evicted: number[] = []
    const cache = new SeenCache<number>(60_000, 3, v => { evicted.push(v) })
    for (let i = 0; i < 5; i++) cache.set(`k${i}`, i)
    assert.equal(cache.size, 3)
    assert.deepEqual(evicted, [0, 1])
    assert.equal(cache.get('k0'), undefined)
    assert.equal(cache.get('k4'), 4)
    assert.deepEqual([...cache.values()], [2, 3, 4])
  })

  it('forgets entries past their time to live', () => {
    const evicted: string[] = []
    const cache = new SeenCache<string>(-1, 10, v => { evicted.push(v) })
    cache.set('a', 'A')
    assert.equal(cache.get('a'), undefined)
    assert.deepEqual(evicted, ['A'])
  })

  it('reports a replaced value as evicted', () => {
    const evicted: string[] = []
    const cache = new SeenCache<string>(60_000, 10, v => { evicted.push(v) })
    cache.set('a', 'first')
    cache.set('a', 'second')
    assert.deepEqual(evicted, ['first'])
    assert.equal(cache.get('a'), 'second')
  })
})
