/**
 * Withdraws the harmless `notify` that a rerouted `sessions_send` leaves in the
 * calling session's system-event queue (route.ts), so nothing at all reaches
 * that session. OpenClaw 2026.9.6 keeps the queues in process on
 * `globalThis[Symbol.for('openclaw.systemEvents.queues')]` (src/infra/system-events.ts)
 * and offers plugins no call that removes one entry; this does what its
 * `consumeSelectedSystemEventEntries` does. If a later OpenClaw moves the queue,
 * nothing breaks: the note (a bookkeeping line) stays, and `false` is returned.
 */
const QUEUES = Symbol.for('openclaw.systemEvents.queues')

interface QueuedEvent { id?: unknown, contextKey?: unknown }
interface SessionQueue { queue: QueuedEvent[], lastContextKey: unknown }

function isQueue (value: unknown): value is SessionQueue {
  return value !== null && typeof value === 'object' && Array.isArray((value as { queue?: unknown }).queue)
}

export function withdrawNote (notificationId: string): boolean {
  const queues = (globalThis as Record<symbol, unknown>)[QUEUES]
  if (!(queues instanceof Map)) return false
  for (const [key, entry] of queues as Map<unknown, unknown>) {
    if (!isQueue(entry)) continue
    const at = entry.queue.findIndex(e => e?.id === notificationId)
    if (at === -1) continue
    entry.queue.splice(at, 1)
    // As OpenClaw's resetQueueState: an empty queue goes, else the newest context key stays current.
    if (entry.queue.length === 0) {
      entry.lastContextKey = null
      queues.delete(key)
    } else {
      entry.lastContextKey = [...entry.queue].reverse().find(e => e.contextKey !== null && e.contextKey !== undefined)?.contextKey ?? null
    }
    return true
  }
  return false
}
