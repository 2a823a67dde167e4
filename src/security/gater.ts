/**
 * Who may connect, and a record of who was refused.
 *
 * - {@link RejectionRecorder} keeps the recent refusals (wrong secret, not on
 *   the allowlist, bad signature, policy) for `status().rejected`, logs one
 *   clear line per refusal and tells a listener (the mesh re-emits it as
 *   `peer:rejected`). Repeats of the same refusal (a stranger's mDNS answers
 *   make it redial every few seconds) are counted, not logged again.
 * - {@link meshConnectionGater} is a libp2p `ConnectionGater` enforcing an
 *   optional allowlist of peer IDs once the remote has proven its identity
 *   (after the Noise handshake), in both directions.
 */

import { defaultLogger } from '@libp2p/logger'
import type { ComponentLogger, ConnectionGater, Logger, MultiaddrConnection, PeerId } from '@libp2p/interface'
import type { RejectedPeer } from '../types.ts'
import type { InboundLimiter } from './inbound-limit.ts'

/** Refusals kept for `status()`. Old ones fall off; the log keeps the history. */
export const MAX_REJECTED_KEPT = 64
/** The same refusal (same peer or address, same kind) is logged at most once per this window. */
export const REJECTION_LOG_WINDOW_MS = 60_000

/** Machine-readable kind of a refusal; `reason` is the sentence for people. */
export type RejectionKind = 'wrong-secret' | 'no-secret' | 'expired-key' | 'not-allowed' | 'throttled' | 'bad-signature' | 'policy' | 'other'

export interface Rejection {
  kind: RejectionKind
  peerId?: string
  address?: string
  reason: string
}

export interface RejectedPeerRecord extends RejectedPeer {
  kind: RejectionKind
  /** How many times this refusal happened (repeats are folded into one entry). */
  count: number
}

export interface RejectionRecorderInit {
  /** @default defaultLogger() from @libp2p/logger (the one libp2p itself uses) */
  logger?: ComponentLogger
  /**
   * Called for every refusal, repeats included; `fresh` is true for the first
   * of a burst (the one that is logged), so a sink can skip the repeats.
   */
  onRejected?: (rejected: RejectedPeerRecord, fresh: boolean) => void
  /** Do not log (someone downstream logs); a function is asked at each refusal. @default false */
  silent?: boolean | (() => boolean)
  /** @default {@link MAX_REJECTED_KEPT} */
  maxKept?: number
  /** @default {@link REJECTION_LOG_WINDOW_MS} */
  logWindowMs?: number
  /** Injectable clock for tests. @default Date.now */
  now?: () => number
}

/** Recent refusals, newest last, with one log line per distinct refusal per window. */
export class RejectionRecorder {
  private readonly log: Logger
  private readonly entries = new Map<string, RejectedPeerRecord>()
  private readonly lastLogged = new Map<string, number>()
  private readonly init: RejectionRecorderInit

  constructor (init: RejectionRecorderInit = {}) {
    this.init = init
    this.log = (init.logger ?? defaultLogger()).forComponent('clawmesh:security')
  }

  record (rejection: Rejection): RejectedPeerRecord {
    const now = (this.init.now ?? Date.now)()
    const key = `${rejection.kind}|${rejection.peerId ?? ''}|${rejection.peerId == null ? stripPort(rejection.address) : ''}`
    const previous = this.entries.get(key)
    const entry: RejectedPeerRecord = {
      kind: rejection.kind,
      reason: rejection.reason,
      at: now,
      count: (previous?.count ?? 0) + 1
    }
    if (rejection.peerId != null) entry.peerId = rejection.peerId
    if (rejection.address != null) entry.address = rejection.address
    // Re-insert so the map's order stays "newest last".
    this.entries.delete(key)
    this.entries.set(key, entry)
    const max = this.init.maxKept ?? MAX_REJECTED_KEPT
    while (this.entries.size > max) {
      const oldest = this.entries.keys().next().value as string
      this.entries.delete(oldest)
    }

