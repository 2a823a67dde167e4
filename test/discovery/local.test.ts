import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { meshDialer } from '../../src/discovery/dialer.ts'
import { localDiscovery, rendezvousDir, type LocalDiscovery, type RendezvousEntry } from '../../src/discovery/local.ts'
import { meshProtector } from '../../src/security/protector.ts'
import { generateSecret, parseSecret, type MeshSecret } from '../../src/security/secret.ts'
import { createTestNode, waitConnected, waitFor } from '../helpers/libp2p.ts'
import type { Libp2p, PeerInfo } from '@libp2p/interface'

const dirs: string[] = []
const nodes: Libp2p[] = []
after(async () => {
  await Promise.all(nodes.map(async n => { await n.stop() }))
  await Promise.all(dirs.map(async d => { await rm(d, { recursive: true, force: true }) }))
})

async function stateDir (): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'clawmesh-local-'))
  dirs.push(d)
  return d
}

type LocalNode = Libp2p<{ local: LocalDiscovery, dialer: unknown }>

async function localNode (dir: string, secret: MeshSecret, extra: { watch?: boolean, rescanIntervalMs?: number } = {}): Promise<LocalNode> {
  const node = await createTestNode({
    protector: meshProtector({ secret }),
    services: {
      local: localDiscovery({ stateDir: dir, meshId: secret.meshId, ...extra }),
      dialer: meshDialer({ discovery: ['local'] })
    }
  }) as unknown as LocalNode
  nodes.push(node)
  return node
}

