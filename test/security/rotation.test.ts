// Rotating the mesh secret without an outage, and removing a Gateway for good (issue 18):
// every Gateway adds the next key, then makes it primary, then drops the old one, restarting
// one at a time while the others keep sending; a Gateway left on the old key is then out.
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { createMesh, type Mesh } from '../../src/index.ts'
import { generateSecret, parseSecret } from '../../src/security/key.ts'
import { connectionKey } from '../../src/security/protector.ts'
import { addressOf, waitForPeer, waitForResolvable, waitUntil } from '../../src/testing.ts'
import type { MeshOptions, SecretOption } from '../../src/types.ts'

const SESSION = 'agent:main:main'
const dirs: string[] = []
const running = new Set<Mesh>()
after(async () => {
  await Promise.all([...running].map(async m => { await m.stop() }))
  await Promise.all(dirs.map(async d => { await rm(d, { recursive: true, force: true }) }))
})

const base = (options: MeshOptions): MeshOptions => ({ listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false, discovery: { mdns: false, local: false }, ...options })

async function start (name: string, dataDir: string, secret: SecretOption, peers: Mesh[]): Promise<Mesh> {
  const mesh = await createMesh(base({ name, dataDir, secret, peers: peers.map(addressOf), deliver: async (m) => ({ reply: `${name} got: ${m.text}` }) }))
  running.add(mesh)
  await mesh.announce(SESSION)
  return mesh
}

async function stop (mesh: Mesh): Promise<void> {
  running.delete(mesh)
  await mesh.stop()
}

async function sendOk (from: Mesh, to: string, text: string): Promise<void> {
  const result = await from.send(`gateway:${to}:${SESSION}`, text, { timeoutMs: 20_000 })
  assert.equal(result.reply, `${to} got: ${text}`)
}

void describe('secret rotation', { timeout: 180_000 }, () => {
  void it('three Gateways move to a new secret one by one with sends flowing; one left on the old secret is then out', async () => {
    const oldKey = generateSecret()
    const newKey = generateSecret()
    const newMeshId = parseSecret(newKey).meshId
    const names = ['gw0', 'gw1', 'gw2']
    const dataDirs = await Promise.all(names.map(async () => { const d = await mkdtemp(join(tmpdir(), 'clawmesh-rotation-')); dirs.push(d); return d }))
    const gateways: Mesh[] = []
    for (const [i, name] of names.entries()) gateways.push(await start(name, dataDirs[i] as string, oldKey, gateways.slice()))
    const allLinked = async (): Promise<void> => {
      for (const [i, gw] of gateways.entries()) {
        for (const [j, other] of gateways.entries()) {
          if (i === j) continue
          await waitForPeer(gw, other.peerId)
          await waitForResolvable(gw, `gateway:${names[j] as string}:${SESSION}`)
        }
      }
    }
    let sent = 0
    const everyPair = async (): Promise<void> => {
      for (const [i, gw] of gateways.entries()) {
        for (const [j] of gateways.entries()) if (i !== j) await sendOk(gw, names[j] as string, `m${sent++}`)
      }
    }
    await allLinked()
    await everyPair()

    const steps: Array<[string, SecretOption]> = [
      ['add the next key', { primary: oldKey, accept: [newKey] }],
      ['switch primaries', { primary: newKey, accept: [oldKey] }],
      ['drop the old key', newKey]
    ]
    for (const [step, ring] of steps) {
      for (const i of gateways.keys()) {
        // While Gateway i restarts on the new ring, the other two keep sending to each other.
        const [a, b] = gateways.filter((_, k) => k !== i) as [Mesh, Mesh]
        const [nameA, nameB] = names.filter((_, k) => k !== i) as [string, string]
        let restarting = true
        const flowing = (async () => {
          let n = 0
          while (restarting || n < 2) {
            await sendOk(a, nameB, `during ${step} ${i} ${n}`)
            await sendOk(b, nameA, `during ${step} ${i} ${n}`)
            n++
          }
          return n
        })()
        await stop(gateways[i] as Mesh)
        gateways[i] = await start(names[i] as string, dataDirs[i] as string, ring, gateways.filter((_, k) => k !== i))
        restarting = false
        assert.ok(await flowing >= 2, `sends flowed while ${names[i] as string} restarted (${step})`)
        await allLinked()
        await everyPair()
      }
    }
    // Every connection now runs on the new key.
    for (const gw of gateways) {
      assert.ok(gw.libp2p.getConnections().length > 0)
      for (const c of gw.libp2p.getConnections()) assert.equal(connectionKey(c)?.meshId, newMeshId)
    }

    // Removal for good: a Gateway that kept only the old key cannot get back in.
    const removedDir = await mkdtemp(join(tmpdir(), 'clawmesh-rotation-'))
    dirs.push(removedDir)
    const removed = await start('removed', removedDir, oldKey, gateways)
    await waitUntil(removed, () => removed.status().rejected.length > 0)
    assert.match(removed.status().rejected[0]?.reason ?? '', /different mesh secret/)
    assert.equal(removed.status().peers, 0)
    for (const gw of gateways) assert.ok(!gw.peers().some(p => p.peerId === removed.peerId))
    await assert.rejects(removed.send(`gateway:gw0:${SESSION}`, 'let me in', { timeoutMs: 2_000 }), (err: Error & { code?: string }) => err.code !== undefined)
  })

  void it('Gateways on different primaries find each other through the rendezvous folder of each key of their ring', async () => {
    const [oldKey, newKey] = [generateSecret(), generateSecret()]
    const stateDir = await mkdtemp(join(tmpdir(), 'clawmesh-rotation-'))
    dirs.push(stateDir)
    const local = { discovery: { mdns: false, local: true }, stateDir }
    const onOld = await createMesh({ ...base({ name: 'on-old', secret: { primary: oldKey, accept: [newKey] } }), ...local })
    running.add(onOld)
    const onNew = await createMesh({ ...base({ name: 'on-new', secret: { primary: newKey, accept: [oldKey] } }), ...local })
    running.add(onNew)
    await waitForPeer(onOld, onNew.peerId)
    await waitForPeer(onNew, onOld.peerId)
  })
})
