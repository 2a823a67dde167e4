/**
 * The life of a send: validate → resolve → connect → request → retry → `SendResult`.
 *
 * The router reaches the registry only through the owner directory, the owner
 * only through the connector and the delivery client, and the local session
 * through the deliver handler: a send never climbs back up into the service.
 *
 * Every send has one deadline (`timeoutMs`, capped at the dedup window) that
 * also fires on the caller's signal and on stop. A stream that breaks before
 * the final answer is retried with the same message ID (the owner's dedup
 * makes that safe) after a backoff, at most MAX_DELIVERY_ATTEMPTS times; a
 * channel torn down twice by an oversized answer is `TOO_LARGE`. A request that
 * never left (no connection in time: `NotConnected`) is tried again until the
 * deadline, unless the owner leaves or our own evidence says it is down.
 */
import { randomUUID } from 'node:crypto'
import { peerIdFromString } from '@libp2p/peer-id'
import { raceSignal } from 'race-signal'
import { DEDUP_WINDOW_MS, MAX_DELIVERY_ATTEMPTS } from '../constants.ts'
import { abortError, MeshError } from '../errors.ts'
import { displayName, type GatewayRecord, type OwnerDirectory } from '../routing/directory.ts'
import { backoffDelay } from '../util/backoff.ts'
import { deadlineSignal, type StartTimer } from '../util/deadline-signal.ts'
import { ChannelLost, NotConnected, type Answered, type DeliveryClient } from './client.ts'
import { unreachable, type Connector } from './connector.ts'
import type { DeliveryMetrics } from './metrics.ts'
import type { DeliverHandler, Resolution, ResolveOptions, SendOptions, SendOutcome, SendResult } from '../types.ts'
import type { Logger, PeerId } from '@libp2p/interface'

/** Resend delays after a broken stream: quick at first, never long. */
const RETRY_BACKOFF = { minMs: 25, maxMs: 500 }
/** Redial delays when no connection could be made: an overloaded owner is not dialled in a tight loop. */
const CONNECT_BACKOFF = { minMs: 100, maxMs: 2_000 }

export interface RouterInit {
  /** Our mesh name, as local deliveries show it. */
  name: string
  directory: OwnerDirectory
  client: Pick<DeliveryClient, 'request'>
  connector: Pick<Connector, 'ensureConnected' | 'shouldTry' | 'hold' | 'silentOwnerWaitMs'>
  resolve: (target: string, options: ResolveOptions) => Resolution
  /** The local deliver handler, looked up per send. */
  handler: () => DeliverHandler | undefined
  maxMessageBytes: number
  defaultTimeoutMs: number
  log: Logger
  metrics?: DeliveryMetrics
  /** Every send is aborted (`STOPPED`) when this fires. */
  stopSignal: AbortSignal
  /** A send finished (the `send:done` event). */
  onDone: (outcome: SendOutcome, ok: boolean) => void
  /** Starts each send's deadline timer. @default setTimeout (tests pass a fake clock's) */
  timer?: StartTimer
  /** @default a timer that honours the signal */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>
  /** @default Date.now */
  now?: () => number
}

/** One send's deadline: a signal, and when it fires. */
interface Deadline {
  signal: AbortSignal
  at: number
  remaining: () => number
}

export class Router {
  private readonly init: RouterInit
  private readonly now: () => number
  private readonly sleep: (ms: number, signal: AbortSignal) => Promise<void>
  /** Parsed peer IDs (base58 + multihash is not free on the send path). */
  private readonly peerIds = new Map<string, PeerId>()

  constructor (init: RouterInit) {
    this.init = init
    this.now = init.now ?? Date.now
    this.sleep = init.sleep ?? sleep
  }

