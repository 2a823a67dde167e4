/** The mesh secret and the allowlist through `createMesh` (loopback, no multicast, no rendezvous folder). */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { createMesh, type Mesh } from '../../src/index.ts'
import { generateSecret } from '../../src/security/secret.ts'
import { addressOf, waitForPeer } from '../../src/testing.ts'
import type { MeshOptions, RejectedPeer } from '../../src/types.ts'

const base = (options: MeshOptions): MeshOptions => ({ listen: ['/ip4/127.0.0.1/tcp/0'], discovery: { mdns: false, local: false }, ...options })

async function nextRejection (mesh: Mesh, ms = 10_000): Promise<RejectedPeer> {
  const known = mesh.status().rejected
  if (known.length > 0) return known[known.length - 1]!
  return await new Promise<RejectedPeer>((resolve, reject) => {
    const timer = setTimeout(() => { reject(new Error(`no peer:rejected within ${ms} ms`)) }, ms)
    mesh.addEventListener('peer:rejected', (e) => { clearTimeout(timer); resolve(e.detail) }, { once: true })
  })
}

void describe('createMesh: secret and allowlist', () => {
  void it('a Gateway with another secret is refused on both sides, with the reason in status().rejected', async () => {
    const member = await createMesh(base({ name: 'member', secret: generateSecret() }))
    const stranger = await createMesh(base({ name: 'stranger', secret: generateSecret(), peers: [addressOf(member)] }))
    try {
      const [m, s] = await Promise.all([nextRejection(member), nextRejection(stranger)])
      assert.match(m.reason, /different mesh secret/)
      assert.match(s.reason, /different mesh secret/)
      assert.equal(member.status().peers, 0)
      assert.equal(stranger.status().peers, 0)
    } finally {
      await Promise.all([member.stop(), stranger.stop()])
    }
  })

  void it('with an allowlist, only listed peers connect; others are refused by peer ID', async () => {
    const secret = generateSecret()
    const friend = await createMesh(base({ name: 'friend', secret }))
    const outsider = await createMesh(base({ name: 'outsider', secret }))
    const guarded = await createMesh(base({ name: 'guarded', secret, allow: [friend.peerId], peers: [addressOf(friend)] }))
    try {
      await waitForPeer(guarded, friend.peerId)
      // The outsider holds the secret but is not listed: it dials and is refused.
      await outsider.libp2p.dial(guarded.libp2p.getMultiaddrs()[0]!).catch(() => {})
      const rejected = await nextRejection(guarded)
      assert.equal(rejected.peerId, outsider.peerId)
      assert.match(rejected.reason, /allowlist/)
      assert.ok(!guarded.peers().some(p => p.peerId === outsider.peerId))
    } finally {
      await Promise.all([friend.stop(), outsider.stop(), guarded.stop()])
    }
  })

  void it('secret, stateDir and discovery options are validated: a bad secret or peer address throws', async () => {
    await assert.rejects(createMesh(base({ secret: 'not a secret' })), (err: Error) => err.name === 'InvalidSecretError')
    await assert.rejects(createMesh(base({ secret: generateSecret(), peers: ['not-a-multiaddr'] })), (err: Error & { code?: string }) => err.code === 'BAD_REQUEST')
  })
})
