// A bare libp2p node with the same transport stack as a mesh node but no
// clawmesh service: it speaks our protocols by hand, like a buggy or hostile member.
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { tcp } from '@libp2p/tcp'
import { lpStream } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p, type Libp2p } from 'libp2p'
import { testProtector } from '../../src/testing.ts'
import type { PrivateKey } from '@libp2p/interface'

export interface RawPeer {
  node: Libp2p
  privateKey: PrivateKey
  /** Opens a length-prefixed stream on `protocol` to the node at `address`. */
  open: (address: string, protocol: string) => Promise<ReturnType<typeof lpStream>>
  stop: () => Promise<void>
}

export async function createRawPeer (options: { connectionProtector?: NonNullable<Parameters<typeof createLibp2p>[0]>['connectionProtector'] } = {}): Promise<RawPeer> {
  const { generateKeyPair } = await import('@libp2p/crypto/keys')
  const privateKey = await generateKeyPair('Ed25519')
  const node = await createLibp2p({
    privateKey,
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    // Test meshes all hold TEST_SECRET (see src/testing.ts); without it the raw peer could not connect at all.
    connectionProtector: options.connectionProtector ?? testProtector(),
    services: { identify: identify() }
  })
  return {
    node,
    privateKey,
    open: async (address, protocol) => lpStream(await node.dialProtocol(multiaddr(address), protocol), { maxDataLength: 8 * 1024 * 1024 }),
    stop: async () => { await node.stop() }
  }
}
