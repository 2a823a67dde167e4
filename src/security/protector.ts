/**
 * The mesh-secret connection protector: libp2p's private-network encryption
 * (`@libp2p/pnet`, XSalsa20 keyed by the mesh secret, same bytes on the wire
 * so it interoperates with `preSharedKey`, but on a cipher that holds no
 * shared memory: see ./xsalsa20.ts), plus one thing pnet lacks: it tells
 * a wrong secret apart from a slow network, at once.
 *
 * With plain pnet a peer holding a different key decrypts garbage, the
 * encryption handshake waits for a length that never arrives, and the dial
 * fails only when the upgrade times out (~6 s measured), with no hint why.
 * Here the first bytes each side must receive after the nonce exchange are
 * known: every libp2p connection starts with the multistream-select header
 * `\x13/multistream/1.0.0\n`. When the decrypted bytes differ, the remote
 * uses another secret (or none): the connection is aborted immediately with a
 * {@link WrongSecretError} and the rejection is reported.
 */

import { byteStream, AbstractMultiaddrConnection } from '@libp2p/utils'
import { XSalsa20Stream } from './xsalsa20.ts'
import type { AbortOptions, ComponentLogger, ConnectionProtector, Logger, MessageStream, MultiaddrConnection } from '@libp2p/interface'
import type { SendResult } from '@libp2p/utils'
import type { MeshSecret } from './secret.ts'

/** Bytes of the nonce each side sends first (XSalsa20). */
const NONCE_LENGTH = 24
/** What every libp2p connection carries first: a varint length (19) and the multistream-select protocol line. */
const MSS_HEADER = new TextEncoder().encode('\x13/multistream/1.0.0\n')
/** The nonce exchange is one round trip; a peer that does not send 24 bytes this fast is not worth waiting for. */
const DEFAULT_NONCE_TIMEOUT_MS = 5_000

/** Socket errors that mean the remote hung up on us. */
const REMOTE_RESET_CODES = new Set(['ECONNRESET', 'EPIPE'])

/** Why a connection was refused by the protector. */
export type ProtectorRejection = 'wrong-secret' | 'no-secret'

export interface ProtectorRejectEvent {
  kind: ProtectorRejection
  /** The remote's multiaddr as seen on the socket (no peer ID: there is none yet). */
  address: string
  direction: 'inbound' | 'outbound'
  /** A sentence for the log and `status().rejected`. */
  reason: string
}

export interface MeshProtectorInit {
  secret: Pick<MeshSecret, 'psk' | 'meshId'>
  /** Called once per refused connection. */
  onReject?: (event: ProtectorRejectEvent) => void
  /** Bound on the nonce exchange when libp2p passes no signal. @default 5000 */
  nonceTimeoutMs?: number
}

export interface MeshProtectorComponents {
  logger: ComponentLogger
}

/** A connection refused because the remote holds a different mesh secret (or none). */
export class WrongSecretError extends Error {
  override name = 'WrongSecretError'
  readonly kind: ProtectorRejection
  constructor (kind: ProtectorRejection, message: string) {
    super(message)
    this.kind = kind
  }
}

/** `connectionProtector` for `createLibp2p`. */
export function meshProtector (init: MeshProtectorInit): (components: MeshProtectorComponents) => ConnectionProtector {
  return (components) => new MeshProtector(components, init)
}

class MeshProtector implements ConnectionProtector {
  readonly [Symbol.toStringTag] = 'clawmesh:protector'
  private readonly log: Logger
  private readonly init: MeshProtectorInit

  constructor (components: MeshProtectorComponents, init: MeshProtectorInit) {
    if (init.secret.psk.byteLength !== 32) throw new TypeError('the mesh secret must be 32 bytes')
    this.log = components.logger.forComponent('clawmesh:protector')
    this.init = init
  }

  async protect (connection: MessageStream, options?: AbortOptions): Promise<MessageStream> {
    const maConn = connection as MultiaddrConnection
    const log = maConn.log.newScope('clawmesh-pnet')
    const localNonce = crypto.getRandomValues(new Uint8Array(NONCE_LENGTH))
    const opts: AbortOptions = options?.signal != null ? options : { signal: AbortSignal.timeout(this.init.nonceTimeoutMs ?? DEFAULT_NONCE_TIMEOUT_MS) }
    const bytes = byteStream(maConn)
    const [received] = await Promise.all([
      bytes.read({ bytes: NONCE_LENGTH, ...opts }),
      bytes.write(localNonce, opts)
    ])
    const remoteNonce = received.subarray()
    log('exchanged nonces')
    const raw = bytes.unwrap()
    const address = raw.remoteAddr.toString()
    const direction = raw.direction

    // A peer without any key sends the multistream header in clear where we expect its nonce.
    if (startsWith(remoteNonce, MSS_HEADER)) {
      const err = this.reject('no-secret', address, direction)
      raw.abort(err)
      throw err
    }

    return new VerifyingBox({
      maConn: raw,
      localNonce,
      remoteNonce,
      psk: this.init.secret.psk,
      log,
      onMismatch: () => this.reject('wrong-secret', address, direction),
      onEarlyClose: () => { this.reject('closed-early', address, direction) }
    })
  }

