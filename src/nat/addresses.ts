/** Small address predicates shared by the NAT modules. */
import { isPrivate, tryGetNetConfig } from '@libp2p/utils'
import { Circuit } from '@multiformats/multiaddr-matcher'
import type { Multiaddr } from '@multiformats/multiaddr'

/** The IP, family and port of a plain (not relayed) TCP address. */
export interface TcpEndpoint {
  family: 4 | 6
  host: string
  port: number
}

export function tcpEndpoint (ma: Multiaddr): TcpEndpoint | undefined {
  if (Circuit.matches(ma)) return undefined
  const config = tryGetNetConfig(ma)
  if (config === null || (config.type !== 'ip4' && config.type !== 'ip6') || config.protocol !== 'tcp' || config.port === undefined) return undefined
  return { family: config.type === 'ip4' ? 4 : 6, host: config.host, port: config.port }
}

/** A plain TCP address outside every private, loopback and documentation range. */
export function isPublicTcp (ma: Multiaddr): boolean {
  return tcpEndpoint(ma) !== undefined && isPrivate(ma) !== true
}
