// Prometheus metrics from createMesh: clawmesh's own and libp2p's, on one endpoint.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { createTestMeshes, waitForResolvable } from '../../src/testing.ts'

describe('metrics', () => {
  it('serves send outcomes, latency, registry size and libp2p metrics; status() names the mesh', async () => {
    const net = await createTestMeshes(2, { options: i => i === 0 ? { metrics: { port: 0, processMetrics: false } } : { deliver: async () => ({ reply: 'ok' }) } })
    try {
      const [a, b] = net.meshes
      assert.ok(a !== undefined && b !== undefined)
      await b.announce('agent:main:main')
      await waitForResolvable(a, 'gateway:gw1:agent:main:main')
      await a.send('gateway:gw1:agent:main:main', 'hi')
      await assert.rejects(a.send('gateway:gw1:agent:main:nope', 'hi'), { code: 'NOT_FOUND' })
      const status = a.status()
      assert.equal(typeof status.metricsPort, 'number')
      assert.equal(status.meshId, b.status().meshId)
      assert.deepEqual(status.discovery, { mdns: false, local: false, bootstrap: 0 })
      const text = await (await fetch(`http://127.0.0.1:${status.metricsPort}/metrics`)).text()
      assert.match(text, /clawmesh_sends_total\{outcome="ok"\} 1/)
      assert.match(text, /clawmesh_sends_total\{outcome="NOT_FOUND"\} 1/)
      assert.match(text, /clawmesh_send_duration_seconds_count\{outcome="ok"\} 1/)
      assert.match(text, /clawmesh_sessions\{owner="remote"\} 1/)
      assert.match(text, /clawmesh_peers 1/)
      assert.match(text, /libp2p_/, 'libp2p\'s own metrics are served alongside')
    } finally {
      await net.stop()
    }
  })
})
