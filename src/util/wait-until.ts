/**
 * Waiting for a condition on a mesh without polling blindly: the condition is
 * re-checked after the mesh's registry or peers change (once per burst of
 * events: a snapshot adds thousands of sessions at once), and every 20 ms for
 * conditions on state outside the mesh. Used by the demo and, re-exported, by
 * `clawmesh/testing`.
 */
import { MeshError } from '../errors.ts'
import type { MeshEvents } from '../types.ts'

/** The events that change what `sessions()`, `peers()` and `resolve()` return. */
const CHANGES = ['session:add', 'session:remove', 'peer:join', 'peer:leave', 'gateway:reachability'] as const satisfies ReadonlyArray<keyof MeshEvents>

/** What `waitUntil` needs of a mesh (a `Mesh` has it). */
export interface MeshEventSource {
  addEventListener: (type: typeof CHANGES[number], listener: () => void) => void
  removeEventListener: (type: typeof CHANGES[number], listener: () => void) => void
}

/** Resolves once `condition` holds; rejects with `TIMEOUT` after `timeoutMs` (a guard against a hang, not a speed test). */
export async function waitUntil (mesh: MeshEventSource, condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  if (condition()) return
  await new Promise<void>((resolve, reject) => {
    let done = false
    let queued = false
    const check = (): void => {
      queued = false
      if (done || !condition()) return
      cleanup()
      resolve()
    }
    const onChange = (): void => {
      if (queued) return
      queued = true
      setImmediate(check)
    }
    const timer = setTimeout(() => {
      cleanup()
      reject(new MeshError('TIMEOUT', `condition not met within ${timeoutMs} ms`))
    }, timeoutMs)
    const recheck = setInterval(check, 20)
    const cleanup = (): void => {
      done = true
      clearTimeout(timer)
      clearInterval(recheck)
      for (const type of CHANGES) mesh.removeEventListener(type, onChange)
    }
    for (const type of CHANGES) mesh.addEventListener(type, onChange)
  })
}
