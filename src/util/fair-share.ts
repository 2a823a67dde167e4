/**
 * Cooperative yielding for read loops.
 *
 * A read loop whose frames are already buffered runs entirely in microtasks: it
 * never returns to the event loop, so timers (heartbeats, deadlines) and other
 * sockets starve until the backlog is gone. Under a large registry transfer that
 * was tens of seconds, long enough for peers to be declared silent. Loops call
 * `yieldIfBusy()` per item: once the current turn has run for `BUSY_MS`, it
 * waits for the next turn (`setImmediate`), letting due timers and I/O run first.
 */

/** How long one turn may run read loops before they give way. */
const BUSY_MS = 10

/** When the current turn started running read-loop work; undefined between turns. */
let turnStartedAt: number | undefined

export async function yieldIfBusy (): Promise<void> {
  const now = performance.now()
  if (turnStartedAt === undefined) {
    turnStartedAt = now
    setImmediate(() => { turnStartedAt = undefined })
    return
  }
  if (now - turnStartedAt < BUSY_MS) return
  await new Promise<void>(resolve => { setImmediate(resolve) })
}
