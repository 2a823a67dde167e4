// The local machine (issue 11, item 7): the files that hold a Gateway's secrets and the folders
// around them are private to its user, written so that no one can slip a file or link in, and the
// control socket is private without changing the process-wide umask. Where another user matters,
// a real one (nobody, uid 65534) does the planting; those tests need root and skip without it.
import assert from 'node:assert/strict'
import { execFileSync, spawn } from 'node:child_process'
import { chmod, chown, lstat, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { ControlServer, type ControlledMesh } from '../../src/control/server.ts'
import { loadIdentity } from '../../src/identity.ts'
import { exportSecret, generateSecret, parseSecret } from '../../src/security/key.ts'
import { resolveSecret, SECRET_FILE_NAME } from '../../src/security/secret.ts'
import { writeFileAtomic } from '../../src/util/atomic-write.ts'
import type { UnsafeFileError } from '../../src/security/file-safety.ts'

const NOBODY = 65534
const isRoot = process.getuid?.() === 0
const dirs: string[] = []
after(async () => { await Promise.all(dirs.map(async d => { await rm(d, { recursive: true, force: true }) })) })
async function tempDir (): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'clawmesh-local-'))
  dirs.push(d)
  return d
}

const unsafe = (problem: string) => (err: Error & { code?: string, problem?: string }): boolean => err.name === 'UnsafeFileError' && err.code === 'UNSAFE_FILE' && err.problem === problem

/** Runs a shell command as nobody (a real second user). */
function asNobody (command: string): void {
  execFileSync('setpriv', ['--reuid', String(NOBODY), '--regid', String(NOBODY), '--clear-groups', 'sh', '-c', command], { stdio: 'pipe' })
}

void describe('the mesh key file and the state folder', () => {
  void it('a key file other users can read is refused with the fix; once it is 0600 it is used', async () => {
    const dir = await tempDir()
    const key = generateSecret()
    await writeFile(join(dir, SECRET_FILE_NAME), key, { mode: 0o644 })
    await chmod(join(dir, SECRET_FILE_NAME), 0o644)
    await assert.rejects(resolveSecret({ stateDir: dir, env: {} }), (err: Error) => unsafe('readable-by-others')(err) && (err as UnsafeFileError).path === join(dir, SECRET_FILE_NAME))
    await chmod(join(dir, SECRET_FILE_NAME), 0o600)
    assert.equal((await resolveSecret({ stateDir: dir, env: {} })).meshId, parseSecret(key).meshId)
  })

  void it('a state folder other users can write to is refused: a key planted there by another user is never used', { skip: !isRoot && 'needs root (a second user)' }, async () => {
    const shared = join(await tempDir(), 'shared')
    await mkdir(shared)
    await chmod(join(shared, '..'), 0o755)
    await chmod(shared, 0o777)
    // Another user puts their own secret where we will look for ours.
    const theirs = exportSecret(parseSecret(generateSecret()))
    asNobody(`umask 077; echo ${theirs} > '${join(shared, SECRET_FILE_NAME)}'`)
    assert.equal((await stat(join(shared, SECRET_FILE_NAME))).uid, NOBODY)
    await assert.rejects(resolveSecret({ stateDir: shared, env: {} }), unsafe('writable-by-others'))
    // Even once the folder is closed, the key is still theirs.
    await chmod(shared, 0o700)
    await assert.rejects(resolveSecret({ stateDir: shared, env: {} }), unsafe('foreign-owner'))
  })

  void it('a state folder that belongs to another user is refused', { skip: !isRoot && 'needs root (a second user)' }, async () => {
    const theirs = join(await tempDir(), 'theirs')
    await mkdir(theirs, { mode: 0o700 })
    await chown(theirs, NOBODY, NOBODY)
    await assert.rejects(resolveSecret({ stateDir: theirs, env: {} }), unsafe('foreign-owner'))
  })
})

