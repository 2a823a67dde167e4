// The keyring: several keys in the protector, the primary for dialing, every key accepted
// inbound, and which key a connection runs on (issue 18's rotation, issue 15's invites).
import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { preSharedKey } from '@libp2p/pnet'
import { connectionKey, meshProtector, type ProtectorRejectEvent } from '../../src/security/protector.ts'
import { exportSecret, generateSecret, parseSecret } from '../../src/security/key.ts'
import { formatKeyring, keyringOf, MAX_KEYRING_SIZE, parseKeyring } from '../../src/security/keyring.ts'
import { createTestNode, waitFor } from '../helpers/libp2p.ts'
import type { Libp2p, MultiaddrConnection, PeerId } from '@libp2p/interface'

const nodes: Libp2p[] = []
after(async () => { await Promise.all(nodes.map(async n => { await n.stop() })) })
async function track<T extends Libp2p> (p: Promise<T>): Promise<T> { const n = await p; nodes.push(n); return n }

const hex = (): string => exportSecret(parseSecret(generateSecret()))
const isInvalid = (err: Error): boolean => err.name === 'InvalidSecretError'

void describe('keyring text and options', () => {
  void it('reads a single swarm key (every earlier key file) as a ring of one', () => {
    const text = generateSecret()
    const ring = parseKeyring(text + '\n')
    assert.equal(ring.primary.meshId, parseSecret(text).meshId)
    assert.equal(ring.primary.label, ring.primary.meshId)
    assert.deepEqual(ring.accept, [])
    assert.equal(formatKeyring(ring), text + '\n', 'and writes it back in the same format')
  })

  void it('reads several keys, the first the primary, with comments, commas, labels and expiries', () => {
    const [a, b, c] = [hex(), hex(), hex()]
    const ring = parseKeyring(`# rotation in progress\n${a}\n${b} label=next\n\n${c} label=invite-7 expires=2030-01-01T00:00:00Z # for the branch\n`)
    assert.equal(exportSecret(ring.primary), a)
    assert.deepEqual(ring.accept.map(k => [exportSecret(k), k.label, k.expiresAt]), [[b, 'next', undefined], [c, 'invite-7', Date.parse('2030-01-01T00:00:00Z')]])
    assert.deepEqual(parseKeyring(formatKeyring(ring)), ring, 'round trip')
    assert.deepEqual(parseKeyring(`${a}, ${b} label=next,${c} label=invite-7 expires=2030-01-01T00:00:00Z`), ring, 'commas, for an environment variable')
    const swarm = generateSecret()
    assert.equal(parseKeyring(`${swarm}\n${a}`).accept[0]?.meshId, parseSecret(a).meshId, 'swarm-key blocks and hex lines mix')
  })

  void it('takes the `secret` option as a keyring object', () => {
    const [a, b] = [generateSecret(), hex()]
    const ring = keyringOf({ primary: a, accept: [b, { key: hex(), label: 'invite', expiresAt: new Date(1_900_000_000_000) }] })
    assert.equal(ring.primary.meshId, parseSecret(a).meshId)
    assert.equal(ring.accept[0]?.meshId, parseSecret(b).meshId)
    assert.equal(ring.accept[1]?.label, 'invite')
    assert.equal(ring.accept[1]?.expiresAt, 1_900_000_000_000)
  })

  void it('refuses what would be ambiguous or unsafe with InvalidSecretError', () => {
    const a = hex()
    for (const bad of [`${a}\n${a}`, `${a} label=x\n${hex()} label=x`, `${a} label=no/slash`, `${a} expires=soon`, `${a} colour=red`, 'x'.repeat(64), '', '# only a comment']) {
      assert.throws(() => parseKeyring(bad), isInvalid, bad)
    }
    assert.throws(() => keyringOf({ primary: a, accept: [a] }), isInvalid)
    assert.throws(() => keyringOf({ primary: a, accept: [{ key: hex(), expiresAt: 'not a time' }] }), isInvalid)
    assert.throws(() => keyringOf({} as never), isInvalid)
    assert.throws(() => keyringOf({ primary: a, accept: Array.from({ length: MAX_KEYRING_SIZE }, hex) }), isInvalid, 'a ring is bounded')
  })
})

function recording (): { events: ProtectorRejectEvent[], target: EventTarget, onReject: (e: ProtectorRejectEvent) => void } {
  const events: ProtectorRejectEvent[] = []
  const target = new EventTarget()
  return { events, target, onReject: (e) => { events.push(e); target.dispatchEvent(new Event('reject')) } }
}

/** A new connection (never an existing one), and both ends see it. */
async function connectionTo (from: Libp2p, to: Libp2p): Promise<void> {
  const before = to.getConnections(from.peerId).length
  await from.dial(to.getMultiaddrs()[0]!, { signal: AbortSignal.timeout(10_000), force: true })
  await waitFor(() => to.getConnections(from.peerId).length > before, to, ['connection:open'], 10_000, 'the listener to see the connection')
}

