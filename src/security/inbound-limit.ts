/**
 * Per-host limits on inbound handshakes: what keeps one stranger from spending
 * a Gateway's CPU and its pending-connection slots on handshakes that cannot succeed.
 *
 * What is counted is what a stranger does and a member does not:
 * - **pending** handshakes from one host (accepted, not yet through the mesh
 *   secret and Noise), at most `pendingPerHost` at once;
 * - **failed** handshakes from one host (closed before proving the secret and an
 *   identity): at most `maxFailures` per `failureWindowMs` (a token bucket).
 * Connections that succeed are never counted, so a branch office whose Gateways
 * share one NAT address, or a Gateway that reconnects often, is never throttled;
 * relayed connections (`/p2p-circuit`) are not counted against the relay's
 * address (the relay is a member; its own limits apply to what it relays).
 * IPv6 hosts are counted per /64, the block one machine usually holds.
 *
 * A refused connection is closed at accept, before any cryptography.
 */

import { cidrContains, iPv4FromIPv6, IpNet, ipToString, isIPv4mappedIPv6 } from '@chainsafe/netmask'
import { tryGetNetConfig } from '@libp2p/utils'
import type { MultiaddrConnection } from '@libp2p/interface'

export interface InboundLimits {
  /** Handshakes in progress from one host at once. @default 8 */
  pendingPerHost?: number
  /** Failed handshakes one host may make per `failureWindowMs`, before its new connections are refused. @default 20 */
  maxFailures?: number
  /** @default 10000 */
  failureWindowMs?: number
  /** Hosts never limited, as CIDR blocks. @default loopback: `['127.0.0.0/8', '::1/128']` */
  exempt?: string[]
}

export const DEFAULT_INBOUND_LIMITS: Required<InboundLimits> = {
  pendingPerHost: 8,
  maxFailures: 20,
  failureWindowMs: 10_000,
  exempt: ['127.0.0.0/8', '::1/128']
}

/** Hosts remembered at most; past this, hosts with nothing pending are forgotten, oldest first. */
export const MAX_TRACKED_HOSTS = 10_000

export interface InboundRefusal {
  /** The host (or IPv6 /64) as counted. */
  host: string
  why: 'pending' | 'failures'
  /** A sentence for the log and `status().rejected`. */
  reason: string
}

interface HostState {
  pending: number
  /** Failures still allowed, refilled continuously; a connection is refused below 1. */
  tokens: number
  updatedAt: number
}

export class InboundLimiter {
  private readonly limits: Required<InboundLimits>
  private readonly now: () => number
  private readonly hosts = new Map<string, HostState>()
  /** Connections admitted and not yet settled (proven, or closed). */
  private readonly open = new WeakMap<MultiaddrConnection, string>()

  constructor (limits: InboundLimits = {}, now: () => number = Date.now) {
    this.limits = { ...DEFAULT_INBOUND_LIMITS, ...limits }
    this.now = now
    for (const cidr of this.limits.exempt) new IpNet(cidr) // throws on a malformed block, at start
  }

  /** Call when a connection is accepted: returns why it must be refused, or undefined (then it is tracked). */
  admit (maConn: MultiaddrConnection): InboundRefusal | undefined {
    const host = this.hostOf(maConn)
    if (host === undefined) return undefined
    const state = this.state(host)
    if (state.pending >= this.limits.pendingPerHost) {
      return { host, why: 'pending', reason: `inbound connection from ${host} refused: it already has ${state.pending} handshakes in progress (limit \`inboundLimits.pendingPerHost\`)` }
    }
    if (state.tokens < 1) {
      return { host, why: 'failures', reason: `inbound connection from ${host} refused: too many failed handshakes from this host (over ${this.limits.maxFailures} per ${this.limits.failureWindowMs / 1000} s, limit \`inboundLimits.maxFailures\`); it most likely does not hold the mesh secret` }
    }
    state.pending++
    this.open.set(maConn, host)
    maConn.addEventListener('close', () => { this.settle(maConn, false) }, { once: true })
    return undefined
  }

  /** Call when the connection has proven the secret and an identity: it no longer counts. */
  proven (maConn: MultiaddrConnection): void {
    this.settle(maConn, true)
  }

  /** Hosts currently remembered (for tests and diagnostics). */
  get trackedHosts (): number {
    return this.hosts.size
  }

  private settle (maConn: MultiaddrConnection, proven: boolean): void {
    const host = this.open.get(maConn)
    if (host === undefined) return
    this.open.delete(maConn)
    const state = this.hosts.get(host)
    if (state === undefined) return
    state.pending--
    this.refill(state)
    if (!proven) state.tokens = Math.max(0, state.tokens - 1)
    if (state.pending === 0 && state.tokens >= this.limits.maxFailures) this.hosts.delete(host)
  }

  private state (host: string): HostState {
    let state = this.hosts.get(host)
    if (state === undefined) {
      this.prune()
      state = { pending: 0, tokens: this.limits.maxFailures, updatedAt: this.now() }
      this.hosts.set(host, state)
    } else {
      this.refill(state)
    }
    return state
  }

  private refill (state: HostState): void {
    const now = this.now()
    const earned = (now - state.updatedAt) * this.limits.maxFailures / this.limits.failureWindowMs
    state.tokens = Math.min(this.limits.maxFailures, state.tokens + Math.max(0, earned))
    state.updatedAt = now
  }

  /** Keeps the map bounded against a sweep of many addresses: forgets idle hosts, oldest first. */
  private prune (): void {
    if (this.hosts.size < MAX_TRACKED_HOSTS) return
    for (const [host, state] of this.hosts) {
      if (state.pending > 0) continue
      this.hosts.delete(host)
      if (this.hosts.size < MAX_TRACKED_HOSTS * 0.9) return
    }
  }

  /** The counted host of a connection, or undefined when it is not limited. */
  private hostOf (maConn: MultiaddrConnection): string | undefined {
    const address = maConn.remoteAddr
    if (address.getComponents().some(c => c.name === 'p2p-circuit')) return undefined
    const config = tryGetNetConfig(address)
    if (config === null || (config.type !== 'ip4' && config.type !== 'ip6')) return undefined
    let ip = config.host
    let ipv6 = config.type === 'ip6'
    if (ipv6) {
      // A dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d: count them as the IPv4 host they are.
      const bytes = new IpNet(ip, 128).network
      if (isIPv4mappedIPv6(bytes)) {
        ip = ipToString(iPv4FromIPv6(bytes))
        ipv6 = false
      }
    }
    if (this.limits.exempt.some(cidr => isIn(cidr, ip))) return undefined
    return ipv6 ? new IpNet(ip, 64).toString() : ip
  }
}

function isIn (cidr: string, ip: string): boolean {
  try {
    return cidrContains(cidr, ip)
  } catch {
    // An IPv4 block asked about an IPv6 address (or the reverse).
    return false
  }
}
