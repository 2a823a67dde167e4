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
import { localDiscovery, type LocalDiscovery } from './discovery/local.ts'
import { meshMdns, type MeshMdns } from './discovery/mdns.ts'
import { meshConnectionGater, RejectionRecorder, type RejectedPeerRecord } from './security/gater.ts'
import { assertPrivateDir } from './security/file-safety.ts'
import { InboundLimiter } from './security/inbound-limit.ts'
import { meshProtector, type ProtectorKey } from './security/protector.ts'
import { keysOf } from './security/keyring.ts'
import { resolveSecret, resolveStateDir, type ResolvedSecret } from './security/secret.ts'
import type { ComponentLogger, ConnectionGater, ConnectionProtector, MultiaddrConnection } from '@libp2p/interface'
import { MeshError } from './errors.ts'
import type { MeshOptions, RejectedPeer } from './types.ts'
import { multiaddr } from '@multiformats/multiaddr'

/** The security and discovery options of `createMesh` (see `MeshOptions` for each one's meaning and default). */
export type MeshNetworkOptions = Pick<MeshOptions, 'secret' | 'stateDir' | 'discovery' | 'mdns' | 'peers' | 'allow' | 'inboundLimits' | 'dialTimeoutMs' | 'degree'>

/** Where refusals go once the mesh service exists (`ClawmeshService.recordRejection`). */
export type RejectionSink = (rejection: RejectedPeer) => void

export interface MeshNetwork {
  secret: ResolvedSecret
  stateDir: string
  /** Spread into `createLibp2p`'s options. */
  libp2p: {
    connectionProtector: (components: { logger: ComponentLogger }) => ConnectionProtector
    connectionGater: ConnectionGater
  }
  /**
   * Spread into `createLibp2p`'s `services`: `mdns`, `local` (when on) and `dialer`; during a
   * rotation also `mdns:<meshId>` and `local:<meshId>` for each other key of the ring.
   */
  services: {
    mdns?: ReturnType<typeof meshMdns>
    local?: ReturnType<typeof localDiscovery>
    dialer: ReturnType<typeof meshDialer>
  } & Partial<Record<`mdns:${string}`, ReturnType<typeof meshMdns>>> & Partial<Record<`local:${string}`, ReturnType<typeof localDiscovery>>>
  /** Which discovery methods are on. */
  enabled: { mdns: boolean, local: boolean, bootstrap: number }
  recorder: RejectionRecorder
  /** Send refusals (past and future) to the mesh service. */
  attach: (sink: RejectionSink) => void
}

/** The services `meshNetwork` may add to a node. */
export type MeshNetworkServices = {
  mdns?: MeshMdns
  local?: LocalDiscovery
  dialer: MeshDialer
} & Partial<Record<`mdns:${string}`, MeshMdns>> & Partial<Record<`local:${string}`, LocalDiscovery>>

/** What invites add (see src/invite/): keys accepted while they are open, and who may use a relay member's hop. */
export interface InviteHooks {
  keys: () => ProtectorKey[]
  gater: Pick<ConnectionGater, 'denyInboundRelayReservation' | 'denyOutboundRelayedConnection'>
}

/** Resolve the secret and build the protector, gater and discovery services. */
export async function meshNetwork (options: MeshNetworkOptions & { invites?: InviteHooks } = {}, logger?: ComponentLogger): Promise<MeshNetwork> {
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
  const limiter = options.inboundLimits === false ? undefined : new InboundLimiter(options.inboundLimits ?? {})
  const gater = meshConnectionGater({ allow: options.allow ?? [], recorder, ...(limiter !== undefined ? { limiter } : {}), ...(options.invites !== undefined ? { also: options.invites.gater } : {}) })

  const mdnsOption = options.discovery?.mdns ?? options.mdns ?? true
  const localOption = options.discovery?.local ?? true
  // The rendezvous folder lives in the state folder: others must not be able to write there
  // (a secret from a file has had its folder checked already; one from an option has not).
  if (localOption !== false) await assertPrivateDir(stateDir, 'the state folder').catch((err: NodeJS.ErrnoException) => { if (err.code !== 'ENOENT') throw err })
  const peers = [...(options.peers ?? []), ...(options.discovery?.bootstrap ?? [])]
  for (const address of peers) {
    try {
      multiaddr(address)
    } catch (err) {
      throw new MeshError('BAD_REQUEST', `peer address "${address}" is not a multiaddr`, { cause: err })
    }
  }
  // Discovery runs under the primary's mesh ID and, during a rotation, under each other key's
  // (keys that expire, such as an invite's, are for dialling by address, never announced), so
  // Gateways on the old and the new primary still find each other.
  const discoveryMeshIds = keysOf(secret.keyring).filter(k => k === secret.keyring.primary || k.expiresAt === undefined).map(k => k.meshId)
  const name = <B extends 'mdns' | 'local'>(base: B, meshId: string): B | `${B}:${string}` => meshId === secret.meshId ? base : `${base}:${meshId}` as const
  const names = (base: 'mdns' | 'local'): string[] => discoveryMeshIds.map(meshId => name(base, meshId))
  const services: MeshNetwork['services'] = {
    dialer: meshDialer({
      peers,
      discovery: [...names('mdns'), ...names('local')],
      shouldDial: gater.isAllowed,
      ...(options.dialTimeoutMs != null ? { dialTimeoutMs: options.dialTimeoutMs } : {}),
      ...(options.degree != null ? { degree: options.degree } : {})
    })
  }
  for (const meshId of discoveryMeshIds) {
    if (mdnsOption !== false) services[name('mdns', meshId)] = meshMdns({ ...(typeof mdnsOption === 'object' ? mdnsOption : {}), meshId })
    if (localOption !== false) services[name('local', meshId)] = localDiscovery({ ...(typeof localOption === 'object' ? localOption : {}), stateDir, meshId })
  }

  return {
    secret,
    stateDir,
    libp2p: {
      connectionProtector: meshProtector({
        secret: secret.keyring.primary,
        accept: secret.keyring.accept,
        ...(options.invites !== undefined ? { more: options.invites.keys } : {}),
        onReject: (e) => { recorder.record({ kind: e.kind, address: e.address, reason: e.reason }) },
        ...(limiter !== undefined ? { onProven: (maConn: MultiaddrConnection) => { limiter.proven(maConn) } } : {})
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
