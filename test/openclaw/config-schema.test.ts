// The plugin's config has two descriptions: the manifest's JSON Schema (what OpenClaw checks before it
// loads the plugin, compiled here with TypeBox as OpenClaw 2026.9.6 does) and the parser in
// src/openclaw/config.ts (what the plugin and `clawmesh doctor` apply). These tests fail when they drift:
// an option one knows and the other does not, or a value one accepts and the other refuses.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { Compile } from 'typebox/schema'
import { CONFIG_FIELDS, NOT_OFFERED, parsePluginConfig } from '../../src/openclaw/config.ts'
import { exportSecret, generateSecret, parseSecret } from '../../src/security/secret.ts'

const manifest = JSON.parse(readFileSync(new URL('../../openclaw.plugin.json', import.meta.url), 'utf8')) as { configSchema: { properties: Record<string, unknown> } }
const schema = Compile(manifest.configSchema as never)
const schemaAccepts = (config: Record<string, unknown>): boolean => schema.Check(config)
const parserAccepts = (config: Record<string, unknown>): boolean => {
  try {
    parsePluginConfig(config, {}, '/tmp/openclaw-state')
    return true
  } catch (err) {
    assert.ok(err instanceof TypeError, `the parser throws TypeErrors only: ${String(err)}`)
    return false
  }
}

const KEY = exportSecret(parseSecret(generateSecret()))
const KEY2 = exportSecret(parseSecret(generateSecret()))
const KEY3 = exportSecret(parseSecret(generateSecret()))

/** For each option: values both must accept, values both must refuse. Every option needs both. */
const SAMPLES: Record<string, { valid: unknown[], invalid: unknown[] }> = {
  name: { valid: ['hq', 'laptop-18789'], invalid: ['', 5, null] },
  gatewayPort: { valid: [1, 18790, 65535], invalid: [0, 65536, 1.5, '18790'] },
  network: { valid: ['host', 'lan'], invalid: ['wan', '', true] },
  port: { valid: [0, 19789, 65535], invalid: [-1, 65536, '19789', 2.5] },
  announce: { valid: [[], ['*', '!agent:*:direct:*']], invalid: ['*', [''], [3]] },
  secret: {
    valid: [KEY, `${KEY}\n${KEY2}`, { primary: KEY }, { primary: KEY, accept: [KEY2] }, { primary: KEY3, accept: [{ key: KEY, label: 'old', expiresAt: '2030-01-01T00:00:00Z' }, { key: KEY2, expiresAt: 1_900_000_000_000 }] }],
    invalid: ['', 42, { accept: [KEY] }, { primary: KEY, extra: 1 }, { primary: KEY, accept: [{ label: 'x' }] }, { primary: KEY, accept: [{ key: KEY, expiresAt: -5 }] }]
  },
  stateDir: { valid: ['/var/lib/clawmesh', 'mesh'], invalid: ['', ['a']] },
  dataDir: { valid: ['/tmp/x', 'clawmesh'], invalid: ['', 1] },
  listen: { valid: [[], ['/ip4/0.0.0.0/tcp/19789']], invalid: ['/ip4/0.0.0.0/tcp/1', [''], [1]] },
  peers: { valid: [['/ip4/10.0.0.5/tcp/19789/p2p/12D3KooWAbc']], invalid: ['x', [null]] },
  mdns: { valid: [true, false], invalid: ['yes', 1] },
  discovery: {
    valid: [{}, { mdns: false, local: true, bootstrap: [] }, { mdns: { intervalMs: 500, announce: false, port: 5353, ip: '224.0.0.251' }, local: { refreshIntervalMs: 1000, rescanIntervalMs: 1000, staleAfterMs: 5000, watch: false } }],
    invalid: [[], { mdns: 'on' }, { mdns: { intervalMs: 0 } }, { local: { watch: 'no' } }, { bootstrap: 'x' }, { other: true }]
  },
  allow: { valid: [[], ['12D3KooWAbc']], invalid: ['12D3KooWAbc', ['']] },
  inboundLimits: { valid: [false, {}, { pendingPerHost: 4, maxFailures: 10, failureWindowMs: 5000, exempt: ['10.0.0.0/8'] }], invalid: [true, { pendingPerHost: 0 }, { other: 1 }, 'off'] },
  metrics: { valid: [{ port: 0 }, { port: 9464, host: '127.0.0.1', processMetrics: false, page: true }], invalid: [{}, { port: -1 }, { port: 9464, extra: 1 }, 9464] },
  policy: { valid: [{}, { allow: [{ from: 'hq' }], deny: [{ sessionKey: 'agent:ops:*' }] }], invalid: [{ allow: 'x' }, { allow: [{ from: '' }] }, { allow: [{ who: 'x' }] }, { other: [] }] },
  maxMessageBytes: { valid: [1, 1_048_576], invalid: [0, -1, 'big'] },
  unreachableGraceMs: { valid: [1, 86_400_000], invalid: [0, 1.5] },
  antiEntropyIntervalMs: { valid: [10_000], invalid: [0] },
  heartbeatIntervalMs: { valid: [1000, 2_147_483_647], invalid: [-1000, 2_147_483_648] },
  peerSilenceMs: { valid: [3000], invalid: ['3000'] },
  dialTimeoutMs: { valid: [5000], invalid: [null] },
  degree: { valid: [8], invalid: [0, 65, 'x'] },
  announcedAddresses: { valid: ['reached', 'all', [], ['10.0.0.0/8']], invalid: ['some', [''], 1] },
  join: { valid: ['clawmesh-invite:abc'], invalid: ['', 'invite', 5] },
  relay: { valid: [true, false], invalid: ['yes', 1, null] },
  protocolVersions: { valid: [[2, 1], [2], [1]], invalid: [[], [3], [2, 2], 2, ['2']] },
  defaultTimeoutSeconds: { valid: [0, 30, 2.5, 600], invalid: [-1, '30', 601] }
}