  async send (target: string, message: string, options: SendOptions = {}): Promise<SendResult> {
    if (typeof message !== 'string') throw new MeshError('BAD_REQUEST', 'message must be a string')
    const size = Buffer.byteLength(message)
    if (size > this.init.maxMessageBytes) {
      throw new MeshError('TOO_LARGE', `message is ${size} bytes; this Gateway sends at most ${this.init.maxMessageBytes}`, { hint: { kind: 'raise-limit', option: 'maxMessageBytes', limit: this.init.maxMessageBytes } })
    }
    if (this.init.stopSignal.aborted) throw new MeshError('STOPPED', 'the mesh is not running')
    const requested = options.timeoutMs ?? this.init.defaultTimeoutMs
    if (!Number.isFinite(requested) || requested <= 0) throw new MeshError('BAD_REQUEST', 'timeoutMs must be a positive number')
    // A sender may wait no longer than receivers remember the message: past it a retry could deliver twice.
    const timeoutMs = Math.min(requested, DEDUP_WINDOW_MS)
    const messageId = options.messageId ?? randomUUID()
    options = { ...options, onAccepted: once(options.onAccepted) }
    const started = performance.now()
    const at = this.now() + timeoutMs
    const sendSignal = deadlineSignal(timeoutMs, [options.signal, this.init.stopSignal], this.init.timer)
    const signal = sendSignal.signal
    const deadline: Deadline = { signal, at, remaining: () => Math.max(0, at - this.now()) }
    let owner: string | undefined
    try {
      const to = this.init.resolve(target, {
        ...(options.targetGateway !== undefined ? { targetGateway: options.targetGateway } : {}),
        ...(options.localFirst !== undefined ? { localFirst: options.localFirst } : {})
      })
      owner = to.owner.name
      this.init.log.trace('send %s to %s resolved to %s (%s)', messageId, target, to.qualifiedKey, to.via)
      const answer = to.owner.self
        ? await this.deliverLocally(to, message, messageId, options, deadline)
        : await this.deliverRemotely(to, message, messageId, options, deadline)
      this.done(target, answer.status, started, owner)
      return {
        ...answer,
        owner: to.owner,
        sessionKey: to.sessionKey,
        ...(to.sessionId !== undefined ? { sessionId: to.sessionId } : {}),
        qualifiedKey: to.qualifiedKey,
        messageId
      }
    } catch (err) {
      // Past the deadline (or the caller's abort) the signal says what happened, unless the error already does.
      const aborted = signal.aborted ? abortError(signal, `send to ${target}`) : undefined
      const error = aborted !== undefined && !(err instanceof MeshError && (err.remote || err.code === aborted.code)) ? aborted : err
      this.done(target, error instanceof MeshError ? error.code : 'REMOTE_ERROR', started, owner)
      throw error
    } finally {
      sendSignal.clear()
    }
  }

  private done (target: string, outcome: SendOutcome['outcome'], started: number, owner: string | undefined): void {
    const durationMs = performance.now() - started
    this.init.metrics?.sent(outcome, durationMs)
    this.init.onDone({ target, outcome, durationMs, ...(owner !== undefined ? { owner } : {}) }, outcome === 'ok' || outcome === 'accepted')
  }

  /** Our own session: the handler directly, with the same contract as a remote owner's. */
  private async deliverLocally (to: Resolution, text: string, id: string, options: SendOptions, deadline: Deadline): Promise<Answered> {
    const handler = this.init.handler()
    if (handler === undefined) throw new MeshError('NOT_FOUND', 'this Gateway has no deliver handler')
    const wait = options.waitForReply ?? true
    const taken = Promise.withResolvers<void>()
    const peerId = this.init.directory.selfId
    const delivered = handler({
      id,
      idempotencyKey: `${peerId}/${id}`,
      from: { gateway: this.init.name, peerId, ...(options.fromSessionKey !== undefined ? { sessionKey: options.fromSessionKey } : {}) },
      sessionKey: to.sessionKey,
      ...(to.sessionId !== undefined ? { sessionId: to.sessionId } : {}),
      text,
      ...(options.meta !== undefined ? { meta: options.meta } : {}),
      waitForReply: wait,
      deadline: deadline.at
    }, { signal: deadline.signal, accept: taken.resolve })
    void Promise.race([taken.promise, delivered]).then(() => { options.onAccepted?.() }, () => {})
    const what = { translateError: (s: AbortSignal) => abortError(s, `send to ${to.qualifiedKey}`) }
    if (!wait) {
      delivered.catch(err => { this.init.log('local delivery of %s failed - %e', id, err) })
      // Accepted once the handler has taken it: it said so, or returned.
      await raceSignal(Promise.race([taken.promise, delivered.then(() => undefined)]), deadline.signal, what)
      return { status: 'accepted' }
    }
    const result = await raceSignal(delivered, deadline.signal, what)
    return result?.reply !== undefined ? { status: 'ok', reply: result.reply } : { status: 'ok' }
  }

  private async deliverRemotely (to: Resolution, text: string, id: string, options: SendOptions, deadline: Deadline): Promise<Answered> {
    const owner = this.init.directory.gateway(to.owner.peerId) as GatewayRecord
    const name = displayName(owner)
    const size = Buffer.byteLength(text)
    if (size > owner.maxMessageBytes) {
      throw new MeshError('TOO_LARGE', `message is ${size} bytes; Gateway ${name} accepts at most ${owner.maxMessageBytes}`, { gateway: name, hint: { kind: 'raise-limit', option: 'maxMessageBytes', limit: owner.maxMessageBytes, gateway: name } })
    }
    const peer = this.peerIdOf(owner.peerId)
    // Unreachable by our own evidence (or it said goodbye): fail fast. Only hearsay: try it ourselves.
    if (!this.init.connector.shouldTry(owner, peer)) throw unreachable(owner)
    const release = this.init.connector.hold(owner.peerId)
    try {
      const waitMs = this.init.connector.silentOwnerWaitMs(owner, peer)
      if (waitMs === undefined || waitMs >= deadline.remaining()) return await this.attempts(to, owner, peer, text, id, options, deadline)
      // Down by our own evidence with its connection open: answer UNREACHABLE once a dial's time has
      // passed, rather than TIMEOUT at the deadline (a partition). The receiver drops it past this ttl.
      const at = this.now() + waitMs
      const short = deadlineSignal(waitMs, [deadline.signal], this.init.timer)
      try {
        return await this.attempts(to, owner, peer, text, id, options, { signal: short.signal, at, remaining: () => Math.max(0, at - this.now()) })
      } catch (err) {
        if (short.signal.aborted && !deadline.signal.aborted) throw unreachable(owner, err)
        throw err
      } finally {
        short.clear()
      }
    } finally {
      release()
    }
  }

