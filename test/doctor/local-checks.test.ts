/** The doctor's checks of this machine alone: key file, state folder, rendezvous folder. */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { checkKeyFile, checkNode, checkStateDir, judgeRendezvous, readRendezvous } from '../../src/doctor/local-checks.ts'
import { generateSecret, parseSecret } from '../../src/security/secret.ts'

describe('doctor: this machine', () => {
  let root: string
  let n = 0
  const folder = async (mode = 0o700): Promise<string> => {
    const d = join(root, `d${n++}`)
    await mkdir(d, { mode })
    await chmod(d, mode)
    return d
  }
  before(async () => { root = await mkdtemp(join(tmpdir(), 'clawmesh-doctor-local-')) })
  after(async () => { await rm(root, { recursive: true, force: true }) })

  it('Node: ok from 22 on, fail below', () => {
    assert.equal(checkNode({ ...process.versions, node: '24.1.0' }).status, 'ok')
    assert.equal(checkNode({ ...process.versions, node: '20.20.2' }).status, 'fail')
  })

  it('key file: fails when group or others can read it, with the chmod to run', async () => {
    const dir = await folder()
    const path = join(dir, 'mesh.key')
    const secret = generateSecret()
    await writeFile(path, secret + '\n', { mode: 0o600 })
    const ok = await checkKeyFile(dir, {})
    assert.equal(ok.check.status, 'ok')
    assert.equal(ok.local?.secret.meshId, parseSecret(secret).meshId)
    for (const mode of [0o644, 0o640, 0o604]) {
      await chmod(path, mode)
      const r = await checkKeyFile(dir, {})
      assert.equal(r.check.status, 'fail', mode.toString(8))
      assert.equal(r.check.fix, `chmod 600 ${path}`)
    }
    await chmod(path, 0o400)
    assert.equal((await checkKeyFile(dir, {})).check.status, 'ok')
  })

  it('key file: a missing one warns (a new mesh would start), a broken one fails, CLAWMESH_SECRET wins', async () => {
    const dir = await folder()
    assert.equal((await checkKeyFile(dir, {})).check.status, 'warn')
    await writeFile(join(dir, 'mesh.key'), 'not a secret', { mode: 0o600 })
    const broken = await checkKeyFile(dir, {})
    assert.equal(broken.check.status, 'fail')
    assert.equal(broken.local, undefined)
    const env = await checkKeyFile(dir, { CLAWMESH_SECRET: generateSecret() })
    assert.equal(env.check.status, 'ok')
    assert.equal(env.local?.source, 'env')
    assert.equal((await checkKeyFile(dir, { CLAWMESH_SECRET: 'nope' })).check.status, 'fail')
    // The variable wins, but a key file anyone can read is still a leak.
    await writeFile(join(dir, 'mesh.key'), generateSecret(), { mode: 0o644 })
    await chmod(join(dir, 'mesh.key'), 0o644)
    const leaky = await checkKeyFile(dir, { CLAWMESH_SECRET: generateSecret() })
    assert.equal(leaky.check.status, 'fail')
    assert.equal(leaky.local?.source, 'env')
  })

  it('state folder: fails when others can write it, warns when they can list it', async () => {
    assert.equal((await checkStateDir(await folder(0o700))).status, 'ok')
    assert.equal((await checkStateDir(await folder(0o755))).status, 'warn')
    assert.equal((await checkStateDir(await folder(0o777))).status, 'fail')
    assert.equal((await checkStateDir(join(root, 'none'))).status, 'ok')
  })

  it('rendezvous: live and stale entries, and a node of another mesh on this host', async () => {
    const dir = await folder()
    const dead = spawnSync(process.execPath, ['-e', '0']).pid as number
    const write = async (meshId: string, peerId: string, pid: number, updatedAt = Date.now()): Promise<void> => {
      await mkdir(join(dir, 'rendezvous', meshId), { recursive: true })
      await writeFile(join(dir, 'rendezvous', meshId, `${peerId}.json`), JSON.stringify({ peerId, pid, addrs: ['/ip4/127.0.0.1/tcp/4001'], updatedAt }))
    }
    await write('aaaa', '12D3KooWLive', process.pid)
    const names = new Map([['12D3KooWLive', 'hq']])
    assert.equal(judgeRendezvous(await readRendezvous(dir), 'aaaa', names, true).status, 'ok')
    await write('aaaa', '12D3KooWGone', dead)
    await write('aaaa', '12D3KooWOld', process.pid, Date.now() - 10 * 60_000)
    const stale = judgeRendezvous(await readRendezvous(dir), 'aaaa', names, true)
    assert.equal(stale.status, 'warn')
    assert.equal(stale.details?.filter(d => d.startsWith('stale')).length, 2)
    assert.ok(stale.details?.some(d => d.startsWith('live   hq (pid')))
    await write('bbbb', '12D3KooWStranger', process.pid)
    const strangers = judgeRendezvous(await readRendezvous(dir), 'aaaa', names, true)
    assert.equal(strangers.status, 'warn')
    assert.match(strangers.summary, /another mesh \(bbbb\)/)
  })
})
