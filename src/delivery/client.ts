/**
 * The sending side of delivery: one long-lived deliver stream per owner,
 * carrying many concurrent requests matched by message ID. Opening a stream
 * per message would cost a protocol negotiation each time (~0.7 ms here); a
 * reused stream costs one frame each way. The client builds its own frames
 * (./codec.ts) from a `DeliveryRequest`.
 *
 * When the stream breaks before the final answer, the request fails with
 * `ChannelLost`; the router sends it again with the same message ID on a new
 * stream, and the owner's dedup guarantees it reaches the session at most once.
 */
import { abortError, fromWireError, MeshError } from '../errors.ts'
import { FramedStream } from '../wire/framed-stream.ts'
import { DELIVER_V2_ONLY, type DeliverCodec, type DeliverWires } from '../compat/deliver-wires.ts'
import type { DeliveryRequest } from './codec.ts'
import type { Logger, PeerId, Stream } from '@libp2p/interface'

/** How a request ended well. */
export type Answered = { status: 'accepted' } | { status: 'ok', reply?: string }

interface Pending {
  wait: boolean
  accepted: boolean
  onAccepted?: () => void
  resolve: (value: Answered) => void
  reject: (err: Error) => void
  signal: AbortSignal
  onAbort: () => void
}

/** The channel broke before a final answer: safe to send again with the same ID. */
export class ChannelLost extends Error {
  override name = 'ChannelLost'
  /** The owner had accepted the message before the channel broke. */
  readonly accepted: boolean
  /** The channel was torn down because the owner sent a frame over our limit. */
  readonly oversized: boolean
  constructor (accepted: boolean, cause?: unknown) {
    super('delivery stream closed before the final answer', { cause })
    this.accepted = accepted
    this.oversized = cause instanceof MeshError && cause.code === 'TOO_LARGE'
  }
}

/**
 * Nothing was sent: no connection to the owner could be made in time (a dial that timed out, a handshake the
 * owner reset under overload) or the one we had closed before the request went out. The router tries again until
 * the send's deadline: this is not the broken stream that MAX_DELIVERY_ATTEMPTS bounds.
 */
export class NotConnected extends ChannelLost {
  override name = 'NotConnected'
  constructor (cause?: unknown) {
    super(false, cause)
    this.message = 'no connection to the owner'
  }
}

class Channel {
  private readonly framed: FramedStream
  private readonly codec: DeliverCodec
  private readonly pending = new Map<string, Pending>()
  private readonly log: Logger
  private readonly maxReplyBytes: number
  private readonly onClose: () => void
  closed = false

  constructor (stream: Stream, codec: DeliverCodec, maxReplyBytes: number, log: Logger, onClose: () => void) {
    this.codec = codec
    this.log = log
    this.maxReplyBytes = maxReplyBytes
    this.onClose = onClose
    this.framed = new FramedStream(stream, codec.frameLimit(maxReplyBytes))
    void this.readLoop()
    stream.addEventListener('close', (evt) => { this.fail(new ChannelLost(false, evt.error)) })
  }

  /** Sends `request`; settles with its final answer, `ChannelLost`, or the signal's abort (which also cancels it at the owner). */
  async request (request: DeliveryRequest, signal: AbortSignal, onAccepted?: () => void): Promise<Answered> {
    if (this.closed) throw new ChannelLost(false)
    if (signal.aborted) throw abortError(signal, `message ${request.id}`)
    if (this.pending.has(request.id)) throw new MeshError('BAD_REQUEST', `message ${request.id} is already in flight`)
    const { promise, resolve, reject } = Promise.withResolvers<Answered>()
    const onAbort = (): void => {
      this.settle(request.id)
      this.cancel(request.id)
      reject(abortError(signal, `message ${request.id}`))
    }
    signal.addEventListener('abort', onAbort, { once: true })
    this.pending.set(request.id, { wait: request.wait, accepted: false, resolve, reject, signal, onAbort, ...(onAccepted !== undefined ? { onAccepted } : {}) })
    // A failed write means a broken stream: the caller retries with the same ID.
    this.framed.write(this.codec.encodeRequest(request)).catch(err => { this.settle(request.id)?.reject(new ChannelLost(false, err)) })
    return await promise
  }

  /** Takes a request out of the pending set (it got its final answer, failed or was aborted). */
  private settle (id: string): Pending | undefined {
    const p = this.pending.get(id)
    if (p === undefined) return undefined
    this.pending.delete(id)
    p.signal.removeEventListener('abort', p.onAbort)
    return p
  }

