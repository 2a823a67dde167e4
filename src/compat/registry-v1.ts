/**
 * `/clawmesh/registry/1.0.0` for peers that have not upgraded: JSON frames
 * translated to and from the gossip's own messages, so every rule of the
 * gossip (allowlist, signatures, staleness, tombstones, liveness) applies to a
 * v1 peer exactly as to a v2 one.
 *
 * What a v1 peer can be given: records in v1 form. Those are our own (signed
 * again in v1 form, once each), and those of v1 origins (relayed as they came).
 * A v2 origin's records cannot be re-signed by us, so a v1 peer sees a v2
 * Gateway only when it is linked to it. Digests, news and the anti-entropy hash
 * shown to a v1 peer therefore cover only what it can hold (see `view`), so a
 * v1 peer in sync with us stays quiet instead of pulling what we cannot serve.
 * v1 has no `alive` frame and no goodbye in digests: those are left out. v1
 * `links` name no run: they count as links but prove no run alive (NO_RUN).
 */
import { createHash } from 'node:crypto'
import { MeshError } from '../errors.ts'
import { decodeFrame, MAX_DIGEST_ORIGINS, MAX_LINKS, type GossipMessage } from '../gossip/wire.ts'
import { NO_RUN } from '../gossip/liveness.ts'
import { decodeRecord, type RegistryRecord, type UnverifiedRecord } from '../registry/records.ts'
import { arr, decodeJson, encodeJson, entriesOf, int, optInt, optStr, peerIdText, versionPair, type JsonObject } from './json.ts'
import { decodeV1Record, isV1Record, signV1Record } from './v1-records.ts'
import type { LinkWire } from '../gossip/peer-link.ts'
import type { OriginState } from '../registry/registry.ts'
import type { Digest, Version } from '../registry/version.ts'
import type { FramedStream } from '../wire/framed-stream.ts'
import type { PrivateKey } from '@libp2p/interface'

const MAX_NAME = 128
const MAX_SOFTWARE_VERSION = 64
/** Own records kept signed in v1 form: a checkpoint's chunks and the deltas since, with room to spare. */
const MAX_SIGNED_KEPT = 4096
/** A v1 digest hash we cannot match: makes the gossip answer with the (v1 view of the) digest. */
const MISMATCH = new Uint8Array(1)

/** What the v1 wire reads of the gossip. */
export interface RegistryV1Context {
  readonly selfId: string
  readonly privateKey: PrivateKey
  readonly registry: { get: (origin: string) => OriginState | undefined, all: () => Iterable<OriginState> }
  /** Whether `peer` said it is linked to `origin` (then it has the origin's records from the origin). */
  claimsLink: (peer: string, origin: string) => boolean
}

/** True when every record we hold of the origin is in v1 form: a v1 peer can be given all of them. */
function allV1 (state: OriginState): boolean {
  for (const bytes of state.checkpoint) if (!isV1Record(bytes)) return false
  for (const t of state.tail) if (!isV1Record(t.bytes)) return false
  return state.bye === undefined || isV1Record(state.bye)
}

export class RegistryV1 {
  private readonly ctx: RegistryV1Context
  /** Our own records in v1 form, by their v2 signature (one per record). */
  private readonly signed = new Map<string, Promise<Uint8Array>>()

  constructor (ctx: RegistryV1Context) {
    this.ctx = ctx
  }

  /** Records that arrive in v1 form (relayed by any peer) are decoded as v1, the rest as v2. */
  decodeRecord (bytes: Uint8Array): UnverifiedRecord {
    return isV1Record(bytes) ? decodeV1Record(bytes) : decodeRecord(bytes)
  }

  /** What `peer` (a v1 peer) can hold: our own origin, origins whose records are all in v1 form, and those it is linked to. */
  view (peer: string): Digest {
    const out: Digest = new Map()
    for (const state of this.ctx.registry.all()) {
      const { origin } = state
      if (origin === this.ctx.selfId || this.ctx.claimsLink(peer, origin) || allV1(state)) {
        out.set(origin, { version: [state.incarnation, state.seq], departed: false })
      }
    }
    return out
  }

  /** v1's anti-entropy hash of a digest: base64url SHA-256 of the sorted `origin:incarnation:seq` lines, 22 characters. */
  static hash (digest: Digest): string {
    const lines = [...digest].map(([o, h]) => `${o}:${h.version[0]}:${h.version[1]}`).sort()
    return createHash('sha256').update(lines.join('\n')).digest('base64url').slice(0, 22)
  }

  /** Decodes the frames `peer` writes on its v1 stream. */
  decoder (peer: string): (frame: Uint8Array) => GossipMessage {
    return (frame) => isV1Record(frame) ? { type: 'record', bytes: frame } : this.decodeControl(peer, decodeJson(frame))
  }

  /** How we write to `peer` over v1: our v2 frames translated, in order; what v1 cannot carry is left out. */
  wire (peer: string): LinkWire {
    let queue: Promise<unknown> = Promise.resolve()
    return {
      version: 1,
      write: async (out: FramedStream, frame: Uint8Array) => {
        // Our own frames always decode; a frame v1 cannot carry is left out, never a reason to drop the stream.
        const translated = queue.then(async () => await this.translate(peer, decodeFrame(frame))).catch(() => undefined)
        const written = translated.then(async bytes => { if (bytes !== undefined) await out.write(bytes) })
        queue = written.catch(() => {})
        await written
      }
    }
  }

