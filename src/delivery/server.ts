/**
 * The receiving side of delivery: reads requests from a peer's deliver stream,
 * checks exposure and policy, deduplicates by message ID, hands the message to
 * the local `deliver` handler and writes `accepted`, then `reply` or `error`.
 */
import { DEDUP_MAX_ENTRIES, DEDUP_WINDOW_MS, MAX_INFLIGHT_PER_PEER, MAX_RETAINED_REPLY_BYTES } from '../constants.ts'
import { MeshError } from '../errors.ts'
import { SeenCache } from '../util/seen-cache.ts'
import { FramedStream } from '../wire/framed-stream.ts'
import { decodeJson, describeValue, encodeJson } from '../wire/json-frame.ts'
import { parseRequest, type RequestFrame, type ResponseFrame } from './frames.ts'
import type { DeliverHandler, InboundMessage } from '../types.ts'
import type { Connection, Logger, Stream } from '@libp2p/interface'

/** The end state of one message, remembered for the dedup window. */
type Outcome = { reply?: string } | { error: MeshError }

interface Delivery {
  done: Promise<Outcome>
  controller: AbortController
  /** Bytes of the reply kept to answer duplicates (0 once forgotten). */
  replyBytes: number
  /** Gone from the dedup window: its bytes no longer count. */
  evicted: boolean
}

export interface DeliveryServerInit {
  log: Logger
  maxMessageBytes: number
  /** The handler, looked up per message so it can be set after start. */
  handler: () => DeliverHandler | undefined
  /** The local session a key names, if this Gateway exposes it. */
  exposed: (sessionKey: string) => { sessionKey: string, sessionId?: string } | undefined
  /** Throws `FORBIDDEN` (naming the rule) when the sender (its proven peer ID) may not reach the session. */
  authorize: (peerId: string, sessionKey: string) => void
  /** The sender's Gateway name as our registry knows it (never trust the name in the frame alone). */
  nameOf: (peerId: string) => string | undefined
  onDelivered: (duplicate: boolean) => void
}

export class DeliveryServer {
  private readonly init: DeliveryServerInit
  private readonly seen = new SeenCache<Delivery>(DEDUP_WINDOW_MS, DEDUP_MAX_ENTRIES, d => {
    this.retainedBytes -= d.replyBytes
    d.evicted = true
  })
  /** Reply bytes kept for duplicates; bounded so that retained replies cannot exhaust memory. */
  private retainedBytes = 0
  private readonly stopController = new AbortController()

  constructor (init: DeliveryServerInit) {
    this.init = init
  }

  stop (): void {
    this.stopController.abort(new MeshError('STOPPED', 'the receiving Gateway is stopping'))
  }

  async handle (stream: Stream, connection: Connection): Promise<void> {
    const peerId = connection.remotePeer.toString()
    // Room for the text plus JSON framing and escaping; larger frames reset the stream.
    const framed = new FramedStream(stream, this.init.maxMessageBytes * 2 + 64 * 1024)
    const respond = (frame: ResponseFrame): void => {
      framed.write(encodeJson(frame)).catch(err => {
        this.init.log('could not answer %s - %e', peerId, err)
      })
    }
    let inflight = 0
    let slotFreed: (() => void) | undefined
    try {
      while (!this.stopController.signal.aborted) {
        if (inflight >= MAX_INFLIGHT_PER_PEER) {
          // Back-pressure: stop reading until a delivery finishes.
          await new Promise<void>(resolve => { slotFreed = resolve })
        }
        const bytes = await framed.read({ signal: this.stopController.signal })
        let frame: RequestFrame | { t: 'cancel', id: string }
        let id: string | undefined
        try {
          const json = decodeJson(bytes)
          id = typeof json.id === 'string' ? json.id : undefined
          frame = parseRequest(json, this.init.maxMessageBytes)
        } catch (err) {
          const error = err instanceof MeshError ? err : new MeshError('BAD_REQUEST', String(err))
          if (id !== undefined) respond({ t: 'err', id, code: error.code, msg: error.message })
          continue
        }
        if (frame.t === 'cancel') {
          this.seen.get(`${peerId}/${frame.id}`)?.controller.abort(new MeshError('ABORTED', 'the sender cancelled'))
          continue
        }
        inflight++
        void this.deliver(peerId, frame, respond).finally(() => {
          inflight--
          slotFreed?.()
          slotFreed = undefined
        })
      }
    } catch (err) {
      if (stream.status === 'open') stream.abort(err instanceof Error ? err : new Error(String(err)))
    }
  }

