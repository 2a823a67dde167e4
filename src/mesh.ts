/** `createMesh`: a complete libp2p node with the clawmesh service, for embedding in a Gateway. */
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { ping } from '@libp2p/ping'
import { createLibp2p, type Libp2p } from 'libp2p'
import { Registry } from 'prom-client'
import { loadIdentity, nextIncarnation } from './identity.ts'
import { deferredIdentify, type DeferredIdentify } from './deferred-identify.ts'
import { meshNetwork, type MeshNetworkServices } from './network.ts'
import { natServices, type NatServices } from './nat/index.ts'
import { prepareJoin } from './invite/index.ts'
import { InviteKeys } from './invite/keys.ts'
import { meshInvites, relayGate, type MeshInvites } from './invite/service.ts'
import { startObservability, type Observability, type ObserveOptions } from './observe/index.ts'
import { nodeMetrics } from './observe/node-metrics.ts'
import { withCachedSigner } from './registry/signing.ts'
import { clawmesh, type ClawmeshService } from './service.ts'
import { SOFTWARE_VERSION } from './version.ts'
import type {
  CreateInviteOptions, InviteInfo, InviteResult, DeliverHandler, MeshEvents, MeshOptions, MeshStatus, PeerStatus, Resolution, ResolveOptions, SendOptions, SendResult,
  SessionAnnouncement, SessionEntry
} from './types.ts'
import type { Identify } from '@libp2p/identify'
import type { Ping } from '@libp2p/ping'

/** The services of a node built by `createMesh`. */
export type MeshNodeServices = {
  identify: Identify
  deferredIdentify: DeferredIdentify
  ping: Ping
  clawmesh: ClawmeshService
  invites: MeshInvites
} & MeshNetworkServices & NatServices

/** A listener for one mesh event. */
export type MeshEventListener<K extends keyof MeshEvents> = (event: MeshEvents[K]) => void

/** A running mesh node. See README for each method. */
/** What `createMesh` knows beyond the service: the mesh it joined and how it finds peers. */
export interface MeshFacts {
  meshId: string
  discovery: { mdns: boolean, local: boolean, bootstrap: number }
}

export class Mesh {
  /** The underlying libp2p node, for advanced use. */
  readonly libp2p: Libp2p<MeshNodeServices>
  private readonly service: ClawmeshService
  private readonly facts: MeshFacts
  private observability?: Observability
  private stopped?: Promise<void>

  constructor (node: Libp2p<MeshNodeServices>, facts: MeshFacts) {
    this.libp2p = node
    this.service = node.services.clawmesh
    this.facts = facts
  }

  /** @internal Serves `/metrics` and the live page; called by `createMesh`. */
  async startObservability (options: ObserveOptions, registry: Registry): Promise<void> {
    this.observability = await startObservability(this, options, registry)
  }

  /** This node's peer ID. */
  get peerId (): string {
    return this.libp2p.peerId.toString()
  }

  async announce (sessionKey: string, details?: SessionAnnouncement): Promise<void> {
    await this.service.announce(sessionKey, details)
  }

  async withdraw (sessionKey: string): Promise<void> {
    await this.service.withdraw(sessionKey)
  }

  async send (target: string, message: string, options?: SendOptions): Promise<SendResult> {
    return await this.service.send(target, message, options)
  }

  resolve (target: string, options?: ResolveOptions): Resolution {
    return this.service.resolve(target, options)
  }

  sessions (): SessionEntry[] {
    return this.service.sessions()
  }

  peers (): PeerStatus[] {
    return this.service.peers()
  }

  status (): MeshStatus {
    return {
      ...this.service.status(),
      meshId: this.facts.meshId,
      discovery: { ...this.facts.discovery },
      reachability: this.libp2p.services.reachability.status(),
      ...(this.observability !== undefined ? { metricsPort: this.observability.port } : {})
    }
  }

  /**
   * A one-time invite code for one new Gateway (see docs/security.md): it carries a one-off key and
   * token, our addresses and an expiry, never the mesh secret, which the newcomer gets from us over
   * the join connection, once.
   */
  async invite (options: CreateInviteOptions = {}): Promise<InviteResult> {
    const created = await this.inviteService().create(options)
    return { code: created.code, id: created.invite.id, meshId: this.facts.meshId, expiresAt: Math.floor(created.invite.expiresAt / 1000), addresses: created.addresses }
  }

  /** The invites handed out (nothing secret: no codes). */
  invites (): InviteInfo[] {
    return this.inviteService().list()
  }

  /** Revokes an invite that was not used yet. Returns whether there was one. */
  async revokeInvite (id: string): Promise<boolean> {
    return await this.inviteService().revoke(id)
  }

  private inviteService (): MeshInvites {
    return this.libp2p.services.invites
  }

  /** Replaces the inbound handler (e.g. once the Gateway is ready). */
  setDeliverHandler (handler: DeliverHandler | undefined): void {
    this.service.setDeliverHandler(handler)
  }

  addEventListener<K extends keyof MeshEvents> (type: K, listener: MeshEventListener<K>, options?: boolean | { once?: boolean, signal?: AbortSignal }): void {
    this.service.addEventListener(type, listener, options)
  }

  removeEventListener<K extends keyof MeshEvents> (type: K, listener: MeshEventListener<K>, options?: boolean | { capture?: boolean }): void {
    this.service.removeEventListener(type, listener, options)
  }

  /** Says goodbye to peers (their sends to us fail fast), then stops the node. Idempotent. */
  async stop (): Promise<void> {
    this.stopped ??= (async () => {
      await this.observability?.stop()
      await this.libp2p.stop()
    })()
    await this.stopped
  }
}

