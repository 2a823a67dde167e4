/**
 * Waits until the node's transports listen (or `maxWaitMs` passes). libp2p runs every service's
 * `afterStart` beside the transport manager's, which is where the listeners open: a service that
 * publishes its addresses in `afterStart` would otherwise publish none, then publish again a moment
 * later (for our registry: a second signed snapshot on every start).
 */
import type { Libp2pEvents } from '@libp2p/interface'
import type { AddressManager } from '@libp2p/interface-internal'
import type { TypedEventTarget } from 'main-event'

/** Long enough for any listener to open; the wait ends with the first `transport:listening` in practice. */
export const LISTEN_WAIT_MS = 2_000

export async function transportsListening (components: { addressManager: AddressManager, events: TypedEventTarget<Libp2pEvents> }, maxWaitMs = LISTEN_WAIT_MS): Promise<void> {
  const { addressManager, events } = components
  if (addressManager.getListenAddrs().length === 0 || addressManager.getAddresses().length > 0) return
  await new Promise<void>(resolve => {
    const done = (): void => {
      clearTimeout(timer)
      events.removeEventListener('transport:listening', done)
      resolve()
    }
    const timer = setTimeout(done, maxWaitMs)
    events.addEventListener('transport:listening', done)
  })
}
