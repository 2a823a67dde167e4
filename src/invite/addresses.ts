/** Which of our addresses go into an invite code, best first. */
import { isPrivate } from '@libp2p/utils'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { Circuit } from '@multiformats/multiaddr-matcher'
import { MeshError } from '../errors.ts'
import type { AddressManager, TransportManager } from '@libp2p/interface-internal'

/**
 * `explicit` (given by the operator, e.g. a port forwarded on the router) alone, if given; else our public
 * addresses, confirmed or not (a relay member on a public IP has not been confirmed before its
 * first member connects); then relayed addresses through relays on public addresses; then LAN and
 * loopback ones. Each ends in `/p2p/<self>`. Relayed addresses through a relay's loopback or
 * private address, and the bare `…/p2p-circuit` listen address, are left out.
 */
export function inviteAddresses (explicit: string[] | undefined, addressManager: AddressManager, transportManager: TransportManager, self: string): string[] {
  const withSelf = (ma: Multiaddr): string => {
    const text = ma.toString()
    return text.endsWith(`/p2p/${self}`) ? text : `${text}/p2p/${self}`
  }
  if (explicit !== undefined && explicit.length > 0) {
    return [...new Set(explicit.map(a => {
      try {
        return withSelf(multiaddr(a))
      } catch (err) {
        throw new MeshError('BAD_REQUEST', `"${a}" is not a multiaddr`, { cause: err })
      }
    }))]
  }
  const ours = [...addressManager.getAddresses(), ...transportManager.getAddrs()]
  const rank = (ma: Multiaddr): number => {
    if (Circuit.matches(ma)) return ma.toString().endsWith(`/p2p-circuit/p2p/${self}`) && isPrivate(ma) !== true ? 1 : -1
    if (isPrivate(ma) !== true) return 0
    return ma.toString().startsWith('/ip4/127.') || ma.toString().startsWith('/ip6/::1/') ? 3 : 2
  }
  const ranked = ours.map(ma => ({ ma, r: rank(ma) })).filter(x => x.r >= 0).sort((a, b) => a.r - b.r).map(x => withSelf(x.ma))
  return [...new Set(ranked)]
}
