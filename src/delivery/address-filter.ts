/**
 * Which of the addresses a member announces in its registry record this
 * Gateway may dial. Announced addresses are claims: unfiltered, a member could
 * make every Gateway that sends to it open connections to any host and port.
 *
 * Policy `'reached'` (the default) dials an announced address only when
 * 1. its IP is one we have seen this member at (a connection either way), or
 * 2. its IP is one we have seen any mesh member at (Gateways on one host, or a
 *    branch office behind one NAT address, reach us from the same IP), or
 * 3. it is on a subnet of one of our own interfaces (what mDNS, which anyone on
 *    the LAN can answer, already makes us dial; this is how a Gateway reaches
 *    an owner it is not linked to in a bounded-degree mesh), or
 * 4. it is a loopback address and the member is on our host (it reached us over
 *    loopback, or announces our host name), or
 * 5. it is relayed (`/p2p-circuit`) through a relay we have been connected to.
 * Anything else (another subnet, a public address nobody reached it at, a DNS
 * name) is dropped. `'all'` dials everything announced; a list of CIDR ranges
 * (`10.0.0.0/8` or `/ip4/10.0.0.0/ipcidr/8`) adds those ranges to `'reached'`.
 */
import { networkInterfaces } from 'node:os'
import { cidrContains } from '@chainsafe/netmask'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { MeshError } from '../errors.ts'
import type { GatewayRecord } from '../routing/directory.ts'

export type AnnouncedAddressPolicy = 'reached' | 'all' | string[]

/** IPs remembered per peer, peers remembered, and member IPs remembered: bounded whatever connects. */
const MAX_IPS_PER_PEER = 8
const MAX_PEERS = 4_096
const MAX_MEMBER_IPS = 1_024
/** Our interfaces are re-read at most this often. */
const INTERFACES_TTL_MS = 10_000

export interface AddressFilterInit {
  policy?: AnnouncedAddressPolicy
  /** Our host name: a member announcing it is on our host. */
  selfHost: string
  /** Our interfaces' CIDRs (e.g. `192.168.1.5/24`). @default from `os.networkInterfaces()` */
  interfaces?: () => string[]
  /** @default Date.now */
  now?: () => number
}

function ipOf (address: Multiaddr): string | undefined {
  for (const c of address.getComponents()) {
    if ((c.name === 'ip4' || c.name === 'ip6') && c.value !== undefined) return c.value
    if (c.name === 'p2p-circuit') return undefined
  }
  return undefined
}

function isLoopbackIp (ip: string): boolean {
  return ip === '::1' || ip.startsWith('127.')
}

function toCidr (range: string): string {
  const parts = range.split('/').filter(p => p !== '')
  // `/ip4/10.0.0.0/ipcidr/8` → `10.0.0.0/8`
  if ((parts[0] === 'ip4' || parts[0] === 'ip6') && parts[2] === 'ipcidr' && parts[1] !== undefined && parts[3] !== undefined) return `${parts[1]}/${parts[3]}`
  if (/^[0-9a-fA-F:.]+\/[0-9]{1,3}$/.test(range)) return range
  throw new MeshError('BAD_REQUEST', `"${range}" is not a CIDR range (10.0.0.0/8 or /ip4/10.0.0.0/ipcidr/8)`)
}

function contains (cidr: string, ip: string): boolean {
  try {
    return cidrContains(cidr, ip)
  } catch {
    return false
  }
}

export class AddressFilter {
  private readonly init: AddressFilterInit
  private readonly extraRanges: string[]
  private readonly now: () => number
  /** Per peer: the IPs we saw it at, and whether one was loopback. */
  private readonly seen = new Map<string, Set<string>>()
  private readonly memberIps = new Set<string>()
  private interfaces?: { cidrs: string[], at: number }

  constructor (init: AddressFilterInit) {
    this.init = init
    this.now = init.now ?? Date.now
    this.extraRanges = Array.isArray(init.policy) ? init.policy.map(toCidr) : []
  }

  /** A connection to or from `peerId` on `remote`: evidence of where it is reached. */
  noteConnection (peerId: string, remote: Multiaddr): void {
    const ip = ipOf(remote)
    const key = ip ?? `relay:${relayOf(remote) ?? ''}`
    let ips = this.seen.get(peerId)
    if (ips === undefined) {
      if (this.seen.size >= MAX_PEERS) this.seen.delete(this.seen.keys().next().value as string)
      this.seen.set(peerId, ips = new Set())
    }
    if (ips.size < MAX_IPS_PER_PEER) ips.add(key)
    if (ip !== undefined && !isLoopbackIp(ip) && this.memberIps.size < MAX_MEMBER_IPS) this.memberIps.add(ip)
  }

  /** The announced addresses of `owner` this Gateway may dial, with `/p2p/<id>` so the dial proves who answers. */
  allowed (owner: Pick<GatewayRecord, 'peerId' | 'addrs' | 'host'>): Multiaddr[] {
    const out: Multiaddr[] = []
    for (const text of owner.addrs) {
      let address: Multiaddr
      try {
        address = multiaddr(text)
      } catch {
        continue
      }
      if (this.init.policy === 'all' || this.permits(owner, address)) out.push(withPeerId(address, owner.peerId))
    }
    return out
  }

  private permits (owner: Pick<GatewayRecord, 'peerId' | 'host'>, address: Multiaddr): boolean {
    const relay = relayOf(address)
    if (relay !== undefined) return this.seen.has(relay)
    const ip = ipOf(address)
    if (ip === undefined) return false
    const seenAt = this.seen.get(owner.peerId)
    if (isLoopbackIp(ip)) return owner.host === this.init.selfHost || [...(seenAt ?? [])].some(isLoopbackIp)
    if (seenAt?.has(ip) === true || this.memberIps.has(ip)) return true
    if (this.extraRanges.some(cidr => contains(cidr, ip))) return true
    return this.localCidrs().some(cidr => contains(cidr, ip))
  }

  /** Our non-loopback interfaces' subnets. */
  private localCidrs (): string[] {
    const now = this.now()
    if (this.interfaces === undefined || now - this.interfaces.at > INTERFACES_TTL_MS) {
      this.interfaces = { cidrs: (this.init.interfaces ?? ownInterfaces)().filter(c => !isLoopbackIp(c.split('/')[0] ?? '')), at: now }
    }
    return this.interfaces.cidrs
  }
}

function ownInterfaces (): string[] {
  const out: string[] = []
  for (const list of Object.values(networkInterfaces())) for (const i of list ?? []) if (i.cidr !== null) out.push(i.cidr)
  return out
}

/** The relay's peer ID of a `/p2p/<relay>/p2p-circuit` address. */
function relayOf (address: Multiaddr): string | undefined {
  const components = address.getComponents()
  const circuit = components.findIndex(c => c.name === 'p2p-circuit')
  if (circuit < 0) return undefined
  return components.slice(0, circuit).findLast(c => c.name === 'p2p')?.value
}

function withPeerId (address: Multiaddr, peerId: string): Multiaddr {
  const last = address.getComponents().at(-1)
  return last?.name === 'p2p' && last.value === peerId ? address : address.encapsulate(`/p2p/${peerId}`)
}
