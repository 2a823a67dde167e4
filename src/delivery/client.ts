/**
 * The sending side of delivery: one long-lived deliver stream per peer,
 * carrying many concurrent requests matched by message ID. Opening a stream
 * per message would cost a protocol negotiation each time (~0.7 ms here); a
 * reused stream costs one frame each way.
 *
 * When the stream or connection breaks before the final answer, the request is
 * sent again with the same message ID on a new stream; the receiver's dedup
 * guarantees it reaches the session at most once.
 */
import { DELIVER_PROTOCOL } from '../constants.ts'
import { MeshError } from '../errors.ts'
import { raceSignal } from '../util/deadline.ts'
import { FramedStream } from '../wire/framed-stream.ts'
import { decodeJson, encodeJson } from '../wire/json-frame.ts'
import { parseResponse, type RequestFrame } from './frames.ts'
import type { Logger, PeerId, Stream } from '@libp2p/interface'

interface Pending {
  wait: boolean
  accepted: boolean
  resolve: (value: { accepted: true } | { reply?: string }) => void
  reject: (err: Error) => void
}

/** Thrown when the channel broke before a final answer: safe to retry with the same ID. */
export class ChannelLost extends Error {
  override name = 'ChannelLost'
  readonly accepted: boolean
  constructor (accepted: boolean, cause?: unknown) {
    super('delivery stream closed before the final answer', { cause })
    this.accepted = accepted
  }
}

class Channel {
  private readonly framed: FramedStream
  readonly pending = new Map<string, Pending>()
  private readonly log: Logger
  private readonly onClose: () => void
  closed = false

  constructor (stream: Stream, maxFrameBytes: number, log: Logger, onClose: () => void) {
    this.log = log
    this.onClose = onClose
    this.framed = new FramedStream(stream, maxFrameBytes)
    void this.readLoop()
    stream.addEventListener('close', () => { this.fail(new ChannelLost(false)) })
  }

  async request (frame: RequestFrame, signal: AbortSignal): Promise<{ accepted: true } | { reply?: string }> {
    if (this.closed) throw new ChannelLost(false)
    if (this.pending.has(frame.id)) throw new MeshError('BAD_REQUEST', `message ${frame.id} is already in flight`)
    const result = new Promise<{ accepted: true } | { reply?: string }>((resolve, reject) => {
      this.pending.set(frame.id, { wait: frame.wait, accepted: false, resolve, reject })
    })
    // A failed write means a broken stream: the caller retries with the same ID.
    this.framed.write(encodeJson(frame)).catch(err => {
      const p = this.pending.get(frame.id)
      this.pending.delete(frame.id)
      p?.reject(signal.aborted ? err : new ChannelLost(false, err))
    })
    try {
      return await result
    } finally {
      this.pending.delete(frame.id)
    }
  }

  /** Tells the receiver we gave up, so it can abort the handler. Best effort. */
  cancel (id: string): void {
    if (this.closed) return
    this.framed.write(encodeJson({ t: 'cancel', id })).catch(() => {})
  }

  private async readLoop (): Promise<void> {
    try {
      while (!this.closed) {
        const frame = parseResponse(decodeJson(await this.framed.read()))
        const p = this.pending.get(frame.id)
        if (p === undefined) continue
        if (frame.t === 'acc') {
          p.accepted = true
          if (!p.wait) p.resolve({ accepted: true })
        } else if (frame.t === 'rep') {
          p.resolve(frame.reply === undefined ? {} : { reply: frame.reply })
        } else {
          p.reject(new MeshError(frame.code, frame.msg, { remote: true }))
        }
      }
    } catch (err) {
      this.log('deliver stream ended - %e', err)
      this.fail(new ChannelLost(false, err))
      this.framed.stream.abort(err instanceof Error ? err : new Error(String(err)))
    }
  }

  fail (err: ChannelLost): void {
    if (this.closed) return
    this.closed = true
    this.onClose()
    for (const p of this.pending.values()) p.reject(new ChannelLost(p.accepted, err.cause))
    this.pending.clear()
  }
}

export interface DeliveryClientInit {
  log: Logger
  openStream: (peer: PeerId, protocol: string, signal: AbortSignal) => Promise<Stream>
  maxFrameBytes: number
}

export class DeliveryClient {
  private readonly channels = new Map<string, Promise<Channel>>()
  private readonly init: DeliveryClientInit

  constructor (init: DeliveryClientInit) {
    this.init = init
  }

  /** Sends one request over the peer's channel (opening it if needed). */
  async request (peer: PeerId, frame: RequestFrame, signal: AbortSignal): Promise<{ accepted: true } | { reply?: string }> {
    const channel = await this.channel(peer, signal)
    const onAbort = (): void => { channel.cancel(frame.id) }
    signal.addEventListener('abort', onAbort, { once: true })
    try {
      return await raceSignal(channel.request(frame, signal), signal, `message ${frame.id}`)
    } finally {
      signal.removeEventListener('abort', onAbort)
    }
  }

  private async channel (peer: PeerId, signal: AbortSignal): Promise<Channel> {
    const id = peer.toString()
    let channel = this.channels.get(id)
    if (channel === undefined) {
      channel = (async () => {
        const stream = await this.init.openStream(peer, DELIVER_PROTOCOL, signal)
        return new Channel(stream, this.init.maxFrameBytes, this.init.log, () => {
          if (this.channels.get(id) === channel) this.channels.delete(id)
        })
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
    void channel?.then(c => { c.fail(new ChannelLost(false)) }, () => {})
  }

  stop (): void {
    for (const id of [...this.channels.keys()]) this.drop(id)
  }
}
