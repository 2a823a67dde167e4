/**
 * Coalesces frames written in the same tick into one `writeV`: one muxer frame
 * and one encryption instead of one per message. An `accepted` and a quick
 * `reply`, or many concurrent requests, then cost a single write.
 */
import type { AbortOptions } from '@libp2p/interface'

export interface VectorWriter {
  writeV: (frames: Uint8Array[], options?: AbortOptions) => Promise<void>
}

export class FrameWriter {
  private readonly out: VectorWriter
  private queue: Uint8Array[] = []
  private pending?: Promise<void>

  constructor (out: VectorWriter) {
    this.out = out
  }

  /** Queues a frame; resolves once the batch holding it is written (rejects if that write fails). */
  async write (frame: Uint8Array, options?: AbortOptions): Promise<void> {
    this.queue.push(frame)
    this.pending ??= this.flush(options)
    await this.pending
  }

  private async flush (options?: AbortOptions): Promise<void> {
    try {
      // Let the frames produced in this tick join the batch.
      await new Promise<void>(resolve => { setImmediate(resolve) })
      while (this.queue.length > 0) {
        const batch = this.queue
        this.queue = []
        await this.out.writeV(batch, options)
      }
    } finally {
      this.pending = undefined
    }
  }
}
