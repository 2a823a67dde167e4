/**
 * pnet's XSalsa20 box around one raw connection, which also finds out which
 * key of the ring the remote uses and checks that it uses one at all.
 *
 * Every libp2p connection starts with the multistream-select header
 * `\x13/multistream/1.0.0\n`, so the first bytes each side receives after the
 * nonce exchange are known. The dialer encrypts with its primary key; the
 * listener decrypts those first bytes with each key it accepts (a trial per
 * key), keeps the one that yields the header and answers on it. A connection
 * therefore runs on one key both ways, the dialer's. Nothing the listener has
 * to send before it knows the key is lost: it waits (multistream-select has the
 * listener speak second, so normally nothing waits).
 *
 * It is also where a connection's writes meet the socket, and it coalesces them:
 * what the layers above hand over while the current I/O callbacks run (a data
 * frame, yamux's window update for the frame just received, frames of other
 * streams) is encrypted as one piece and written in one `socket.write` when they
 * are done (`setImmediate`), instead of one system call each. XSalsa20 is a
 * stream cipher, so the bytes on the wire are the same either way. Past
 * FLUSH_AT_BYTES queued, they are written at once (bulk transfers gain nothing
 * from waiting), and back-pressure is the socket's: once a write finds its
 * buffer full, `sendData` says so until it drains.
 */

import { AbstractMultiaddrConnection } from '@libp2p/utils'
import { XSalsa20Stream } from './xsalsa20.ts'
import type { AbortOptions, Logger, MultiaddrConnection } from '@libp2p/interface'
import type { SendResult } from '@libp2p/utils'

/** What every libp2p connection carries first: a varint length (19) and the multistream-select protocol line. */
export const MSS_HEADER = new TextEncoder().encode('\x13/multistream/1.0.0\n')
/** Socket errors that mean the remote hung up on us. */
const REMOTE_RESET_CODES = new Set(['ECONNRESET', 'EPIPE'])
/** What the listener holds back until it knows the key (it normally holds nothing). */
const MAX_HELD_BACK_BYTES = 64 * 1024
/** Queued plaintext past which it is written at once rather than at the end of the turn. */
const FLUSH_AT_BYTES = 64 * 1024

/** A key the box may run on. */
export interface BoxKey {
  psk: Uint8Array
  meshId: string
}

export interface VerifyingBoxInit<K extends BoxKey> {
  maConn: MultiaddrConnection
  localNonce: Uint8Array
  remoteNonce: Uint8Array
  /** The keys the remote may use: one when we dialed (our primary), every accepted key when it did. */
  keys: K[]
  log: Logger
  /** The remote's header checked out on `key`: return an error to refuse it anyway (an expired key). */
  onVerified: (key: K) => Error | undefined
  /** No key yields the header: the remote holds another secret. */
  onMismatch: () => Error
  /** The remote closed or reset the connection before its first bytes could be verified. */
  onEarlyClose: () => void
}

interface Trial<K> {
  key: K
  inbound: XSalsa20Stream
  /** Plaintext decrypted on this key, held until the key is known. */
  held: Uint8Array[]
}

export class VerifyingBox<K extends BoxKey> extends AbstractMultiaddrConnection {
  private readonly maConn: MultiaddrConnection
  private readonly init: VerifyingBoxInit<K>
  /** Keys still possible; one once the key is known. */
  private trials: Array<Trial<K>>
  private outbound?: XSalsa20Stream
  /** What we were asked to send before the key was known. */
  private heldBack: Uint8Array[] = []
  private heldBackBytes = 0
  /** How many header bytes have been checked (MSS_HEADER.byteLength once verified). */
  private checked = 0
  private failed = false
  /** The transport closed: the ciphers are wiped. */
  private closed = false
  /** Plaintext to encrypt and write at the end of this turn. */
  private queued: Uint8Array[] = []
  private queuedBytes = 0
  private flushScheduled = false
  /** The socket's last write found its buffer full: no more until it drains. */
  private socketFull = false
  private readonly flushSoon = (): void => {
    this.flushScheduled = false
    this.flush()
  }

  constructor (init: VerifyingBoxInit<K>) {
    super({ log: init.log, remoteAddr: init.maConn.remoteAddr, direction: init.maConn.direction })
    this.maConn = init.maConn
    this.init = init
    this.trials = init.keys.map(key => ({ key, inbound: new XSalsa20Stream(init.remoteNonce, key.psk), held: [] }))
    if (this.trials.length === 1) this.outbound = new XSalsa20Stream(init.localNonce, (this.trials[0] as Trial<K>).key.psk)

    this.maConn.addEventListener('message', (evt) => {
      const data = evt.data
      if (data instanceof Uint8Array) {
        this.receive(data)
      } else {
        for (const buf of data) this.receive(buf)
      }
    })
    this.maConn.addEventListener('drain', () => {
      this.socketFull = false
      this.onMuxerDrain()
    })
    this.maConn.addEventListener('close', (evt) => {
      // Nothing more comes in or goes out: wipe the keys (the ciphers hold nothing else).
      this.closed = true
      this.queued = []
      this.queuedBytes = 0
      for (const trial of this.trials) trial.inbound.destroy()
      this.outbound?.destroy()
      // A TCP reset by the remote surfaces as a local abort carrying ECONNRESET.
      const byRemote = !evt.local || REMOTE_RESET_CODES.has((evt.error as NodeJS.ErrnoException | undefined)?.code ?? '')
      if (!this.failed && byRemote && this.checked < MSS_HEADER.byteLength) {
        this.failed = true
        init.onEarlyClose()
      }
      if (evt.error != null) {
        if (evt.local) this.abort(evt.error)
        else this.onRemoteReset()
      } else {
        this.onTransportClosed()
      }
    })
  }

