/**
 * The mesh-secret connection protector: libp2p's private-network encryption
 * (`@libp2p/pnet`, XSalsa20 keyed by the mesh secret, same bytes on the wire
 * so it interoperates with `preSharedKey`, but on a cipher that holds no
 * shared memory: see ./xsalsa20.ts), plus two things pnet lacks: it tells
 * a wrong secret apart from a slow network, at once, and it accepts a
 * keyring (several keys; see ./keyring.ts and ./verifying-box.ts), telling
 * which key each connection runs on ({@link connectionKey}).
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

import { byteStream } from '@libp2p/utils'
import { MSS_HEADER, VerifyingBox } from './verifying-box.ts'
import type { AbortOptions, ComponentLogger, ConnectionProtector, Logger, MessageStream, MultiaddrConnection } from '@libp2p/interface'

/** Bytes of the nonce each side sends first (XSalsa20). */
const NONCE_LENGTH = 24
/** The nonce exchange is one round trip; a peer that does not send 24 bytes this fast is not worth waiting for. */
const DEFAULT_NONCE_TIMEOUT_MS = 5_000
/** libp2p's default inbound upgrade timeout: a stranger gets no longer than before ours was raised. */
export const DEFAULT_PROOF_TIMEOUT_MS = 10_000

/** A key the protector runs on: the 32 key bytes, the public mesh ID, and optionally a label and an expiry (see `MeshKey`). */
export interface ProtectorKey {
  psk: Uint8Array
  meshId: string
  /** @default the mesh ID */
  label?: string
  /** Inbound connections on this key are refused from then on (ms since the epoch). */
  expiresAt?: number
}

/** Which key a connection runs on: what the connection gater and services read to restrict a connection (e.g. an invite's). */
export interface ConnectionKey {
  label: string
  meshId: string
  /** Whether it is this Gateway's primary key. */
  primary: boolean
  expiresAt?: number
}

/** Why a connection was refused by the protector. */
export type ProtectorRejection = 'wrong-secret' | 'no-secret' | 'expired-key'

export interface ProtectorRejectEvent {
  kind: ProtectorRejection
  /** The remote's multiaddr as seen on the socket (no peer ID: there is none yet). */
  address: string
  direction: 'inbound' | 'outbound'
  /** A sentence for the log and `status().rejected`. */
  reason: string
}

export interface MeshProtectorInit {
  /** The primary key: it encrypts every connection we dial. */
  secret: ProtectorKey
  /** More keys accepted on connections we receive (the primary always is). */
  accept?: ProtectorKey[]
  /** Keys accepted on top while they are listed, asked at each connection we receive (invites add and drop theirs). */
  more?: () => ProtectorKey[]
  /** Called once per refused connection. */
  onReject?: (event: ProtectorRejectEvent) => void
  /**
   * Called when a connection we received has proven a key we accept (its first
   * bytes decrypted to the multistream header), with the raw connection: the
   * inbound limiter stops counting it then, not after Noise, so a member that
   * hangs up right after its dial resolved is never taken for a stranger.
   */
  onProven?: (maConn: MultiaddrConnection) => void
  /** Bound on the nonce exchange when libp2p passes no signal. @default 5000 */
  nonceTimeoutMs?: number
  /**
   * How long a connection we receive has to prove a key we accept (its nonce, then its first bytes), whatever
   * libp2p's own upgrade timeout: that one is long enough for an overloaded member's Noise handshake (mesh.ts),
   * and a stranger must not hold a pending slot that long. @default {@link DEFAULT_PROOF_TIMEOUT_MS}
   */
  proofTimeoutMs?: number
  /** The clock that keys expire by (tests). @default Date.now */
  now?: () => number
}

export interface MeshProtectorComponents {
  logger: ComponentLogger
}

/** A connection refused because the remote holds a different mesh secret (or none, or an expired key). */
export class WrongSecretError extends Error {
  override name = 'WrongSecretError'
  readonly kind: ProtectorRejection
  constructor (kind: ProtectorRejection, message: string) {
    super(message)
    this.kind = kind
  }
}

/**
 * Keys of the connections our protectors let through, by the raw connection's
 * `timeline` object, which libp2p's `Connection` shares (`connection.timeline`):
 * a public handle on both, collected with the connection.
 */
const keysByConnection = new WeakMap<object, ConnectionKey>()

/**
 * The key a connection runs on, or undefined for one that no mesh protector
 * handled (or that has not finished its handshake). Takes libp2p's `Connection`
 * (in a service or `connection:open`) or the raw `MultiaddrConnection` (in a
 * connection gater).
 */
export function connectionKey (connection: { timeline: object }): ConnectionKey | undefined {
  const key = keysByConnection.get(connection.timeline)
  return key === undefined ? undefined : { ...key }
}

/** `connectionProtector` for `createLibp2p`. */
export function meshProtector (init: MeshProtectorInit): (components: MeshProtectorComponents) => ConnectionProtector {
  return (components) => new MeshProtector(components, init)
}

type Key = Required<Pick<ProtectorKey, 'psk' | 'meshId' | 'label'>> & ConnectionKey

function toKey (k: ProtectorKey, primary: boolean): Key {
  if (k.psk.byteLength !== 32) throw new TypeError('a mesh key must be 32 bytes')
  return { psk: k.psk, meshId: k.meshId, label: k.label ?? k.meshId, primary, ...(k.expiresAt !== undefined ? { expiresAt: k.expiresAt } : {}) }
}

class MeshProtector implements ConnectionProtector {
  readonly [Symbol.toStringTag] = 'clawmesh:protector'
  private readonly log: Logger
  private readonly init: MeshProtectorInit
  private readonly primary: Key
  /** Every key accepted inbound, the primary first. */
  private readonly accepted: Key[]