void describe('local discovery (rendezvous folder, no multicast)', () => {
  void it('two nodes in one state directory find and connect to each other', async () => {
    const dir = await stateDir()
    const secret = parseSecret(generateSecret())
    const a = await localNode(dir, secret)
    const b = await localNode(dir, secret)
    await waitConnected(a, b.peerId)
    await waitConnected(b, a.peerId)
    const files = (await readdir(rendezvousDir(dir, secret.meshId))).sort()
    assert.deepEqual(files, [`${a.peerId.toString()}.json`, `${b.peerId.toString()}.json`].sort())
    const entry = JSON.parse(await readFile(join(rendezvousDir(dir, secret.meshId), files[0]!), 'utf8')) as RendezvousEntry
    assert.equal(entry.pid, process.pid)
    assert.ok(entry.addrs.every(x => x.startsWith('/ip4/127.')), 'only loopback addresses are left behind')
    // Exactly one connection per pair: only the lower peer ID dials.
    assert.equal(a.getConnections(b.peerId).length, 1)
    await b.stop()
    assert.deepEqual(await readdir(rendezvousDir(dir, secret.meshId)), [`${a.peerId.toString()}.json`], 'a stopped node removes its entry')
  })

  void it('a newcomer is found through the watch, also when only one side watches; the rescan covers the other', async () => {
    const dir = await stateDir()
    const secret = parseSecret(generateSecret())
    const a = await localNode(dir, secret, { watch: false, rescanIntervalMs: 200 })
    const found = new Promise<PeerInfo>((resolve) => { a.services.local.addEventListener('peer', (e) => { resolve(e.detail) }, { once: true }) })
    const b = await localNode(dir, secret)
    assert.ok((await found).id.equals(b.peerId))
    await waitConnected(a, b.peerId)
  })

  void it('meshes with different secrets use different folders and never see each other', async () => {
    const dir = await stateDir()
    const s1 = parseSecret(generateSecret())
    const s2 = parseSecret(generateSecret())
    const a = await localNode(dir, s1)
    const b = await localNode(dir, s2)
    const c = await localNode(dir, s1)
    let bSaw = 0
    b.services.local.addEventListener('peer', () => { bSaw++ })
    await waitConnected(a, c.peerId)
    assert.equal(bSaw, 0)
    assert.equal(b.getConnections().length, 0)
    assert.notEqual(rendezvousDir(dir, s1.meshId), rendezvousDir(dir, s2.meshId))
  })

  void it('removes entries of dead processes and entries not refreshed in time, and never announces them', async () => {
    const dir = await stateDir()
    const secret = parseSecret(generateSecret())
    const folder = rendezvousDir(dir, secret.meshId)
    const { mkdir } = await import('node:fs/promises')
    await mkdir(folder, { recursive: true })
    // A PID that surely does not exist: a child that has exited.
    const deadPid = await new Promise<number>((resolve) => { const c = spawn(process.execPath, ['-e', '0']); c.on('exit', () => { resolve(c.pid!) }) })
    const ghostA = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    const ghostB = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
    await writeFile(join(folder, `${ghostA}.json`), JSON.stringify({ peerId: ghostA, pid: deadPid, addrs: ['/ip4/127.0.0.1/tcp/1'], updatedAt: Date.now() }))
    await writeFile(join(folder, `${ghostB}.json`), JSON.stringify({ peerId: ghostB, pid: process.pid, addrs: ['/ip4/127.0.0.1/tcp/2'], updatedAt: Date.now() - 3_600_000 }))
    await writeFile(join(folder, 'junk.json'), '{not json')
    const announced: string[] = []
    const node = await createTestNode({ services: { local: localDiscovery({ stateDir: dir, meshId: secret.meshId }) } }) as unknown as LocalNode
    nodes.push(node)
    node.services.local.addEventListener('peer', (e) => { announced.push(e.detail.id.toString()) })
    const left = (await readdir(folder)).filter(f => f !== `${node.peerId.toString()}.json`)
    assert.deepEqual(left, ['junk.json'], 'both ghosts are gone after the first scan; junk is ignored, not deleted')
    assert.deepEqual(announced, [])
  })

  void it('a changed entry is read alone, not the whole folder (every Gateway rewrites its entry every few seconds)', async () => {
    const dir = await stateDir()
    const secret = parseSecret(generateSecret())
    const folder = rendezvousDir(dir, secret.meshId)
    const { mkdir, rename } = await import('node:fs/promises')
    await mkdir(folder, { recursive: true })
    const ghosts = await Promise.all(Array.from({ length: 30 }, async () => peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()))
    const entry = (id: string, port: number): string => JSON.stringify({ peerId: id, pid: process.pid, addrs: [`/ip4/127.0.0.1/tcp/${port}`], updatedAt: Date.now() })
    await Promise.all(ghosts.map(async (id, i) => { await writeFile(join(folder, `${id}.json`), entry(id, 1000 + i)) }))
    const announced: PeerInfo[] = []
    const events = new EventTarget()
    const node = await createTestNode({ services: { local: localDiscovery({ stateDir: dir, meshId: secret.meshId, rescanIntervalMs: 600_000 }) } }) as unknown as LocalNode
    nodes.push(node)
    node.services.local.addEventListener('peer', (e) => { announced.push(e.detail); events.dispatchEvent(new Event('peer')) })
    // The first scan ran while the node started, before we listened: announce the folder again.
    await node.services.local.afterStart?.()
    await waitFor(() => new Set(announced.map(p => p.id.toString())).size === ghosts.length, events, ['peer'], 10_000, 'every entry announced')
    // Count the reads of others' entries from here on (the discovery imports `open` from node:fs/promises).
    const fsp = (await import('node:fs')).promises
    const { syncBuiltinESMExports } = await import('node:module')
    const realOpen = fsp.open
    let reads = 0
    fsp.open = (async (path: Parameters<typeof realOpen>[0], ...rest: unknown[]) => {
      if (ghosts.some(id => String(path).endsWith(`${id}.json`))) reads++
      return await (realOpen as (...args: unknown[]) => ReturnType<typeof realOpen>)(path, ...rest)
    }) as typeof realOpen
    syncBuiltinESMExports()
    try {
      // One peer moves to another port, written the way entries are (a temporary name, then rename).
      await writeFile(join(folder, '.moved.tmp'), entry(ghosts[7]!, 2007))
      await rename(join(folder, '.moved.tmp'), join(folder, `${ghosts[7]!}.json`))
      await waitFor(() => announced.some(p => p.multiaddrs[0]!.toString().endsWith('/tcp/2007')), events, ['peer'], 10_000, 'the moved peer announced again')
    } finally {
      fsp.open = realOpen
      syncBuiltinESMExports()
    }
    assert.ok(reads >= 1 && reads <= 2, `entries read for one change: ${reads} (of ${ghosts.length})`)
  })

  void it('a peer that restarts with the same identity is announced again', async () => {
    const dir = await stateDir()
    const secret = parseSecret(generateSecret())
    const a = await localNode(dir, secret)
    const seen: PeerInfo[] = []
    const events = new EventTarget()
    a.services.local.addEventListener('peer', (e) => { seen.push(e.detail); events.dispatchEvent(new Event('seen')) })
    const key = await generateKeyPair('Ed25519')
    const { createLibp2p } = await import('libp2p')
    const { tcp } = await import('@libp2p/tcp')
    const { noise } = await import('@chainsafe/libp2p-noise')
    const { yamux } = await import('@chainsafe/libp2p-yamux')
    const start = async (): Promise<Libp2p> => {
      const n = await createLibp2p({ privateKey: key, addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] }, transports: [tcp()], connectionEncrypters: [noise()], streamMuxers: [yamux()], connectionProtector: meshProtector({ secret }), services: { local: localDiscovery({ stateDir: dir, meshId: secret.meshId }) } })
      nodes.push(n)
      return n
    }
    const b1 = await start()
    await waitFor(() => seen.length >= 1, events, ['seen'], 10_000, 'first announcement')
    const port1 = seen.at(-1)!.multiaddrs[0]!.toString()
    await b1.stop()
    const b2 = await start()
    await waitFor(() => seen.some(p => p.multiaddrs[0]!.toString() !== port1), events, ['seen'], 10_000, 'the restarted peer')
    assert.ok(seen.every(p => p.id.equals(b2.peerId)))
  })
})