  private decodeControl (peer: string, msg: JsonObject): GossipMessage {
    switch (msg.t) {
      case 'hello':
        return {
          type: 'hello',
          hello: {
            protocolVersion: optInt(msg, 'v', 1, 1) ?? 1,
            softwareVersion: optStr(msg, 'sw', MAX_SOFTWARE_VERSION) ?? '',
            name: optStr(msg, 'name', MAX_NAME) ?? '',
            digest: digestFromV1(msg),
            ...linksFromV1(msg)
          }
        }
      case 'digest':
        return { type: 'digest', digest: digestFromV1(msg), reply: msg.r === true }
      case 'want': {
        const wants = new Map<string, Version | undefined>()
        for (const [origin, value] of entriesOf(msg, 'w', MAX_DIGEST_ORIGINS)) wants.set(peerIdText(origin), value === null ? undefined : versionPair(value))
        return { type: 'want', wants }
      }
      case 'hb': {
        const rttMs = optInt(msg, 'r', 0, 0xffffffff)
        const hash = optStr(msg, 'h', 64)
        const differs = hash !== undefined && hash !== RegistryV1.hash(this.view(peer))
        return { type: 'heartbeat', ...(rttMs !== undefined ? { rttMs } : {}), ...(differs ? { digestHash: MISMATCH } : {}) }
      }
      case 'hback':
        return { type: 'heartbeatAck' }
      case 'links':
        return { type: 'links', ...linksFromV1(msg) }
      case 'down':
        // v1 names only the incarnation; the liveness rules compare that, and take the newest seq they know.
        return { type: 'down', origin: peerIdText(msg.o), version: [int(msg, 'i', 1), 0] }
      default:
        if (typeof msg.t !== 'string') throw new MeshError('BAD_REQUEST', 'a v1 frame without a type')
        return { type: 'unknown' }
    }
  }

  private async translate (peer: string, msg: GossipMessage): Promise<Uint8Array | undefined> {
    switch (msg.type) {
      case 'hello': {
        const h = msg.hello
        return encodeJson({ t: 'hello', v: 1, sw: h.softwareVersion, name: h.name, d: digestToV1(this.view(peer)), p: [...h.links] })
      }
      case 'record': return await this.recordFor(msg.bytes)
      case 'digest': {
        const shown = this.view(peer)
        const d = [...msg.digest].filter(([origin]) => shown.has(origin))
        // Partial news about origins it cannot hold is no news.
        if (msg.reply && d.length === 0) return undefined
        return encodeJson({ t: 'digest', d: digestToV1(new Map(d)), r: msg.reply })
      }
      case 'want': return encodeJson({ t: 'want', w: Object.fromEntries([...msg.wants].map(([o, v]) => [o, v === undefined ? null : [v[0], v[1]]])) })
      case 'heartbeat': return encodeJson({ t: 'hb', ...(msg.rttMs !== undefined ? { r: msg.rttMs } : {}), ...(msg.digestHash !== undefined ? { h: RegistryV1.hash(this.view(peer)) } : {}) })
      case 'heartbeatAck': return encodeJson({ t: 'hback' })
      case 'links': return encodeJson({ t: 'links', p: [...msg.links] })
      case 'down': return encodeJson({ t: 'down', o: msg.origin, i: msg.version[0] })
      case 'alive':
      case 'unknown':
        return undefined
    }
  }

  /** A record as a v1 peer can read it: as it came when it is v1 already, ours signed again, anyone else's not at all. */
  private async recordFor (bytes: Uint8Array): Promise<Uint8Array | undefined> {
    if (isV1Record(bytes)) return bytes
    const { record, signature } = decodeRecord(bytes)
    if (record.origin !== this.ctx.selfId) return undefined
    return await this.signOwn(record, Buffer.from(signature).toString('base64'))
  }

  private async signOwn (record: RegistryRecord, key: string): Promise<Uint8Array> {
    let bytes = this.signed.get(key)
    if (bytes === undefined) {
      if (this.signed.size >= MAX_SIGNED_KEPT) this.signed.delete(this.signed.keys().next().value as string)
      bytes = signV1Record(record, this.ctx.privateKey)
      this.signed.set(key, bytes)
    }
    return await bytes
  }
}

function digestFromV1 (msg: JsonObject): Digest {
  const out: Digest = new Map()
  for (const [origin, value] of entriesOf(msg, 'd', MAX_DIGEST_ORIGINS)) out.set(peerIdText(origin), { version: versionPair(value), departed: false })
  return out
}

function digestToV1 (digest: Digest): Record<string, [number, number]> {
  return Object.fromEntries([...digest].map(([o, h]) => [o, [h.version[0], h.version[1]]]))
}

/**
 * The peers a v1 peer says it is linked to. v1 cannot say which run of each: the runs are `NO_RUN`, so
 * these claims prove no run alive (after a restart behind a v1 peer, its links would otherwise revive
 * the run that died; the new run comes back by its own records or a direct link).
 */
function linksFromV1 (msg: JsonObject): { links: Set<string>, runs: Map<string, number> } {
  const links = msg.p === undefined ? new Set<string>() : new Set(arr(msg, 'p', MAX_LINKS).map(peerIdText))
  return { links, runs: new Map([...links].map(peer => [peer, NO_RUN])) }
}
