/**
 * A Node too old for clawmesh gets one line saying which Node it needs, which
 * it found and how to get one, never a stack trace (bin/check-node.js).
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync, spawnSync } from 'node:child_process'
import { cp, mkdir, mkdtemp, rm } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { nodeProblem as check } from '../../bin/check-node.js'
import { BIN } from './helpers.ts'

const MIN = [22, 0, 0]

/** A Node binary older than 22 on this machine (the system one here is 20), if any. */
function oldNode (): string | undefined {
  const candidates = new Set(['/usr/bin/node', '/usr/local/bin/node'])
  try {
    for (const p of execFileSync('which', ['-a', 'node'], { encoding: 'utf8' }).split('\n')) if (p !== '') candidates.add(p)
  } catch { /* no which */ }
  for (const path of candidates) {
    if (!existsSync(path)) continue
    try {
      const major = Number.parseInt(execFileSync(path, ['-p', 'process.versions.node'], { encoding: 'utf8' }), 10)
      if (major < 22) return path
    } catch { /* not runnable */ }
  }
  return undefined
}

describe('the Node version check of the clawmesh command', () => {
  it('names the Node needed and found, and how to get one, from a checkout', () => {
    const line = check({ version: '20.20.2', fromSource: true, minimum: MIN, execPath: '/usr/bin/node' })
    assert.ok(line !== undefined)
    assert.equal(line.split('\n').length, 1)
    assert.match(line, /needs Node\.js 22\.18 or newer/)
    assert.match(line, /this is Node\.js 20\.20\.2 \(\/usr\/bin\/node\)/)
    assert.match(line, /\. scripts\/ensure-node\.sh/)
  })

  it('asks a checkout for type stripping (22.18+, 23.6+) and an installed package only for the engines minimum', () => {
    assert.ok(check({ version: '22.12.0', typescript: false, fromSource: true, minimum: MIN }) !== undefined)
    assert.ok(check({ version: '23.3.0', typescript: false, fromSource: true, minimum: MIN }) !== undefined)
    assert.equal(check({ version: '22.18.0', typescript: 'strip', fromSource: true, minimum: MIN }), undefined)
    assert.equal(check({ version: '24.1.0', typescript: 'strip', fromSource: true, minimum: MIN }), undefined)
    // Type stripping turned off on a new Node: says so.
    assert.match(check({ version: '24.1.0', typescript: false, fromSource: true, minimum: MIN }) ?? '', /type stripping on/)
    assert.equal(check({ version: '22.12.0', fromSource: false, minimum: MIN }), undefined)
    const installed = check({ version: '20.20.2', fromSource: false, minimum: MIN })
    assert.match(installed ?? '', /needs Node\.js 22 or newer; this is Node\.js 20\.20\.2/)
    assert.match(installed ?? '', /nodejs\.org/)
    // The minimum follows package.json's engines.
    assert.match(check({ version: '22.3.0', fromSource: false, minimum: [22, 12, 0] }) ?? '', /needs Node\.js 22\.12 or newer/)
  })

  const old = oldNode()
  it('`node bin/clawmesh.js --help` on an old Node prints one line and exits 1', { skip: old === undefined ? 'no Node older than 22 on this machine' : false }, async () => {
    const r = spawnSync(old as string, [BIN, '--help'], { encoding: 'utf8' })
    assert.equal(r.status, 1)
    assert.equal(r.stdout, '')
    assert.equal(r.stderr.trimEnd().split('\n').length, 1, r.stderr)
    assert.match(r.stderr, /^clawmesh needs Node\.js 22\.18 or newer to run from a checkout; this is Node\.js 2\d\./)
    assert.doesNotMatch(r.stderr, /ERR_|at /)

    // The same shim inside node_modules (an installed package) asks only for the engines minimum.
    const root = await mkdtemp(join(tmpdir(), 'clawmesh-node-check-'))
    try {
      const pkg = join(root, 'node_modules', 'clawmesh')
      await mkdir(pkg, { recursive: true })
      await cp(dirname(BIN), join(pkg, 'bin'), { recursive: true })
      await cp(join(dirname(BIN), '..', 'package.json'), join(pkg, 'package.json'))
      const installed = spawnSync(old as string, [join(pkg, 'bin', 'clawmesh.js'), '--help'], { encoding: 'utf8' })
      assert.equal(installed.status, 1)
      assert.equal(installed.stderr.trimEnd().split('\n').length, 1, installed.stderr)
      assert.match(installed.stderr, /^clawmesh needs Node\.js 22(\.\d+)* or newer/)
      assert.doesNotMatch(installed.stderr, /ERR_|at /)
    } finally {
      await rm(root, { recursive: true, force: true })
    }
  })
})
