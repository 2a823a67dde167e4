/**
 * deferred-identify.ts: identify runs once per member connection, a turn after it opens, and waits
 * while the registry link to that peer is in its first sync (at most IDENTIFY_HOLD_MS). Fake timers
 * and a fake connection: no network.
 */
import assert from 'node:assert/strict'
import { afterEach, beforeEach, describe, it, mock } from 'node:test'
import { TypedEventEmitter } from 'main-event'
import { DeferredIdentify, IDENTIFY_HOLD_MS } from '../../src/deferred-identify.ts'
import type { Connection, Libp2pEvents } from '@libp2p/interface'

function setup (syncing?: () => boolean): { events: TypedEventEmitter<Libp2pEvents>, identified: Connection[], connection: Connection } {
  const events = new TypedEventEmitter<Libp2pEvents>()
  const identified: Connection[] = []
  const identify = { identify: async (c: Connection) => { identified.push(c); return await Promise.resolve({} as never) } }
  const clawmesh = syncing === undefined ? undefined : { syncingWith: (peer: string) => { assert.equal(peer, 'peer-a'); return syncing() } }
  const service = new DeferredIdentify({ events, identify, ...(clawmesh !== undefined ? { clawmesh } : {}) }, 0)
  service.start()
  const connection = { remotePeer: { toString: () => 'peer-a' }, status: 'open', timeline: { open: 0 }, limits: undefined } as unknown as Connection
  return { events, identified, connection }
}

describe('deferred identify', () => {
  beforeEach(() => { mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 1_000 }) })
  afterEach(() => { mock.timers.reset() })

  it('identifies a member connection once, a turn after it opens, when no registry link is syncing', () => {
    const { events, identified, connection } = setup(() => false)
    events.safeDispatchEvent('connection:open', { detail: connection })
    assert.equal(identified.length, 0, 'not on the synchronous path of the opening')
    mock.timers.tick(0)
    assert.equal(identified.length, 1)
    mock.timers.tick(10_000)
    assert.equal(identified.length, 1)
  })

  it('waits while the link to the peer is in its first sync, then identifies at once', () => {
    let syncing = true
    const { events, identified, connection } = setup(() => syncing)
    events.safeDispatchEvent('connection:open', { detail: connection })
    mock.timers.tick(0)
    mock.timers.tick(500)
    assert.equal(identified.length, 0)
    syncing = false
    mock.timers.tick(25)
    assert.equal(identified.length, 1)
  })

  it('waits at most IDENTIFY_HOLD_MS for a sync that does not end', () => {
    const { events, identified, connection } = setup(() => true)
    events.safeDispatchEvent('connection:open', { detail: connection })
    for (let t = 0; t < IDENTIFY_HOLD_MS - 50; t += 25) mock.timers.tick(25)
    assert.equal(identified.length, 0)
    for (let t = 0; t < 100; t += 25) mock.timers.tick(25)
    assert.equal(identified.length, 1)
  })

  it('never identifies a connection that closed meanwhile', () => {
    const { events, identified, connection } = setup(() => true)
    events.safeDispatchEvent('connection:open', { detail: connection })
    mock.timers.tick(100)
    events.safeDispatchEvent('connection:close', { detail: connection })
    mock.timers.tick(IDENTIFY_HOLD_MS)
    assert.equal(identified.length, 0)
  })
})
