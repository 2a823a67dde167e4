import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import {
  exportSecret, formatSecret, generateSecret, InvalidSecretError, parseSecret, resolveSecret,
  resolveStateDir, SECRET_FILE_NAME, shareInstructions
} from '../../src/security/secret.ts'

const dirs: string[] = []
async function tempDir (): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'clawmesh-secret-'))
  dirs.push(d)
  return d
}
after(async () => { await Promise.all(dirs.map(async d => { await rm(d, { recursive: true, force: true }) })) })

void describe('mesh secret', () => {
  void it('parses the full swarm-key text, bare hex and bytes to the same key', () => {
    const text = generateSecret()
    const a = parseSecret(text)
    const b = parseSecret(exportSecret(a))
    const c = parseSecret(new TextEncoder().encode(text))
    const d = parseSecret(`\n  ${text.replace(/\n/g, '\r\n')}  \n`)
    const e = parseSecret(exportSecret(a).toUpperCase())
    for (const x of [b, c, d, e]) {
      assert.deepEqual(x.psk, a.psk)
      assert.equal(x.meshId, a.meshId)
      assert.equal(formatSecret(x), formatSecret(a))
    }
    assert.equal(a.psk.byteLength, 32)
    assert.equal(a.swarmKey.byteLength, 95, 'the pnet swarm-key format is 95 bytes')
    assert.match(a.meshId, /^[0-9a-f]{16}$/)
    assert.ok(!formatSecret(a).includes(a.meshId), 'the mesh ID is not part of the key')
    assert.ok(shareInstructions(a).includes(exportSecret(a)))
  })

  void it('rejects malformed secrets with InvalidSecretError', () => {
    for (const bad of ['', 'abc', 'g'.repeat(64), 'a'.repeat(63), '/key/swarm/psk/1.0.0/\n/base64/\n' + 'a'.repeat(64)]) {
      assert.throws(() => parseSecret(bad), (err: Error) => err.name === 'InvalidSecretError', bad)
    }
  })

  void it('different keys give different mesh IDs', () => {
    assert.notEqual(parseSecret(generateSecret()).meshId, parseSecret(generateSecret()).meshId)
  })

  void it('resolves option > env > file, and state dir option > CLAWMESH_HOME > XDG > ~/.clawmesh', async () => {
    const dir = await tempDir()
    const opt = generateSecret()
    const envKey = exportSecret(parseSecret(generateSecret()))
    const env = { CLAWMESH_SECRET: envKey, CLAWMESH_HOME: dir }
    assert.equal((await resolveSecret({ secret: opt, env })).source, 'option')
    const fromEnv = await resolveSecret({ env })
    assert.equal(fromEnv.source, 'env')
    assert.equal(exportSecret(fromEnv), envKey)
    await assert.rejects(resolveSecret({ env: { CLAWMESH_SECRET: 'nope' } }), InvalidSecretError)

    assert.equal(resolveStateDir({ stateDir: '/x', env: { CLAWMESH_HOME: '/y' } }), '/x')
    assert.equal(resolveStateDir({ env: { CLAWMESH_HOME: '/y', XDG_STATE_HOME: '/z' } }), '/y')
    assert.equal(resolveStateDir({ env: { XDG_STATE_HOME: '/z' } }), '/z/clawmesh')
    assert.match(resolveStateDir({ env: {} }), /\.clawmesh$/)
  })

  void it('the first Gateway creates the key file with mode 0600, the next one reads it', async () => {
    const dir = join(await tempDir(), 'nested', 'state')
    const first = await resolveSecret({ stateDir: dir, env: {} })
    assert.equal(first.source, 'file-created')
    assert.equal(first.path, join(dir, SECRET_FILE_NAME))
    assert.equal((await stat(first.path)).mode & 0o777, 0o600)
    assert.equal((await stat(dir)).mode & 0o777, 0o700)
    const second = await resolveSecret({ stateDir: dir, env: {} })
    assert.equal(second.source, 'file')
    assert.deepEqual(second.psk, first.psk)
    assert.equal(parseSecret(await readFile(first.path, 'utf8')).meshId, first.meshId)
  })

  void it('an invalid key file is an error naming the file, not silently replaced', async () => {
    const dir = await tempDir()
    await writeFile(join(dir, SECRET_FILE_NAME), 'garbage\n', { mode: 0o600 })
    await assert.rejects(resolveSecret({ stateDir: dir, env: {} }), (err: Error) => err.name === 'InvalidSecretError' && err.message.includes(dir))
  })

  void it('Gateways starting at once (separate processes) all end up with the same secret', async () => {
    const dir = await tempDir()
    const moduleUrl = new URL('../../src/security/secret.ts', import.meta.url).href
    const script = `const { resolveSecret } = await import(${JSON.stringify(moduleUrl)}); const s = await resolveSecret({ stateDir: process.argv[1], env: {} }); process.stdout.write(s.source + ' ' + s.meshId)`
    const runs = await Promise.all(Array.from({ length: 8 }, async () => await new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, ['--input-type=module', '-e', script, dir], { stdio: ['ignore', 'pipe', 'inherit'] })
      let out = ''
      child.stdout.on('data', (d: Buffer) => { out += d.toString() })
      child.on('error', reject)
      child.on('exit', code => { if (code === 0) resolve(out); else reject(new Error(`exit ${code}`)) })
    })))
    const ids = new Set(runs.map(r => r.split(' ')[1]))
    assert.equal(ids.size, 1, `all processes agree on one mesh: ${runs.join(', ')}`)
    assert.equal(runs.filter(r => r.startsWith('file-created')).length, 1, 'exactly one process created the file')
  })

  void it('CLAWMESH_SECRET is removed from the environment once read (child processes do not inherit it), and kept for this process', async () => {
    const hex = exportSecret(parseSecret(generateSecret()))
    const moduleUrl = new URL('../../src/security/secret.ts', import.meta.url).href
    const script = `
      const { execFileSync } = await import('node:child_process')
      const { resolveSecret } = await import(${JSON.stringify(moduleUrl)})
      const first = await resolveSecret({ stateDir: process.argv[1] })
      const child = execFileSync(process.execPath, ['-e', 'process.stdout.write(String(process.env.CLAWMESH_SECRET))'], { encoding: 'utf8' })
      const again = await resolveSecret({ stateDir: process.argv[1] })
      process.stdout.write(JSON.stringify({ first: first.source, again: again.source, same: first.meshId === again.meshId, inEnv: 'CLAWMESH_SECRET' in process.env, child }))`
    const out = await new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, ['--input-type=module', '-e', script, '/nonexistent-state-dir'], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, CLAWMESH_SECRET: hex } })
      let text = ''
      child.stdout.on('data', (d: Buffer) => { text += d.toString() })
      child.on('error', reject)
      child.on('exit', code => { if (code === 0) resolve(text); else reject(new Error(`exit ${code}`)) })
    })
    assert.deepEqual(JSON.parse(out), { first: 'env', again: 'env', same: true, inEnv: false, child: 'undefined' })
  })
})
