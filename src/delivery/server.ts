/**
 * The receiving side of delivery: reads requests from a sender's deliver
 * stream, checks exposure and policy, deduplicates by (sender, message ID),
 * hands the message to the local `deliver` handler, and answers: `ACCEPTED`
 * once the handler has taken the message, then `OK` or an error.
 *
 * Every queue is bounded: at most MAX_INFLIGHT_PER_PEER deliveries and
 * answers waiting to be written per stream, and MAX_QUEUED_ANSWER_BYTES of
 * unwritten answers; past either we stop reading the stream (back-pressure),
 * and a sender that reads none of its answers for ANSWER_STALL_MS loses it.
 */
import { DEDUP_MAX_ENTRIES, DEDUP_MAX_PER_SENDER, DEDUP_WINDOW_MS, MAX_INFLIGHT_PER_PEER, MAX_QUEUED_ANSWER_BYTES, MAX_RETAINED_REPLY_BYTES, ANSWER_STALL_MS } from '../constants.ts'
import { abortError, describeThrown, MeshError, toWireError } from '../errors.ts'
import { deadlineSignal, type DeadlineSignal } from '../util/deadline-signal.ts'
import { FramedStream } from '../wire/framed-stream.ts'
import { DELIVER_V2, type DeliverCodec } from '../compat/deliver-wires.ts'
import type { DeliveryAnswer, DeliveryRequest } from './codec.ts'
import { DedupStore, type Outcome } from './dedup.ts'
import type { DeliverHandler, InboundMessage } from '../types.ts'
import type { Connection, Logger, Stream } from '@libp2p/interface'

/** A delivery under way. */
interface Running {
  /** Settles once the handler has taken the message (called `accept()` or returned). */
  taken: Promise<void>
  done: Promise<Outcome>
  /** Fires on the sender's cancel, on stop and at the deadline. */
  deadline: DeadlineSignal
}

export interface DeliveryServerInit {
  log: Logger
  maxMessageBytes: number
  /** The handler, looked up per message so it can be set after start. */
  handler: () => DeliverHandler | undefined
  /** The local session a key (or session ID) names, if this Gateway exposes it. */
  exposed: (sessionKeyOrId: string) => { sessionKey: string, sessionId?: string } | undefined
  /** Throws `FORBIDDEN` (naming the rule) when the sender (its proven peer ID) may not reach the session. */
  authorize: (peerId: string, sessionKey: string) => void
  /** The sender's Gateway name as our registry knows it (never the name a frame claims). */
  nameOf: (peerId: string) => string | undefined
  onDelivered: (duplicate: boolean) => void
  /** @default Date.now */
  now?: () => number
  /** @default ANSWER_STALL_MS */
  answerStallMs?: number
}

export class DeliveryServer {
  private readonly init: DeliveryServerInit
  private readonly now: () => number
  private readonly seen: DedupStore<Running>
  private readonly stopController = new AbortController()

  constructor (init: DeliveryServerInit) {
    this.init = init
    this.now = init.now ?? Date.now
    this.seen = new DedupStore<Running>({ windowMs: DEDUP_WINDOW_MS, maxPerSender: DEDUP_MAX_PER_SENDER, maxEntries: DEDUP_MAX_ENTRIES, maxReplyBytes: MAX_RETAINED_REPLY_BYTES, now: this.now })
  }

  stop (): void {
    this.stopController.abort(new MeshError('STOPPED', 'the receiving Gateway is stopping'))
  }

  /** Serves one sender's stream; `codec` reads the version it negotiated (default: deliver v2). */
  async handle (stream: Stream, connection: Connection, codec: DeliverCodec = DELIVER_V2): Promise<void> {
    const peerId = connection.remotePeer.toString()
    const framed = new FramedStream(stream, codec.frameLimit(this.init.maxMessageBytes))
    let inflight = 0
    const queued = { count: 0, bytes: 0 }
    let progress: (() => void) | undefined
    const wake = (): void => { progress?.(); progress = undefined }
    const respond = (answer: DeliveryAnswer): void => {
      const bytes = codec.encodeAnswer(answer)
      queued.count++
      queued.bytes += bytes.byteLength
      framed.write(bytes).catch(err => { this.init.log('could not answer %s - %e', peerId, err) }).finally(() => {
        queued.count--
        queued.bytes -= bytes.byteLength
        wake()
      })
    }
    try {
      while (!this.stopController.signal.aborted) {
        // Back-pressure: deliveries and unwritten answers are bounded per stream.
        while (inflight + queued.count >= MAX_INFLIGHT_PER_PEER || queued.bytes >= MAX_QUEUED_ANSWER_BYTES) {
          const stalled = queued.count > 0
          const moved = await new Promise<boolean>(resolve => {
            const timer = stalled ? setTimeout(() => { resolve(false) }, this.init.answerStallMs ?? ANSWER_STALL_MS) : undefined
            progress = () => { clearTimeout(timer); resolve(true) }
          })
          if (!moved) throw new MeshError('TIMEOUT', `${peerId} reads none of its answers`)
        }
        const message = codec.decodeClientFrame(await framed.read({ signal: this.stopController.signal }), this.init.maxMessageBytes)
        switch (message.kind) {
          case 'invalid':
            if (message.id !== undefined) respond({ id: message.id, kind: 'error', error: toWireError(message.error) })
            break
          case 'cancel': {
            const known = this.seen.get(peerId, message.id)
            if (known !== undefined && 'inflight' in known) known.inflight.deadline.abort(new MeshError('ABORTED', 'the sender cancelled'))
            break
          }
          case 'request':
            inflight++
            void this.deliver(peerId, message.request, respond).finally(() => {
              inflight--
              wake()
            })
        }
      }
    } catch (err) {
      if (stream.status === 'open') stream.abort(err instanceof Error ? err : new Error(describeThrown(err)))
    }
  }