void describe('the peer key and the data folder', () => {
  void it('are refused when others can read the key or write the folder', async () => {
    const dataDir = await tempDir()
    const first = await loadIdentity(dataDir)
    assert.equal((await stat(join(dataDir, 'peer-key'))).mode & 0o777, 0o600)
    await chmod(join(dataDir, 'peer-key'), 0o640)
    await assert.rejects(loadIdentity(dataDir), unsafe('readable-by-others'))
    await chmod(join(dataDir, 'peer-key'), 0o600)
    await chmod(dataDir, 0o770)
    await assert.rejects(loadIdentity(dataDir), unsafe('writable-by-others'))
    await chmod(dataDir, 0o700)
    assert.ok((await loadIdentity(dataDir)).equals(first))
  })

  void it('is written under an unpredictable name: a link planted at the old temporary name is neither followed nor used', async () => {
    const dataDir = await tempDir()
    const victim = join(await tempDir(), 'victim')
    await writeFile(victim, 'precious')
    // The name the key used to be written through: `<path>.<pid>.tmp`, predictable from outside.
    await symlink(victim, join(dataDir, `peer-key.${process.pid}.tmp`))
    await loadIdentity(dataDir)
    assert.equal(await readFile(victim, 'utf8'), 'precious')
    assert.ok((await lstat(join(dataDir, 'peer-key'))).isFile(), 'the key is a file of its own, not the planted link')
  })

  void it('of Gateways creating the key at once (separate processes), one wins and all get its peer ID', async () => {
    const dataDir = await tempDir()
    const moduleUrl = new URL('../../src/identity.ts', import.meta.url).href
    const script = `const { loadIdentity } = await import(${JSON.stringify(moduleUrl)}); const { peerIdFromPrivateKey } = await import('@libp2p/peer-id'); process.stdout.write(peerIdFromPrivateKey(await loadIdentity(process.argv[1])).toString())`
    const cwd = fileURLToPath(new URL('../..', import.meta.url))
    const ids = await Promise.all(Array.from({ length: 6 }, async () => await new Promise<string>((resolve, reject) => {
      const child = spawn(process.execPath, ['--input-type=module', '-e', script, dataDir], { cwd, stdio: ['ignore', 'pipe', 'inherit'] })
      let out = ''
      child.stdout.on('data', (d: Buffer) => { out += d.toString() })
      child.on('error', reject)
      child.on('exit', code => { if (code === 0) resolve(out); else reject(new Error(`exit ${String(code)}`)) })
    })))
    assert.equal(new Set(ids).size, 1, ids.join(', '))
    assert.deepEqual((await readdir(dataDir)).sort(), ['peer-key'], 'no temporary file left behind')
  })
})

void describe('writeFileAtomic', () => {
  void it('replaces, or with `exclusive` leaves an existing file alone; the mode is exact whatever the umask', async () => {
    const dir = await tempDir()
    const path = join(dir, 'f')
    const previous = process.umask(0)
    try {
      assert.equal(await writeFileAtomic(path, 'one'), true)
    } finally {
      process.umask(previous)
    }
    assert.equal((await stat(path)).mode & 0o777, 0o600)
    assert.equal(await writeFileAtomic(path, 'two', { exclusive: true }), false)
    assert.equal(await readFile(path, 'utf8'), 'one')
    assert.equal(await writeFileAtomic(path, 'three', { mode: 0o640 }), true)
    assert.equal(await readFile(path, 'utf8'), 'three')
    assert.equal((await stat(path)).mode & 0o777, 0o640)
    assert.deepEqual(await readdir(dir), ['f'])
  })
})

void describe('the control socket', () => {
  void it('is private from its first instant without touching the process-wide umask', async () => {
    const stateDir = await tempDir()
    const server = new ControlServer({ mesh: {} as ControlledMesh, path: join(stateDir, 'run', 'gw.sock'), info: { name: 'gw', meshId: '0', stateDir } })
    const original = process.umask.bind(process)
    const changes: number[] = []
    // A spy: the umask is process-wide, so changing it while listening would narrow every file the Gateway creates meanwhile.
    process.umask = ((mask?: number) => { if (mask !== undefined) changes.push(mask); return mask === undefined ? original() : original(mask) }) as typeof process.umask
    try {
      await server.start()
    } finally {
      process.umask = original
    }
    try {
      assert.deepEqual(changes, [])
      assert.equal((await stat(server.path)).mode & 0o777, 0o600)
      assert.equal((await stat(join(stateDir, 'run'))).mode & 0o777, 0o700)
    } finally {
      await server.stop()
    }
  })

  void it('refuses a socket folder that belongs to another user', { skip: !isRoot && 'needs root (a second user)' }, async () => {
    const stateDir = await tempDir()
    await mkdir(join(stateDir, 'run'), { mode: 0o700 })
    await chown(join(stateDir, 'run'), NOBODY, NOBODY)
    const server = new ControlServer({ mesh: {} as ControlledMesh, path: join(stateDir, 'run', 'gw.sock'), info: { name: 'gw', meshId: '0', stateDir } })
    try {
      await assert.rejects(server.start(), unsafe('foreign-owner'))
    } finally {
      await server.stop()
    }
  })
})
