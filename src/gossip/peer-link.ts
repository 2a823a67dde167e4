/**
 * One linked peer, as the registry gossip sees it: our long-lived outbound
 * stream (opened when the link starts, reopened after a write fails or, on the
 * next write, after it closed with one of several connections; frames queued
 * while it opens go out in order once it is open), its failure detector
 * (link-watch.ts) and what we know of the peer.
 */
import { MAX_REGISTRY_FRAME_BYTES } from '../constants.ts'
import { FramedStream } from '../wire/framed-stream.ts'
import { compareHeld, type Held, type Version } from '../registry/version.ts'
import { LinkWatch } from './link-watch.ts'
import { encodeFrame } from './wire.ts'
import type { GossipPeer } from './types.ts'
import type { Logger, PeerId, Stream } from '@libp2p/interface'

/** How long opening the outbound stream may take. */
const OPEN_TIMEOUT_MS = 10_000

export interface PeerLinkInit {
  peer: PeerId
  now: number
  log: Logger
  open: (peer: PeerId, signal: AbortSignal) => Promise<Stream>
  /** The first frame on every new outbound stream. */
  hello: () => Uint8Array
  /** How to write on a newly opened stream, by the version it negotiated (undefined: registry v2 frames as they are). */
  wireFor?: (stream: Stream) => LinkWire | undefined
  /** The outbound stream could not be opened. */
  onOpenFailed?: (err: unknown) => void
}

/** Writes our (registry v2) frames on a stream of another version, translated, in call order (see src/compat/). */
export interface LinkWire {
  readonly version: number
  write: (out: FramedStream, frame: Uint8Array) => Promise<void>
}

export class PeerLink {
  readonly peer: PeerId
  readonly id: string
  /** When the link started. */
  readonly openedAt: number
  /** Its failure detector: when we last heard from it, and whether it is suspect or declared down. */
  readonly watch: LinkWatch
  /** Whether the peer chose this link, as its last heartbeat said (undefined: not said yet, or an older peer: it keeps every link). */
  remoteKeep?: boolean
  /** When our unanswered heartbeat left. */
  pingSentAt?: number
  /** When we last asked it for a sign of life out of turn (`probe`). */
  lastProbeAt = -Infinity
  lastPing = 0
  lastHashAt: number
  /** What this peer is known to hold per origin (its digests, and records seen going either way), for origins we know. */
  readonly holds = new Map<string, Held>()
  rttMs?: number
  name?: string
  protocolVersion?: number
  softwareVersion?: string
  /** Its own version as its hello said (`[0, 0]`: it had published nothing yet), raised by its own records: its run is `ownVersion[0]`. */
  ownVersion?: Version
  /** True once its hello arrived. */
  joined = false
  /**
   * True once a `links` frame of it arrived. Until then we know whom it is linked to only from its hello,
   * written when its stream opened, before it linked to anyone new (a newcomer's names nobody); each link
   * it forms is announced by a `links` frame, a moment later.
   */
  linksHeard = false
  closed = false
  private out?: FramedStream
  private wire?: LinkWire
  private opening?: Promise<void>
  private readonly controller = new AbortController()
  private readonly init: PeerLinkInit

  constructor (init: PeerLinkInit) {
    this.init = init
    this.peer = init.peer
    this.id = init.peer.toString()
    this.openedAt = init.now
    this.watch = new LinkWatch(init.now)
    this.lastHashAt = init.now
  }

  /** When we last heard any frame from it. */
  get lastHeard (): number {
    return this.watch.lastHeard
  }

  /** Linked and not declared down by our failure detector. */
  get live (): boolean {
    return this.joined && this.watch.state !== 'dead'
  }

  /** Opens the outbound stream unless it is open or opening. */
  ensureOpen (): void {
    if (this.out !== undefined || this.opening !== undefined || this.closed) return
    this.opening = (async () => {
      try {
        const signal = AbortSignal.any([this.controller.signal, AbortSignal.timeout(OPEN_TIMEOUT_MS)])
        const stream = await this.init.open(this.peer, signal)
        if (this.closed) {
          stream.abort(new Error('peer link closed'))
          return
        }
        const out = new FramedStream(stream, MAX_REGISTRY_FRAME_BYTES)
        this.wire = this.init.wireFor?.(stream)
        this.out = out
        stream.addEventListener('close', () => {
          if (this.out === out) this.out = undefined
        })
        // Queued, not awaited: writes wait for `opening`, which is this very task.
        void this.send(this.init.hello())
      } catch (err) {
        if (!this.closed) this.init.log('could not open registry stream to %s - %e', this.id, err)
        if (!this.closed) this.init.onOpenFailed?.(err)
      } finally {
        this.opening = undefined
      }
    })()
  }

  /** Queues a frame on the outbound stream; never throws (a broken stream is reopened; anti-entropy repairs what was lost). */
  async send (bytes: Uint8Array): Promise<void> {
    // Our stream may have closed with its connection while another connection to the peer remains
    // (a relayed one replaced by a hole-punched one): open it again there.
    if (this.out === undefined && this.opening === undefined && !this.closed) this.ensureOpen()
    if (this.out === undefined && this.opening !== undefined) await this.opening
    const out = this.out
    if (out === undefined || this.closed) return
    try {
      await (this.wire !== undefined ? this.wire.write(out, bytes) : out.write(bytes))
    } catch (err) {
      if (this.closed) return
      this.init.log('registry write to %s failed - %e', this.id, err)
      out.stream.abort(err instanceof Error ? err : new Error(String(err)))
      if (this.out === out) this.out = undefined
      this.ensureOpen()
    }
  }

  /** Asks for a sign of life now (a heartbeat, which either side answers at once); `keep`: whether we chose this link. */
  probe (now: number, keep?: boolean): void {
    this.pingSentAt = now
    this.lastProbeAt = now
    void this.send(encodeFrame.heartbeat(this.rttMs, undefined, keep))
  }

  /** Raises what the peer is known to hold of `origin` (never lowers it). */
  noteHolds (origin: string, held: Held): void {
    const known = this.holds.get(origin)
    if (known === undefined || compareHeld(held, known) > 0) this.holds.set(origin, held)
  }

  /** What the peer told us about itself. */
  describe (): GossipPeer {
    return {
      id: this.id,
      ...(this.name !== undefined ? { name: this.name } : {}),
      ...(this.rttMs !== undefined ? { rttMs: this.rttMs } : {}),
      ...(this.protocolVersion !== undefined ? { protocolVersion: this.protocolVersion } : {}),
      ...(this.softwareVersion !== undefined ? { softwareVersion: this.softwareVersion } : {})
    }
  }

  /** Closes the link on purpose: tells the peer (so it takes this for no failure), then closes our stream. */
  async unlink (): Promise<void> {
    if (this.closed) return
    await this.send(encodeFrame.unlink())
    this.closed = true
    this.controller.abort()
    try {
      await this.out?.stream.close({ signal: AbortSignal.timeout(OPEN_TIMEOUT_MS) })
    } catch {
      this.out?.stream.abort(new Error('unlinked'))
    }
    this.out = undefined
  }

  close (): void {
    this.closed = true
    this.controller.abort()
    try {
      this.out?.stream.abort(new Error('closing'))
    } catch {
      // Already closed: nothing left to release.
    }
    this.out = undefined
  }
}

/** The run each joined peer said it is (its hello): sent with our links, so that peers know which run they prove alive. */
export function runsOf (links: Iterable<PeerLink>): Map<string, number> {
  const runs = new Map<string, number>()
  for (const link of links) if (link.joined && link.ownVersion !== undefined) runs.set(link.id, link.ownVersion[0])
  return runs
}