  private async attempts (to: Resolution, owner: GatewayRecord, peer: PeerId, text: string, id: string, options: SendOptions, deadline: Deadline): Promise<Answered> {
    const name = displayName(owner)
    let oversized = 0
    let broken = 0
    let unconnected = 0
    let lastUnconnected: NotConnected | undefined
    for (;;) {
      try {
        await this.init.connector.ensureConnected(owner, peer, deadline.signal)
        // Connected: a deadline from here on is an owner that did not answer, not one we could not reach.
        lastUnconnected = undefined
        return await this.init.client.request(peer, {
          id,
          to: to.sessionKey,
          text,
          wait: options.waitForReply ?? true,
          ttlMs: deadline.remaining(),
          maxReplyBytes: this.init.maxMessageBytes,
          ...(options.fromSessionKey !== undefined ? { fromSessionKey: options.fromSessionKey } : {}),
          ...(options.meta !== undefined ? { meta: options.meta } : {})
        }, deadline.signal, options.onAccepted)
      } catch (err) {
        if (err instanceof NotConnected) lastUnconnected = err
        if (deadline.signal.aborted) {
          const timedOut = abortError(deadline.signal, `send to ${to.qualifiedKey}`)
          // Say why when it is known: the owner could not be connected to (the last dial's error is the cause).
          if (timedOut.code !== 'TIMEOUT' || lastUnconnected === undefined) throw timedOut
          throw new MeshError('TIMEOUT', `${timedOut.summary}: no connection to Gateway ${name} could be made`, { gateway: name, cause: lastUnconnected })
        }
        if (err instanceof MeshError) throw err.remote ? new MeshError(err.code, err.summary, { remote: true, gateway: name, cause: err, ...(err.hint !== undefined ? { hint: err.hint } : {}) }) : err
        if (!(err instanceof ChannelLost)) throw unreachable(owner, err)
        if (err.oversized && ++oversized >= 2) {
          throw new MeshError('TOO_LARGE', `Gateway ${name} answered with a frame larger than this Gateway takes (its reply is over ${this.init.maxMessageBytes} bytes)`, { gateway: name, remote: true, cause: err, hint: { kind: 'raise-limit', option: 'maxMessageBytes', limit: this.init.maxMessageBytes } })
        }
        const now = this.init.directory.gateway(owner.peerId)
        if (now === undefined || now.departed) throw unreachable(now ?? owner, err)
        if (err instanceof NotConnected) {
          // Nothing left: an owner we could not connect to in time (overloaded, restarting, its connection hung up
          // while it stalled) is dialled again until the deadline. A definite answer ends it at once: a refused
          // dial is UNREACHABLE from the connector, a goodbye is `departed` above.
          this.init.log('send %s to %s: no connection (%d), dialling again', id, name, ++unconnected)
          await this.sleep(backoffDelay(unconnected, CONNECT_BACKOFF), deadline.signal).catch(() => {})
          continue
        }
        if (++broken >= MAX_DELIVERY_ATTEMPTS) throw unreachable(now, err)
        // The stream broke before the final answer: send again with the same ID (never delivered twice).
        this.init.log('send %s to %s lost its stream (attempt %d), retrying', id, name, broken)
        await this.sleep(backoffDelay(broken, RETRY_BACKOFF), deadline.signal).catch(() => {})
      }
    }
  }

  private peerIdOf (id: string): PeerId {
    let peer = this.peerIds.get(id)
    if (peer === undefined) {
      peer = peerIdFromString(id)
      if (this.peerIds.size > 10_000) this.peerIds.clear()
      this.peerIds.set(id, peer)
    }
    return peer
  }
}

/** At most one call, never throwing into the delivery read loop: a retried request reports acceptance once. */
function once (fn: (() => void) | undefined): (() => void) | undefined {
  if (fn === undefined) return undefined
  let called = false
  return () => {
    if (called) return
    called = true
    try {
      fn()
    } catch {
      // The caller's callback: its failure is the caller's, not the send's.
    }
  }
}

async function sleep (ms: number, signal: AbortSignal): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, ms)
    signal.addEventListener('abort', () => { clearTimeout(timer); reject(signal.reason) }, { once: true })
  })
}
