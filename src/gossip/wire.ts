/**
 * The registry protocol's frames (src/pb/registry.proto) as typed messages:
 * origins as peer ID strings (checked to be peer IDs), versions as tuples,
 * sizes bounded. Anything malformed is `BAD_REQUEST`; the stream that sent it
 * is dropped.
 */
import { MeshError } from '../errors.ts'
import { Frame, type OriginVersion } from '../pb/registry.js'
import { originFromBytes, originToBytes } from '../registry/origin.ts'
import type { Digest, Held, Version } from '../registry/version.ts'

/** The registry protocol's version, carried in `hello` (the protocol ID carries the major). */
export const REGISTRY_PROTOCOL_VERSION = 2
/** Origins in one digest or want, peers in one links list: the schema's decode limits. */
export const MAX_DIGEST_ORIGINS = 10_000
export const MAX_LINKS = 4096
const MAX_NAME = 128
const MAX_SOFTWARE_VERSION = 64

export interface HelloMessage {
  protocolVersion: number
  softwareVersion: string
  name: string
  digest: Digest
  links: Set<string>
  /** The run (incarnation) of each of `links` that we know of: what a proof of life by this peer proves. */
  runs?: ReadonlyMap<string, number>
}

export type GossipMessage =
  | { type: 'hello', hello: HelloMessage }
  | { type: 'record', bytes: Uint8Array }
  | { type: 'digest', digest: Digest, reply: boolean }
  /** Per origin, what the asker holds (undefined: nothing). */
  | { type: 'want', wants: Map<string, Version | undefined> }
  /** `keep`: whether the sender chose this link (undefined: an older peer, which keeps every link). */
  | { type: 'heartbeat', rttMs?: number, digestHash?: Uint8Array, keep?: boolean }
  | { type: 'heartbeatAck', keep?: boolean }
  | { type: 'links', links: Set<string>, runs: Map<string, number> }
  | { type: 'down', origin: string, version: Version }
  | { type: 'alive', origin: string, version: Version }
  /** An indirect probe: the sender has not heard from `origin` lately and asks to be told (`alive`) if we do. */
  | { type: 'suspect', origin: string, version: Version }
  /** The sender closes this link on purpose: no evidence about anyone. */
  | { type: 'unlink' }
  /** A frame of a kind this version does not know (a newer peer's): ignored. */
  | { type: 'unknown' }

const LIMITS = {
  hello: { links: MAX_LINKS, linkIncarnations: MAX_LINKS, digest: { origins: MAX_DIGEST_ORIGINS } },
  digest: { origins: MAX_DIGEST_ORIGINS },
  want: { origins: MAX_DIGEST_ORIGINS },
  links: { peers: MAX_LINKS, incarnations: MAX_LINKS }
}

function safe (value: number): number {
  if (!Number.isSafeInteger(value)) throw new MeshError('BAD_REQUEST', 'version out of range')
  return value
}

function digestFromPb (origins: OriginVersion[]): Digest {
  const out: Digest = new Map()
  for (const o of origins) out.set(originFromBytes(o.origin), { version: [safe(o.incarnation), safe(o.seq)], departed: o.departed })
  return out
}

function digestToPb (digest: Digest): OriginVersion[] {
  return [...digest].map(([origin, held]) => ({ origin: originToBytes(origin), incarnation: held.version[0], seq: held.version[1], departed: held.departed }))
}

function originVersion (o: { origin: Uint8Array, incarnation: number, seq: number }): { origin: string, version: Version } {
  return { origin: originFromBytes(o.origin), version: [safe(o.incarnation), safe(o.seq)] }
}

function peerSet (list: Uint8Array[]): Set<string> {
  return new Set(list.map(originFromBytes))
}

/**
 * `incarnations[i]` is the run of `peers[i]` (0: one that has published nothing yet); a list of another
 * length (a hand-written frame, or one that repeats a peer) names no run at all.
 */
function runsFromPb (peers: Set<string>, incarnations: number[]): Map<string, number> {
  const runs = new Map<string, number>()
  if (incarnations.length !== peers.size) return runs
  let i = 0
  for (const peer of peers) runs.set(peer, safe(incarnations[i++] as number))
  return runs
}

function runsToPb (peers: string[], runs: ReadonlyMap<string, number> | undefined): number[] {
  return runs === undefined ? [] : peers.map(peer => runs.get(peer) ?? 0)
}

function bounded (text: string, max: number, what: string): string {
  if (text.length > max) throw new MeshError('BAD_REQUEST', `${what} longer than ${max} characters`)
  return text
}

