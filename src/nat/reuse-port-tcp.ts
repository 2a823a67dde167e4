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
 * that address) is retried from an ephemeral port. An AutoNAT dial-back
 * always leaves from an ephemeral port ({@link FRESH_PORT}, see `autonat.ts`).
 */
import net from 'node:net'
import { once } from 'node:events'
import { tcp, type TCPComponents, type TCPOptions } from '@libp2p/tcp'
import { transportSymbol, serviceCapabilities } from '@libp2p/interface'
import type { Connection, CreateListenerOptions, DialTransportOptions, Listener, Transport, Upgrader } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { isPublicTcp, tcpEndpoint } from './addresses.ts'

/** Longest a dial to a public address waits for our listeners to start. */
const LISTEN_WAIT_MS = 2_000

/** Errors of a bound dial that a dial from an ephemeral port avoids. */
const BIND_CONFLICTS = new Set(['EADDRINUSE', 'EADDRNOTAVAIL'])

/**
 * A hole punch's responder (`initiator: false`, see hole-punch.ts) dialled, but must upgrade as if it had
 * accepted: the upgrader honours `initiator: false` for the handshakes, while the muxer takes its role from
 * the socket's direction, which @libp2p/tcp sets to `outbound` (yamux then fails: "both endpoints are clients").
 */
function asResponder (options: DialTransportOptions): Partial<DialTransportOptions> {
  if ((options as { initiator?: boolean }).initiator !== false) return {}
  const upgrader = Object.create(options.upgrader) as Upgrader
  upgrader.upgradeOutbound = async (maConn, opts) => {
    (maConn as { direction: 'inbound' | 'outbound' }).direction = 'inbound'
    return await options.upgrader.upgradeOutbound(maConn, opts)
  }
  return { upgrader }
}

/** Whether this Node can bind a dialling socket with SO_REUSEPORT (24.19+). */
export const canReusePort = typeof (net as { BoundSocket?: unknown }).BoundSocket === 'function'

/** `net.BoundSocket` (not in every Node's types yet): a socket bound before it connects or listens. */
interface BoundSocket { [Symbol.dispose]: () => void }
type BoundSocketCtor = new (options: { host: string, port: number, reusePort: boolean }) => BoundSocket

/** A dial option: leave from an ephemeral port even to a public address (AutoNAT's dial-backs). */
export const FRESH_PORT = 'clawmeshFreshPort'

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
    if ((options as { [FRESH_PORT]?: boolean })[FRESH_PORT] === true || !canReusePort || !isPublicTcp(ma)) return await this.inner.dial(ma, options)
    await this.listening(options.signal)
    const port = this.listeningPortFor(ma)
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
      // @libp2p/tcp hands its options to net.connect(), whose Socket adopts `handle`, and to the upgrader.
      return await this.inner.dial(ma, { ...options, ...asResponder(options), handle } as unknown as DialTransportOptions)
    } catch (err) {
      if (!BIND_CONFLICTS.has((err as NodeJS.ErrnoException).code ?? '') || options.signal.aborted) throw err
      return await this.inner.dial(ma, options)
    } finally {
      // Closes the bound socket when the dial failed before a Socket adopted it; a no-op otherwise.
      handle[Symbol.dispose]()
    }
  }

  /**
   * libp2p dials bootstrap peers while its listeners are still starting: wait (briefly) for them, or
   * that first connection, which identify reports our observed address from, leaves from a random port.
   */
  private async listening (signal: AbortSignal): Promise<void> {
    const starting = [...this.listeners].filter(l => l.getAddrs().length === 0)
    if (starting.length === 0) return
    const wait = AbortSignal.any([signal, AbortSignal.timeout(LISTEN_WAIT_MS)])
    await Promise.all(starting.map(async l => { await once(l as unknown as EventTarget, 'listening', { signal: wait }).catch(() => {}) }))
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
