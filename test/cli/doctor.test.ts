/**
 * `clawmesh doctor` as a person runs it, on 127.0.0.1 with multicast off
 * (`--no-mdns`: the mDNS self-test runs only in test/netns/doctor.test.ts).
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { generateSecret, parseSecret } from '../../src/security/secret.ts'
import { clawmesh, start, type Running } from './helpers.ts'

const OFFLINE = ['--no-mdns', '--openclaw-config', '/nonexistent/openclaw.json']

describe('clawmesh doctor', () => {
  let dir: string
  let node: Running | undefined
  before(async () => { dir = await mkdtemp(join(tmpdir(), 'clawmesh-doctor-cli-')) })
  after(async () => {
    await node?.stop('SIGTERM')
    await rm(dir, { recursive: true, force: true })
  })

  it('with nothing set up: warns that there is no key file and no node, exit 5', async () => {
    const r = await clawmesh(['doctor', '--state-dir', join(dir, 'fresh'), ...OFFLINE])
    assert.equal(r.code, 5, r.stderr)
    assert.match(r.stdout, /^ok {4}Node\.js {2,}\d+\.\d+\.\d+ \(clawmesh needs 22 or newer\)$/m)
    assert.match(r.stdout, /^warn {2}key file {2,}.*mesh\.key does not exist: the first node started here creates a new secret, a mesh of its own\n {6,}→ to join an existing mesh/m)
    assert.match(r.stdout, /^warn {2}control sockets {2,}no node is running for /m)
    assert.match(r.stdout, /^\d+ ok · 2 warnings · 0 failures · \d+ skipped$/m)
  })

  it('tells a node started with another secret than the key file, and probes --peer addresses', async () => {
    const stateDir = join(dir, 'split')
    const keyFile = generateSecret()
    const nodeSecret = generateSecret()
    node = start(['run', '--name', 'hq', '--state-dir', stateDir, '--listen', '/ip4/127.0.0.1/tcp/0', '--no-mdns', '--json'], { env: { CLAWMESH_SECRET: nodeSecret } })
    await node.waitEvent(e => e.event === 'ready', 'hq ready')
    await writeFile(join(stateDir, 'mesh.key'), keyFile + '\n', { mode: 0o600 })

    const r = await clawmesh(['doctor', '--json', '--state-dir', stateDir, '--peer', '/ip4/127.0.0.1/tcp/1', ...OFFLINE], { env: { CLAWMESH_SECRET: '' } })
    assert.equal(r.code, 6, r.stderr)
    const report = JSON.parse(r.stdout) as { node: string, worst: string, exitCode: number, checks: Array<{ id: string, status: string, summary: string }> }
    assert.equal(report.node, 'hq')
    assert.equal(report.exitCode, 6)
    const status = (id: string): string[] => report.checks.filter(c => c.id === id).map(c => c.status)
    assert.deepEqual(status('secret'), ['fail'])
    assert.ok(report.checks.find(c => c.id === 'secret')?.summary.includes(parseSecret(nodeSecret).meshId))
    assert.deepEqual(status('running-node'), ['ok'])
    assert.deepEqual(status('mdns'), ['skip'])
    assert.deepEqual(status('bootstrap'), ['fail'])
    assert.match(report.checks.find(c => c.id === 'bootstrap')?.summary ?? '', /connection refused/)
    // The node hands doctor its secret to probe with; doctor never shows it.
    for (const secret of [nodeSecret, keyFile]) assert.ok(!r.stdout.includes(secret.trim().split('\n').pop() as string))

    const human = await clawmesh(['doctor', '--state-dir', stateDir, ...OFFLINE], { env: { CLAWMESH_SECRET: '' } })
    assert.equal(human.code, 6)
    assert.match(human.stdout, /^clawmesh doctor {2}state folder .*, node hq$/m)
    assert.match(human.stdout, /^FAIL {2}mesh secret {2,}node hq uses mesh [0-9a-f]{16} but the key file mesh [0-9a-f]{16}: Gateways with different secrets never connect\n {6,}→ give them one secret/m)
    // The same node, asked with its own secret: all is well but the loopback-only warning is not raised (no LAN expected).
    const agreed = await clawmesh(['doctor', '--json', '--state-dir', stateDir, ...OFFLINE], { env: { CLAWMESH_SECRET: nodeSecret } })
    const agreedReport = JSON.parse(agreed.stdout) as { checks: Array<{ id: string, status: string }> }
    assert.deepEqual(agreedReport.checks.filter(c => c.id === 'secret' || c.id === 'listen').map(c => c.status), ['ok', 'ok'])
  })

  it('--node names a node that does not run: fail', async () => {
    const r = await clawmesh(['doctor', '--json', '--state-dir', join(dir, 'split'), '--node', 'nowhere', ...OFFLINE])
    const report = JSON.parse(r.stdout) as { checks: Array<{ id: string, status: string }> }
    assert.equal(report.checks.find(c => c.id === 'running-node')?.status, 'fail')
    assert.equal(r.code, 6)
  })
})
