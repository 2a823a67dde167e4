// A Gateway's mesh identity on disk (src/openclaw/gateway-identity.ts): a copied state folder gets a
// key and name of its own; a key another live process runs with is refused, with the fix; the name
// chosen at first start stays.
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs'
import { hostname, tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { after, describe, it } from 'node:test'
import { loadIdentity } from '../../src/identity.ts'
import { DuplicatePeerKeyError, prepareGatewayIdentity } from '../../src/openclaw/gateway-identity.ts'
import { defaultGatewayName } from '../../src/routing/address.ts'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'

const root = mkdtempSync(join(tmpdir(), 'clawmesh-identity-'))
after(() => { rmSync(root, { recursive: true, force: true }) })

const peerIdOf = async (dataDir: string): Promise<string> => peerIdFromPrivateKey(await loadIdentity(dataDir)).toString()

/** A real mesh node in its own process, with this data and state folder. */
async function nodeProcess (dataDir: string, stateDir: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [join(import.meta.dirname, '..', 'fixtures', 'gateway-process.ts'), JSON.stringify({ dataDir, stateDir, mdns: false, listen: ['/ip4/127.0.0.1/tcp/0'], discovery: { local: { refreshIntervalMs: 300 } } })], { stdio: ['pipe', 'pipe', 'inherit'] })
  const lines = createInterface({ input: child.stdout! })
  await new Promise<void>((resolve, reject) => {
    lines.on('line', line => { if (line.includes('"ready"')) resolve() })
    child.once('exit', code => { reject(new Error(`the node exited with ${code}`)) })
  })
  return child
}

/** Polls `check` (a file appearing) until it holds; a deadline, not a timed assertion. */
async function waitFor (check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise(resolve => setTimeout(resolve, 50))
  }
}

describe('a Gateway\'s mesh identity', () => {
  it('gives a copied state folder a key and a name of its own, and keeps the original\'s', async () => {
    const original = join(root, 'a', '.openclaw', 'clawmesh')
    const state = join(root, 'a', '.clawmesh')
    mkdirSync(state, { recursive: true, mode: 0o700 })
    const first = await prepareGatewayIdentity({ dataDir: original, stateDir: state, gatewayPort: 18789 })
    assert.equal(first.name, defaultGatewayName(hostname(), '18789'))
    assert.equal(first.copiedFrom, undefined)
    const peerA = await peerIdOf(original)
    // The seed's setup: copy ~/.openclaw to make a second profile.
    const copy = join(root, 'a', '.openclaw-b', 'clawmesh')
    cpSync(join(root, 'a', '.openclaw'), join(root, 'a', '.openclaw-b'), { recursive: true })
    const second = await prepareGatewayIdentity({ dataDir: copy, stateDir: state, gatewayPort: 18790 })
    assert.equal(second.copiedFrom, original)
    assert.equal(second.name, defaultGatewayName(hostname(), '18790'), 'a name of its own, not the original\'s')
    assert.ok(second.setAside !== undefined && existsSync(second.setAside), 'the copied key is kept, set aside')
    const peerB = await peerIdOf(copy)
    assert.notEqual(peerB, peerA, 'a new peer ID')
    // Both are settled now: starting again changes nothing.
    assert.equal((await prepareGatewayIdentity({ dataDir: copy, stateDir: state, gatewayPort: 18790 })).copiedFrom, undefined)
    assert.equal(await peerIdOf(copy), peerB)
    assert.equal((await prepareGatewayIdentity({ dataDir: original, stateDir: state, gatewayPort: 18789 })).copiedFrom, undefined)
    assert.equal(await peerIdOf(original), peerA)
  })

  it('keeps the name chosen at first start, whatever the host is called later', async () => {
    const dataDir = join(root, 'named', 'clawmesh')
    const state = join(root, 'named', 'state')
    mkdirSync(state, { recursive: true, mode: 0o700 })
    await prepareGatewayIdentity({ dataDir, stateDir: state, gatewayPort: 18789 })
    const marker = join(dataDir, 'gateway.json')
    // As if chosen on a host then called "old-laptop".
    writeFileSync(marker, JSON.stringify({ ...JSON.parse(readFileSync(marker, 'utf8')), name: 'old-laptop-18789' }))
    assert.equal((await prepareGatewayIdentity({ dataDir, stateDir: state, gatewayPort: 18789 })).name, 'old-laptop-18789')
    assert.equal((await prepareGatewayIdentity({ dataDir, stateDir: state, gatewayPort: 18789, configuredName: 'hq' })).name, 'hq', 'a configured name wins')
  })

  it('refuses a peer key another live process runs with, and says how to fix it', async () => {
    const dataDir = join(root, 'dup', 'clawmesh')
    const state = join(root, 'dup', 'state')
    mkdirSync(state, { recursive: true, mode: 0o700 })
    // An identity made before the copy check existed (no gateway.json), in use by a running node.
    const peerId = await peerIdOf(dataDir)
    const node = await nodeProcess(dataDir, state)
    try {
      // "ready" comes before the node's first rendezvous entry is in place.
      const rendezvous = join(state, 'rendezvous')
      await waitFor(() => existsSync(rendezvous) && readdirSync(rendezvous).some(mesh => existsSync(join(rendezvous, mesh, `${peerId}.json`))))
      await assert.rejects(prepareGatewayIdentity({ dataDir, stateDir: state, gatewayPort: 18789, refreshWaitMs: 5_000 }), (err: unknown) => {
        assert.ok(err instanceof DuplicatePeerKeyError)
        assert.equal(err.peerId, peerId)
        assert.equal(err.pid, node.pid)
        assert.match(err.message, /move .*peer-key away/)
        return true
      })
      assert.equal(await peerIdOf(dataDir), peerId, 'the key is left alone')
    } finally {
      node.kill('SIGTERM')
      await new Promise(resolve => node.once('exit', resolve))
    }
    // Once that process is gone, its entry (if left) no longer counts.
    assert.equal((await prepareGatewayIdentity({ dataDir, stateDir: state, gatewayPort: 18789, refreshWaitMs: 500 })).copiedFrom, undefined)
  })

  it('does not take a stale entry whose PID was reused for a running copy', async () => {
    const dataDir = join(root, 'stale', 'clawmesh')
    const state = join(root, 'stale', 'state')
    const peerId = await peerIdOf(dataDir)
    // An entry left by a crashed node, whose PID now belongs to an unrelated live process (our parent).
    const dir = join(state, 'rendezvous', 'cafe0123')
    mkdirSync(dir, { recursive: true, mode: 0o700 })
    writeFileSync(join(dir, `${peerId}.json`), JSON.stringify({ peerId, pid: process.ppid, addrs: [], updatedAt: Date.now() }))
    const identity = await prepareGatewayIdentity({ dataDir, stateDir: state, gatewayPort: 18789, refreshWaitMs: 700 })
    assert.equal(identity.copiedFrom, undefined)
    assert.equal(await peerIdOf(dataDir), peerId)
    assert.deepEqual(readdirSync(dataDir).filter(f => f.includes('copied')), [])
  })
})