/** Values the schema lets through and the parser refuses on purpose: it checks what the mesh would refuse on start. */
const CONTENT_CHECKED = new Set(['secret'])

describe('the plugin\'s config schema (manifest) and parser (config.ts)', () => {
  const properties = Object.keys(manifest.configSchema.properties).sort()

  it('know the same options', () => {
    assert.deepEqual(properties, Object.keys(CONFIG_FIELDS).sort())
    for (const key of Object.keys(NOT_OFFERED)) assert.ok(!properties.includes(key), `${key} is listed as not offered`)
  })

  it('have samples for every option', () => {
    assert.deepEqual(Object.keys(SAMPLES).sort(), properties)
  })

  it('accept and refuse the same sample values', () => {
    for (const [key, { valid, invalid }] of Object.entries(SAMPLES)) {
      for (const value of valid) {
        assert.equal(schemaAccepts({ [key]: value }), true, `the schema accepts ${key}: ${JSON.stringify(value)}`)
        assert.equal(parserAccepts({ [key]: value }), true, `the parser accepts ${key}: ${JSON.stringify(value)}`)
      }
      for (const value of invalid) {
        assert.equal(schemaAccepts({ [key]: value }), false, `the schema refuses ${key}: ${JSON.stringify(value)}`)
        assert.equal(parserAccepts({ [key]: value }), false, `the parser refuses ${key}: ${JSON.stringify(value)}`)
      }
    }
  })

  it('agree on arbitrary JSON values for every option', () => {
    for (const key of properties) {
      fc.assert(fc.property(fc.jsonValue({ maxDepth: 3 }), value => {
        const config = { [key]: value }
        const bySchema = schemaAccepts(config)
        const byParser = parserAccepts(config)
        if (CONTENT_CHECKED.has(key)) return !byParser || bySchema
        return bySchema === byParser
      }), { numRuns: 150 })
    }
  })

  it('both refuse an unknown option, and the secret of a wrong shape', () => {
    assert.equal(schemaAccepts({ nope: 1 }), false)
    assert.equal(parserAccepts({ nope: 1 }), false)
    // The schema cannot tell a key from any string; the parser (and so `clawmesh doctor`) can.
    assert.equal(schemaAccepts({ secret: 'not a key' }), true)
    assert.equal(parserAccepts({ secret: 'not a key' }), false)
  })

  it('fills in the Gateway\'s port, the data folder and the default wait', () => {
    const c = parsePluginConfig({ dataDir: 'mesh-id', stateDir: 'shared' }, { gateway: { port: 18790 } }, '/home/u/.openclaw-b')
    assert.equal(c.dataDir, '/home/u/.openclaw-b/mesh-id')
    assert.equal(c.stateDir, '/home/u/.openclaw-b/shared')
    assert.equal(c.defaultTimeoutSeconds, 30)
    const port = process.env.OPENCLAW_GATEWAY_PORT
    delete process.env.OPENCLAW_GATEWAY_PORT
    try {
      assert.equal(c.gatewayPort, 18790)
      assert.equal(parsePluginConfig(undefined, {}, '/s').dataDir, '/s/clawmesh')
    } finally {
      if (port !== undefined) process.env.OPENCLAW_GATEWAY_PORT = port
    }
  })
})
