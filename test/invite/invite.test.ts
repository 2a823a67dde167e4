/**
 * Invites end to end on loopback: a newcomer joins with a code alone, directly
 * or through a relay member; a used, expired, revoked, replayed or tampered
 * code is refused; a code's key opens the join protocol and nothing else.
 */
import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { identify } from '@libp2p/identify'
import { peerIdFromString } from '@libp2p/peer-id'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p, type Libp2pOptions } from 'libp2p'
import { createMesh, MeshError, REGISTRY_PROTOCOL, type Mesh } from '../../src/index.ts'
import { decodeInvite, encodeInvite, joinByInvite } from '../../src/invite/index.ts'
import { exchange, JOIN_PROTOCOL, joinRequest, parseJoinAnswer, serveOne } from '../../src/invite/protocol.ts'
import { meshProtector } from '../../src/security/protector.ts'
import { generateSecret, parseSecret } from '../../src/security/secret.ts'
import { addressOf, waitForPeer, waitForResolvable, waitUntil } from '../../src/testing.ts'
import type { MeshOptions } from '../../src/types.ts'

const meshes: Mesh[] = []
const dirs: string[] = []
after(async () => {
  await Promise.allSettled(meshes.map(async m => { await m.stop() }))
  await Promise.all(dirs.map(async d => { await rm(d, { recursive: true, force: true }) }))
})

async function dir (): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'clawmesh-invite-'))
  dirs.push(d)
  return d
}

/** A node on loopback with its own state directory (so the key file is its own). */
async function start (options: MeshOptions): Promise<Mesh> {
  const mesh = await createMesh({ listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false, discovery: { mdns: false, local: false }, stateDir: await dir(), ...options })
  meshes.push(mesh)
  return mesh
}

/** A bare libp2p node that holds an invite code's key and nothing else. */
const codeHolder = (key: Uint8Array): Libp2pOptions => ({
  addresses: { listen: [] },
  transports: [tcp()],
  connectionEncrypters: [noise()],
  streamMuxers: [yamux()],
  connectionProtector: meshProtector({ secret: { psk: key, meshId: 'invite' } })
})

const IDENTIFY_PROTOCOL = '/ipfs/id/1.0.0'
const RELAY_HOP_PROTOCOL = '/libp2p/circuit/relay/0.2.0/hop'
const codeOf = (err: unknown): string | undefined => err instanceof MeshError ? err.code : undefined

