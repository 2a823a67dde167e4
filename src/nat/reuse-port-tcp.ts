/**
 * TCP whose outbound dials to public addresses leave from the listening port.
 *
 * Why: hole punching over TCP (DCUtR) needs each side's NAT mapping to be the
 * one its peer dials. A NAT that keeps ports (Linux masquerade, most home
 * routers) maps `10.1.0.10:4001` to `<public IP>:4001`, but only for packets
 * that leave from port 4001: `@libp2p/tcp` dials from a fresh ephemeral port,
 * so what a relay observes (and what DCUtR would dial) is a mapping nobody
 * listens behind. js-libp2p says so itself and ignores observed TCP
 * addresses until this is fixed (libp2p/js-libp2p#2620). go-libp2p solves it
 * the same way as here: SO_REUSEPORT on the listener and on the dialling
 * socket, which Node offers since 24.19 (`net.BoundSocket`).
 *
 * Only dials to public addresses are bound: on loopback and LAN nothing is
 * gained, and two Gateways dialling each other at the same instant from their
 * listening ports would make one TCP connection with two initiators (TCP
 * simultaneous open), which only DCUtR knows how to handle. A bound dial that
 * fails because that exact 4-tuple is taken (we already hold a connection to
 * that address) is retried from an ephemeral port.
 */
import net from 'node:net'
import { tcp, type TCPComponents, type TCPOptions } from '@libp2p/tcp'
import { transportSymbol, serviceCapabilities } from '@libp2p/interface'
import type { Connection, CreateListenerOptions, DialTransportOptions, Listener, Transport } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { isPublicTcp, tcpEndpoint } from './addresses.ts'

/** Errors of a bound dial that a dial from an ephemeral port avoids. */
const BIND_CONFLICTS = new Set(['EADDRINUSE', 'EADDRNOTAVAIL'])

/** Whether this Node can bind a dialling socket with SO_REUSEPORT (24.19+). */
export const canReusePort = typeof (net as { BoundSocket?: unknown }).BoundSocket === 'function'

/** `net.BoundSocket` (not in every Node's types yet): a socket bound before it connects or listens. */
interface BoundSocket { [Symbol.dispose]: () => void }
type BoundSocketCtor = new (options: { host: string, port: number, reusePort: boolean }) => BoundSocket

/** `transports: [reusePortTcp()]` in place of `tcp()`. */
export function reusePortTcp (init: TCPOptions = {}): (components: TCPComponents) => Transport {
  // listenOpts are spread into `server.listen()`, which takes `reusePort` (Node 22.12+).
  const inner = tcp({ ...init, listenOpts: { ...init.listenOpts, ...(canReusePort ? { reusePort: true } : {}) } })
  return (components) => new ReusePortTcp(inner(components))
}

class ReusePortTcp implements Transport {
  readonly [transportSymbol] = true as const
  readonly [Symbol.toStringTag] = '@clawmesh/reuse-port-tcp'
  readonly [serviceCapabilities]: string[] = ['@libp2p/transport']
  private readonly inner: Transport
  private readonly listeners = new Set<Listener>()

  constructor (inner: Transport) {
    this.inner = inner
  }

  createListener (options: CreateListenerOptions): Listener {
    const listener = this.inner.createListener(options)
    this.listeners.add(listener)
    listener.addEventListener('close', () => { this.listeners.delete(listener) }, { once: true })
    return listener
  }

  listenFilter = (addrs: Multiaddr[]): Multiaddr[] => this.inner.listenFilter(addrs)
  dialFilter = (addrs: Multiaddr[]): Multiaddr[] => this.inner.dialFilter(addrs)

  async dial (ma: Multiaddr, options: DialTransportOptions): Promise<Connection> {
    const port = canReusePort ? this.listeningPortFor(ma) : undefined
    if (port === undefined) return await this.inner.dial(ma, options)
    const family = tcpEndpoint(ma)?.family
    let handle: BoundSocket
    try {
      const BoundSocket = (net as unknown as { BoundSocket: BoundSocketCtor }).BoundSocket
      handle = new BoundSocket({ host: family === 6 ? '::' : '0.0.0.0', port, reusePort: true })
    } catch {
      return await this.inner.dial(ma, options)
    }
    try {
      // @libp2p/tcp hands its options to net.connect(), whose Socket adopts `handle`.
      return await this.inner.dial(ma, { ...options, handle } as DialTransportOptions)
    } catch (err) {
      if (!BIND_CONFLICTS.has((err as NodeJS.ErrnoException).code ?? '') || options.signal.aborted) throw err
      return await this.inner.dial(ma, options)
    } finally {
      // Closes the bound socket when the dial failed before a Socket adopted it; a no-op otherwise.
      handle[Symbol.dispose]()
    }
  }

  /** The port we listen on in the family of `ma`, when `ma` is a public IP address. */
  private listeningPortFor (ma: Multiaddr): number | undefined {
    if (!isPublicTcp(ma)) return undefined
    const family = tcpEndpoint(ma)?.family
    for (const listener of this.listeners) {
      for (const addr of listener.getAddrs()) {
        const local = tcpEndpoint(addr)
        if (local !== undefined && local.family === family && local.port !== 0) return local.port
      }
    }
    return undefined
  }
}
