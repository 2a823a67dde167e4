/**
 * Who may connect and how peers are found: the libp2p pieces `createMesh`
 * adds for the mesh secret, the allowlist, the refusal record and discovery
 * (mDNS, local rendezvous folder, bootstrap peers). One call builds them all:
 *
 * ```ts
 * const net = await meshNetwork(options)
 * const node = await createLibp2p({ ...net.libp2p, services: { ...net.services, clawmesh: ... } })
 * net.attach(node.services.clawmesh)   // refusals reach status().rejected and 'peer:rejected'
 * ```
 */

import { meshDialer, type MeshDialer } from './discovery/dialer.ts'
import { localDiscovery, type LocalDiscovery, type LocalDiscoveryInit } from './discovery/local.ts'
import { meshMdns, type MeshMdns, type MeshMdnsInit } from './discovery/mdns.ts'
import { meshConnectionGater, RejectionRecorder, type RejectedPeerRecord } from './security/gater.ts'
import { meshProtector } from './security/protector.ts'
import { resolveSecret, resolveStateDir, type ResolvedSecret } from './security/secret.ts'
import type { ComponentLogger, ConnectionGater, ConnectionProtector } from '@libp2p/interface'
import type { RejectedPeer } from './types.ts'

/** How peers are found. Every method is optional; see each default. */
export interface DiscoveryOptions {
  /**
   * Multicast DNS on the LAN, with a service tag derived from the mesh secret.
   * Set `false` where multicast must not leave the host. @default true
   */
  mdns?: boolean | Omit<MeshMdnsInit, 'meshId'>
  /**
   * Same-host discovery through a rendezvous folder in the state directory; needs no multicast.
   * @default true
   */
  local?: boolean | Omit<LocalDiscoveryInit, 'meshId' | 'stateDir'>
  /** Multiaddrs (with `/p2p/<peerId>`) to dial and keep connected; added to `peers`. */
  bootstrap?: string[]
}

/** The security and discovery options of `createMesh`. */
export interface MeshNetworkOptions {
  /**
   * The mesh secret: swarm-key text or 64 hex digits. Only Gateways holding the
   * same secret can connect. @default `CLAWMESH_SECRET`, else the key file in
   * the state directory (created on first use)
   */
  secret?: string | Uint8Array
  /**
   * Where the key file and the rendezvous folder live.
   * @default `CLAWMESH_HOME`, else `$XDG_STATE_HOME/clawmesh`, else `~/.clawmesh`
   */
  stateDir?: string
  discovery?: DiscoveryOptions
  /** Shortcut for `discovery.mdns`; `discovery.mdns` wins when both are set. @default true */
  mdns?: boolean
  /** Multiaddrs of Gateways to dial and keep connected (bootstrap). */
  peers?: string[]
  /** Peer IDs allowed to connect (besides holding the secret). @default every holder of the secret */
  allow?: string[]
  /** Bound on each dial. @default 5000 */
  dialTimeoutMs?: number
}

/** Where refusals go once the mesh service exists (`MeshService.recordRejection`). */
export type RejectionSink = (rejection: RejectedPeer) => void

export interface MeshNetwork {
  secret: ResolvedSecret
  stateDir: string
  /** Spread into `createLibp2p`'s options. */
  libp2p: {
    connectionProtector: (components: { logger: ComponentLogger }) => ConnectionProtector
    connectionGater: ConnectionGater
  }
  /** Spread into `createLibp2p`'s `services`: `mdns`, `local` (when on) and `dialer`. */
  services: {
    mdns?: ReturnType<typeof meshMdns>
    local?: ReturnType<typeof localDiscovery>
    dialer: ReturnType<typeof meshDialer>
  }
  /** Which discovery methods are on. */
  enabled: { mdns: boolean, local: boolean, bootstrap: number }
  recorder: RejectionRecorder
  /** Send refusals (past and future) to the mesh service. */
  attach: (sink: RejectionSink) => void
}

/** The services `meshNetwork` may add to a node. */
export interface MeshNetworkServices {
  mdns?: MeshMdns
  local?: LocalDiscovery
  dialer: MeshDialer
}

/** Resolve the secret and build the protector, gater and discovery services. */
export async function meshNetwork (options: MeshNetworkOptions = {}, logger?: ComponentLogger): Promise<MeshNetwork> {
  const stateDir = resolveStateDir(options.stateDir != null ? { stateDir: options.stateDir } : {})
  const secret = await resolveSecret({ ...(options.secret != null ? { secret: options.secret } : {}), stateDir })
  let sink: RejectionSink | undefined
  const forward = (r: RejectedPeerRecord): void => {
    const out: RejectedPeer = { reason: r.reason, at: r.at }
    if (r.peerId != null) out.peerId = r.peerId
    if (r.address != null) out.address = r.address
    sink?.(out)
  }
  const recorder = new RejectionRecorder({
    ...(logger != null ? { logger } : {}),
    // Once attached, the mesh service logs; we only pass on the first of a burst of repeats.
    onRejected: (r, fresh) => { if (fresh) forward(r) },
    silent: () => sink != null
  })
  const gater = meshConnectionGater({ allow: options.allow ?? [], recorder })

  const mdnsOption = options.discovery?.mdns ?? options.mdns ?? true
  const localOption = options.discovery?.local ?? true
  const peers = [...(options.peers ?? []), ...(options.discovery?.bootstrap ?? [])]
  const services: MeshNetwork['services'] = {
    dialer: meshDialer({
      peers,
      discovery: ['mdns', 'local'],
      shouldDial: gater.isAllowed,
      ...(options.dialTimeoutMs != null ? { dialTimeoutMs: options.dialTimeoutMs } : {})
    })
  }
  if (mdnsOption !== false) services.mdns = meshMdns({ ...(typeof mdnsOption === 'object' ? mdnsOption : {}), meshId: secret.meshId })
  if (localOption !== false) services.local = localDiscovery({ ...(typeof localOption === 'object' ? localOption : {}), stateDir, meshId: secret.meshId })

  return {
    secret,
    stateDir,
    libp2p: {
      connectionProtector: meshProtector({
        secret,
        onReject: (e) => { recorder.record({ kind: e.kind, address: e.address, reason: e.reason }) }
      }),
      connectionGater: gater
    },
    services,
    enabled: { mdns: mdnsOption !== false, local: localOption !== false, bootstrap: peers.length },
    recorder,
    attach: (s) => {
      sink = s
      for (const r of recorder.list()) forward(r)
    }
  }
}
