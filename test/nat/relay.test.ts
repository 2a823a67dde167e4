/**
 * A relay member on loopback: a Gateway that cannot be reached directly
 * reserves a slot, another reaches it through the relay, and registry and
 * delivery traffic run over the relayed connection. (Hole punching needs two
 * NATs: test/netns/sites.test.ts.)
 */
import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { multiaddr } from '@multiformats/multiaddr'
import { createMesh, REGISTRY_PROTOCOL, type Mesh } from '../../src/index.ts'
import { addressOf, loopbackOptions, waitForPeer, waitForResolvable, waitUntil } from '../../src/testing.ts'
import { generateSecret } from '../../src/security/secret.ts'
import type { MeshOptions } from '../../src/types.ts'

const meshes: Mesh[] = []
after(async () => { await Promise.allSettled(meshes.map(async m => { await m.stop() })) })

async function start (options: MeshOptions): Promise<Mesh> {
  const mesh = await createMesh(loopbackOptions(options))
  meshes.push(mesh)
  return mesh
}

/** The relayed address `mesh` announces, once it holds a slot. */
async function relayedAddressOf (mesh: Mesh): Promise<string> {
  await waitUntil(mesh, () => (mesh.status().reachability?.relayed.length ?? 0) > 0)
  return mesh.status().reachability?.relayed[0] as string
}