  /** Tells the owner we gave up, so it can abort the handler. Best effort. */
  cancel (id: string): void {
    if (this.closed) return
    this.framed.write(this.codec.encodeCancel(id)).catch(() => {})
  }

  private async readLoop (): Promise<void> {
    try {
      while (!this.closed) {
        const answer = this.codec.decodeAnswer(await this.framed.read(), this.maxReplyBytes)
        const p = this.pending.get(answer.id)
        if (p === undefined) continue
        if (answer.kind === 'accepted') {
          p.accepted = true
          p.onAccepted?.()
          if (!p.wait) this.settle(answer.id)?.resolve({ status: 'accepted' })
        } else if (answer.kind === 'ok') {
          // A reply that came before any `accepted` is the acceptance too.
          if (!p.accepted) p.onAccepted?.()
          this.settle(answer.id)?.resolve(answer.reply === undefined ? { status: 'ok' } : { status: 'ok', reply: answer.reply })
        } else {
          this.settle(answer.id)?.reject(fromWireError(answer.error, { remote: true }))
        }
      }
    } catch (err) {
      this.log('deliver stream ended - %e', err)
      this.fail(new ChannelLost(false, err))
      this.framed.stream.abort(err instanceof Error ? err : new Error('deliver stream failed'))
    }
  }

  fail (err: ChannelLost): void {
    if (this.closed) return
    this.closed = true
    this.onClose()
    for (const id of [...this.pending.keys()]) {
      const p = this.settle(id) as Pending
      p.reject(new ChannelLost(p.accepted, err.cause))
    }
  }
}

export interface DeliveryClientInit {
  log: Logger
  openStream: (peer: PeerId, protocols: string[], signal: AbortSignal) => Promise<Stream>
  /** The largest reply we take (our own message limit); the frame limit follows from it. */
  maxReplyBytes: number
  /** The deliver versions we offer, and the codec of the one a stream negotiated. @default deliver v2 only */
  wires?: Pick<DeliverWires, 'protocols' | 'codecFor' | 'openFailed'>
}

export class DeliveryClient {
  private readonly channels = new Map<string, Promise<Channel>>()
  /** The channels of `channels` that are open, to skip awaiting their promise on every send. */
  private readonly open = new Map<string, Channel>()
  private readonly init: DeliveryClientInit

  constructor (init: DeliveryClientInit) {
    this.init = init
  }

  /** Sends one request over the owner's channel (opening it if needed). Rejects with `ChannelLost` when the channel broke first. */
  async request (peer: PeerId, request: DeliveryRequest, signal: AbortSignal, onAccepted?: () => void): Promise<Answered> {
    const open = this.open.get(peer.toString())
    const channel = open !== undefined && !open.closed ? open : await this.channel(peer, signal)
    return await channel.request(request, signal, onAccepted)
  }

  private async channel (peer: PeerId, signal: AbortSignal): Promise<Channel> {
    const id = peer.toString()
    let channel = this.channels.get(id)
    if (channel === undefined) {
      channel = (async () => {
        const wires = this.init.wires ?? DELIVER_V2_ONLY
        const stream = await this.init.openStream(peer, wires.protocols, signal).catch(err => { throw wires.openFailed(id, err) })
        const opened: Channel = new Channel(stream, wires.codecFor(stream.protocol), this.init.maxReplyBytes, this.init.log, () => {
          if (this.channels.get(id) === channel) this.channels.delete(id)
          if (this.open.get(id) === opened) this.open.delete(id)
        })
        if (!opened.closed) this.open.set(id, opened)
        return opened
      })()
      this.channels.set(id, channel)
      channel.catch(() => { if (this.channels.get(id) === channel) this.channels.delete(id) })
    }
    const ready = await channel
    if (ready.closed) {
      if (this.channels.get(id) === channel) this.channels.delete(id)
      return await this.channel(peer, signal)
    }
    return ready
  }

  /** Forgets the channel to a peer (its connection closed). */
  drop (peerId: string): void {
    const channel = this.channels.get(peerId)
    this.channels.delete(peerId)
    this.open.delete(peerId)
    void channel?.then(c => { c.fail(new ChannelLost(false)) }, () => {})
  }

  stop (): void {
    for (const id of [...this.channels.keys()]) this.drop(id)
  }
}
