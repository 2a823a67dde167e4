/**
 * XSalsa20 as a byte stream (what libp2p's private networks encrypt with),
 * on `@noble/ciphers` (audited, pure JS).
 *
 * Why not the `xsalsa20` package that `@libp2p/pnet` uses: it keeps every
 * cipher in one WebAssembly memory shared by the whole process; a cipher that
 * is not finalized keeps its slot for good, and once the memory has grown each
 * cipher holding a stale view grows it again on its next update, until
 * `Memory.grow()` throws and the process dies (a stranger's 5,000 handshakes
 * did it, issue 11). Here a cipher is an ordinary object: nothing to release,
 * nothing shared. The bytes are the same (test/security/protector.test.ts).
 *
 * noble offers XSalsa20 only as a one-shot function of (key, nonce, counter);
 * a stream needs the position kept between calls, so this keeps the subkey
 * (HSalsa20 of the key and the nonce's first 16 bytes, computed once) and a
 * small buffer of keystream for the pieces that do not end on a 64-byte block.
 */

import { hsalsa, salsa20 } from '@noble/ciphers/salsa.js'

/** Salsa20 works on 64-byte blocks. */
const BLOCK = 64
/** Keystream made ahead for small pieces: starts small (a stranger's handshake needs one block), doubles to this. */
const MAX_AHEAD = 4096
const FIRST_AHEAD = 256
/** noble's counter is 32 bits: 2^32 - 1 blocks (256 GiB) per direction and connection. */
const MAX_BLOCKS = 2 ** 32 - 1
const SIGMA = new Uint32Array(new Uint8Array(new TextEncoder().encode('expand 32-byte k')).buffer)
const ZEROS = new Uint8Array(MAX_AHEAD)

/** One direction of a connection carried more than XSalsa20's 32-bit block counter allows here (256 GiB). */
export class KeystreamExhaustedError extends Error {
  override name = 'KeystreamExhaustedError'
}

/** One direction of an XSalsa20 stream: `update` encrypts (or decrypts: the same XOR) the next bytes. */
export class XSalsa20Stream {
  private readonly subkey: Uint8Array
  private readonly nonceTail: Uint8Array
  /** Keystream made ahead; `ahead[aheadPos..aheadLen]` is still unused. Grows with use (a stranger's handshake needs little). */
  private ahead = new Uint8Array(FIRST_AHEAD)
  private ahead32 = new Uint32Array(this.ahead.buffer)
  private aheadPos = 0
  private aheadLen = 0
  private nextAhead = FIRST_AHEAD
  /** The next block of keystream not yet made. */
  private block = 0
  private destroyed = false

  constructor (nonce: Uint8Array, key: Uint8Array) {
    if (nonce.byteLength !== 24) throw new TypeError('XSalsa20 takes a 24-byte nonce')
    if (key.byteLength !== 32) throw new TypeError('XSalsa20 takes a 32-byte key')
    const key32 = new Uint32Array(8)
    new Uint8Array(key32.buffer).set(key)
    const nonce32 = new Uint32Array(4)
    new Uint8Array(nonce32.buffer).set(nonce.subarray(0, 16))
    const subkey32 = new Uint32Array(8)
    hsalsa(SIGMA, key32, nonce32, subkey32)
    key32.fill(0)
    this.subkey = new Uint8Array(subkey32.buffer)
    this.nonceTail = nonce.slice(16, 24)
  }

  /**
   * The next bytes of the stream XOR `input`, in a new array. `input` may be several
   * pieces (encrypted as their concatenation, into one output: what the protector
   * does with the writes of one turn).
   */
  update (input: Uint8Array | readonly Uint8Array[]): Uint8Array {
    if (this.destroyed) throw new Error('this XSalsa20 stream was destroyed')
    const pieces = input instanceof Uint8Array ? [input] : input
    let length = 0
    for (const piece of pieces) length += piece.byteLength
    // Lay the output out so that its bytes sit at the same offset modulo 4 as the
    // keystream they meet: then whole 32-bit words can be XORed.
    const shift = (this.aheadLen - this.aheadPos) > 0 ? this.aheadPos & 3 : 0
    const output = new Uint8Array(new ArrayBuffer(length + shift), shift, length)
    let offset = 0
    for (const piece of pieces) {
      output.set(piece, offset)
      offset += piece.byteLength
    }
    let done = 0
    while (done < length) {
      const left = length - done
      if (this.aheadPos < this.aheadLen) {
        const n = Math.min(left, this.aheadLen - this.aheadPos)
        this.xorAhead(output, done, n)
        done += n
      } else if (left >= MAX_AHEAD) {
        // Large pieces: straight from the cipher, in place (`output` is word-aligned here).
        const whole = left - (left % BLOCK)
        const piece = output.subarray(done, done + whole)
        salsa20(this.subkey, this.nonceTail, piece, piece, this.take(whole / BLOCK))
        done += whole
      } else {
        const size = this.nextAhead
        this.nextAhead = Math.min(MAX_AHEAD, size * 2)
        if (this.ahead.byteLength < size) {
          this.ahead = new Uint8Array(size)
          this.ahead32 = new Uint32Array(this.ahead.buffer)
        }
        salsa20(this.subkey, this.nonceTail, ZEROS.subarray(0, size), this.ahead.subarray(0, size), this.take(size / BLOCK))
        this.aheadPos = 0
        this.aheadLen = size
      }
    }
    return output
  }

  /** Wipes the key material; the stream cannot be used afterwards. */
  destroy (): void {
    this.destroyed = true
    this.subkey.fill(0)
    this.ahead.fill(0)
    this.aheadPos = this.aheadLen = 0
  }

  /** Reserves `blocks` blocks of keystream; returns the counter of the first. */
  private take (blocks: number): number {
    const first = this.block
    if (first + blocks > MAX_BLOCKS) throw new KeystreamExhaustedError('this connection carried 256 GiB in one direction: reconnect for fresh nonces')
    this.block += blocks
    return first
  }

  /** `output[at..at+n] ^= ahead[aheadPos..aheadPos+n]`, a word at a time where it can. */
  private xorAhead (output: Uint8Array, at: number, n: number): void {
    const ahead = this.ahead
    let pos = this.aheadPos
    let i = 0
    for (; i < n && (pos & 3) !== 0; i++, pos++) output[at + i] = (output[at + i] as number) ^ (ahead[pos] as number)
    const words = (n - i) >>> 2
    if (words > 0) {
      const out32 = new Uint32Array(output.buffer, output.byteOffset + at + i, words)
      const first = pos >>> 2
      for (let w = 0; w < words; w++) out32[w] = (out32[w] as number) ^ (this.ahead32[first + w] as number)
      i += words << 2
      pos += words << 2
    }
    for (; i < n; i++, pos++) output[at + i] = (output[at + i] as number) ^ (ahead[pos] as number)
    this.aheadPos = pos
  }
}
