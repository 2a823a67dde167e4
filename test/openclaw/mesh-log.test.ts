// The mesh's events in OpenClaw's log (src/openclaw/mesh-log.ts), on a fake clock: which level each
// event gets, and the count of refusals held back once the minute's allowance is spent.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { TypedEventEmitter } from 'main-event'
import { LineLimiter, logMeshEvents, REFUSALS_PER_MINUTE } from '../../src/openclaw/mesh-log.ts'
import type { MeshEvents, MeshStatus } from '../../src/types.ts'

function fakeMesh (): TypedEventEmitter<MeshEvents> & { status: () => MeshStatus, conflicts: MeshStatus['conflicts'] } {
  const mesh = new TypedEventEmitter<MeshEvents>() as TypedEventEmitter<MeshEvents> & { status: () => MeshStatus, conflicts: MeshStatus['conflicts'] }
  mesh.conflicts = []
  mesh.status = () => ({ conflicts: mesh.conflicts } as unknown as MeshStatus)
  return mesh
}

const gw = { name: 'hq', peerId: '12D3KooWhq', host: 'h', self: false, reachable: true }

describe('mesh events in OpenClaw\'s log', () => {
  it('lets a few lines through per window and counts the rest', () => {
    let now = 0
    const limiter = new LineLimiter(2, 1000, () => now)
    assert.deepEqual([limiter.take(), limiter.take(), limiter.take(), limiter.take()], [true, true, false, false])
    assert.equal(limiter.drain(), 0, 'the window has not ended')
    now = 1000
    assert.equal(limiter.drain(), 2)
    assert.equal(limiter.drain(), 0)
    assert.equal(limiter.take(), true)
  })

  it('writes joins, leaves and reachability at info and warn, refusals at most a few a minute, then how many were held back', () => {
    let now = 0
    const lines: string[] = []
    const failures: string[] = []
    const mesh = fakeMesh()
    const stop = logMeshEvents(mesh, { info: m => lines.push(`info ${m}`), warn: m => lines.push(`warn ${m}`), error: m => lines.push(`error ${m}`) },
      { reportFailure: e => failures.push(String(e)), clearFailure: () => { failures.length = 0 } }, () => now)
    try {
      mesh.safeDispatchEvent('peer:join', { detail: gw })
      mesh.safeDispatchEvent('gateway:reachability', { detail: { ...gw, reachable: false } })
      mesh.safeDispatchEvent('gateway:reachability', { detail: gw })
      mesh.safeDispatchEvent('peer:leave', { detail: gw })
      assert.deepEqual(lines.map(l => l.split(' ').slice(0, 4).join(' ')), ['info clawmesh: Gateway hq', 'warn clawmesh: Gateway hq', 'info clawmesh: Gateway hq', 'info clawmesh: Gateway hq'])
      lines.length = 0
      for (let i = 0; i < REFUSALS_PER_MINUTE + 3; i++) mesh.safeDispatchEvent('peer:rejected', { detail: { address: `/ip4/10.0.0.${i}/tcp/1`, reason: 'the remote uses a different mesh secret', at: now } })
      assert.equal(lines.length, REFUSALS_PER_MINUTE)
      now = 61_000
      mesh.safeDispatchEvent('peer:rejected', { detail: { address: '/ip4/10.0.0.99/tcp/1', reason: 'not on this Gateway\'s allowlist', at: now } })
      assert.match(lines.at(-2) ?? '', /^warn clawmesh: 3 more refused connections or records not logged in the last minute/)
      assert.match(lines.at(-1) ?? '', /^warn clawmesh: refused \/ip4\/10\.0\.0\.99\/tcp\/1: not on this Gateway's allowlist$/)
      // A shared name: an error and a failed service, until it is gone.
      mesh.conflicts = [{ kind: 'name', value: 'hq', peerIds: ['a', 'b'] }]
      mesh.safeDispatchEvent('gateway:conflict', { detail: { kind: 'name', value: 'hq', peerIds: ['a', 'b'] } })
      assert.equal(failures.length, 1)
      assert.match(lines.at(-1) ?? '', /^error clawmesh: another Gateway shares this Gateway's name hq/)
      mesh.conflicts = []
      mesh.safeDispatchEvent('peer:leave', { detail: gw })
      assert.deepEqual(failures, [])
    } finally {
      stop()
    }
  })
})
