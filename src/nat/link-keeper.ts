/**
 * Keeps links to Gateways on other sites up.
 *
 * On a LAN, discovery reconnects peers that drop; bootstrap peers are
 * redialled by the dialer. A Gateway on another site that we reached through
 * a relay member is neither: when its last connection closes while it still
 * runs (the relay restarted, a capped circuit was reset, a punched NAT
 * mapping expired), nobody would dial it again and its sessions would stay
 * unreachable. So every peer we ever reached through a relay is redialled
 * (by peer ID: its relayed and any direct addresses) with exponential backoff
 * until it is back or `giveUpAfterMs` has passed (a Gateway that stopped for
 * good is not dialled forever).
 */
import { Circuit } from '@multiformats/multiaddr-matcher'
import { serviceCapabilities } from '@libp2p/interface'
import type { ComponentLogger, Connection, Libp2pEvents, Logger, PeerId, Startable, TypedEventTarget } from '@libp2p/interface'
import type { ConnectionManager } from '@libp2p/interface-internal'

/** First redial delay; doubles (±20 %) up to {@link MAX_BACKOFF_MS}. */
const MIN_BACKOFF_MS = 500
const MAX_BACKOFF_MS = 30_000
/** How long a Gateway on another site is redialled after its last connection closed. */
export const DEFAULT_GIVE_UP_AFTER_MS = 10 * 60_000
/** Bound on one redial. */
const DIAL_TIMEOUT_MS = 10_000

export interface LinkKeeperInit {
  /** @default {@link DEFAULT_GIVE_UP_AFTER_MS} */
  giveUpAfterMs?: number
}

export interface LinkKeeperComponents {
  connectionManager: ConnectionManager
  events: TypedEventTarget<Libp2pEvents>
  logger: ComponentLogger
}

interface Redial { peer: PeerId, since: number, failures: number, timer?: ReturnType<typeof setTimeout> }

export class LinkKeeper implements Startable {
  readonly [Symbol.toStringTag] = 'clawmesh:link-keeper'
  readonly [serviceCapabilities]: string[] = []
  private readonly components: LinkKeeperComponents
  private readonly init: LinkKeeperInit
  private readonly log: Logger
  /** Peers we reached through a relay at least once (by peer ID). */
  private readonly remote = new Set<string>()
  private readonly redials = new Map<string, Redial>()
  private controller = new AbortController()
  private running = false

  constructor (components: LinkKeeperComponents, init: LinkKeeperInit = {}) {
    this.components = components
    this.init = init
    this.log = components.logger.forComponent('clawmesh:link-keeper')
  }

  async start (): Promise<void> {
    this.running = true
    this.controller = new AbortController()
    this.components.events.addEventListener('connection:open', this.onOpen)
    this.components.events.addEventListener('connection:close', this.onClose)
  }

  async beforeStop (): Promise<void> {
    // Our own stop closes every connection: none of that is a link to repair.
    this.running = false
    this.controller.abort()
    for (const r of this.redials.values()) clearTimeout(r.timer)
    this.redials.clear()
  }

  async stop (): Promise<void> {
    this.components.events.removeEventListener('connection:open', this.onOpen)
    this.components.events.removeEventListener('connection:close', this.onClose)
  }

  private readonly onOpen = (evt: CustomEvent<Connection>): void => {
    const id = evt.detail.remotePeer.toString()
    if (Circuit.matches(evt.detail.remoteAddr)) this.remote.add(id)
    const redial = this.redials.get(id)
    if (redial !== undefined) {
      clearTimeout(redial.timer)
      this.redials.delete(id)
    }
  }

  private readonly onClose = (evt: CustomEvent<Connection>): void => {
    const peer = evt.detail.remotePeer
    const id = peer.toString()
    if (!this.running || !this.remote.has(id) || this.redials.has(id)) return
    if (this.components.connectionManager.getConnections(peer).length > 0) return
    this.log('lost the last connection to %p (another site): redialling', peer)
    const redial: Redial = { peer, since: Date.now(), failures: 0 }
    this.redials.set(id, redial)
    this.schedule(redial)
  }

  private schedule (redial: Redial): void {
    const base = Math.min(MAX_BACKOFF_MS, MIN_BACKOFF_MS * 2 ** redial.failures)
    redial.timer = setTimeout(() => { void this.attempt(redial) }, Math.round(base * (0.8 + Math.random() * 0.4)))
    redial.timer.unref?.()
  }

  private async attempt (redial: Redial): Promise<void> {
    const id = redial.peer.toString()
    if (!this.running || this.redials.get(id) !== redial) return
    try {
      const signal = AbortSignal.any([this.controller.signal, AbortSignal.timeout(DIAL_TIMEOUT_MS)])
      await this.components.connectionManager.openConnection(redial.peer, { signal })
      // connection:open has removed the entry.
    } catch (err) {
      if (!this.running || this.redials.get(id) !== redial) return
      redial.failures++
      if (Date.now() - redial.since > (this.init.giveUpAfterMs ?? DEFAULT_GIVE_UP_AFTER_MS)) {
        this.log('giving up on %p after %d attempts - %e', redial.peer, redial.failures, err)
        this.redials.delete(id)
        this.remote.delete(id)
        return
      }
      this.schedule(redial)
    }
  }
}

/** `services: { linkKeeper: linkKeeper() }`. */
export function linkKeeper (init: LinkKeeperInit = {}): (components: LinkKeeperComponents) => LinkKeeper {
  return (components) => new LinkKeeper(components, init)
}
