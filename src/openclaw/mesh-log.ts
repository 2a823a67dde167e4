/**
 * What the mesh does, in OpenClaw's log: Gateways joining and leaving (info),
 * turning unreachable (warn) and back (info), refused connections and records
 * with the reason (warn), a name another Gateway also holds (error). Refusals
 * are what a stranger can cause at will, so at most `REFUSALS_PER_MINUTE` of
 * them are written a minute, then one line counting the rest. A name conflict
 * also marks the plugin's service failed in OpenClaw's health (`openclaw
 * health`, `plugins.list`) until it is resolved.
 */
import type { Mesh } from '../mesh.ts'
import type { MeshEvents } from '../types.ts'
import type { PluginLogger, ServiceHealth } from './host.ts'

export const REFUSALS_PER_MINUTE = 5
const MINUTE_MS = 60_000

/** Lets `limit` lines through per window and counts the rest (clock injected for tests). */
export class LineLimiter {
  private windowStart: number
  private used = 0
  private suppressed = 0
  /** Held back in windows that have ended, not yet reported. */
  private pending = 0
  private readonly limit: number
  private readonly windowMs: number
  private readonly now: () => number

  constructor (limit: number, windowMs: number, now: () => number = Date.now) {
    this.limit = limit
    this.windowMs = windowMs
    this.now = now
    this.windowStart = now()
  }

  /** True when this line may be written; otherwise it is counted. */
  take (): boolean {
    this.roll()
    if (this.used < this.limit) {
      this.used++
      return true
    }
    this.suppressed++
    return false
  }

  /** Lines held back in windows that have ended (reset by the call). */
  drain (): number {
    this.roll()
    const n = this.pending
    this.pending = 0
    return n
  }

  private roll (): void {
    const now = this.now()
    if (now - this.windowStart < this.windowMs) return
    this.pending += this.suppressed
    this.suppressed = 0
    this.used = 0
    this.windowStart = now
  }
}

type EventMesh = Pick<Mesh, 'addEventListener' | 'removeEventListener' | 'status'>

/** Writes the mesh's events to `log` until the returned function is called. */
export function logMeshEvents (mesh: EventMesh, log: PluginLogger, health: ServiceHealth | undefined, now: () => number = Date.now): () => void {
  const refusals = new LineLimiter(REFUSALS_PER_MINUTE, MINUTE_MS, now)
  const flush = (): void => {
    const held = refusals.drain()
    if (held > 0) log.warn(`clawmesh: ${held} more refused connection${held === 1 ? '' : 's'} or record${held === 1 ? '' : 's'} not logged in the last minute (\`clawmesh status\` lists the latest)`)
  }
  let conflicted = false
  const checkConflicts = (): void => {
    if (!conflicted) return
    if ((mesh.status().conflicts ?? []).length > 0) return
    conflicted = false
    health?.clearFailure()
    log.info('clawmesh: no other Gateway shares this Gateway\'s name any more')
  }
  const handlers: { [K in keyof MeshEvents]?: (e: MeshEvents[K]) => void } = {
    'peer:join': e => {
      log.info(`clawmesh: Gateway ${e.detail.name} joined (${e.detail.peerId})`)
      checkConflicts()
    },
    'peer:leave': e => {
      log.info(`clawmesh: Gateway ${e.detail.name} left (${e.detail.peerId})`)
      checkConflicts()
    },
    'gateway:reachability': e => {
      if (e.detail.reachable) log.info(`clawmesh: Gateway ${e.detail.name} is reachable again`)
      else log.warn(`clawmesh: Gateway ${e.detail.name} (${e.detail.peerId}) is unreachable; its sessions stay listed, and sends to them fail with UNREACHABLE until it is back`)
    },
    'peer:rejected': e => {
      flush()
      if (!refusals.take()) return
      const who = e.detail.peerId ?? e.detail.address ?? 'a peer'
      log.warn(`clawmesh: refused ${who}${e.detail.peerId !== undefined && e.detail.address !== undefined ? ` at ${e.detail.address}` : ''}: ${e.detail.reason}`)
    },
    'gateway:conflict': e => {
      const what = e.detail.kind === 'name' ? 'name' : 'host:port'
      const message = `another Gateway shares this Gateway's ${what} ${e.detail.value} (${e.detail.peerIds.join(', ')}): the mesh calls it AMBIGUOUS, so it can be addressed by peer ID only, until one of them is renamed (plugins.entries.clawmesh.config.name)`
      log.error(`clawmesh: ${message}`)
      conflicted = true
      health?.reportFailure(new Error(message))
    }
  }
  const timer = setInterval(flush, MINUTE_MS)
  timer.unref()
  for (const [type, handler] of Object.entries(handlers)) mesh.addEventListener(type as keyof MeshEvents, handler as (e: Event) => void)
  return () => {
    clearInterval(timer)
    for (const [type, handler] of Object.entries(handlers)) mesh.removeEventListener(type as keyof MeshEvents, handler as (e: Event) => void)
  }
}
