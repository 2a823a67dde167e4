/** The doctor's reading of an OpenClaw config: is clawmesh loaded, allowed, configured as its schema and parser want, on this mesh? */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { checkOpenClaw, openclawConfigPath } from '../../src/doctor/openclaw-config.ts'
import { generateSecret, parseSecret } from '../../src/security/secret.ts'

const checkout = fileURLToPath(new URL('../..', import.meta.url))

describe('doctor: OpenClaw config', () => {
  let dir: string
  let n = 0
  const config = async (value: unknown): Promise<string> => {
    const path = join(dir, `openclaw-${n++}.json`)
    await writeFile(path, typeof value === 'string' ? value : JSON.stringify(value))
    return path
  }
  const entry = (config: Record<string, unknown>, extra: Record<string, unknown> = {}): unknown => ({ plugins: { load: { paths: [checkout] }, entries: { clawmesh: { enabled: true, config } }, ...extra } })
  before(async () => { dir = await mkdtemp(join(tmpdir(), 'clawmesh-doctor-openclaw-')) })
  after(async () => { await rm(dir, { recursive: true, force: true }) })

  it('finds the config as OpenClaw does', () => {
    assert.equal(openclawConfigPath({ OPENCLAW_CONFIG_PATH: '/x/c.json', OPENCLAW_STATE_DIR: '/y' }), '/x/c.json')
    assert.equal(openclawConfigPath({ OPENCLAW_STATE_DIR: '/y' }), '/y/openclaw.json')
    assert.match(openclawConfigPath({ OPENCLAW_PROFILE: 'work' }), /\.openclaw-work\/openclaw\.json$/)
  })

  it('skips without a config, and says so when it cannot read one', async () => {
    assert.equal((await checkOpenClaw(join(dir, 'none.json'), undefined, {})).check.status, 'skip')
    assert.equal((await checkOpenClaw(await config('{ // json5\n}'), undefined, {})).check.status, 'warn')
  })

  it('is ok with an enabled, valid entry, and hands over its bootstrap peers', async () => {
    const peer = '/ip4/10.0.0.2/tcp/17789/p2p/12D3KooWCPnHAHP8QxwBoUi6x5wFP1KARDVxT2j76uaDViibmarr'
    const r = await checkOpenClaw(await config(entry({ gatewayPort: 18789, peers: [peer] })), undefined, {})
    assert.equal(r.check.status, 'ok', r.check.summary)
    assert.deepEqual(r.peers, [peer])
    assert.ok(r.check.details?.some(d => d.startsWith('loaded from ')))
  })

  it('warns when clawmesh is missing or disabled; fails when plugins.allow leaves it out', async () => {
    assert.equal((await checkOpenClaw(await config({ plugins: { entries: {} } }), undefined, {})).check.status, 'warn')
    assert.equal((await checkOpenClaw(await config({ plugins: { entries: { clawmesh: { enabled: false } } } }), undefined, {})).check.status, 'warn')
    const denied = await checkOpenClaw(await config(entry({}, { allow: ['other'] })), undefined, {})
    assert.equal(denied.check.status, 'fail')
    assert.match(denied.check.fix ?? '', /plugins\.allow/)
  })

  it('fails on options OpenClaw would refuse or the plugin could not parse', async () => {
    const unknown = await checkOpenClaw(await config(entry({ gatewayPort: 18789, mdnss: true })), undefined, {})
    assert.equal(unknown.check.status, 'fail')
    assert.match(unknown.check.summary, /unknown option mdnss/)
    assert.equal((await checkOpenClaw(await config(entry({ gatewayPort: 'x' })), undefined, {})).check.status, 'fail')
    assert.equal((await checkOpenClaw(await config(entry({ peers: ['not an address'] })), undefined, {})).check.status, 'fail')
  })

  it('fails when the plugin\'s own secret is another mesh than this machine\'s', async () => {
    const mine = parseSecret(generateSecret())
    const theirs = generateSecret()
    const r = await checkOpenClaw(await config(entry({ secret: theirs })), mine, {})
    assert.equal(r.check.status, 'fail')
    assert.equal(r.secret?.meshId, parseSecret(theirs).meshId)
    const same = await checkOpenClaw(await config(entry({ secret: Buffer.from(mine.psk).toString('hex') })), mine, {})
    assert.equal(same.check.status, 'ok', same.check.summary)
  })
})
