import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { tcp } from '@libp2p/tcp'
import { createLibp2p } from 'libp2p'
import { BOOTSTRAP_TAG, meshDialer } from '../../src/discovery/dialer.ts'
import { meshProtector } from '../../src/security/protector.ts'
import { generateSecret, parseSecret } from '../../src/security/secret.ts'
import { waitConnected, waitFor } from '../helpers/libp2p.ts'
import type { Libp2p, PrivateKey } from '@libp2p/interface'

const nodes: Libp2p[] = []
after(async () => { await Promise.all(nodes.map(async n => { await n.stop() })) })

const secret = parseSecret(generateSecret())

async function node (options: { key?: PrivateKey, listen?: string, peers?: string[] } = {}): Promise<Libp2p> {
  const n = await createLibp2p({
    ...(options.key != null ? { privateKey: options.key } : {}),
    addresses: { listen: [options.listen ?? '/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionProtector: meshProtector({ secret }),
    connectionManager: { allow: ['/ip4/127.0.0.0/ipcidr/8'] },
    services: { dialer: meshDialer({ peers: options.peers ?? [], minBackoffMs: 50, maxBackoffMs: 300, discovery: [] }) }
  })
  nodes.push(n)
  return n
}

void describe('dialer: bootstrap peers', () => {
  void it('keeps a bootstrap peer connected: waits for it to come up, and reconnects after it restarts', async () => {
    const key = await generateKeyPair('Ed25519')
    const first = await node({ key })
    const address = first.getMultiaddrs()[0]!
    await first.stop()

    // The bootstrap peer is down when we start: the dialer keeps retrying with backoff.
    const a = await node({ peers: [address.toString()] })
    const tags = (await a.peerStore.get(first.peerId)).tags
    assert.ok(tags.has(BOOTSTRAP_TAG), 'tagged keep-alive so libp2p never prunes it')

    const second = await node({ key, listen: address.decapsulate('/p2p').toString() })
    await waitConnected(a, second.peerId, 15_000)

    // It drops (stops) and comes back: we reconnect, with no help from the peer.
    await second.stop()
    await waitFor(() => a.getConnections(second.peerId).length === 0, a, ['peer:disconnect'], 10_000, 'the disconnect')
    const third = await node({ key, listen: address.decapsulate('/p2p').toString() })
    await waitConnected(a, third.peerId, 15_000)
    await waitConnected(third, a.peerId, 15_000)
  })

  void it('a bootstrap address without /p2p/ works too; the peer ID is learnt from the connection', async () => {
    const b = await node()
    const a = await node({ peers: [b.getMultiaddrs()[0]!.decapsulate('/p2p').toString()] })
    await waitConnected(a, b.peerId, 15_000)
  })
})
