/**
 * Reaching Gateways on other networks: the libp2p pieces `createMesh` adds.
 *
 * - the TCP transport dialling from the listening port (hole punching needs it);
 * - the circuit relay transport (dial `…/p2p-circuit/…` addresses, reserve a slot);
 * - AutoNAT v2 (are we reachable?), our reachability service (reserve a relay
 *   slot when we are not), DCUtR (upgrade a relayed connection to a direct one);
 * - the link keeper, which redials Gateways on other sites whose last connection dropped;
 * - the relay server, when this member serves as a relay (`relay` option).
 *
 * Every one of these runs on connections that passed the mesh secret: the
 * relay hop is a member's connection, and the relayed connection inside it
 * is upgraded (pnet, Noise, yamux) end to end like any other.
 */
import { circuitRelayServer, circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { autoNat } from './autonat.ts'
import { holePunch } from './hole-punch.ts'
import { linkKeeper, type LinkKeeper } from './link-keeper.ts'
import { meshReachability, type MeshReachability } from './reachability.ts'
import { reusePortTcp } from './reuse-port-tcp.ts'
import type { ReachabilityOptions, RelayServerOptions } from '../types.ts'
import type { CircuitRelayServerInit, CircuitRelayService } from '@libp2p/circuit-relay-v2'

/** Gateways that may hold a slot on a relay member at once. */
export const DEFAULT_RELAY_MAX_RESERVATIONS = 32
/** Relayed connections one member may have open through a relay member at once. */
export const DEFAULT_RELAY_MAX_CIRCUITS_PER_PEER = 16

/** The services `natServices` adds to a node. */
export type NatServices = {
  autoNAT: unknown
  dcutr: unknown
  reachability: MeshReachability
  linkKeeper: LinkKeeper
  relay?: CircuitRelayService
}

export interface NatOptions {
  relay?: boolean | RelayServerOptions
  reachability?: ReachabilityOptions
}

/** Spread `transports` into `createLibp2p`'s transports and `services` into its services. */
export function natServices (options: NatOptions = {}): {
  transports: [ReturnType<typeof reusePortTcp>, ReturnType<typeof circuitRelayTransport>]
  services: { [K in keyof NatServices]: (components: any) => NatServices[K] } // eslint-disable-line @typescript-eslint/no-explicit-any
} {
  const reach = options.reachability ?? {}
  const services: Record<string, unknown> = {
    autoNAT: autoNat(),
    dcutr: holePunch(),
    reachability: meshReachability({
      ...(reach.relay !== undefined ? { reserve: reach.relay } : {}),
      ...(reach.publicAddressTimeoutMs !== undefined ? { publicAddressTimeoutMs: reach.publicAddressTimeoutMs } : {})
    }),
    linkKeeper: linkKeeper()
  }
  if (reach.holePunch === false) delete services.dcutr
  const server = relayServerInit(options.relay)
  if (server !== undefined) services.relay = circuitRelayServer(server)
  return {
    transports: [reusePortTcp(), circuitRelayTransport()],
    services: services as ReturnType<typeof natServices>['services']
  }
}

/** The relay server's settings, or undefined when this member does not relay. */
export function relayServerInit (relay: NatOptions['relay']): CircuitRelayServerInit | undefined {
  if (relay === undefined || relay === false) return undefined
  const o: RelayServerOptions = relay === true ? {} : relay
  const perPeer = o.maxCircuitsPerPeer ?? DEFAULT_RELAY_MAX_CIRCUITS_PER_PEER
  const capped = o.circuitBytes !== undefined || o.circuitSeconds !== undefined
  return {
    maxInboundHopStreams: perPeer,
    maxOutboundStopStreams: perPeer,
    reservations: {
      maxReservations: o.maxReservations ?? DEFAULT_RELAY_MAX_RESERVATIONS,
      // Without a cap a relayed connection is an ordinary one. With one, libp2p marks it "limited" and the
      // relay resets it at the cap (the mesh redials). Both caps go together: an unset one is a day / a TiB.
      applyDefaultLimit: capped,
      ...(capped
        ? { defaultDataLimit: BigInt(o.circuitBytes ?? 2 ** 40), defaultDurationLimit: (o.circuitSeconds ?? 86_400) * 1000 }
        : {})
    }
  }
}
