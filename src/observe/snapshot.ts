/**
 * One picture of the mesh as this Gateway sees it, for the live views (`clawmesh top`
 * and the web page): every Gateway it knows with its link, reachability, RTT, session
 * count and the sends made to it, and the session table.
 *
 * Built only from the public `Mesh` API (`status()`, `peers()`, `sessions()` and the
 * `send:done` event), so it works on any mesh and knows nothing of the internals.
 * Every string in it may come from another Gateway (names, hosts, keys, labels):
 * whoever renders it must treat them as untrusted text.
 */
import type { GatewayInfo, IncompatiblePeer, MeshEvents, MeshStatus, PeerStatus, RejectedPeer, SessionEntry } from '../types.ts'

/** What the views need of a mesh (a `Mesh` from `createMesh` has it all). */
export interface ObservableMesh {
  status: () => MeshStatus
  peers: () => PeerStatus[]
  sessions: () => SessionEntry[]
  addEventListener: (type: 'send:done', listener: (event: MeshEvents['send:done']) => void) => void
  removeEventListener: (type: 'send:done', listener: (event: MeshEvents['send:done']) => void) => void
}

/**
 * How this Gateway reaches another: itself, an open connection (`direct`, or `relayed`
 * through another member), or none (`registry`: known only from gossiped records).
 */
export type GatewayLink = 'self' | 'direct' | 'relayed' | 'registry'

/** Sends from this Gateway since it started, by how they ended. */
export interface SendTally {
  ok: number
  accepted: number
  /** Every send that ended in a `MeshError`. */
  failed: number
  /** Failed sends by `MeshError` code. */
  errors: Record<string, number>
}

export interface GatewayView extends GatewayInfo {
  link: GatewayLink
  /** Last round-trip time on the registry stream, for a connected peer. */
  rttMs?: number
  /** The wire version we talk with it (for this Gateway: its newest) and its clawmesh version, when known (connected peers and this Gateway). */
  protocolVersion?: number
  softwareVersion?: string
  /** Sessions it owns, per our registry. */
  sessions: number
  /** Addresses of our open connection(s) to it (ours, for `self`). */
  addresses: string[]
  /** Sends from here to its sessions. */
  sends: SendTally
}

export interface MeshSnapshot {
  /** Bumped when a field changes meaning. */
  version: 1
  /** When the snapshot was taken (epoch ms). */
  at: number
  self: GatewayInfo
  meshId?: string
  startedAt: number
  incarnation: number
  /** This Gateway first, then the others by name. */
  gateways: GatewayView[]
  /** Sessions by owner name and key, at most 2000 (`MAX_SNAPSHOT_SESSIONS`). */
  sessions: SessionEntry[]
  /** Sessions in the registry; more than `sessions.length` when the list was cut. */
  sessionsTotal: number
  /** Every send from here since start. */
  sends: SendTally
  counters: MeshStatus['counters']
  /** Recent refusals, newest last. */
  rejected: RejectedPeer[]
  /** Connected Gateways we cannot exchange sessions with (absent from older nodes). */
  incompatible?: IncompatiblePeer[]
}

/** A snapshot is taken every second or so: keep it small enough to render, however large the mesh. */
export const MAX_SNAPSHOT_SESSIONS = 2000
/** Per-owner send tallies kept (owner names are chosen by members; beyond this only the total counts). */
export const MAX_TRACKED_OWNERS = 1024

/** One collator for every sort (much faster than `localeCompare` on a large registry). */
const order = new Intl.Collator('en')

export function emptyTally (): SendTally {
  return { ok: 0, accepted: 0, failed: 0, errors: {} }
}

/** `relayed` when the only way we reach the peer is a circuit through another member. */
export function linkOf (peer: PeerStatus): 'direct' | 'relayed' {
  const declared = (peer as PeerStatus & { link?: unknown }).link
  if (declared === 'direct' || declared === 'relayed') return declared
  return peer.addresses.length > 0 && peer.addresses.every(a => a.includes('/p2p-circuit')) ? 'relayed' : 'direct'
}

