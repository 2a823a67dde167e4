/**
 * Splits a byte stream into `varint(length) | bytes` frames, the framing of every
 * clawmesh stream (the same bytes as `it-length-prefixed` / `@libp2p/utils`'
 * `LengthPrefixedDecoder`).
 *
 * Why our own: `LengthPrefixedDecoder` reads the length through `Uint8ArrayList.get`
 * one byte at a time and learns that a chunk is used up from a thrown `RangeError`,
 * once per chunk; on the send path that was ~8 % of the CPU of a round trip. Here a
 * frame that lies whole in one chunk is handed out as a view of it (no copy, no
 * exception); only a frame split across chunks is copied, once, when its last piece
 * arrives. What is held between chunks is the pieces of at most one frame under
 * construction, never more than `maxFrameBytes` of them (and never more than has
 * arrived: a length prefix alone allocates nothing), however large the chunks are.
 */

/** A length prefix over the limit, or one that is not a varint of at most 5 bytes. */
export class FrameLengthError extends Error {
  override name = 'FrameLengthError'
}

/** A varint of a frame length fits in 5 bytes (35 bits; lengths stay far below 2^32). */
const MAX_VARINT_BYTES = 5

/** Chunks as a libp2p stream hands them over: one array, or a list of them. */
export type Chunk = Uint8Array | Iterable<Uint8Array>

export class FrameDecoder {
  private readonly maxFrameBytes: number
  /** The length prefix read so far (when it was split across chunks). */
  private length = 0
  private lengthBytes = 0
  /** The frame under construction once its length is known: its length, and the pieces received so far (views of chunks). */
  private expected = 0
  private pieces: Uint8Array[] = []
  private filled = 0

  constructor (maxFrameBytes: number) {
    this.maxFrameBytes = maxFrameBytes
  }

  /** Bytes held for a frame not yet complete. */
  get pendingBytes (): number {
    return this.expected > 0 ? this.filled : this.lengthBytes
  }

  /** Appends to `out` every frame `chunk` completes (empty frames are skipped). Throws `FrameLengthError` on a bad prefix. */
  decode (chunk: Chunk, out: Uint8Array[]): void {
    if (chunk instanceof Uint8Array) {
      this.decodeBuffer(chunk, out)
      return
    }
    for (const buf of chunk) this.decodeBuffer(buf, out)
  }

  private decodeBuffer (buf: Uint8Array, out: Uint8Array[]): void {
    let at = 0
    const end = buf.byteLength
    while (at < end) {
      if (this.expected > 0) {
        // Continue the frame under construction.
        const n = Math.min(this.expected - this.filled, end - at)
        this.pieces.push(buf.subarray(at, at + n))
        this.filled += n
        at += n
        if (this.filled === this.expected) out.push(this.assemble())
        continue
      }
      // Read (the rest of) the length prefix.
      let length = this.length
      let shift = 7 * this.lengthBytes
      let complete = false
      while (at < end) {
        const byte = buf[at++] as number
        length += (byte & 0x7f) * 2 ** shift
        shift += 7
        this.lengthBytes++
        if (byte < 0x80) {
          complete = true
          break
        }
        if (this.lengthBytes >= MAX_VARINT_BYTES) throw new FrameLengthError('frame length prefix is not a varint of at most 5 bytes')
      }
      if (length > this.maxFrameBytes) throw new FrameLengthError(`frame of ${length} bytes exceeds ${this.maxFrameBytes}`)
      if (!complete) {
        this.length = length
        continue
      }
      this.length = 0
      this.lengthBytes = 0
      if (length === 0) continue
      if (end - at >= length) {
        // The whole frame is in this chunk: a view, no copy.
        out.push(buf.subarray(at, at + length))
        at += length
      } else {
        this.expected = length
        this.filled = 0
      }
    }
  }

  /** The frame under construction, in one buffer. */
  private assemble (): Uint8Array {
    const frame = new Uint8Array(this.expected)
    let offset = 0
    for (const piece of this.pieces) {
      frame.set(piece, offset)
      offset += piece.byteLength
    }
    this.pieces = []
    this.expected = 0
    this.filled = 0
    return frame
  }
}
