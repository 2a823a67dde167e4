/**
 * Cooperative yielding for read loops.
 *
 * A read loop whose frames are already buffered runs entirely in microtasks: it
 * never returns to the event loop, so timers (heartbeats, deadlines) and other
 * sockets starve until the backlog is gone. Under a large registry transfer that
 * was tens of seconds, long enough for peers to be declared silent. Loops call
 * `turnIsBusy()` per item: once the current turn has run for `BUSY_MS`, they
 * wait for the next turn (`nextTurn`, a `setImmediate`), letting due timers and
 * I/O run first. (A check, not an `await` per item: most items need no wait.)
 */

/** How long one turn may run read loops before they give way. */
const BUSY_MS = 10

/** When the current turn started running read-loop work; undefined between turns. */
let turnStartedAt: number | undefined

/** Whether read loops have run for `BUSY_MS` in this turn (and should wait for the next: `nextTurn`). Cheap enough to ask per item. */
export function turnIsBusy (): boolean {
  const now = performance.now()
  if (turnStartedAt === undefined) {
    turnStartedAt = now
    setImmediate(() => { turnStartedAt = undefined })
    return false
  }
  return now - turnStartedAt >= BUSY_MS
}

/** Resolves in the next turn of the event loop, after due timers and I/O. */
export async function nextTurn (): Promise<void> {
  await new Promise<void>(resolve => { setImmediate(resolve) })
}
