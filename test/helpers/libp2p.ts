/** Plain libp2p nodes on 127.0.0.1 for the discovery and security tests (no clawmesh core). */
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { tcp } from '@libp2p/tcp'
import { createLibp2p } from 'libp2p'
import type { ConnectionGater, ConnectionProtector, Libp2p, PeerId } from '@libp2p/interface'
import type { ComponentLogger } from '@libp2p/interface'

export interface TestNodeOptions {
  protector?: (components: { logger: ComponentLogger }) => ConnectionProtector
  gater?: ConnectionGater
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  services?: Record<string, (components: any) => unknown>
  listen?: string[]
  /** yamux options (default: yamux's own). */
  muxer?: Parameters<typeof yamux>[0]
}

export async function createTestNode (options: TestNodeOptions = {}): Promise<Libp2p<Record<string, unknown>>> {
  return await createLibp2p({
    addresses: { listen: options.listen ?? ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux(options.muxer)],
    ...(options.protector != null ? { connectionProtector: options.protector } : {}),
    ...(options.gater != null ? { connectionGater: options.gater } : {}),
    connectionManager: { allow: ['/ip4/127.0.0.0/ipcidr/8'] },
    services: { identify: identify(), ...(options.services ?? {}) }
  })
}

/** Resolve when `node` has a connection to `peer`, reject after `ms`. */
export async function waitConnected (node: Libp2p, peer: PeerId, ms = 10_000): Promise<void> {
  if (node.getConnections(peer).length > 0) return
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => { node.removeEventListener('peer:connect', on); reject(new Error(`no connection to ${peer.toString()} within ${ms} ms`)) }, ms)
    const on = (evt: CustomEvent<PeerId>): void => {
      if (evt.detail.equals(peer)) { clearTimeout(timer); node.removeEventListener('peer:connect', on); resolve() }
    }
    node.addEventListener('peer:connect', on)
  })
}

/** Poll-free wait for a condition signalled by an event target: resolves when `check()` turns true after any of `events`. */
export async function waitFor (check: () => boolean, target: EventTarget, events: string[], ms: number, what: string): Promise<void> {
  if (check()) return
  await new Promise<void>((resolve, reject) => {
    const cleanup = (): void => { clearTimeout(timer); for (const e of events) target.removeEventListener(e, on) }
    const timer = setTimeout(() => { cleanup(); reject(new Error(`timed out after ${ms} ms waiting for ${what}`)) }, ms)
    const on = (): void => { if (check()) { cleanup(); resolve() } }
    for (const e of events) target.addEventListener(e, on)
  })
}