/** Decodes one frame. Throws `BAD_REQUEST` for anything malformed. */
export function decodeFrame (bytes: Uint8Array): GossipMessage {
  let frame: Frame
  try {
    frame = Frame.decode(bytes, { limits: LIMITS })
  } catch (err) {
    throw new MeshError('BAD_REQUEST', 'malformed registry frame', { cause: err })
  }
  if (frame.record.length > 0) return { type: 'record', bytes: frame.record }
  if (frame.hello !== undefined) {
    const h = frame.hello
    const links = peerSet(h.links)
    return {
      type: 'hello',
      hello: {
        protocolVersion: h.protocolVersion,
        softwareVersion: bounded(h.softwareVersion, MAX_SOFTWARE_VERSION, 'software version'),
        name: bounded(h.name, MAX_NAME, 'name'),
        digest: digestFromPb(h.digest?.origins ?? []),
        links,
        runs: runsFromPb(links, h.linkIncarnations)
      }
    }
  }
  if (frame.digest !== undefined) return { type: 'digest', digest: digestFromPb(frame.digest.origins), reply: frame.digest.reply }
  if (frame.want !== undefined) {
    const wants = new Map<string, Version | undefined>()
    for (const w of frame.want.origins) {
      const held: Version | undefined = w.incarnation !== undefined && w.seq !== undefined ? [safe(w.incarnation), safe(w.seq)] : undefined
      wants.set(originFromBytes(w.origin), held)
    }
    return { type: 'want', wants }
  }
  if (frame.heartbeat !== undefined) {
    const { rttMs, digestHash, keep } = frame.heartbeat
    if (digestHash !== undefined && digestHash.length > 64) throw new MeshError('BAD_REQUEST', 'digest hash too long')
    return { type: 'heartbeat', ...(rttMs !== undefined ? { rttMs } : {}), ...(digestHash !== undefined ? { digestHash } : {}), ...(keep !== undefined ? { keep } : {}) }
  }
  if (frame.heartbeatAck !== undefined) return { type: 'heartbeatAck', ...(frame.heartbeatAck.keep !== undefined ? { keep: frame.heartbeatAck.keep } : {}) }
  if (frame.links !== undefined) {
    const links = peerSet(frame.links.peers)
    return { type: 'links', links, runs: runsFromPb(links, frame.links.incarnations) }
  }
  if (frame.down !== undefined) return { type: 'down', ...originVersion(frame.down) }
  if (frame.alive !== undefined) return { type: 'alive', ...originVersion(frame.alive) }
  if (frame.suspect !== undefined) return { type: 'suspect', ...originVersion(frame.suspect) }
  if (frame.unlink !== undefined) return { type: 'unlink' }
  return { type: 'unknown' }
}

/** Encoders, one per frame kind. */
export const encodeFrame = {
  hello: (h: HelloMessage): Uint8Array => {
    const links = [...h.links]
    return Frame.encode({
      record: new Uint8Array(0),
      hello: { protocolVersion: h.protocolVersion, softwareVersion: h.softwareVersion, name: h.name, digest: { origins: digestToPb(h.digest), reply: false }, links: links.map(originToBytes), linkIncarnations: runsToPb(links, h.runs) }
    })
  },
  record: (bytes: Uint8Array): Uint8Array => Frame.encode({ record: bytes }),
  digest: (digest: Digest, reply: boolean): Uint8Array => Frame.encode({ record: new Uint8Array(0), digest: { origins: digestToPb(digest), reply } }),
  want: (wants: Map<string, Version | undefined>): Uint8Array => Frame.encode({
    record: new Uint8Array(0),
    want: { origins: [...wants].map(([origin, v]) => ({ origin: originToBytes(origin), ...(v !== undefined ? { incarnation: v[0], seq: v[1] } : {}) })) }
  }),
  heartbeat: (rttMs: number | undefined, digestHash: Uint8Array | undefined, keep?: boolean): Uint8Array => Frame.encode({
    record: new Uint8Array(0),
    heartbeat: {
      ...(rttMs !== undefined ? { rttMs: Math.min(Math.round(rttMs), 0xffffffff) } : {}),
      ...(digestHash !== undefined ? { digestHash } : {}),
      ...(keep !== undefined ? { keep } : {})
    }
  }),
  heartbeatAck: (keep?: boolean): Uint8Array => Frame.encode({ record: new Uint8Array(0), heartbeatAck: keep !== undefined ? { keep } : {} }),
  links: (links: Iterable<string>, runs?: ReadonlyMap<string, number>): Uint8Array => {
    const peers = [...links]
    return Frame.encode({ record: new Uint8Array(0), links: { peers: peers.map(originToBytes), incarnations: runsToPb(peers, runs) } })
  },
  down: (origin: string, version: Version): Uint8Array => Frame.encode({ record: new Uint8Array(0), down: { origin: originToBytes(origin), incarnation: version[0], seq: version[1] } }),
  alive: (origin: string, version: Version): Uint8Array => Frame.encode({ record: new Uint8Array(0), alive: { origin: originToBytes(origin), incarnation: version[0], seq: version[1] } }),
  suspect: (origin: string, version: Version): Uint8Array => Frame.encode({ record: new Uint8Array(0), suspect: { origin: originToBytes(origin), incarnation: version[0], seq: version[1] } }),
  unlink: (): Uint8Array => Frame.encode({ record: new Uint8Array(0), unlink: {} })
}

export type { Digest, Held, Version }