    const logged = this.lastLogged.get(key)
    const fresh = logged == null || now - logged >= (this.init.logWindowMs ?? REJECTION_LOG_WINDOW_MS)
    if (fresh) {
      this.lastLogged.set(key, now)
      if (this.lastLogged.size > max * 4) this.lastLogged.clear()
      const silent = typeof this.init.silent === 'function' ? this.init.silent() : this.init.silent === true
      const repeats = entry.count > 1 ? ` (${entry.count} times so far)` : ''
      if (!silent) this.log.error('rejected %s: %s%s', rejection.peerId ?? rejection.address ?? 'a peer', rejection.reason, repeats)
    }

    try {
      this.init.onRejected?.(entry, fresh)
    } catch (err) {
      this.log.error('the peer:rejected listener threw - %e', err)
    }
    return entry
  }

  /** Recent refusals, oldest first, newest last (copies). */
  list (): RejectedPeerRecord[] {
    return [...this.entries.values()].map(e => ({ ...e }))
  }

  /** The `RejectedPeer[]` shape of `MeshStatus.rejected`. */
  toStatus (): RejectedPeer[] {
    return this.list().map(({ peerId, address, reason, at }) => {
      const r: RejectedPeer = { reason, at }
      if (peerId != null) r.peerId = peerId
      if (address != null) r.address = address
      return r
    })
  }
}

export interface MeshGaterInit {
  /**
   * Peer IDs (base58) allowed to connect, besides ourselves. Undefined or
   * empty: every holder of the mesh secret may connect.
   */
  allow?: Iterable<string>
  recorder?: RejectionRecorder
  /** Per-host limits on inbound handshakes (see ./inbound-limit.ts); none when absent. */
  limiter?: InboundLimiter
  /** A gater of your own to consult as well (a peer is denied when either denies). */
  also?: ConnectionGater
}

/** The allowlist as a libp2p `ConnectionGater` (pass it as `connectionGater`). */
export function meshConnectionGater (init: MeshGaterInit = {}): ConnectionGater & { isAllowed: (peerId: PeerId | string) => boolean } {
  const allow = new Set(init.allow ?? [])
  const enforcing = allow.size > 0
  const isAllowed = (peerId: PeerId | string): boolean => !enforcing || allow.has(peerId.toString())

  const check = (direction: 'inbound' | 'outbound') => async (peerId: PeerId, maConn: MultiaddrConnection): Promise<boolean> => {
    // Through pnet and Noise: it holds the secret and proved a peer ID, so it is no stranger's handshake.
    if (direction === 'inbound') init.limiter?.proven(maConn)
    if (!isAllowed(peerId)) {
      init.recorder?.record({
        kind: 'not-allowed',
        peerId: peerId.toString(),
        address: maConn.remoteAddr.toString(),
        reason: `${direction} connection refused: peer ${peerId.toString()} holds the mesh secret but is not on this Gateway's allowlist (option \`allow\`)`
      })
      return true
    }
    const other = direction === 'inbound' ? init.also?.denyInboundEncryptedConnection : init.also?.denyOutboundEncryptedConnection
    return other != null ? await other.call(init.also, peerId, maConn) : false
  }

  const gater: ConnectionGater & { isAllowed: (peerId: PeerId | string) => boolean } = {
    ...init.also,
    isAllowed,
    // Do not even dial a peer we would refuse (no record: it is our own choice, not a stranger's attempt).
    denyDialPeer: async (peerId: PeerId): Promise<boolean> => {
      if (!isAllowed(peerId)) return true
      return await (init.also?.denyDialPeer?.(peerId) ?? false)
    },
    denyInboundConnection: async (maConn: MultiaddrConnection): Promise<boolean> => {
      const refusal = init.limiter?.admit(maConn)
      if (refusal !== undefined) {
        init.recorder?.record({ kind: 'throttled', address: maConn.remoteAddr.toString(), reason: refusal.reason })
        return true
      }
      return await (init.also?.denyInboundConnection?.(maConn) ?? false)
    },
    denyInboundEncryptedConnection: check('inbound'),
    denyOutboundEncryptedConnection: check('outbound')
  }
  return gater
}

/** `/ip4/1.2.3.4/tcp/5678` → `/ip4/1.2.3.4`: a redialing stranger uses a new source port each time. */
function stripPort (address: string | undefined): string {
  if (address == null) return ''
  return address.replace(/\/(tcp|udp)\/\d+.*$/, '')
}