void describe('a protector with a keyring', () => {
  void it('dials on its primary, accepts every key of its ring, and says which key each connection runs on', async () => {
    const [oldKey, newKey] = [parseSecret(generateSecret()), parseSecret(generateSecret())]
    // Mid-rotation: A still dials on the old key and accepts the new one; B has moved to the new one.
    const a = await track(createTestNode({ protector: meshProtector({ secret: oldKey, accept: [{ ...newKey, label: 'next' }] }) }))
    const b = await track(createTestNode({ protector: meshProtector({ secret: newKey, accept: [oldKey] }) }))
    await connectionTo(b, a) // on the new key (B's primary)
    await connectionTo(a, b) // on the old key (A's primary)
    const keysSeenBy = (node: Libp2p, peer: PeerId): string[] => node.getConnections(peer).map(c => `${c.direction}:${connectionKey(c)?.label ?? 'none'}:${String(connectionKey(c)?.primary)}`).sort()
    assert.deepEqual(keysSeenBy(a, b.peerId), [`inbound:next:false`, `outbound:${oldKey.meshId}:true`])
    assert.deepEqual(keysSeenBy(b, a.peerId), [`inbound:${oldKey.meshId}:false`, `outbound:${newKey.meshId}:true`])
  })

  void it('refuses a dialer whose key it does not hold, and a listener that does not hold its primary', async () => {
    const [k1, k2] = [parseSecret(generateSecret()), parseSecret(generateSecret())]
    const rejectedByA = recording()
    const a = await track(createTestNode({ protector: meshProtector({ secret: k1, accept: [k2], onReject: rejectedByA.onReject }) }))
    const c = await track(createTestNode({ protector: meshProtector({ secret: k2 }) }))
    const outsider = await track(createTestNode({ protector: meshProtector({ secret: parseSecret(generateSecret()) }) }))
    await assert.rejects(connectionTo(outsider, a))
    await waitFor(() => rejectedByA.events.length > 0, rejectedByA.target, ['reject'], 10_000, 'the refusal')
    assert.equal(rejectedByA.events[0]?.kind, 'wrong-secret')
    assert.equal(rejectedByA.events[0]?.direction, 'inbound')
    // A dials on k1, which C does not hold (C accepts only k2): refused, although C could dial A.
    await assert.rejects(connectionTo(a, c))
    await connectionTo(c, a)
  })

  void it('interoperates with plain @libp2p/pnet on any key of the ring, both ways', async () => {
    const [k1, k2] = [parseSecret(generateSecret()), parseSecret(generateSecret())]
    const ring = await track(createTestNode({ protector: meshProtector({ secret: k1, accept: [k2] }) }))
    const plainOnK2 = await track(createTestNode({ protector: preSharedKey({ psk: k2.swarmKey }) }))
    const plainOnK1 = await track(createTestNode({ protector: preSharedKey({ psk: k1.swarmKey }) }))
    await connectionTo(plainOnK2, ring)
    await connectionTo(plainOnK1, ring)
    await connectionTo(ring, plainOnK1)
    assert.equal(connectionKey(ring.getConnections(plainOnK2.peerId)[0]!)?.meshId, k2.meshId)
  })

  void it('refuses a key past its expiry, and labels connections on a key before it, for the gater to restrict', async () => {
    const [mesh, live, expired] = [parseSecret(generateSecret()), parseSecret(generateSecret()), parseSecret(generateSecret())]
    const rejected = recording()
    // The hook an invite needs: a gater that reads the key of the connection (here: it refuses invitees outright).
    const invitees: string[] = []
    const gater = {
      denyInboundEncryptedConnection: async (peer: PeerId, maConn: MultiaddrConnection): Promise<boolean> => {
        if (connectionKey(maConn)?.label.startsWith('invite') === true) invitees.push(peer.toString())
        return false
      }
    }
    const inviter = await track(createTestNode({
      gater,
      protector: meshProtector({
        secret: mesh,
        accept: [{ ...live, label: 'invite-live', expiresAt: Date.now() + 3_600_000 }, { ...expired, label: 'invite-old', expiresAt: Date.now() - 1 }],
        onReject: rejected.onReject
      })
    }))
    const newcomer = await track(createTestNode({ protector: meshProtector({ secret: live }) }))
    const late = await track(createTestNode({ protector: meshProtector({ secret: expired }) }))
    await connectionTo(newcomer, inviter)
    const key = connectionKey(inviter.getConnections(newcomer.peerId)[0]!)
    assert.equal(key?.label, 'invite-live')
    assert.ok(key?.expiresAt !== undefined && key.expiresAt > Date.now())
    assert.deepEqual(invitees, [newcomer.peerId.toString()])
    await assert.rejects(connectionTo(late, inviter))
    await waitFor(() => rejected.events.some(e => e.kind === 'expired-key'), rejected.target, ['reject'], 10_000, 'the expired key to be refused')
    assert.match(rejected.events.find(e => e.kind === 'expired-key')?.reason ?? '', /invite-old/)
  })
})
