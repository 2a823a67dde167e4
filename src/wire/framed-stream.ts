/**
 * Length-prefixed frames on a libp2p stream, both ways.
 *
 * Reading is push-based: each chunk the muxer delivers goes through a
 * `FrameDecoder` at once, so a burst of small frames costs one decode pass.
 * (`lpStream` reads the length prefix one byte at a time from a growing chunk
 * list, which profiling showed as the top cost under 64 concurrent sends.)
 * When frames pile up unread, the stream is paused, which stops the muxer's
 * window updates and so slows the sender: memory stays bounded.
 *
 * Writing coalesces the frames queued while the current task and its promise
 * jobs run into a single `send`: one muxer frame and one encryption instead of
 * one per frame. The batch goes out on `process.nextTick`, which runs once the
 * promise jobs are done, so an answer computed in a chain of promises joins the
 * batch without waiting for another turn of the event loop (`setImmediate`
 * cost a turn per message each way).
 */
import { encode as encodeVarint, encodingLength } from 'uint8-varint'
import { MeshError } from '../errors.ts'
import { nextTurn, turnIsBusy } from '../util/fair-share.ts'
import { FrameDecoder } from './frame-decoder.ts'
import type { AbortOptions, Stream } from '@libp2p/interface'

/** Frames read but not yet consumed past which we pause the stream. */
const HIGH_WATER_FRAMES = 512
const LOW_WATER_FRAMES = 64

export class FramedStream {
  readonly stream: Stream
  private readonly maxFrameBytes: number
  private readonly decoder: FrameDecoder
  private readonly frames: Uint8Array[] = []
  private wake?: () => void
  private ended = false
  private failure?: Error
  private paused = false
  private outgoing: Uint8Array[] = []
  private flushing?: Promise<void>

  constructor (stream: Stream, maxFrameBytes: number) {
    this.stream = stream
    this.maxFrameBytes = maxFrameBytes
    this.decoder = new FrameDecoder(maxFrameBytes)
    stream.addEventListener('message', (evt) => {
      try {
        this.decoder.decode(evt.data, this.frames)
      } catch (err) {
        // An oversized or malformed length prefix: nothing after it can be trusted.
        const error = new MeshError('TOO_LARGE', `frame rejected: ${(err as Error).message}`, { cause: err })
        this.fail(error)
        stream.abort(error)
        return
      }
      if (!this.paused && this.frames.length >= HIGH_WATER_FRAMES) {
        this.paused = true
        // Not from inside this handler: it may be running within `stream.resume()`, which hands over
        // what arrived while paused and only then reopens the muxer window, undoing a pause made
        // here. The stream would keep buffering with its window open until libp2p reset it (4 MiB).
        queueMicrotask(() => {
          if (!this.paused || stream.readStatus !== 'readable') return
          stream.pause()
        })
      }
      this.wake?.()
    })
    stream.addEventListener('close', (evt) => {
      if (evt.error != null) this.fail(evt.error)
      else this.end()
    })
    stream.addEventListener('remoteCloseWrite', () => { this.end() })
  }

  /** The next frame; throws when the stream ended or failed first. */
  async read (options: AbortOptions = {}): Promise<Uint8Array> {
    while (true) {
      // A backlog of buffered frames must not keep the event loop from timers and other streams.
      if (this.frames.length > 0 && turnIsBusy()) await nextTurn()
      const frame = this.frames.shift()
      if (frame !== undefined) {
        if (this.paused && this.frames.length <= LOW_WATER_FRAMES) {
          this.paused = false
          if (this.stream.readStatus === 'paused') this.stream.resume()
        }
        return frame
      }
      if (this.failure !== undefined) throw this.failure
      if (this.ended) throw new MeshError('ABORTED', 'stream ended')
      await new Promise<void>((resolve, reject) => {
        const signal = options.signal
        const onAbort = (): void => { reject(signal?.reason) }
        this.wake = () => {
          this.wake = undefined
          signal?.removeEventListener('abort', onAbort)
          resolve()
        }
        if (signal?.aborted === true) onAbort()
        signal?.addEventListener('abort', onAbort, { once: true })
      })
    }
  }

  /** Queues a frame; resolves once the batch holding it was handed to the stream (rejects if the stream broke). */
  async write (frame: Uint8Array): Promise<void> {
    if (frame.byteLength > this.maxFrameBytes) throw new MeshError('TOO_LARGE', `frame of ${frame.byteLength} bytes exceeds ${this.maxFrameBytes}`)
    this.outgoing.push(frame)
    this.flushing ??= this.flush()
    await this.flushing
  }

  private async flush (): Promise<void> {
    try {
      // Let the frames produced by this task and its promise jobs join the batch.
      await new Promise<void>(resolve => { process.nextTick(resolve) })
      while (this.outgoing.length > 0) {
        const batch = this.outgoing
        this.outgoing = []
        if (this.stream.status !== 'open') throw this.failure ?? new MeshError('ABORTED', 'stream is closed')
        if (!this.stream.send(concatFrames(batch))) await this.stream.onDrain()
      }
    } finally {
      this.flushing = undefined
    }
  }

  private end (): void {
    this.ended = true
    this.wake?.()
  }

  private fail (err: Error): void {
    this.failure ??= err
    this.wake?.()
  }
}

/** `varint(length) | bytes` for each frame, in one buffer. */
function concatFrames (frames: Uint8Array[]): Uint8Array {
  let size = 0
  for (const frame of frames) size += encodingLength(frame.byteLength) + frame.byteLength
  const out = new Uint8Array(size)
  let offset = 0
  for (const frame of frames) {
    encodeVarint(frame.byteLength, out, offset)
    offset += encodingLength(frame.byteLength)
    out.set(frame, offset)
    offset += frame.byteLength
  }
  return out
}