  private async deliver (peerId: string, req: RequestFrame, respond: (frame: ResponseFrame) => void): Promise<void> {
    const key = `${peerId}/${req.id}`
    let delivery = this.seen.get(key)
    const duplicate = delivery !== undefined
    if (delivery === undefined) {
      const started = this.start(peerId, req)
      if ('error' in started) {
        // Refused before anything reached the session: nothing to remember.
        respond({ t: 'err', id: req.id, code: started.error.code, msg: started.error.message })
        return
      }
      delivery = started
      this.seen.set(key, delivery)
    }
    this.init.onDelivered(duplicate)
    // A sender that waits learns acceptance from the answer itself when it comes at
    // once: skip the separate `acc` then (one frame less each way per quick reply).
    const quick = req.wait ? await Promise.race([delivery.done, nextTurn()]) : undefined
    if (quick === undefined) respond({ t: 'acc', id: req.id })
    const outcome = quick ?? await delivery.done
    if ('error' in outcome) respond({ t: 'err', id: req.id, code: outcome.error.code, msg: outcome.error.message })
    else respond(outcome.reply === undefined ? { t: 'rep', id: req.id } : { t: 'rep', id: req.id, reply: outcome.reply })
  }

  /** Checks the request and starts the handler; the same message ID never starts it twice. */
  private start (peerId: string, req: RequestFrame): Delivery | { error: MeshError } {
    const handler = this.init.handler()
    const session = this.init.exposed(req.to.k)
    // The registry's name for the proven peer ID; never the name the frame claims.
    const name = this.init.nameOf(peerId) ?? peerId
    if (handler === undefined || session === undefined) {
      return { error: new MeshError('NOT_FOUND', `No session ${req.to.k} is exposed on this Gateway`) }
    }
    try {
      this.init.authorize(peerId, session.sessionKey)
    } catch (err) {
      return { error: err instanceof MeshError ? err : new MeshError('FORBIDDEN', String(err)) }
    }
    const controller = new AbortController()
    const ttl = Math.max(1, req.ttl)
    const signal = AbortSignal.any([controller.signal, this.stopController.signal, AbortSignal.timeout(ttl)])
    const message: InboundMessage = {
      id: req.id,
      from: { gateway: name, peerId, ...(req.from.s !== undefined ? { sessionKey: req.from.s } : {}) },
      sessionKey: session.sessionKey,
      ...(session.sessionId !== undefined ? { sessionId: session.sessionId } : {}),
      text: req.text,
      ...(req.meta !== undefined ? { meta: req.meta } : {}),
      waitForReply: req.wait,
      deadline: Date.now() + ttl
    }
    const done = (async (): Promise<Outcome> => {
      try {
        const result = await handler(message, { signal })
        if (signal.aborted) return { error: reasonOf(signal) }
        if (result?.reply === undefined) return {}
        const reply = String(result.reply)
        const size = Buffer.byteLength(reply)
        if (size > this.init.maxMessageBytes) {
          return { error: new MeshError('TOO_LARGE', `the session's reply is ${size} bytes; at most ${this.init.maxMessageBytes} can be returned`) }
        }
        return { reply }
      } catch (err) {
        if (signal.aborted) return { error: reasonOf(signal) }
        if (err instanceof MeshError) return { error: err }
        this.init.log('deliver handler failed for %s - %e', req.id, err)
        // Whatever the handler threw, describe it without trusting it (String() can throw).
        const what = err instanceof Error ? err.message : describeValue(err)
        return { error: new MeshError('REMOTE_ERROR', `the receiving Gateway's handler failed: ${what}`, { cause: err }) }
      }
    })()
    const delivery: Delivery = { done, controller, replyBytes: 0, evicted: false }
    void done.then(outcome => {
      if (delivery.evicted || !('reply' in outcome) || outcome.reply === undefined) return
      delivery.replyBytes = outcome.reply.length
      this.retainedBytes += delivery.replyBytes
      this.forgetOldReplies()
    })
    return delivery
  }

  /** Past the budget, the oldest replies are forgotten; their IDs stay known, so they are still never redelivered. */
  private forgetOldReplies (): void {
    for (const old of this.seen.values()) {
      if (this.retainedBytes <= MAX_RETAINED_REPLY_BYTES) return
      if (old.replyBytes === 0) continue
      this.retainedBytes -= old.replyBytes
      old.replyBytes = 0
      old.done = Promise.resolve({ error: new MeshError('REMOTE_ERROR', 'this message was already delivered; its reply is no longer kept') })
    }
  }
}

/** Resolves after pending I/O callbacks: time for a handler that answers at once to do so. */
async function nextTurn (): Promise<undefined> {
  return await new Promise(resolve => { setImmediate(() => { resolve(undefined) }) })
}

function reasonOf (signal: AbortSignal): MeshError {
  const reason: unknown = signal.reason
  if (reason instanceof MeshError) return reason
  if (reason instanceof DOMException && reason.name === 'TimeoutError') {
    return new MeshError('TIMEOUT', 'the session did not reply before the sender\'s deadline')
  }
  return new MeshError('ABORTED', 'delivery was aborted', { cause: reason })
}
