// The plugin's defaults (src/openclaw/defaults.ts): who the mesh is for, where it listens, which
// sessions it announces. Pure functions of the config and how the Gateway runs.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { parsePluginConfig } from '../../src/openclaw/config.ts'
import { announceFilter, gatewayBind, meshOptionsFor, networkPlan, scopeOf, tailnetAddress, GATEWAY_PEER_SILENCE_MS } from '../../src/openclaw/defaults.ts'
import type { HostConfig } from '../../src/openclaw/host.ts'

const plan = (config: Record<string, unknown>, host: HostConfig = {}, argv: string[] = []): ReturnType<typeof networkPlan> =>
  networkPlan(parsePluginConfig(config, { gateway: { port: 18789 }, ...host }, '/s'), host, argv)

describe('plugin defaults', () => {
  it('reads the bind mode from the Gateway\'s command line first, then its config', () => {
    assert.equal(gatewayBind({}, []), 'loopback')
    assert.equal(gatewayBind({ gateway: { bind: 'lan' } }, []), 'lan')
    assert.equal(gatewayBind({ gateway: { bind: 'lan' } }, ['node', 'openclaw', 'gateway', 'run', '--bind', 'loopback']), 'loopback')
    assert.equal(gatewayBind({}, ['--bind=tailnet']), 'tailnet')
  })

  it('keeps the mesh to this host while the Gateway binds to loopback', () => {
    assert.equal(scopeOf('loopback'), 'host')
    assert.equal(scopeOf('auto', false), 'host')
    assert.equal(scopeOf('auto', true), 'lan')
    for (const bind of ['lan', 'custom', 'tailnet']) assert.equal(scopeOf(bind), 'lan')
    const withEnv = process.env.OPENCLAW_GATEWAY_PORT
    delete process.env.OPENCLAW_GATEWAY_PORT
    try {
      assert.deepEqual(plan({}), { scope: 'host', bind: 'loopback', port: 19789, listen: ['/ip4/127.0.0.1/tcp/19789'], mdns: false })
      assert.deepEqual(plan({}, { gateway: { bind: 'lan' } }), { scope: 'lan', bind: 'lan', port: 19789, listen: ['/ip4/0.0.0.0/tcp/19789'], mdns: true })
      assert.deepEqual(plan({ network: 'lan' }), { scope: 'lan', bind: 'loopback', port: 19789, listen: ['/ip4/0.0.0.0/tcp/19789'], mdns: true })
      assert.deepEqual(plan({ network: 'host' }, { gateway: { bind: 'lan' } }).listen, ['/ip4/127.0.0.1/tcp/19789'])
      assert.deepEqual(plan({}, { gateway: { bind: 'custom', customBindHost: '10.1.2.3' } }).listen, ['/ip4/10.1.2.3/tcp/19789', '/ip4/127.0.0.1/tcp/19789'])
      assert.deepEqual(plan({}, { gateway: { bind: 'custom', customBindHost: '0.0.0.0' } }).listen, ['/ip4/0.0.0.0/tcp/19789'])
      // A stable, configurable port: the Gateway's + 1000, a fixed one, or any (0).
      assert.equal(plan({ port: 4711 }).listen[0], '/ip4/127.0.0.1/tcp/4711')
      assert.equal(plan({ gatewayPort: 65000 }).port, 0, 'no port past 65535')
      assert.deepEqual(plan({ listen: ['/ip4/127.0.0.1/tcp/0'] }).listen, ['/ip4/127.0.0.1/tcp/0'], 'listen wins')
    } finally {
      if (withEnv !== undefined) process.env.OPENCLAW_GATEWAY_PORT = withEnv
    }
  })

  it('over a tailnet listens on the tailnet address, without mDNS', () => {
    const eth = { address: '192.168.1.5', netmask: '255.255.255.0', family: 'IPv4' as const, mac: '', internal: false, cidr: null }
    const ts = { ...eth, address: '100.101.102.103' }
    assert.equal(tailnetAddress({ eth0: [eth], tailscale0: [ts] }), '100.101.102.103')
    assert.equal(tailnetAddress({ eth0: [eth] }), undefined)
    const p = plan({}, { gateway: { bind: 'tailnet' } })
    assert.equal(p.mdns, false)
    assert.ok(p.listen.includes('/ip4/127.0.0.1/tcp/19789'))
  })

  it('passes every offered core option through, with a Gateway\'s peer silence', () => {
    const cfg = parsePluginConfig({ allow: ['12D3KooWx'], inboundLimits: false, metrics: { port: 0 }, heartbeatIntervalMs: 500, defaultTimeoutSeconds: 5, announce: ['*'] }, { gateway: { port: 18789 } }, '/s')
    const options = meshOptionsFor(cfg, plan({}), 'hq')
    assert.deepEqual(options.allow, ['12D3KooWx'])
    assert.equal(options.inboundLimits, false)
    assert.deepEqual(options.metrics, { port: 0 })
    assert.equal(options.heartbeatIntervalMs, 500)
    assert.equal(options.peerSilenceMs, GATEWAY_PEER_SILENCE_MS)
    assert.equal(options.defaultTimeoutMs, 5000)
    assert.equal(options.name, 'hq')
    assert.equal(options.mdns, false)
    assert.ok(!('announce' in options) && !('network' in options) && !('defaultTimeoutSeconds' in options), 'plugin settings stay in the plugin')
    assert.equal(meshOptionsFor(parsePluginConfig({ discovery: { mdns: true } }, {}, '/s'), plan({}), 'hq').mdns, undefined, 'an explicit mDNS setting wins')
  })

  it('announces neither direct-message nor cron keys by default', () => {
    const announced = announceFilter()
    for (const key of ['agent:main:main', 'agent:ops:main', 'agent:main:telegram:group:42', 'agent:main:subagent:0f6c2a52', 'agent:main:pingpong']) assert.equal(announced(key), true, key)
    for (const key of ['agent:main:direct:+15551234567', 'agent:main:telegram:direct:12345', 'agent:main:telegram:acct:direct:12345', 'agent:main:telegram:direct:12345:thread:9', 'agent:main:cron:daily', 'agent:main:cron:daily:run:8f1e']) {
      assert.equal(announced(key), false, key)
    }
    const configured = announceFilter(['agent:main:*', '!agent:main:cron:*'])
    assert.equal(configured('agent:main:telegram:direct:12345'), true)
    assert.equal(configured('agent:main:cron:daily:run:1'), false)
    assert.equal(configured('agent:ops:main'), false)
    assert.equal(announceFilter([])('agent:main:main'), false, 'an empty list announces nothing')
  })
})
