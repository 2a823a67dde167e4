import type { Codec, DecodeOptions } from 'protons-runtime';
import type { Uint8ArrayList } from 'uint8arraylist';
export interface Frame {
    hello?: Hello;
    record: Uint8Array;
    digest?: Digest;
    want?: Want;
    heartbeat?: Heartbeat;
    heartbeatAck?: HeartbeatAck;
    links?: Links;
    down?: Down;
    alive?: Alive;
    suspect?: Suspect;
    unlink?: Unlink;
}
export declare namespace Frame {
    const codec: () => Codec<Frame>;
    const encode: (obj: Partial<Frame>) => Uint8Array;
    const decode: (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Frame>) => Frame;
}
export interface Hello {
    protocolVersion: number;
    softwareVersion: string;
    name: string;
    digest?: Digest;
    links: Uint8Array[];
    linkIncarnations: number[];
}
export declare namespace Hello {
    const codec: () => Codec<Hello>;
    const encode: (obj: Partial<Hello>) => Uint8Array;
    const decode: (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Hello>) => Hello;
}
export interface OriginVersion {
    origin: Uint8Array;
    incarnation: number;
    seq: number;
    departed: boolean;
}
export declare namespace OriginVersion {
    const codec: () => Codec<OriginVersion>;
    const encode: (obj: Partial<OriginVersion>) => Uint8Array;
    const decode: (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<OriginVersion>) => OriginVersion;
}
export interface Digest {
    origins: OriginVersion[];
    reply: boolean;
}
export declare namespace Digest {
    const codec: () => Codec<Digest>;
    const encode: (obj: Partial<Digest>) => Uint8Array;
    const decode: (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Digest>) => Digest;
}
export interface Want {
    origins: WantEntry[];
}
export declare namespace Want {
    const codec: () => Codec<Want>;
    const encode: (obj: Partial<Want>) => Uint8Array;
    const decode: (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Want>) => Want;
}
export interface WantEntry {
    origin: Uint8Array;
    incarnation?: number;
    seq?: number;
}
export declare namespace WantEntry {
    const codec: () => Codec<WantEntry>;
    const encode: (obj: Partial<WantEntry>) => Uint8Array;
    const decode: (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<WantEntry>) => WantEntry;
}
export interface Heartbeat {
    rttMs?: number;
    digestHash?: Uint8Array;
    keep?: boolean;
}
export declare namespace Heartbeat {
    const codec: () => Codec<Heartbeat>;
    const encode: (obj: Partial<Heartbeat>) => Uint8Array;
    const decode: (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Heartbeat>) => Heartbeat;
}
export interface HeartbeatAck {
    keep?: boolean;
}
export declare namespace HeartbeatAck {
    const codec: () => Codec<HeartbeatAck>;
    const encode: (obj: Partial<HeartbeatAck>) => Uint8Array;
    const decode: (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<HeartbeatAck>) => HeartbeatAck;
}
export interface Links {
    peers: Uint8Array[];
    incarnations: number[];
}
export declare namespace Links {
    const codec: () => Codec<Links>;
    const encode: (obj: Partial<Links>) => Uint8Array;
    const decode: (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Links>) => Links;
}
export interface Down {
    origin: Uint8Array;
    incarnation: number;
    seq: number;
}
export declare namespace Down {
    const codec: () => Codec<Down>;
    const encode: (obj: Partial<Down>) => Uint8Array;
    const decode: (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Down>) => Down;
}
export interface Alive {
    origin: Uint8Array;
    incarnation: number;
    seq: number;
}
export declare namespace Alive {
    const codec: () => Codec<Alive>;
    const encode: (obj: Partial<Alive>) => Uint8Array;
    const decode: (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Alive>) => Alive;
}
export interface Suspect {
    origin: Uint8Array;
    incarnation: number;
    seq: number;
}
export declare namespace Suspect {
    const codec: () => Codec<Suspect>;
    const encode: (obj: Partial<Suspect>) => Uint8Array;
    const decode: (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Suspect>) => Suspect;
}
export interface Unlink {
}
export declare namespace Unlink {
    const codec: () => Codec<Unlink>;
    const encode: (obj: Partial<Unlink>) => Uint8Array;
    const decode: (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Unlink>) => Unlink;
}
export interface SignedRecord {
    body: Uint8Array;
    signature: Uint8Array;
}
export declare namespace SignedRecord {
    const codec: () => Codec<SignedRecord>;
    const encode: (obj: Partial<SignedRecord>) => Uint8Array;
    const decode: (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<SignedRecord>) => SignedRecord;
}
export interface RecordBody {
    kind: RecordBody.Kind;
    origin: Uint8Array;
    incarnation: number;
    seq: number;
    base: number;
    chunk: number;
    chunks: number;
    gateway?: GatewayMeta;
    entries: Entry[];
}
export declare namespace RecordBody {
    enum Kind {
        KIND_UNSPECIFIED = "KIND_UNSPECIFIED",
        SNAPSHOT = "SNAPSHOT",
        DELTA = "DELTA",
        BYE = "BYE"
    }
    namespace Kind {
        const codec: () => Codec<Kind>;
    }
    const codec: () => Codec<RecordBody>;
    const encode: (obj: Partial<RecordBody>) => Uint8Array;
    const decode: (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<RecordBody>) => RecordBody;
}
export interface GatewayMeta {
    name: string;
    host: string;
    gatewayPort?: number;
    addrs: string[];
    maxMessageBytes: number;
}
export declare namespace GatewayMeta {
    const codec: () => Codec<GatewayMeta>;
    const encode: (obj: Partial<GatewayMeta>) => Uint8Array;
    const decode: (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<GatewayMeta>) => GatewayMeta;
}
export interface Entry {
    key: string;
    keyAgent?: string;
    agentId?: string;
    agentIsKeyAgent: boolean;
    sessionUuid?: Uint8Array;
    sessionId?: string;
    label?: string;
    removed: boolean;
}
export declare namespace Entry {
    const codec: () => Codec<Entry>;
    const encode: (obj: Partial<Entry>) => Uint8Array;
    const decode: (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Entry>) => Entry;
}