void describe('invites', { timeout: 90_000 }, () => {
  const secret = generateSecret()

  void it('a newcomer joins with the code alone: it stores the secret (0600), connects, and sends both ways', async () => {
    const hq = await start({ name: 'hq', secret })
    await hq.announce('agent:main:main')
    hq.setDeliverHandler(async m => ({ reply: `hq got ${m.text}` }))
    const invite = await hq.invite()
    const psk = Buffer.from(parseSecret(secret).psk)
    const body = Buffer.from(invite.code.slice('clawmesh-invite:'.length), 'base64url').toString()
    for (const form of [psk.toString('hex'), psk.toString('base64'), psk.toString('base64url')]) assert.ok(!body.includes(form), 'the code does not carry the secret')

    const stateDir = await dir()
    const branch = await start({ name: 'branch', join: invite.code, stateDir })
    branch.setDeliverHandler(async m => ({ reply: `branch got ${m.text}` }))
    await branch.announce('agent:main:branch')
    await waitForPeer(branch, hq.peerId)
    const key = join(stateDir, 'mesh.key')
    assert.equal((await stat(key)).mode & 0o777, 0o600)
    assert.equal(parseSecret(await readFile(key, 'utf8')).meshId, parseSecret(secret).meshId)
    await waitForResolvable(branch, 'gateway:hq:agent:main:main')
    assert.equal((await branch.send('gateway:hq:agent:main:main', 'hi')).reply, 'hq got hi')
    await waitForResolvable(hq, 'gateway:branch:agent:main:branch')
    assert.equal((await hq.send('gateway:branch:agent:main:branch', 'yo')).reply, 'branch got yo')
    assert.deepEqual(hq.invites().map(i => [i.id, i.state, i.usedBy]), [[invite.id, 'used', branch.peerId]])

    // A restart with the same config does not redeem the code again, and comes back.
    await branch.stop()
    const again = await start({ name: 'branch', join: invite.code, stateDir })
    await waitForPeer(again, hq.peerId)
  })

  void it('a used code is refused, and so is a replay of it', async () => {
    const hq = await start({ name: 'hq2', secret })
    const invite = await hq.invite()
    await joinByInvite(invite.code)
    await assert.rejects(joinByInvite(invite.code), (err: unknown) => codeOf(err) === 'INVITE_REFUSED')
  })

  void it('an expired code is refused: by the newcomer itself, and by the inviter when its expiry was edited', async () => {
    const hq = await start({ name: 'hq3', secret })
    const invite = await hq.invite({ ttlMs: 1_000 })
    await waitUntil(hq, () => Date.now() > invite.expiresAt * 1000 + 50)
    await assert.rejects(joinByInvite(invite.code), (err: unknown) => codeOf(err) === 'INVITE_EXPIRED')
    const tampered = encodeInvite({ ...decodeInvite(invite.code), expiresAt: Math.floor(Date.now() / 1000) + 3600 })
    await assert.rejects(joinByInvite(tampered, { timeoutMs: 10_000 }), (err: unknown) => codeOf(err) === 'INVITE_REFUSED')
    assert.equal(hq.invites()[0]?.state, 'expired')
  })

  void it('a revoked code is refused', async () => {
    const hq = await start({ name: 'hq4', secret })
    const invite = await hq.invite()
    assert.equal(await hq.revokeInvite(invite.id), true)
    assert.equal(await hq.revokeInvite(invite.id), false)
    await assert.rejects(joinByInvite(invite.code, { timeoutMs: 10_000 }), (err: unknown) => codeOf(err) === 'INVITE_REFUSED')
  })

  void it('the code\'s key opens the join protocol and nothing else: no registry, no identify', async () => {
    const hq = await start({ name: 'hq5', secret })
    await hq.announce('agent:main:secret-plans')
    const code = decodeInvite((await hq.invite()).code)
    const holder = await createLibp2p({ ...codeHolder(code.key), services: { identify: identify() } })
    try {
      const connection = await holder.dial(multiaddr(addressOf(hq)))
      // The stream may be negotiated, but the inviter resets it before its handler sees it.
      const registry = await connection.newStream(REGISTRY_PROTOCOL).catch(() => undefined)
      if (registry !== undefined) await new Promise<void>(resolve => { if (registry.status !== 'open') resolve(); else registry.addEventListener('close', () => { resolve() }, { once: true }) })
      assert.notEqual(registry?.status, 'open', 'the registry refuses an invitee')
      await assert.rejects(holder.services.identify.identify(connection), 'identify refuses an invitee')
      // The join protocol itself is open to it.
      const stream = await connection.newStream(JOIN_PROTOCOL, { runOnLimitedConnection: true })
      stream.abort(new Error('done'))
      assert.equal(hq.peers().some(p => p.peerId === holder.peerId.toString()), false, 'an invitee is no registry peer')
    } finally {
      await holder.stop()
    }
  })

  void it('the inviter opens no stream to a code holder: no identify (no service acts on what it claims: no relay slot on it), no registry hello', async () => {
    // hq is behind no public address: it would reserve a slot on any peer that claims to be a relay.
    const hq = await start({ name: 'hq6', secret })
    await hq.announce('agent:main:secret-plans')
    const code = decodeInvite((await hq.invite()).code)
    const holder = await createLibp2p(codeHolder(code.key))
    // It answers identify, the registry and the relay's hop itself: any stream the inviter opens shows here.
    const opened: string[] = []
    for (const protocol of [IDENTIFY_PROTOCOL, REGISTRY_PROTOCOL, RELAY_HOP_PROTOCOL]) {
      await holder.handle(protocol, (stream) => { opened.push(protocol); stream.abort(new Error('seen')) }, { runOnLimitedConnection: true })
    }
    try {
      const connection = await holder.dial(multiaddr(addressOf(hq)))
      // Two join round trips after the connection opened (another invite's ID: nothing is spent). The inviter
      // identifies a connection and opens its registry link as soon as it opens: by now they would be here.
      for (let i = 0; i < 2; i++) {
        const stream = await connection.newStream(JOIN_PROTOCOL)
        const answer = parseJoinAnswer(await exchange(stream, joinRequest({ id: '00'.repeat(8), token: code.token }), { signal: AbortSignal.timeout(10_000) }))
        assert.equal(answer.ok, false)
      }
      assert.deepEqual(opened, [], 'no stream from the inviter to a holder of a code')
      assert.deepEqual(hq.invites().map(i => i.state), ['open'])
    } finally {
      await holder.stop()
    }
  })

  void it('on a relay member, a code\'s key reaches the inviter only: no slot, no circuit to another member', async () => {
    const relay = await start({ name: 'relay7', secret, relay: true })
    const hq = await start({ name: 'hq7', secret, peers: [addressOf(relay)], reachability: { holePunch: false } })
    const other = await start({ name: 'other7', secret, peers: [addressOf(relay)], reachability: { holePunch: false } })
    await waitUntil(hq, () => (hq.status().reachability?.relayed.length ?? 0) > 0)
    await waitUntil(other, () => (other.status().reachability?.relayed.length ?? 0) > 0)
    const hqRelayed = hq.status().reachability!.relayed.find(a => a.includes('/ip4/127.0.0.1/'))!
    const otherRelayed = other.status().reachability!.relayed.find(a => a.includes('/ip4/127.0.0.1/'))!
    const code = decodeInvite((await hq.invite({ addresses: [hqRelayed] })).code)
    const holder = await createLibp2p({
      addresses: { listen: [] },
      transports: [tcp(), circuitRelayTransport()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      connectionProtector: meshProtector({ secret: { psk: code.key, meshId: 'invite' } }),
      services: { identify: identify() }
    })
    try {
      // Through the relay to another member: the relay refuses the circuit.
      await assert.rejects(holder.dial(multiaddr(otherRelayed)))
      // A slot of its own on the relay: refused.
      const transports = (holder as unknown as { components: { transportManager: { listen: (a: unknown[]) => Promise<void> } } }).components.transportManager
      await assert.rejects(transports.listen([multiaddr(`${addressOf(relay)}/p2p-circuit`)]))
      // To the inviter, the one thing the key is for: a connection that speaks the join protocol.
      const connection = await holder.dial(multiaddr(hqRelayed))
      assert.equal(connection.remotePeer.toString(), hq.peerId)
    } finally {
      await holder.stop()
    }
  })

  void it('a newcomer refuses a secret that is not the code\'s mesh (an impostor inviter)', async () => {
    const real = await start({ name: 'hq8', secret })
    const code = decodeInvite((await real.invite()).code)
    await real.stop()
    // Someone who holds the code's key and serves the join protocol with another mesh's secret.
    const other = parseSecret(generateSecret())
    const impostor = await createLibp2p({
      addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
      transports: [tcp()],
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      connectionProtector: meshProtector({ secret: { psk: code.key, meshId: 'invite' } }),
      services: { identify: identify() }
    })
    await impostor.handle(JOIN_PROTOCOL, async (stream) => {
      await serveOne(stream, () => ({ ok: true, secret: Buffer.from(other.psk).toString('hex'), mesh: code.meshId, peers: [] }), {})
    })
    try {
      const forged = encodeInvite({ ...code, peer: impostor.peerId.toString(), addrs: impostor.getMultiaddrs().map(a => a.toString()) })
      await assert.rejects(joinByInvite(forged), (err: unknown) => codeOf(err) === 'INVITE_REFUSED')
    } finally {
      await impostor.stop()
    }
  })

  void it('a newcomer that can reach the inviter only through a relay member joins through it', async () => {
    const relay = await start({ name: 'relay', secret, relay: true })
    const hq = await start({ name: 'hq6', secret, peers: [addressOf(relay)], reachability: { holePunch: false } })
    await waitUntil(hq, () => (hq.status().reachability?.relayed.length ?? 0) > 0)
    // Only the relayed address in the code: on loopback the direct one would work too.
    const relayed = hq.status().reachability!.relayed.find(a => a.includes('/ip4/127.0.0.1/'))!
    const invite = await hq.invite({ addresses: [relayed] })
    assert.deepEqual(invite.addresses, [relayed])
    const branch = await start({ name: 'branch6', join: invite.code, reachability: { holePunch: false } })
    await waitForPeer(branch, hq.peerId)
    assert.equal(decodeInvite(invite.code).peer, hq.peerId)
    assert.ok(peerIdFromString(branch.peerId))
  })
})
