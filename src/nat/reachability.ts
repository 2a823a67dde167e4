/**
 * Whether other networks can reach us, and what we do when they cannot.
 *
 * - **Public**: AutoNAT (v2) had another member dial one of our public
 *   addresses back and it worked. Members dial us directly.
 * - **Private**: we have no public address at all (every interface is in a
 *   private range), or AutoNAT confirmed none within `publicAddressTimeoutMs`.
 *   We then reserve a slot on a relay member (the circuit relay transport
 *   listening on `/p2p-circuit` does it as soon as it meets one) and announce
 *   the relayed address, so other sites reach us through it until DCUtR
 *   punches a direct path.
 *
 * AutoNAT only ever *confirms* reachability in a small mesh (a "no" needs
 * eight failed dial-backs from distinct networks), so silence counts as no.
 *
 * It also feeds libp2p the observed TCP addresses that identify ignores
 * (js-libp2p#2620): with dials leaving from the listening port
 * ({@link reusePortTcp}), the address a member observes for us *is* our
 * NAT's mapping of the listening port. Only those whose port equals a
 * listening port are kept: a NAT that changes ports (symmetric) gives
 * addresses nobody can dial back, which would only waste hole punches.
 */
import { CODE_P2P, multiaddr } from '@multiformats/multiaddr'
import { isPublicTcp, tcpEndpoint } from './addresses.ts'
import { Circuit } from '@multiformats/multiaddr-matcher'
import { serviceCapabilities } from '@libp2p/interface'
import type { ComponentLogger, IdentifyResult, Libp2pEvents, Logger, Startable, TypedEventTarget } from '@libp2p/interface'
import type { AddressManager, Registrar, TransportManager } from '@libp2p/interface-internal'
import { RELAY_V2_HOP_CODEC } from '@libp2p/circuit-relay-v2'
import type { ReachabilityStatus } from '../types.ts'

/** How long a Gateway with a public interface address waits for AutoNAT before reserving a relay slot anyway. */
export const DEFAULT_PUBLIC_ADDRESS_TIMEOUT_MS = 20_000

/** `auto`: reserve a relay slot when we are not publicly reachable; `always`/`never` as said. */
export type RelayReservationMode = 'auto' | 'always' | 'never'

export interface ReachabilityInit {
  /** @default 'auto' */
  reserve?: RelayReservationMode
  /** @default {@link DEFAULT_PUBLIC_ADDRESS_TIMEOUT_MS} */
  publicAddressTimeoutMs?: number
}

export interface ReachabilityComponents {
  registrar: Registrar
  addressManager: AddressManager
  transportManager: TransportManager
  events: TypedEventTarget<Libp2pEvents>
  logger: ComponentLogger
}

export class MeshReachability implements Startable {
  readonly [Symbol.toStringTag] = 'clawmesh:reachability'
  readonly [serviceCapabilities]: string[] = []
  private readonly components: ReachabilityComponents
  private readonly init: ReachabilityInit
  private readonly log: Logger
  private timer?: ReturnType<typeof setTimeout>
  private topologyId?: string
  /** We decided that other networks cannot reach us directly. */
  private private = false
  /** A peer offering the relay hop protocol is (or was) connected. */
  private relayConnected = false
  private reserving = false
  private running = false

  constructor (components: ReachabilityComponents, init: ReachabilityInit = {}) {
    this.components = components
    this.init = init
    this.log = components.logger.forComponent('clawmesh:reachability')
  }

  async start (): Promise<void> {
    this.running = true
    this.components.events.addEventListener('peer:identify', this.onIdentify)
    // Reserve only once a relay member is connected: with none, listening on /p2p-circuit would
    // set libp2p's relay discovery dialling every peer that discovery reports.
    this.topologyId = await this.components.registrar.register(RELAY_V2_HOP_CODEC, {
      onConnect: () => { this.relayConnected = true; this.maybeReserve() }
    })
  }

  async afterStart (): Promise<void> {
    const mode = this.init.reserve ?? 'auto'
    if (mode === 'never') return
    if (mode === 'always' || !this.hasPublicInterfaceAddress()) {
      this.decidePrivate(mode === 'always' ? 'configured to' : 'no public interface address')
      return
    }
    this.timer = setTimeout(() => {
      if (!this.isPublic()) this.decidePrivate('AutoNAT confirmed no public address')
    }, this.init.publicAddressTimeoutMs ?? DEFAULT_PUBLIC_ADDRESS_TIMEOUT_MS)
    this.timer.unref?.()
  }

  async stop (): Promise<void> {
    this.running = false
    clearTimeout(this.timer)
    this.components.events.removeEventListener('peer:identify', this.onIdentify)
    if (this.topologyId !== undefined) this.components.registrar.unregister(this.topologyId)
  }

  status (): ReachabilityStatus {
    const addresses = this.components.addressManager.getAddresses()
    return {
      state: this.isPublic() ? 'public' : this.private ? 'private' : 'unknown',
      relayed: addresses.filter(a => Circuit.exactMatch(a)).map(a => a.toString()),
      observed: this.components.addressManager.getObservedAddrs().filter(a => !Circuit.matches(a)).map(a => a.toString())
    }
  }

  private isPublic (): boolean {
    return this.components.addressManager.getAddresses().some(isPublicTcp)
  }

  private hasPublicInterfaceAddress (): boolean {
    return this.components.transportManager.getAddrs().some(isPublicTcp)
  }

  private decidePrivate (why: string): void {
    if (this.private) return
    this.private = true
    this.log('not reachable from other networks (%s): will reserve a slot on a relay member', why)
    this.maybeReserve()
  }

  private maybeReserve (): void {
    if (!this.private || !this.relayConnected || this.reserving || !this.running) return
    this.reserving = true
    // The circuit relay transport reserves a slot on a connected relay member and adds our relayed address.
    this.components.transportManager.listen([multiaddr('/p2p-circuit')]).catch(err => {
      this.reserving = false
      this.log.error('cannot listen through a relay (is the circuit relay transport configured?) - %e', err)
    })
  }

  private readonly onIdentify = (evt: CustomEvent<IdentifyResult>): void => {
    const observed = evt.detail.observedAddr
    if (observed === undefined || !isPublicTcp(observed)) return
    const port = tcpEndpoint(observed)?.port
    if (!this.components.transportManager.getAddrs().some(a => tcpEndpoint(a)?.port === port)) return
    const clean = observed.decapsulateCode(CODE_P2P)
    if (this.components.addressManager.getObservedAddrs().some(a => a.equals(clean))) return
    this.log('a member observes our listening port as %a', clean)
    this.components.addressManager.addObservedAddr(clean)
  }
}

/** The reachability service factory, for `services`. */
export function meshReachability (init: ReachabilityInit = {}): (components: ReachabilityComponents) => MeshReachability {
  return (components) => new MeshReachability(components, init)
}
