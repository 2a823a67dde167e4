/**
 * The registry protocol versions a Gateway speaks, as the gossip uses them:
 * which protocol IDs to handle and to offer, how to read and write each
 * stream (v2 as it is; v1 translated, see ./registry-v1.ts), how to decode a
 * record in either form, and what to report when a peer speaks none of ours
 * or writes frames we cannot read.
 */
import { MeshError } from '../errors.ts'
import { decodeFrame, type GossipMessage } from '../gossip/wire.ts'
import { decodeRecord, type UnverifiedRecord } from '../registry/records.ts'
import { checkWireVersions, isNoCommonProtocol, registryProtocols, REGISTRY_PROTOCOL_V1, type WireVersion } from './protocols.ts'
import { RegistryV1, type RegistryV1Context } from './registry-v1.ts'
import type { IncompatibleReport } from './types.ts'
import type { LinkWire } from '../gossip/peer-link.ts'
import type { Connection, Stream, StreamHandlerOptions } from '@libp2p/interface'
import type { Registrar } from '@libp2p/interface-internal'

export interface RegistryWiresInit extends RegistryV1Context {
  /** The versions to speak (checked). @default DEFAULT_WIRE_VERSIONS */
  versions?: readonly WireVersion[]
  onIncompatible: (report: IncompatibleReport) => void
}

export class RegistryWires {
  readonly versions: WireVersion[]
  /** Our registry protocol IDs, newest first: the order we offer them in. */
  readonly protocols: string[]
  private readonly v1?: RegistryV1
  private readonly onIncompatible: (report: IncompatibleReport) => void

  constructor (init: RegistryWiresInit) {
    this.versions = checkWireVersions(init.versions)
    this.protocols = registryProtocols(this.versions)
    if (this.versions.includes(1)) this.v1 = new RegistryV1(init)
    this.onIncompatible = init.onIncompatible
  }

  async handle (registrar: Pick<Registrar, 'handle'>, handler: (stream: Stream, connection: Connection) => Promise<void>, options: StreamHandlerOptions): Promise<void> {
    for (const protocol of this.protocols) await registrar.handle(protocol, handler, options)
  }

  async unhandle (registrar: Pick<Registrar, 'unhandle'>): Promise<void> {
    for (const protocol of this.protocols) await registrar.unhandle(protocol)
  }

  /** How to write on an outbound stream: undefined for v2 (our frames as they are). */
  writerFor (stream: Stream, peer: string): LinkWire | undefined {
    return stream.protocol === REGISTRY_PROTOCOL_V1 ? this.v1?.wire(peer) : undefined
  }

  /** How to read an inbound stream. */
  readerFor (stream: Stream, peer: string): (frame: Uint8Array) => GossipMessage {
    return stream.protocol === REGISTRY_PROTOCOL_V1 && this.v1 !== undefined ? this.v1.decoder(peer) : decodeFrame
  }

  /** A record in v2 form, or in v1 form while we speak v1 (relayed v1 origins). */
  decodeRecord (bytes: Uint8Array): UnverifiedRecord {
    return this.v1 !== undefined ? this.v1.decodeRecord(bytes) : decodeRecord(bytes)
  }

  /** Our outbound stream to `peer` could not be opened: report it when the peer speaks none of our versions. */
  openFailed (peer: string, err: unknown): void {
    if (!isNoCommonProtocol(err)) return
    this.onIncompatible({ peerId: peer, kind: 'no-common-version', reason: `it speaks none of the registry protocol versions this Gateway speaks (${this.versions.join(', ')})` })
  }

  /** `peer` wrote a registry frame we cannot decode (its stream is dropped). */
  readFailed (peer: string, err: unknown): void {
    if (!(err instanceof MeshError) || err.code !== 'BAD_REQUEST') return
    this.onIncompatible({ peerId: peer, kind: 'unreadable-frames', reason: `it wrote a registry frame this Gateway cannot read (${err.message})` })
  }
}