void describe('relay member', { timeout: 60_000 }, () => {
  void it('a Gateway behind no public address reserves a slot; another sends to it through the relay', async () => {
    const relay = await start({ name: 'relay', relay: true })
    // Loopback only: neither has a public address, so both count as not reachable from other networks.
    const branch = await start({ name: 'branch', peers: [addressOf(relay)], reachability: { holePunch: false } })
    const hq = await start({ name: 'hq', peers: [addressOf(relay)], reachability: { holePunch: false } })
    await branch.announce('agent:main:main', { sessionId: 'branch-main' })
    branch.setDeliverHandler(async msg => ({ reply: `branch got: ${msg.text}` }))

    assert.equal(branch.status().reachability?.state, 'private')
    const relayed = await relayedAddressOf(branch)
    assert.match(relayed, new RegExp(`/p2p/${relay.peerId}/p2p-circuit/p2p/${branch.peerId}$`))

    // The relayed connection is upgraded like any other: through the mesh-secret protector, on both ends.
    const protectedAt = (mesh: Mesh): string[] => {
      const seen: string[] = []
      const protector = (mesh.libp2p as unknown as { components: { connectionProtector: { protect: (c: { remoteAddr: unknown }, o?: unknown) => Promise<unknown> } } }).components.connectionProtector
      const protect = protector.protect.bind(protector)
      protector.protect = async (c, o) => { seen.push(String(c.remoteAddr)); return await protect(c, o) }
      return seen
    }
    const hqProtected = protectedAt(hq)
    const branchProtected = protectedAt(branch)
    // Reach the branch through the relay only (on loopback its direct address would work too).
    await hq.libp2p.dial(multiaddr(relayed))
    assert.ok(hqProtected.some(a => a.includes('/p2p-circuit/')), `hq protected ${hqProtected.join(', ')}`)
    assert.ok(branchProtected.some(a => a.includes('/p2p-circuit/')), `branch protected ${branchProtected.join(', ')}`)
    await waitForPeer(hq, branch.peerId)
    await waitForResolvable(hq, 'gateway:branch:agent:main:main')
    const peer = hq.peers().find(p => p.peerId === branch.peerId)
    assert.equal(peer?.link, 'relayed')
    assert.ok(peer?.addresses.every(a => a.includes('/p2p-circuit/')), 'only the relayed connection is open')

    const result = await hq.send('gateway:branch:agent:main:main', 'hello through the relay')
    assert.equal(result.reply, 'branch got: hello through the relay')
    assert.equal(hq.peers().find(p => p.peerId === branch.peerId)?.link, 'relayed', 'no direct connection was opened for the send')
  })

  void it('when the relayed connection closes and a direct one remains (after a hole punch), the registry link moves onto it (the gossip redesign must keep this)', async () => {
    const relay = await start({ name: 'relay3', relay: true })
    const branch = await start({ name: 'branch3', peers: [addressOf(relay)], reachability: { holePunch: false } })
    const hq = await start({ name: 'hq3', peers: [addressOf(relay)], reachability: { holePunch: false } })
    await branch.announce('agent:main:main')
    branch.setDeliverHandler(async msg => ({ reply: `branch got: ${msg.text}` }))
    const relayedConnection = await hq.libp2p.dial(multiaddr(await relayedAddressOf(branch)))
    await waitForPeer(hq, branch.peerId)
    // What DCUtR does: open a direct connection, then close the relayed one.
    const direct = await hq.libp2p.dial(multiaddr(addressOf(branch)))
    assert.notEqual(direct.id, relayedConnection.id)
    await relayedConnection.close()
    const registryOn = (c: typeof direct): boolean => c.streams.some(s => s.protocol === REGISTRY_PROTOCOL && s.direction === 'outbound')
    await waitUntil(hq, () => registryOn(direct))
    assert.equal(hq.peers().find(p => p.peerId === branch.peerId)?.link, 'direct')
    await waitForResolvable(hq, 'gateway:branch3:agent:main:main')
    assert.equal((await hq.send('gateway:branch3:agent:main:main', 'after the switch')).reply, 'branch got: after the switch')
  })

  void it('a relay member enforces its limits: slots, and bytes per circuit (the mesh reconnects a reset circuit)', async () => {
    const relay = await start({ name: 'relay4', relay: { maxReservations: 1, circuitBytes: 128 * 1024 } })
    const branch = await start({ name: 'branch4', peers: [addressOf(relay)], reachability: { holePunch: false } })
    const late = await start({ name: 'late4', peers: [addressOf(relay)], reachability: { holePunch: false } })
    const hq = await start({ name: 'hq4', peers: [addressOf(relay)], reachability: { holePunch: false } })
    await branch.announce('agent:main:main')
    branch.setDeliverHandler(async msg => ({ reply: `${msg.text.length} bytes` }))
    await relayedAddressOf(branch)
    // Ask the relay for a slot explicitly (libp2p's "configured" relay): the only one is taken.
    const transports = (late.libp2p as unknown as { components: { transportManager: { listen: (a: unknown[]) => Promise<void> } } }).components.transportManager
    await assert.rejects(transports.listen([multiaddr(`${addressOf(relay)}/p2p-circuit`)]), /RESERVATION_REFUSED|reservation failed/)
    assert.deepEqual(late.status().reachability?.relayed, [])

    const first = await hq.libp2p.dial(multiaddr(await relayedAddressOf(branch)))
    assert.ok(first.limits !== undefined, 'a capped circuit is a limited connection')
    await waitForResolvable(hq, 'gateway:branch4:agent:main:main')
    assert.equal((await hq.send('gateway:branch4:agent:main:main', 'x'.repeat(10_000))).reply, '10000 bytes')
    // Registry traffic alone passes the cap: the relay resets the circuit, and with no send under way
    // only the link keeper dials the branch again.
    await Promise.all(Array.from({ length: 300 }, async (_, i) => { await branch.announce(`agent:main:s${i}`, { label: 'l'.repeat(900) }) }))
    await waitUntil(hq, () => first.status !== 'open')
    await waitUntil(hq, () => hq.libp2p.getConnections(branch.libp2p.peerId).some(c => c.id !== first.id && c.status === 'open'))
    await waitForPeer(hq, branch.peerId)
    await waitUntil(hq, () => hq.resolve('gateway:branch4:agent:main:main').owner.reachable)
    assert.equal((await hq.send('gateway:branch4:agent:main:main', 'z')).reply, '1 bytes')
  })

  void it('the relayed connection is gated by the mesh secret end to end: a Gateway on another key is refused through the relay', async () => {
    // The relay accepts two keys (a keyring), so both reach it; the connection between them, inside the relay, must still fail.
    const [ours, theirs] = [generateSecret(), generateSecret()]
    const relay = await start({ name: 'relay5', relay: true, secret: { primary: ours, accept: [theirs] } })
    const branch = await start({ name: 'branch5', secret: theirs, peers: [addressOf(relay)], reachability: { holePunch: false } })
    const hq = await start({ name: 'hq5', secret: ours, peers: [addressOf(relay)], reachability: { holePunch: false } })
    const relayed = await relayedAddressOf(branch)
    await assert.rejects(hq.libp2p.dial(multiaddr(relayed)))
    await waitUntil(branch, () => branch.status().rejected.some(r => r.address?.includes('/p2p-circuit') === true))
    assert.deepEqual(hq.peers().filter(p => p.peerId === branch.peerId), [])
  })

  void it('with no relay member around, a Gateway that cannot be reached holds no slot and says it is private', async () => {
    const plain = await start({ name: 'plain' })
    const branch = await start({ name: 'branch2', peers: [addressOf(plain)] })
    await waitForPeer(branch, plain.peerId)
    assert.equal(branch.status().reachability?.state, 'private')
    assert.deepEqual(branch.status().reachability?.relayed, [])
    assert.equal(plain.libp2p.services.relay, undefined)
  })
})