  private receive (chunk: Uint8Array): void {
    if (this.failed || this.closed) return
    if (this.checked === MSS_HEADER.byteLength) {
      // Verified: the one remaining key decrypts everything from now on.
      let plain: Uint8Array
      try {
        plain = (this.trials[0] as Trial<K>).inbound.update(chunk)
      } catch (err) {
        // Only after 256 GiB in one direction (KeystreamExhaustedError); a throw here would escape the event listener.
        this.fail(err as Error)
        return
      }
      this.onData(plain)
      return
    }
    const header = Math.min(chunk.byteLength, MSS_HEADER.byteLength - this.checked)
    const survivors: Array<Trial<K>> = []
    for (const trial of this.trials) {
      const plain = trial.inbound.update(chunk)
      if (matchesHeader(plain, this.checked, header)) {
        trial.held.push(plain)
        survivors.push(trial)
      } else {
        trial.inbound.destroy()
      }
    }
    this.trials = survivors
    this.checked += header
    if (survivors.length === 0) {
      this.fail(this.init.onMismatch())
      return
    }
    // Two keys that agree on every byte of the header are one key (the ring has no duplicates).
    if (survivors.length > 1 && this.checked < MSS_HEADER.byteLength) return
    this.trials = survivors.slice(0, 1)
    const chosen = this.trials[0] as Trial<K>
    if (this.outbound === undefined) this.startSending(chosen.key)
    if (header > 0 && this.checked === MSS_HEADER.byteLength) {
      const refusal = this.init.onVerified(chosen.key)
      if (refusal !== undefined) {
        this.fail(refusal)
        return
      }
    }
    for (const plain of chosen.held) this.onData(plain)
    chosen.held = []
  }

  /** The key is known: encrypt on it from now on, starting with what was held back. */
  private startSending (key: K): void {
    this.outbound = new XSalsa20Stream(this.init.localNonce, key.psk)
    for (const data of this.heldBack) this.enqueue(data)
    this.heldBack = []
    this.heldBackBytes = 0
  }

  private enqueue (data: Uint8Array): void {
    this.queued.push(data)
    this.queuedBytes += data.byteLength
    if (this.queuedBytes >= FLUSH_AT_BYTES) {
      this.flush()
    } else if (!this.flushScheduled) {
      this.flushScheduled = true
      setImmediate(this.flushSoon)
    }
  }

  /** Encrypts what is queued, as one piece, and writes it. */
  private flush (): void {
    if (this.queuedBytes === 0 || this.outbound === undefined || this.closed || this.failed) return
    const pieces = this.queued
    this.queued = []
    this.queuedBytes = 0
    try {
      if (!this.maConn.send(this.outbound.update(pieces))) this.socketFull = true
    } catch (err) {
      // The socket closed under us (its 'close' follows), or the keystream ran out (256 GiB).
      this.fail(err as Error)
    }
  }

  private fail (err: Error): void {
    this.failed = true
    this.abort(err)
  }

  async sendClose (options?: AbortOptions): Promise<void> {
    this.flush()
    await this.maConn.close(options)
  }

  sendData (data: { byteLength: number, subarray: () => Uint8Array } & Iterable<Uint8Array>): SendResult {
    if (this.closed || this.failed) return { sentBytes: data.byteLength, canSendMore: false }
    if (this.outbound === undefined) {
      this.heldBackBytes += data.byteLength
      if (this.heldBackBytes > MAX_HELD_BACK_BYTES) {
        this.fail(new Error('too much to send before the remote has said which key it uses'))
        return { sentBytes: data.byteLength, canSendMore: false }
      }
      this.heldBack.push(data.subarray().slice())
      return { sentBytes: data.byteLength, canSendMore: true }
    }
    for (const buf of data) this.enqueue(buf)
    return { sentBytes: data.byteLength, canSendMore: !this.socketFull && !this.closed && !this.failed }
  }

  sendReset (err: Error): void {
    this.maConn.abort(err)
  }

  sendPause (): void {
    this.maConn.pause()
  }

  sendResume (): void {
    this.maConn.resume()
  }
}

/** Whether `plain[0..n]` equals the header from byte `from` on. */
function matchesHeader (plain: Uint8Array, from: number, n: number): boolean {
  for (let i = 0; i < n; i++) if (plain[i] !== MSS_HEADER[from + i]) return false
  return true
}