/**
 * Hosts libp2p's connection manager lets through without its own limits (inbound rate per host,
 * pending connections, maxConnections): loopback only. Co-located Gateways all come from
 * 127.0.0.1; a LAN host is subject to the limits like any other (issue 11: private ranges
 * were exempt, so a stranger on the LAN was not limited at all).
 */
const LOOPBACK = ['/ip4/127.0.0.0/ipcidr/8', '/ip6/::1/ipcidr/128']

/** How long a member's inbound handshake may take after it proved the secret. */
const INBOUND_UPGRADE_TIMEOUT_MS = 30_000

/**
 * Streams are long-lived and opened in bursts right after a dial. A paused stream (its reader is
 * behind) still receives what its window allows, into a read buffer that resets the stream past
 * 4 MiB: yamux's window may grow to 16 MiB by default, so keep it well below that buffer.
 */
export const MUXER_OPTIONS = { maxEarlyStreams: 64, streamOptions: { maxStreamWindowSize: 2 * 1024 * 1024 } }

/** Builds and starts a mesh node. */
export async function createMesh (options: MeshOptions = {}): Promise<Mesh> {
  const privateKey = await loadIdentity(options.dataDir)
  const incarnation = options.incarnation ?? await nextIncarnation(options.dataDir)
  // An invite code redeemed now (or earlier, from this state directory): its inviter's addresses are dialled.
  const joinedPeers = await prepareJoin(options, privateKey)
  // Invites: their keys are accepted while open, and restrict what their connections may do (src/invite/).
  const inviteKeys = new InviteKeys()
  const invites: { service?: MeshInvites } = {}
  const net = await meshNetwork({
    ...options,
    peers: [...(options.peers ?? []), ...joinedPeers],
    invites: { keys: () => inviteKeys.list(), gater: relayGate(() => invites.service) }
  })
  // Other sites: relay transport and server, AutoNAT, hole punching (see src/nat/index.ts).
  const nat = natServices(options)
  // One prom-client registry for libp2p's metrics and ours, served together.
  const registry = options.metrics !== undefined ? new Registry() : undefined
  const node = await createLibp2p<MeshNodeServices>({
    // Imported into Node's crypto once for all its signatures (Noise handshakes, identify, our records).
    privateKey: withCachedSigner(privateKey),
    // identify tells peers `clawmesh/<version>`: a Gateway that cannot talk with us still learns what we run.
    nodeInfo: { name: 'clawmesh', version: SOFTWARE_VERSION },
    ...(registry !== undefined ? { metrics: nodeMetrics(registry) } : {}),
    // The mesh secret (no connection completes without it) and the optional allowlist.
    ...net.libp2p,
    addresses: { listen: options.listen ?? ['/ip4/0.0.0.0/tcp/0'] },
    transports: nat.transports,
    connectionEncrypters: [noise()],
    streamMuxers: [yamux(MUXER_OPTIONS)],
    connectionManager: {
      allow: LOOPBACK,
      // libp2p refuses more than 5 new connections per second from one host (counting successful
      // ones): too few for a relay member or several Gateways behind one NAT address. Strangers
      // are held back by our own per-host limits on pending and failed handshakes (`inboundLimits`).
      inboundConnectionThreshold: 100,
      // libp2p's default (10, for all hosts together) would let two flooding hosts hold every slot;
      // one host holds at most `inboundLimits.pendingPerHost` (8) of these.
      maxIncomingPendingConnections: 64,
      // Our dials carry their own deadlines (the dialer's, a send's: longer when this Gateway is overloaded,
      // src/delivery/connector.ts); libp2p's 6 s per address would cut those short. Its own dials without a
      // deadline still end at its `dialTimeout` (10 s).
      addressDialTimeout: 60_000,
      // An overloaded Gateway (50 on 2 cores) took over libp2p's 10 s to finish an inbound handshake that the dialer
      // already used: it reset it, and the sends on it started again from scratch. Strangers never get this long:
      // a connection that has not proven the secret within the protector's `proofTimeoutMs` (10 s) is closed.
      inboundUpgradeTimeout: INBOUND_UPGRADE_TIMEOUT_MS
    },
    // Our own heartbeats judge liveness (and measure RTT on the registry stream). libp2p's monitor would ping every
    // connection every 10 s, each ping a new stream with its negotiation and peer-store write: with 50 Gateways,
    // ~10 streams a second per Gateway that only measured what we already know.
    connectionMonitor: { enabled: false },
    services: {
      // Run by deferred-identify.ts on member connections only (never under an invite key).
      identify: identify({ runOnConnectionOpen: false }),
      ping: ping(),
      clawmesh: clawmesh({ ...options, incarnation }),
      invites: meshInvites({ secret: net.secret, keyring: inviteKeys }),
      deferredIdentify: deferredIdentify(),
      ...nat.services,
      // mDNS, local rendezvous folder, and the dialer that connects what they find and keeps `peers` connected.
      ...net.services
    }
  })
  invites.service = node.services.invites
  net.attach((rejection) => { node.services.clawmesh.recordRejection(rejection) })
  const mesh = new Mesh(node, { meshId: net.secret.meshId, discovery: net.enabled })
  if (options.metrics !== undefined && registry !== undefined) {
    try {
      await mesh.startObservability(options.metrics, registry)
    } catch (err) {
      await node.stop()
      throw err
    }
  }
  // Return connected where we can: callers (and tests) expect `peers` to be reachable right away.
  await node.services.dialer.bootstrapped()
  return mesh
}