  constructor (components: MeshProtectorComponents, init: MeshProtectorInit) {
    this.log = components.logger.forComponent('clawmesh:protector')
    this.init = init
    this.primary = toKey(init.secret, true)
    this.accepted = [this.primary]
    for (const k of init.accept ?? []) {
      if (!this.accepted.some(a => a.meshId === k.meshId)) this.accepted.push(toKey(k, false))
    }
  }

  /** The keys a dialer may use now: the ring's, and those listed by `more` at this moment. */
  private acceptedNow (): Key[] {
    const more = this.init.more?.() ?? []
    if (more.length === 0) return this.accepted
    return [...this.accepted, ...more.filter(k => !this.accepted.some(a => a.meshId === k.meshId)).map(k => toKey(k, false))]
  }

  async protect (connection: MessageStream, options?: AbortOptions): Promise<MessageStream> {
    const maConn = connection as MultiaddrConnection
    const log = maConn.log.newScope('clawmesh-pnet')
    const localNonce = crypto.getRandomValues(new Uint8Array(NONCE_LENGTH))
    const address = maConn.remoteAddr.toString()
    const direction = maConn.direction
    // A connection we receive must prove a key in time, nonce included (see `proofTimeoutMs`).
    let proofTimer: ReturnType<typeof setTimeout> | undefined
    if (direction === 'inbound') {
      proofTimer = setTimeout(() => { maConn.abort(this.reject('silent', address, direction)) }, this.init.proofTimeoutMs ?? DEFAULT_PROOF_TIMEOUT_MS)
      proofTimer.unref?.()
      maConn.addEventListener('close', () => { clearTimeout(proofTimer) }, { once: true })
    }
    const opts: AbortOptions = options?.signal != null ? options : { signal: AbortSignal.timeout(this.init.nonceTimeoutMs ?? DEFAULT_NONCE_TIMEOUT_MS) }
    const bytes = byteStream(maConn)
    const [received] = await Promise.all([
      bytes.read({ bytes: NONCE_LENGTH, ...opts }),
      bytes.write(localNonce, opts)
    ])
    const remoteNonce = received.subarray()
    log('exchanged nonces')
    // The same connection, with what the byte reader held past the nonce handed back to it.
    const raw = bytes.unwrap()

    // A peer without any key sends the multistream header in clear where we expect its nonce.
    if (startsWith(remoteNonce, MSS_HEADER)) {
      const err = this.reject('no-secret', address, direction)
      raw.abort(err)
      throw err
    }

    return new VerifyingBox<Key>({
      maConn: raw,
      localNonce,
      remoteNonce,
      // We dial on our primary; a dialer may use any key we accept (expired ones too, to say so).
      keys: direction === 'outbound' ? [this.primary] : this.acceptedNow(),
      log,
      onVerified: (key) => {
        clearTimeout(proofTimer)
        if (direction === 'inbound' && key.expiresAt !== undefined && key.expiresAt <= (this.init.now ?? Date.now)()) {
          return this.reject('expired-key', address, direction, key)
        }
        const { label, meshId, primary, expiresAt } = key
        keysByConnection.set(raw.timeline, { label, meshId, primary, ...(expiresAt !== undefined ? { expiresAt } : {}) })
        log('the remote uses the key %s (mesh %s)', label, meshId)
        if (direction === 'inbound') this.init.onProven?.(raw)
        return undefined
      },
      onMismatch: () => this.reject('wrong-secret', address, direction),
      onEarlyClose: () => { this.reject('closed-early', address, direction) }
    })
  }

  private reject (why: ProtectorRejection | 'closed-early' | 'silent', address: string, direction: 'inbound' | 'outbound', key?: Key): WrongSecretError {
    const what = `${direction} connection ${direction === 'inbound' ? 'from' : 'to'} ${address}`
    const ours = direction === 'inbound' && this.accepted.length > 1
      ? `this Gateway accepts the keys of meshes ${this.accepted.map(k => k.meshId).join(', ')}`
      : `this mesh is ${this.primary.meshId}`
    const kind: ProtectorRejection = why === 'closed-early' || why === 'silent' ? 'wrong-secret' : why
    const reasons: Record<typeof why, () => string> = {
      'no-secret': () => `${what} refused: the remote uses no mesh secret (not a clawmesh Gateway, or one started without a secret)`,
      'wrong-secret': () => `${what} refused: the remote uses a different mesh secret (it belongs to another mesh, or its secret was mistyped); ${ours}`,
      'expired-key': () => `${what} refused: the remote uses the key "${key?.label ?? '?'}", which expired at ${new Date(key?.expiresAt ?? 0).toISOString()}`,
      'closed-early': () => `${what} failed: the remote hung up right after the private-network handshake, before sending one valid byte; it most likely holds a different mesh secret (${ours})`,
      silent: () => `${what} refused: the remote sent nothing valid within ${(this.init.proofTimeoutMs ?? DEFAULT_PROOF_TIMEOUT_MS) / 1000} s of connecting`
    }
    const reason = reasons[why]()
    this.log.error('%s', reason)
    try {
      this.init.onReject?.({ kind, address, direction, reason })
    } catch (err) {
      this.log.error('onReject threw - %e', err)
    }
    return new WrongSecretError(kind, reason)
  }
}

function startsWith (bytes: Uint8Array, prefix: Uint8Array): boolean {
  if (bytes.byteLength < prefix.byteLength) return false
  for (let i = 0; i < prefix.byteLength; i++) if (bytes[i] !== prefix[i]) return false
  return true
}
