import { MeshError, abortError } from '../errors.ts'

/**
 * One signal for one operation: fires on the caller's signal, on the deadline
 * (as `TIMEOUT`) or on stop. Always call `clear()` in a `finally`.
 */
export interface Deadline {
  signal: AbortSignal
  /** Epoch ms when the operation times out. */
  at: number
  remaining: () => number
  clear: () => void
}

export function deadline (timeoutMs: number, what: string, ...signals: Array<AbortSignal | undefined>): Deadline {
  const controller = new AbortController()
  const at = Date.now() + timeoutMs
  const timer = setTimeout(() => {
    controller.abort(new MeshError('TIMEOUT', `${what} timed out after ${timeoutMs} ms`))
  }, timeoutMs)
  const listeners: Array<() => void> = []
  for (const signal of signals) {
    if (signal == null) continue
    if (signal.aborted) {
      controller.abort(abortError(signal, what))
      break
    }
    const onAbort = (): void => { controller.abort(abortError(signal, what)) }
    signal.addEventListener('abort', onAbort, { once: true })
    listeners.push(() => { signal.removeEventListener('abort', onAbort) })
  }
  return {
    signal: controller.signal,
    at,
    remaining: () => Math.max(0, at - Date.now()),
    clear: () => {
      clearTimeout(timer)
      for (const remove of listeners) remove()
    }
  }
}

/** Rejects with the signal's reason as soon as it aborts; otherwise settles like `promise`. */
export async function raceSignal<T> (promise: Promise<T>, signal: AbortSignal, what: string): Promise<T> {
  if (signal.aborted) throw abortError(signal, what)
  let onAbort: (() => void) | undefined
  const aborted = new Promise<never>((_resolve, reject) => {
    onAbort = () => { reject(abortError(signal, what)) }
    signal.addEventListener('abort', onAbort, { once: true })
  })
  try {
    return await Promise.race([promise, aborted])
  } finally {
    if (onAbort != null) signal.removeEventListener('abort', onAbort)
  }
}
