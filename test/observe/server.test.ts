// The one HTTP server: /metrics, the live page and its JSON, read-only, on real meshes over 127.0.0.1.
import assert from 'node:assert/strict'
import { request } from 'node:http'
import { after, before, describe, it } from 'node:test'
import { isLoopbackHost, isTrustedHostHeader } from '../../src/observe/server.ts'
import type { MeshSnapshot } from '../../src/observe/snapshot.ts'
import { createTestMeshes, waitForResolvable, type TestNetwork } from '../../src/testing.ts'

interface Answer { status: number, headers: Record<string, string | string[] | undefined>, body: string }

/** A raw request, so the test chooses the method and the Host header (fetch would not let it). */
async function http (port: number, path: string, options: { method?: string, host?: string } = {}): Promise<Answer> {
  return await new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: options.method ?? 'GET', headers: { host: options.host ?? `127.0.0.1:${port}` } }, res => {
      let body = ''
      res.setEncoding('utf8').on('data', (d: string) => { body += d }).on('end', () => { resolve({ status: res.statusCode ?? 0, headers: res.headers, body }) })
    })
    req.on('error', reject)
    req.end()
  })
}

describe('observe server', () => {
  let net: TestNetwork
  let port: number

  before(async () => {
    net = await createTestMeshes(2, { options: i => i === 0 ? { metrics: { port: 0, processMetrics: false } } : { deliver: async () => ({ reply: 'ok' }) } })
    const [a, b] = net.meshes
    assert.ok(a !== undefined && b !== undefined)
    await b.announce('agent:main:main', { sessionId: '7b1d9a40-2e3f-4b8a-8c6d-5e4f3a2b1c02', label: 'main' })
    await waitForResolvable(a, 'gateway:gw1:agent:main:main')
    await a.send('gateway:gw1:agent:main:main', 'hi')
    await assert.rejects(a.send('gateway:gw1:agent:main:nope', 'hi'), { code: 'NOT_FOUND' })
    port = a.status().metricsPort as number
  })

  after(async () => { await net?.stop() })

  it('serves the page and its script and style under a CSP that allows no inline script', async () => {
    const page = await http(port, '/')
    assert.equal(page.status, 200)
    assert.match(String(page.headers['content-type']), /^text\/html/)
    const csp = String(page.headers['content-security-policy'])
    assert.match(csp, /default-src 'none'/)
    assert.match(csp, /script-src 'self'/)
    assert.match(csp, /frame-ancestors 'none'/)
    assert.doesNotMatch(csp, /unsafe/)
    assert.equal(page.headers['x-content-type-options'], 'nosniff')
    assert.match(page.body, /<script src="app.js" defer><\/script>/)
    assert.doesNotMatch(page.body, /<script>/, 'no inline script')
    const script = await http(port, '/app.js')
    assert.equal(script.status, 200)
    assert.match(String(script.headers['content-type']), /^text\/javascript/)
    assert.equal((await http(port, '/app.css')).status, 200)
    assert.equal((await http(port, '/favicon.ico')).status, 204)
    assert.equal((await http(port, '/nope')).status, 404)
    const head = await http(port, '/', { method: 'HEAD' })
    assert.equal(head.status, 200)
    assert.equal(head.body, '')
  })

  it('serves the mesh as JSON: Gateways, sessions and send outcomes', async () => {
    const answer = await http(port, '/mesh.json?cache=no')
    assert.equal(answer.status, 200)
    assert.equal(answer.headers['cache-control'], 'no-store')
    const snap = JSON.parse(answer.body) as MeshSnapshot
    assert.equal(snap.version, 1)
    assert.equal(snap.self.name, 'gw0')
    assert.deepEqual(snap.gateways.map(g => [g.name, g.link, g.reachable, g.sessions]), [['gw0', 'self', true, 0], ['gw1', 'direct', true, 1]])
    assert.deepEqual(snap.sessions.map(s => s.qualifiedKey), ['gateway:gw1:agent:main:main'])
    assert.deepEqual(snap.sends, { ok: 1, accepted: 0, failed: 1, errors: { NOT_FOUND: 1 } })
    assert.equal(snap.gateways[1]?.sends.ok, 1)
  })

  it('is read-only: every method but GET and HEAD is refused', async () => {
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH']) {
      for (const path of ['/', '/mesh.json', '/metrics']) {
        const answer = await http(port, path, { method })
        assert.equal(answer.status, 405, `${method} ${path}`)
        assert.equal(answer.headers.allow, 'GET, HEAD')
      }
    }
  })

  it('refuses the page and its JSON to a Host header naming another site (DNS rebinding), not /metrics', async () => {
    for (const path of ['/', '/mesh.json', '/app.js']) {
      assert.equal((await http(port, path, { host: `evil.example:${port}` })).status, 403, path)
      assert.equal((await http(port, path, { host: `127.0.0.1.evil.example:${port}` })).status, 403, path)
    }
    assert.equal((await http(port, '/mesh.json', { host: `localhost:${port}` })).status, 200)
    assert.equal((await http(port, '/mesh.json', { host: `[::1]:${port}` })).status, 200)
    assert.equal((await http(port, '/metrics', { host: `prometheus.example:${port}` })).status, 200)
  })

  it('serves only /metrics when the page is turned off', async () => {
    const off = await createTestMeshes(1, { options: () => ({ metrics: { port: 0, processMetrics: false, page: false } }) })
    try {
      const offPort = off.meshes[0]?.status().metricsPort as number
      assert.equal((await http(offPort, '/')).status, 404)
      assert.equal((await http(offPort, '/mesh.json')).status, 404)
      // A second mesh in this process has its own clawmesh metrics, with its own values, not the first one's.
      await off.meshes[0]?.send('agent:main:nowhere', 'x').catch(() => {})
      const offMetrics = (await http(offPort, '/metrics')).body
      const firstMetrics = (await http(port, '/metrics')).body
      assert.match(offMetrics, /^clawmesh_peers 0$/m)
      assert.match(offMetrics, /^clawmesh_gateways 1$/m)
      assert.match(firstMetrics, /^clawmesh_gateways 2$/m)
      assert.match(offMetrics, /^clawmesh_sends_total\{outcome="NOT_FOUND"\} 1$/m)
      assert.match(firstMetrics, /^clawmesh_sends_total\{outcome="NOT_FOUND"\} 1$/m, 'the first mesh\'s one NOT_FOUND, not two')
    } finally {
      await off.stop()
    }
  })
})

describe('host rules', () => {
  it('serves the page by default only on loopback addresses', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost']) assert.equal(isLoopbackHost(h), true, h)
    for (const h of ['0.0.0.0', '::', '192.168.1.5', 'gateway.lan', '128.0.0.1']) assert.equal(isLoopbackHost(h), false, h)
  })

  it('trusts a Host header that is an IP address, localhost or the bound name', () => {
    for (const h of ['127.0.0.1:9464', '10.0.0.5:80', '[::1]:9464', '[fe80::1]', 'localhost:9464', 'LOCALHOST', 'gw.lan:9464']) {
      assert.equal(isTrustedHostHeader(h, 'gw.lan'), true, h)
    }
    for (const h of [undefined, '', 'evil.example', 'evil.example:9464', '127.0.0.1.nip.io:9464', 'localhost.evil.example']) {
      assert.equal(isTrustedHostHeader(h, '127.0.0.1'), false, String(h))
    }
  })
})
