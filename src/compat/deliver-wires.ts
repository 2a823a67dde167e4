/**
 * The deliver protocol versions a Gateway speaks, as the delivery client and
 * server use them: which protocol IDs to handle and to offer (newest first),
 * and the codec of a stream by the version it negotiated. v2 is
 * src/delivery/codec.ts; v1 is ./deliver-v1.ts.
 */
import { MeshError } from '../errors.ts'
import { decodeAnswer, decodeClientFrame, encodeAnswer, encodeCancel, encodeRequest, FRAME_OVERHEAD_BYTES, type ClientMessage, type DeliveryAnswer, type DeliveryRequest } from '../delivery/codec.ts'
import { decodeV1Answer, decodeV1ClientFrame, encodeV1Answer, encodeV1Cancel, encodeV1Request, v1FrameLimit } from './deliver-v1.ts'
import { checkWireVersions, deliverProtocols, DELIVER_PROTOCOL_V1, isNoCommonProtocol, type WireVersion } from './protocols.ts'

/** How one deliver stream's frames are written and read. */
export interface DeliverCodec {
  readonly version: number
  /** The largest frame to accept, given the largest message (or reply) text. */
  frameLimit: (maxTextBytes: number) => number
  // The owner's side.
  decodeClientFrame: (bytes: Uint8Array, maxTextBytes: number) => ClientMessage
  encodeAnswer: (answer: DeliveryAnswer) => Uint8Array
  // The sender's side.
  encodeRequest: (request: DeliveryRequest) => Uint8Array
  encodeCancel: (id: string) => Uint8Array
  decodeAnswer: (bytes: Uint8Array, maxReplyBytes: number) => DeliveryAnswer
}

/** Deliver v2 (protobuf). */
export const DELIVER_V2: DeliverCodec = {
  version: 2,
  frameLimit: max => max + FRAME_OVERHEAD_BYTES,
  decodeClientFrame,
  encodeAnswer,
  encodeRequest,
  encodeCancel,
  decodeAnswer
}

export class DeliverWires {
  readonly versions: WireVersion[]
  /** Our deliver protocol IDs, newest first. */
  readonly protocols: string[]
  private readonly v1: DeliverCodec

  /** `name`: our Gateway name, which v1 requests must carry. */
  constructor (versions: readonly WireVersion[] | undefined, name: string) {
    this.versions = checkWireVersions(versions)
    this.protocols = deliverProtocols(this.versions)
    this.v1 = {
      version: 1,
      frameLimit: v1FrameLimit,
      decodeClientFrame: decodeV1ClientFrame,
      encodeAnswer: encodeV1Answer,
      encodeRequest: request => encodeV1Request(request, name),
      encodeCancel: encodeV1Cancel,
      decodeAnswer: decodeV1Answer
    }
  }

  /** The codec of a stream, by the protocol it negotiated. */
  codecFor (protocol: string): DeliverCodec {
    return protocol === DELIVER_PROTOCOL_V1 && this.versions.includes(1) ? this.v1 : DELIVER_V2
  }

  /** A failure to open a deliver stream, as the sender reports it: a peer that speaks none of our versions is named so. */
  openFailed (peer: string, err: unknown): unknown {
    if (!isNoCommonProtocol(err)) return err
    return new MeshError('UNREACHABLE', `Gateway ${peer} speaks none of the deliver protocol versions this Gateway speaks (${this.versions.join(', ')}): it runs an incompatible clawmesh; upgrade the older one (docs/operations.md, rolling upgrade)`, { cause: err })
  }
}

/** Deliver v2 alone: what a delivery client offers when not told the Gateway's versions. */
export const DELIVER_V2_ONLY = new DeliverWires([2], '')
