/**
 * Joining by invite code, on the new Gateway.
 *
 * A short-lived libp2p node whose only key is the invite's one-off key dials
 * the inviter (directly or through a relay member named in the code), checks
 * with Noise that it is the peer the code names, and runs the join protocol.
 * The secret it receives must hash to the mesh ID in the code, or it is
 * refused. The caller stores it (`store.ts`) and starts the real node with it.
 */
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { identify } from '@libp2p/identify'
import { peerIdFromString } from '@libp2p/peer-id'
import { tcp } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { MeshError } from '../errors.ts'
import { meshProtector } from '../security/protector.ts'
import { meshIdOf, parseSecret, type MeshSecret } from '../security/secret.ts'
import { anySignal } from 'any-signal'
import { decodeInvite, isExpired, type InviteCode } from './code.ts'
import { exchange, joinRequest, JOIN_PROTOCOL, parseJoinAnswer } from './protocol.ts'
import type { PrivateKey } from '@libp2p/interface'

/** How long a join may take in all (dials through a relay included). */
export const DEFAULT_JOIN_TIMEOUT_MS = 30_000

export interface JoinOptions {
  /** Join as this identity (the inviter logs who redeemed its code). @default a throwaway key */
  privateKey?: PrivateKey
  /** @default {@link DEFAULT_JOIN_TIMEOUT_MS} */
  timeoutMs?: number
  signal?: AbortSignal
}

export interface JoinResult {
  secret: MeshSecret
  code: InviteCode
  /** Where to connect: the addresses the inviter sent (else those in the code). */
  peers: string[]
}

/** Redeems `text` (an invite code) with its inviter. Throws `INVITE_*`, `UNREACHABLE` or `TIMEOUT` as a `MeshError`. */
export async function joinByInvite (text: string, options: JoinOptions = {}): Promise<JoinResult> {
  const code = decodeInvite(text)
  if (isExpired(code)) {
    throw new MeshError('INVITE_EXPIRED', `this invite expired at ${new Date(code.expiresAt * 1000).toISOString()}; ask for a new one (\`clawmesh invite\` on a member)`)
  }
  const refusedByKey = { seen: false }
  const node = await createLibp2p({
    ...(options.privateKey !== undefined ? { privateKey: options.privateKey } : {}),
    addresses: { listen: [] },
    transports: [tcp(), circuitRelayTransport()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    // The invite's key is the only one this node holds: it reaches the inviter (and its relays) and nothing else.
    connectionProtector: meshProtector({ secret: { psk: code.key, meshId: `invite ${code.id}` }, onReject: () => { refusedByKey.seen = true } }),
    services: { identify: identify() }
  })
  const timeoutMs = options.timeoutMs ?? DEFAULT_JOIN_TIMEOUT_MS
  const signal = anySignal([options.signal, AbortSignal.timeout(timeoutMs)])
  try {
    const inviter = peerIdFromString(code.peer)
    await node.peerStore.merge(inviter, { multiaddrs: code.addrs.map(a => multiaddr(a)) })
    let stream
    try {
      stream = await node.dialProtocol(inviter, JOIN_PROTOCOL, { signal, runOnLimitedConnection: true })
    } catch (err) {
      if (refusedByKey.seen) {
        throw new MeshError('INVITE_REFUSED', 'the inviter no longer accepts this code (it was used, revoked, or it expired); ask for a new one', { cause: err })
      }
      if (options.signal?.aborted === true) throw new MeshError('ABORTED', 'joining the mesh was aborted', { cause: err })
      if (signal.aborted) throw new MeshError('TIMEOUT', `the inviter did not answer within ${timeoutMs} ms`, { cause: err })
      throw new MeshError('UNREACHABLE', `cannot reach the inviter at ${code.addrs.join(', ')}: is its Gateway running, and is one of these addresses reachable from here?`, { cause: err })
    }
    const answer = parseJoinAnswer(await exchange(stream, joinRequest({ id: code.id, token: code.token }), { signal }))
    if (!answer.ok) {
      if (answer.error === 'expired') throw new MeshError('INVITE_EXPIRED', 'the inviter says this invite has expired; ask for a new one')
      throw new MeshError('INVITE_REFUSED', `the inviter refused this code (${answer.error === 'used' ? 'it was used already: if not by you, tell the inviter' : answer.error}); ask for a new one`)
    }
    const secret = parseSecret(answer.secret)
    // The code names the mesh: a secret for any other one is not what we were invited to.
    if (meshIdOf(secret.psk) !== code.meshId || answer.meshId !== code.meshId) {
      throw new MeshError('INVITE_REFUSED', `the inviter sent the secret of mesh ${secret.meshId}, but the code is for mesh ${code.meshId}; not joining`)
    }
    const peers = answer.peers.filter(p => p.endsWith(`/p2p/${code.peer}`)).filter(p => { try { multiaddr(p); return true } catch { return false } })
    return { secret, code, peers: peers.length > 0 ? peers : code.addrs }
  } finally {
    signal.clear()
    await node.stop()
  }
}
