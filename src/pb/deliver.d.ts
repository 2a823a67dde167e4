import type { Codec, DecodeOptions } from 'protons-runtime';
import type { Uint8ArrayList } from 'uint8arraylist';
export interface Request {
    id: string;
    to: string;
    text: string;
    wait: boolean;
    ttlMs: number;
    maxReplyBytes: number;
    fromSessionKey?: string;
    metaJson?: string;
}
export declare namespace Request {
    const codec: () => Codec<Request>;
    const encode: (obj: Partial<Request>) => Uint8Array;
    const decode: (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Request>) => Request;
}
export interface Cancel {
    id: string;
}
export declare namespace Cancel {
    const codec: () => Codec<Cancel>;
    const encode: (obj: Partial<Cancel>) => Uint8Array;
    const decode: (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Cancel>) => Cancel;
}
export interface ClientFrame {
    request?: Request;
    cancel?: Cancel;
}
export declare namespace ClientFrame {
    const codec: () => Codec<ClientFrame>;
    const encode: (obj: Partial<ClientFrame>) => Uint8Array;
    const decode: (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<ClientFrame>) => ClientFrame;
}
export declare enum Status {
    UNSPECIFIED = "UNSPECIFIED",
    ACCEPTED = "ACCEPTED",
    OK = "OK",
    NOT_FOUND = "NOT_FOUND",
    FORBIDDEN = "FORBIDDEN",
    TOO_LARGE = "TOO_LARGE",
    BAD_REQUEST = "BAD_REQUEST",
    TIMEOUT = "TIMEOUT",
    ABORTED = "ABORTED",
    REMOTE_ERROR = "REMOTE_ERROR",
    STOPPED = "STOPPED",
    AMBIGUOUS = "AMBIGUOUS",
    UNREACHABLE = "UNREACHABLE",
    INVITE_INVALID = "INVITE_INVALID",
    INVITE_EXPIRED = "INVITE_EXPIRED",
    INVITE_REFUSED = "INVITE_REFUSED"
}
export declare namespace Status {
    const codec: () => Codec<Status>;
}
export interface Response {
    id: string;
    status: Status;
    reply?: string;
    message?: string;
}
export declare namespace Response {
    const codec: () => Codec<Response>;
    const encode: (obj: Partial<Response>) => Uint8Array;
    const decode: (buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Response>) => Response;
}
