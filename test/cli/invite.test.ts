/**
 * `clawmesh invite` and `clawmesh join` as a person runs them: a code from a
 * running node, joined from another state directory (another machine, as far
 * as clawmesh can tell), which then starts and reaches the inviter with no
 * secret, peer or discovery given; listing, revoking, refusals and exit codes.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { clawmesh, start, type Running } from './helpers.ts'

const RUN_FLAGS = ['--listen', '/ip4/127.0.0.1/tcp/0', '--no-mdns', '--no-local', '--json']

describe('clawmesh invite / join', () => {
  let hqDir: string
  let branchDir: string
  let hq: Running
  let branch: Running | undefined
  const dirs: string[] = []
  const dir = async (name: string): Promise<string> => {
    const d = await mkdtemp(join(tmpdir(), `clawmesh-cli-${name}-`))
    dirs.push(d)
    return d
  }

  before(async () => {
    hqDir = await dir('hq')
    branchDir = await dir('branch')
    hq = start(['run', '--name', 'hq', '--session', 'agent:main:main', '--state-dir', hqDir, ...RUN_FLAGS])
    await hq.waitEvent(e => e.event === 'ready', 'hq ready')
  })

  after(async () => {
    await branch?.stop('SIGKILL')
    await hq?.stop('SIGKILL')
    await Promise.all(dirs.map(async d => { await rm(d, { recursive: true, force: true }) }))
  })

  it('invite prints one line to paste, where it dials, and how to revoke', async () => {
    const r = await clawmesh(['invite', '--state-dir', hqDir, '--ttl', '2h'])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /^Invite [0-9a-f]{16} to mesh [0-9a-f]{16}, for one Gateway, valid until /)
    assert.match(r.stdout, /\n {2}clawmesh join clawmesh-invite:[A-Za-z0-9_-]+\n/)
    assert.match(r.stdout, /It will dial this Gateway at:\n {2}\/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\//)
    assert.match(r.stdout, /Revoke it: clawmesh invite --revoke [0-9a-f]{16}/)
  })

  it('join stores the secret (0600) and the inviter\'s address; the new node reaches the inviter with nothing else given', async () => {
    const invite = JSON.parse((await clawmesh(['invite', '--state-dir', hqDir, '--json'])).stdout) as { code: string, id: string, meshId: string }
    const joined = await clawmesh(['join', invite.code, '--state-dir', branchDir, '--name', 'branch'])
    assert.equal(joined.code, 0, joined.stderr)
    assert.match(joined.stdout, new RegExp(`Joined +mesh ${invite.meshId} \\(invite ${invite.id}\\)`))
    assert.match(joined.stdout, /Start the Gateway: clawmesh run --name branch --state-dir /)
    assert.equal((await stat(join(branchDir, 'mesh.key'))).mode & 0o777, 0o600)
    assert.equal((await stat(join(branchDir, 'joined.json'))).mode & 0o777, 0o600)
    const secret = JSON.parse((await clawmesh(['secret', '--state-dir', hqDir, '--json'])).stdout) as { hex: string }
    assert.match(await readFile(join(branchDir, 'mesh.key'), 'utf8'), new RegExp(secret.hex))

    branch = start(['run', '--name', 'branch', '--session', 'agent:main:branch', '--state-dir', branchDir, ...RUN_FLAGS])
    await branch.waitEvent(e => e.event === 'ready', 'the branch ready')
    // hq's records may arrive while the node starts, before it prints events: ask it until it knows hq's session.
    const deadline = Date.now() + 15_000
    while ((await clawmesh(['resolve', 'gateway:hq:agent:main:main', '--state-dir', branchDir])).code !== 0) {
      if (Date.now() > deadline) assert.fail('the branch never learned hq\'s session')
    }
    const sent = await clawmesh(['send', 'gateway:hq:agent:main:main', 'hello', '--state-dir', branchDir, '--json'])
    assert.equal(JSON.parse(sent.stdout).reply, 'hq received: hello')

    const list = await clawmesh(['invite', '--list', '--state-dir', hqDir, '--json'])
    const used = (JSON.parse(list.stdout) as Array<{ id: string, state: string, usedBy?: string }>).find(i => i.id === invite.id)
    assert.equal(used?.state, 'used')
    assert.ok(used?.usedBy !== undefined)
    // The same code again: refused.
    const again = await clawmesh(['join', invite.code, '--state-dir', await dir('again'), '--json'])
    assert.equal(again.code, 22)
    assert.equal(JSON.parse(again.stdout).error.code, 'INVITE_REFUSED')
  })

  it('a revoked invite is refused; a damaged code is not a code', async () => {
    const invite = JSON.parse((await clawmesh(['invite', '--state-dir', hqDir, '--json'])).stdout) as { code: string, id: string }
    const revoked = await clawmesh(['invite', '--revoke', invite.id, '--state-dir', hqDir])
    assert.match(revoked.stdout, new RegExp(`invite ${invite.id} revoked`))
    const joined = await clawmesh(['join', invite.code, '--state-dir', await dir('revoked')])
    assert.equal(joined.code, 22, joined.stdout + joined.stderr)
    const damaged = await clawmesh(['join', invite.code.slice(0, 40), '--state-dir', await dir('damaged')])
    assert.equal(damaged.code, 20)
  })
})
