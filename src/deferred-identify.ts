/**
 * libp2p's identify, run on member connections only and a turn after a connection opens. By default
 * libp2p identifies every new connection immediately, beside our registry handshake and on the
 * same event loop: checking the peer's signed record, parsing its addresses and writing the peer
 * store (and, in a fresh process, compiling all of that) took a newcomer about a fifth of its CPU
 * between `createMesh` and its first answered send, and a late joiner of 1k–10k sessions a fifth of
 * its join (docs/performance.md, issue 14). Nothing on those paths needs it: Gateways' addresses
 * and versions travel in the registry, and libp2p ignores observed TCP addresses.
 *
 * The delay is 0 (the next turn of the event loop, off the synchronous path of the connection's
 * opening): 3 s kept identify off a late join's path, but then a Gateway behind NAT learnt of a
 * relay member, reserved its slot and announced its relayed address 3 s late, and senders that
 * tried it meanwhile found no address and marked it unreachable (test/netns/sites.test.ts). A
 * 100k-session late join run at 0.5 s cost ~130 ms more CPU (measured, cause not found).
 *
 * Member connections only: never one admitted under an invite key (src/invite/service.ts says why);
 * a relayed one at once (hole punching starts from identify). Every other connection is identified,
 * once, `delayMs` after it opened (if still open). What waits
 * for identify is the report on an incompatible peer (its protocol list and agent version), which
 * allows it `IDENTIFY_WAIT_MS` (compat/incompatible.ts). Identify requests from the other side are
 * answered at once.
 *
 * `services: { identify: identify({ runOnConnectionOpen: false }), deferredIdentify: deferredIdentify() }`
 */
import { serviceCapabilities } from '@libp2p/interface'
import { isInviteConnection } from './nat/links.ts'
import type { Identify } from '@libp2p/identify'
import type { Connection, Libp2pEvents, Startable, TypedEventTarget } from '@libp2p/interface'

/** See above: at once (next turn), so that relay reservations and hole punching are not held back. */
export const IDENTIFY_DELAY_MS = 0

export interface DeferredIdentifyComponents {
  events: TypedEventTarget<Libp2pEvents>
  identify: Pick<Identify, 'identify'>
}

export function deferredIdentify (init: { delayMs?: number } = {}): (components: DeferredIdentifyComponents) => DeferredIdentify {
  return (components) => new DeferredIdentify(components, init.delayMs ?? IDENTIFY_DELAY_MS)
}

export class DeferredIdentify implements Startable {
  readonly [Symbol.toStringTag] = 'clawmesh:deferred-identify'
  readonly [serviceCapabilities]: string[] = []
  /** Connections not identified yet, with their timers. */
  private readonly pending = new Map<Connection, ReturnType<typeof setTimeout>>()
  private readonly components: DeferredIdentifyComponents
  private readonly delayMs: number

  constructor (components: DeferredIdentifyComponents, delayMs: number) {
    this.components = components
    this.delayMs = delayMs
    // From the first connection on (transports may listen before services start).
    components.events.addEventListener('connection:open', this.onOpen)
    components.events.addEventListener('connection:close', this.onClose)
  }

  start (): void {}

  stop (): void {
    this.components.events.removeEventListener('connection:open', this.onOpen)
    this.components.events.removeEventListener('connection:close', this.onClose)
    for (const timer of this.pending.values()) clearTimeout(timer)
    this.pending.clear()
  }

  private readonly onOpen = (evt: CustomEvent<Connection>): void => {
    const connection = evt.detail
    // Never on a connection admitted under an invite key: identify would tell every service with a
    // topology the protocols the code holder claims (src/invite/service.ts).
    if (isInviteConnection(connection)) return
    // A relayed connection at once: upgrading it to a direct one (hole punching) starts from identify.
    if (connection.limits != null) {
      this.identify(connection)
      return
    }
    const timer = setTimeout(() => {
      this.pending.delete(connection)
      if (connection.status === 'open') this.identify(connection)
    }, this.delayMs)
    timer.unref?.()
    this.pending.set(connection, timer)
  }

  private identify (connection: Connection): void {
    // As libp2p's own connection:open handler does: a peer that closes or times out is not our error.
    this.components.identify.identify(connection).catch(() => {})
  }

  private readonly onClose = (evt: CustomEvent<Connection>): void => {
    clearTimeout(this.pending.get(evt.detail))
    this.pending.delete(evt.detail)
  }
}