  private reject (why: ProtectorRejection | 'closed-early', address: string, direction: 'inbound' | 'outbound'): WrongSecretError {
    const what = `${direction} connection ${direction === 'inbound' ? 'from' : 'to'} ${address}`
    const kind: ProtectorRejection = why === 'no-secret' ? 'no-secret' : 'wrong-secret'
    const reason = why === 'no-secret'
      ? `${what} refused: the remote uses no mesh secret (not a clawmesh Gateway, or one started without a secret)`
      : why === 'wrong-secret'
        ? `${what} refused: the remote uses a different mesh secret (it belongs to another mesh, or its secret was mistyped); this mesh is ${this.init.secret.meshId}`
        : `${what} failed: the remote hung up right after the private-network handshake, before sending one valid byte; it most likely holds a different mesh secret (this mesh is ${this.init.secret.meshId})`
    this.log.error('%s', reason)
    try {
      this.init.onReject?.({ kind, address, direction, reason })
    } catch (err) {
      this.log.error('onReject threw - %e', err)
    }
    return new WrongSecretError(kind, reason)
  }
}

interface VerifyingBoxInit {
  maConn: MultiaddrConnection
  localNonce: Uint8Array
  remoteNonce: Uint8Array
  psk: Uint8Array
  log: Logger
  onMismatch: () => Error
  /** The remote closed or reset the connection before its first bytes could be verified. */
  onEarlyClose: () => void
}

/** pnet's XSalsa20 box, checking the first decrypted bytes against the multistream header. */
class VerifyingBox extends AbstractMultiaddrConnection {
  private readonly maConn: MultiaddrConnection
  private readonly inboundXor: XSalsa20Stream
  private readonly outboundXor: XSalsa20Stream
  /** How many header bytes are still to be checked; 0 once verified. */
  private checked = 0
  private failed = false
  /** The transport closed: the ciphers are wiped. */
  private closed = false

  constructor (init: VerifyingBoxInit) {
    super({ log: init.log, remoteAddr: init.maConn.remoteAddr, direction: init.maConn.direction })
    this.maConn = init.maConn
    this.inboundXor = new XSalsa20Stream(init.remoteNonce, init.psk)
    this.outboundXor = new XSalsa20Stream(init.localNonce, init.psk)

    const receive = (chunk: Uint8Array): void => {
      if (this.failed || this.closed) return
      let plain: Uint8Array
      try {
        plain = this.inboundXor.update(chunk)
      } catch (err) {
        // Only after 256 GiB in one direction (KeystreamExhaustedError); a throw here would escape the event listener.
        this.failed = true
        this.abort(err as Error)
        return
      }
      if (this.checked < MSS_HEADER.byteLength) {
        const n = Math.min(plain.byteLength, MSS_HEADER.byteLength - this.checked)
        for (let i = 0; i < n; i++) {
          if (plain[i] !== MSS_HEADER[this.checked + i]) {
            this.failed = true
            this.abort(init.onMismatch())
            return
          }
        }
        this.checked += n
      }
      this.onData(plain)
    }
    this.maConn.addEventListener('message', (evt) => {
      const data = evt.data
      if (data instanceof Uint8Array) {
        receive(data)
      } else {
        for (const buf of data) receive(buf)
      }
    })
    this.maConn.addEventListener('drain', () => { this.onMuxerDrain() })
    this.maConn.addEventListener('close', (evt) => {
      // Nothing more comes in or goes out: wipe the keys (the ciphers hold nothing else).
      this.closed = true
      this.inboundXor.destroy()
      this.outboundXor.destroy()
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

  async sendClose (options?: AbortOptions): Promise<void> {
    await this.maConn.close(options)
  }

  sendData (data: { byteLength: number, subarray: () => Uint8Array }): SendResult {
    if (this.closed) throw new Error('the connection is closed')
    return {
      sentBytes: data.byteLength,
      canSendMore: this.maConn.send(this.outboundXor.update(data.subarray()))
    }
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

function startsWith (bytes: Uint8Array, prefix: Uint8Array): boolean {
  if (bytes.byteLength < prefix.byteLength) return false
  for (let i = 0; i < prefix.byteLength; i++) if (bytes[i] !== prefix[i]) return false
  return true
}
