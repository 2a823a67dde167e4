/**
 * The floor of libp2p's own stack, for the send benchmarks: a bare js-libp2p node with the
 * transports clawmesh runs on (TCP + pnet + Noise + yamux, the same muxer options), and
 * nothing else: no identify, no ping, no clawmesh. Its one protocol echoes every byte back on
 * the same stream. pnet is `@libp2p/pnet` (the stock protector) keyed with the bench's mesh
 * secret, so the figure is libp2p's and not ours.
 *
 * Used by `bench/peer.ts libp2p` (the echo server, in its own process) and by the harness
 * (the client node): `libp2p_rtt` and `libp2p_throughput_c64` in `bench/run.ts`.
 */
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { preSharedKey } from '@libp2p/pnet'
import { tcp } from '@libp2p/tcp'
import { createLibp2p, type Libp2p } from 'libp2p'
import { multiaddr } from '@multiformats/multiaddr'
import type { Stream } from '@libp2p/interface'

export const ECHO_PROTOCOL = '/clawmesh-bench/echo/1'

/** The muxer options of `createMesh` (src/mesh.ts `MUXER_OPTIONS`), written out so that an older checkout can be measured. */
const MUXER_OPTIONS = { maxEarlyStreams: 64, streamOptions: { maxStreamWindowSize: 2 * 1024 * 1024 } }

/** A bare node on 127.0.0.1 protected by the swarm key `swarmKey` (the `/key/swarm/psk/...` text of a mesh secret). */
export async function bareNode (swarmKey: Uint8Array): Promise<Libp2p> {
  return await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionProtector: preSharedKey({ psk: swarmKey }),
    connectionEncrypters: [noise()],
    streamMuxers: [yamux(MUXER_OPTIONS)],
    connectionManager: { allow: ['/ip4/127.0.0.0/ipcidr/8'] },
    connectionMonitor: { enabled: false }
  })
}

/** Serves the echo protocol: every byte that arrives goes back on the same stream. */
export async function serveEcho (node: Libp2p): Promise<void> {
  await node.handle(ECHO_PROTOCOL, (stream) => {
    stream.addEventListener('message', (evt) => {
      if (!stream.send(evt.data)) stream.pause()
    })
    stream.addEventListener('drain', () => { stream.resume() })
  }, { maxInboundStreams: 4 })
}

/** A client stream to an echo server; `exchange` sends `n` bytes and resolves when `n` bytes came back. */
export interface EchoClient {
  stream: Stream
  /** Bytes echoed back so far. */
  received: () => number
  /** Called after each 'message' event. */
  onMessage: (fn: () => void) => void
  stop: () => Promise<void>
}

export async function echoClient (swarmKey: Uint8Array, address: string): Promise<EchoClient> {
  const node = await bareNode(swarmKey)
  const stream = await node.dialProtocol(multiaddr(address), ECHO_PROTOCOL)
  let received = 0
  let listener: (() => void) | undefined
  stream.addEventListener('message', (evt) => {
    received += evt.data.byteLength
    listener?.()
  })
  return {
    stream,
    received: () => received,
    onMessage: (fn) => { listener = fn },
    stop: async () => { await node.stop() }
  }
}