  private async deliver (peerId: string, req: DeliveryRequest, respond: (answer: DeliveryAnswer) => void): Promise<void> {
    const known = this.seen.get(peerId, req.id)
    this.init.log.trace('message %s from %s for %s%s', req.id, peerId, req.to, known === undefined ? '' : ' (duplicate)')
    let running: Running
    if (known === undefined) {
      const started = this.start(peerId, req)
      if (started instanceof MeshError) {
        // Refused before anything reached the session: nothing to remember.
        respond({ id: req.id, kind: 'error', error: toWireError(started) })
        return
      }
      running = started
      this.init.onDelivered(false)
    } else {
      this.init.onDelivered(true)
      if ('finished' in known) {
        respond(this.answerOf(req, known.finished))
        return
      }
      running = known.inflight
    }
    // `taken` settles first only when the handler called accept() before it returned.
    const first = await Promise.race([running.taken.then(() => 'taken' as const), running.done])
    if (first === 'taken') {
      respond({ id: req.id, kind: 'accepted' })
      if (!req.wait) return
    }
    respond(this.answerOf(req, first === 'taken' ? await running.done : first))
  }

  /** The answer for `outcome`, held to what this request's sender takes: an oversized reply is TOO_LARGE for this request only. */
  private answerOf (req: DeliveryRequest, outcome: Outcome): DeliveryAnswer {
    if ('error' in outcome) return { id: req.id, kind: 'error', error: toWireError(outcome.error) }
    if (!req.wait) return { id: req.id, kind: 'accepted' }
    const size = outcome.reply === undefined ? 0 : Buffer.byteLength(outcome.reply)
    if (size > req.maxReplyBytes) {
      return { id: req.id, kind: 'error', error: { code: 'TOO_LARGE', message: `the session's reply is ${size} bytes; the sender takes at most ${req.maxReplyBytes}` } }
    }
    return outcome.reply === undefined ? { id: req.id, kind: 'ok' } : { id: req.id, kind: 'ok', reply: outcome.reply }
  }

  /** Checks the request and starts the handler; the same (sender, message ID) never starts it twice. */
  private start (peerId: string, req: DeliveryRequest): Running | MeshError {
    const handler = this.init.handler()
    const session = this.init.exposed(req.to)
    if (handler === undefined || session === undefined) return new MeshError('NOT_FOUND', `No session ${req.to} is exposed on this Gateway`)
    try {
      this.init.authorize(peerId, session.sessionKey)
    } catch (err) {
      return err instanceof MeshError ? err : new MeshError('FORBIDDEN', describeThrown(err))
    }
    const ttl = Math.max(1, req.ttlMs)
    const deadline = deadlineSignal(ttl, [this.stopController.signal])
    const signal = deadline.signal
    const message: InboundMessage = {
      id: req.id,
      from: { gateway: this.init.nameOf(peerId) ?? peerId, peerId, ...(req.fromSessionKey !== undefined ? { sessionKey: req.fromSessionKey } : {}) },
      idempotencyKey: `${peerId}/${req.id}`,
      sessionKey: session.sessionKey,
      ...(session.sessionId !== undefined ? { sessionId: session.sessionId } : {}),
      text: req.text,
      ...(req.meta !== undefined ? { meta: req.meta } : {}),
      waitForReply: req.wait,
      deadline: this.now() + ttl
    }
    const taken = Promise.withResolvers<void>()
    const done = runHandler(handler, message, signal, taken.resolve, this.init.log)
    void done.then(outcome => {
      taken.resolve()
      deadline.clear()
      this.seen.finish(peerId, req.id, outcome)
    })
    const running: Running = { taken: taken.promise, done, deadline }
    this.seen.begin(peerId, req.id, running)
    return running
  }
}

async function runHandler (handler: DeliverHandler, message: InboundMessage, signal: AbortSignal, accept: () => void, log: Logger): Promise<Outcome> {
  try {
    const result = await handler(message, { signal, accept })
    if (signal.aborted) return { error: abortError(signal, 'delivery') }
    if (result?.reply === undefined) return {}
    return { reply: String(result.reply) }
  } catch (err) {
    if (signal.aborted) return { error: abortError(signal, 'delivery') }
    if (err instanceof MeshError) return { error: err }
    log('deliver handler failed for %s - %e', message.id, err)
    return { error: new MeshError('REMOTE_ERROR', `the receiving Gateway's handler failed: ${describeThrown(err)}`, { cause: err }) }
  }
}
