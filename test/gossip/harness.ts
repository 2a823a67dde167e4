// In-memory libp2p components for the registry gossip: stream pairs from @libp2p/utils instead of
// connections, a fake clock, and hand-played peers. No sockets, no sleeps.
import { generateKeyPair } from '@libp2p/crypto/keys'
import { defaultLogger } from '@libp2p/logger'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { streamPair } from '@libp2p/utils'
import { multiaddr } from '@multiformats/multiaddr'
import { TypedEventEmitter } from 'main-event'
import { REGISTRY_PROTOCOL } from '../../src/constants.ts'
import { registryGossip, type RegistryGossip, type RegistryGossipInit } from '../../src/gossip/index.ts'
import { FramedStream } from '../../src/wire/framed-stream.ts'
import type { Connection, Libp2pEvents, PeerId, PrivateKey, Stream } from '@libp2p/interface'

/** The grace period the tests' clock jumps are written against (the product default is a day). */
export const TEST_GRACE_MS = 60_000

const LOOPBACK = multiaddr('/ip4/127.0.0.1/tcp/1')

type Handler = (stream: Stream, connection: Connection) => void | Promise<void>

export interface FakeNode {
  peerId: PeerId
  id: string
  privateKey: PrivateKey
  events: TypedEventEmitter<Libp2pEvents>
  handlers: Map<string, Handler>
  /** Peers this node has a "connection" to. */
  peers: Set<string>
  /** Inbound streams a hand-played node received, framed. */
  inbound: FramedStream[]
}

export class FakeNet {
  readonly nodes = new Map<string, FakeNode>()
  /** Every gossip service started here, for `stopAll`. */
  readonly services: RegistryGossip[] = []
  now = 1_000_000

  /** A fresh node; with `privateKey`, the same peer ID as an earlier one (a restart: it replaces that node). */
  async node (privateKey?: PrivateKey): Promise<FakeNode> {
    privateKey ??= await generateKeyPair('Ed25519')
    const peerId = peerIdFromPrivateKey(privateKey)
    const node: FakeNode = { peerId, id: peerId.toString(), privateKey, events: new TypedEventEmitter(), handlers: new Map(), peers: new Set(), inbound: [] }
    this.nodes.set(node.id, node)
    return node
  }

  /** A gossip service on a fresh fake node (with `privateKey`: a restart of that peer ID), started. */
  async gossip (init: Partial<RegistryGossipInit> = {}, privateKey?: PrivateKey): Promise<{ node: FakeNode, gossip: RegistryGossip }> {
    const node = await this.node(privateKey)
    const gossip = registryGossip({ incarnation: 1, gateway: () => ({ name: node.id.slice(-4), host: 'h', addrs: [], maxMessageBytes: 1024 }), clock: () => this.now, unreachableGraceMs: TEST_GRACE_MS, ...init })({
      peerId: node.peerId,
      privateKey: node.privateKey,
      events: node.events,
      logger: defaultLogger(),
      registrar: {
        handle: async (protocol: string, handler: Handler) => { node.handlers.set(protocol, handler) },
        unhandle: async (protocol: string) => { node.handlers.delete(protocol) }
      } as never,
      connectionManager: this.connectionManager(node) as never
    })
    await gossip.start()
    await gossip.afterStart()
    this.services.push(gossip)
    return { node, gossip }
  }

  /** Stops every gossip service started here. */
  async stopAll (): Promise<void> {
    for (const g of this.services.splice(0)) {
      await g.beforeStop()
      await g.stop()
    }
  }

  /** What the gossip asks of libp2p's connection manager: one open, direct "connection" per connected peer. */
  connectionManager (node: FakeNode): object {
    const getConnections = (peer?: PeerId): object[] => [...node.peers].filter(id => peer === undefined || id === peer.toString()).map(id => ({
      remotePeer: this.nodes.get(id)?.peerId,
      remoteAddr: LOOPBACK,
      status: 'open',
      timeline: {},
      newStream: async (protocols: string | string[]) => await this.open(node, id, protocols),
      abort: () => { this.disconnect(node, this.nodes.get(id) as FakeNode) }
    }))
    const openConnection = async (peer: PeerId): Promise<object> => {
      const connection = getConnections(peer)[0]
      if (connection === undefined) throw new Error('no such peer')
      return connection
    }
    return { getConnections, openConnection }
  }

  /** A node that plays the registry protocol by hand: what gossip services send it lands in `inbound`. */
  async manual (protocol: string, privateKey?: PrivateKey): Promise<FakeNode> {
    const node = await this.node(privateKey)
    node.handlers.set(protocol, (stream) => { node.inbound.push(new FramedStream(stream, 8 * 1024 * 1024)) })
    return node
  }

  /** Opens a stream on the first of `protocols` that the remote handles (as multistream-select would). */
  async open (from: FakeNode, to: string, protocols: string | string[]): Promise<Stream> {
    const remote = this.nodes.get(to)
    const protocol = [protocols].flat().find(p => remote?.handlers.has(p) === true)
    const handler = protocol === undefined ? undefined : remote?.handlers.get(protocol)
    if (remote === undefined || !from.peers.has(to)) throw new Error('no such peer')
    if (protocol === undefined || handler === undefined) throw Object.assign(new Error('protocol selection failed'), { name: 'UnsupportedProtocolError' })
    const [outbound, inbound] = await streamPair({ delay: 0 })
    outbound.protocol = protocol
    inbound.protocol = protocol
    void handler(inbound, { remotePeer: from.peerId } as Connection)
    return outbound
  }

  connect (a: FakeNode, b: FakeNode): void {
    a.peers.add(b.id)
    b.peers.add(a.id)
    a.events.safeDispatchEvent('peer:connect', { detail: b.peerId })
    b.events.safeDispatchEvent('peer:connect', { detail: a.peerId })
  }

  /** `node` dies (kill -9): every connection of it closes, and it says nothing more. */
  kill (node: FakeNode): void {
    for (const id of [...node.peers]) {
      const peer = this.nodes.get(id)
      if (peer !== undefined) this.disconnect(node, peer)
    }
  }

  disconnect (a: FakeNode, b: FakeNode): void {
    if (!a.peers.delete(b.id)) return
    b.peers.delete(a.id)
    a.events.safeDispatchEvent('peer:disconnect', { detail: b.peerId })
    b.events.safeDispatchEvent('peer:disconnect', { detail: a.peerId })
  }
}

/** Connects `manual` to `target` and opens a hand-played registry stream to it; returns a writer of frames. */
export async function handPlayed (net: FakeNet, manual: FakeNode, target: FakeNode): Promise<(frame: Uint8Array) => Promise<void>> {
  net.connect(manual, target)
  const out = new FramedStream(await net.open(manual, target.id, REGISTRY_PROTOCOL), 8 * 1024 * 1024)
  return async (frame) => { await out.write(frame) }
}

/** Resolves once `condition` holds, checking after every turn of the event loop; fails after `ms` (a deadline, not a sleep). */
export async function until (condition: () => boolean, ms = 10_000): Promise<void> {
  const deadline = performance.now() + ms
  while (!condition()) {
    if (performance.now() > deadline) throw new Error('condition not met in time')
    await new Promise(resolve => { setImmediate(resolve) })
  }
}