/** Counts sends as they finish and builds snapshots on demand. */
export class MeshObserver {
  private readonly mesh: ObservableMesh
  private readonly total = emptyTally()
  private readonly byOwner = new Map<string, SendTally>()
  private started = false
  private readonly onSendDone = (event: MeshEvents['send:done']): void => {
    const { outcome, owner } = event.detail
    count(this.total, outcome)
    if (owner === undefined) return
    let tally = this.byOwner.get(owner)
    if (tally === undefined) {
      if (this.byOwner.size >= MAX_TRACKED_OWNERS) return
      tally = emptyTally()
      this.byOwner.set(owner, tally)
    }
    count(tally, outcome)
  }

  constructor (mesh: ObservableMesh) {
    this.mesh = mesh
  }

  start (): void {
    if (this.started) return
    this.started = true
    this.mesh.addEventListener('send:done', this.onSendDone)
  }

  stop (): void {
    if (!this.started) return
    this.started = false
    this.mesh.removeEventListener('send:done', this.onSendDone)
  }

  snapshot (now: number = Date.now()): MeshSnapshot {
    const status = this.mesh.status()
    const peers = this.mesh.peers()
    const sessions = this.mesh.sessions()
    const perOwner = new Map<string, number>()
    for (const s of sessions) perOwner.set(s.owner.peerId, (perOwner.get(s.owner.peerId) ?? 0) + 1)

    const gateways = new Map<string, GatewayView>()
    const add = (info: GatewayInfo, link: GatewayLink, extra: { rttMs?: number, addresses: string[], protocolVersion?: number, softwareVersion?: string }): void => {
      gateways.set(info.peerId, {
        name: info.name,
        peerId: info.peerId,
        ...(info.gatewayPort !== undefined ? { gatewayPort: info.gatewayPort } : {}),
        host: info.host,
        self: info.self,
        reachable: info.reachable,
        link,
        ...(extra.rttMs !== undefined ? { rttMs: extra.rttMs } : {}),
        ...(extra.protocolVersion !== undefined ? { protocolVersion: extra.protocolVersion } : {}),
        ...(extra.softwareVersion !== undefined ? { softwareVersion: extra.softwareVersion } : {}),
        sessions: perOwner.get(info.peerId) ?? 0,
        addresses: extra.addresses,
        sends: copyTally(this.byOwner.get(info.name))
      })
    }
    const own = status.versions
    add(status.self, 'self', { addresses: status.addresses, ...(own !== undefined ? { softwareVersion: own.software, ...(own.protocols[0] !== undefined ? { protocolVersion: own.protocols[0] } : {}) } : {}) })
    for (const p of peers) {
      if (gateways.has(p.peerId)) continue
      add(p, linkOf(p), { addresses: p.addresses, ...pickDefined(p, ['rttMs', 'protocolVersion', 'softwareVersion']) })
    }
    for (const s of sessions) if (!gateways.has(s.owner.peerId)) add(s.owner, 'registry', { addresses: [] })

    const [self, ...others] = [...gateways.values()]
    others.sort((a, b) => order.compare(a.name, b.name) || order.compare(a.peerId, b.peerId))
    // sessions() hands us a fresh array: sorting it in place is ours to do.
    sessions.sort((a, b) => order.compare(a.owner.name, b.owner.name) || order.compare(a.sessionKey, b.sessionKey))

    return {
      version: 1,
      at: now,
      self: status.self,
      ...(status.meshId !== undefined ? { meshId: status.meshId } : {}),
      startedAt: status.startedAt,
      incarnation: status.incarnation,
      gateways: self !== undefined ? [self, ...others] : others,
      sessions: sessions.slice(0, MAX_SNAPSHOT_SESSIONS),
      sessionsTotal: sessions.length,
      sends: copyTally(this.total),
      counters: { ...status.counters },
      rejected: status.rejected.slice(-20),
      incompatible: (status.incompatible ?? []).slice(-20)
    }
  }
}

function pickDefined<T extends object, K extends keyof T> (from: T, keys: K[]): Partial<Pick<T, K>> {
  const out: Partial<Pick<T, K>> = {}
  for (const key of keys) if (from[key] !== undefined) out[key] = from[key]
  return out
}

function count (tally: SendTally, outcome: string): void {
  if (outcome === 'ok') tally.ok++
  else if (outcome === 'accepted') tally.accepted++
  else {
    tally.failed++
    tally.errors[outcome] = (tally.errors[outcome] ?? 0) + 1
  }
}

function copyTally (tally: SendTally | undefined): SendTally {
  return tally === undefined ? emptyTally() : { ...tally, errors: { ...tally.errors } }
}
