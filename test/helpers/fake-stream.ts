// One end of an in-memory libp2p stream, driven by hand: what a test writes arrives as 'message' events,
// what the code under test sends is kept; `block()` makes the other end stop reading (send returns false, no drain).
import { LengthPrefixedDecoder } from '@libp2p/utils'
import { encode as encodeVarint } from 'uint8-varint'
import type { Connection, Stream } from '@libp2p/interface'

export class FakeStream extends EventTarget {
  status: 'open' | 'closed' | 'aborted' = 'open'
  readStatus: 'readable' | 'paused' = 'readable'
  abortedWith?: Error
  private blocked = false
  private drains: Array<() => void> = []
  private readonly decoder = new LengthPrefixedDecoder({ maxDataLength: 64 * 1024 * 1024 })
  /** Frames the code under test sent, in order. */
  readonly frames: Uint8Array[] = []
  private onFrame?: () => void

  /** Delivers `frame` (length-prefixed here) as if the remote had written it. */
  push (frame: Uint8Array): void {
    const evt = new Event('message') as Event & { data: Uint8Array }
    evt.data = Uint8Array.from([...encodeVarint(frame.byteLength), ...frame])
    this.dispatchEvent(evt)
  }

  send (data: Uint8Array): boolean {
    for (const frame of this.decoder.decode(data)) this.frames.push(frame.subarray())
    this.onFrame?.()
    return !this.blocked
  }

  async onDrain (): Promise<void> {
    if (!this.blocked) return
    await new Promise<void>(resolve => { this.drains.push(resolve) })
  }

  /** The remote stops reading: our sends fill up and never drain. */
  block (): void { this.blocked = true }
  unblock (): void {
    this.blocked = false
    for (const d of this.drains.splice(0)) d()
  }

  pause (): void { this.readStatus = 'paused' }
  resume (): void { this.readStatus = 'readable' }

  abort (err: Error): void {
    if (this.status !== 'open') return
    this.status = 'aborted'
    this.abortedWith = err
    const evt = new Event('close') as Event & { error: Error }
    evt.error = err
    this.dispatchEvent(evt)
  }

  /** Resolves once `count` frames have been sent in all. */
  async sentFrames (count: number): Promise<Uint8Array[]> {
    while (this.frames.length < count) await new Promise<void>(resolve => { this.onFrame = resolve })
    return this.frames.slice(0, count)
  }

  asStream (): Stream {
    return this as unknown as Stream
  }
}

export function fakeConnection (remotePeer: string): Connection {
  return { remotePeer: { toString: () => remotePeer } } as unknown as Connection
}
