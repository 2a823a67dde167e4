/* eslint-disable import/export */
/* eslint-disable complexity */
/* eslint-disable @typescript-eslint/no-namespace */
/* eslint-disable @typescript-eslint/no-unnecessary-boolean-literal-compare */
/* eslint-disable @typescript-eslint/no-empty-interface */
/* eslint-disable import/consistent-type-specifier-style */
/* eslint-disable @typescript-eslint/no-unused-vars */
import { decodeMessage, encodeMessage, enumeration, message } from 'protons-runtime';
export var Request;
(function (Request) {
    let _codec;
    Request.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if ((obj.id != null && obj.id !== '')) {
                    w.uint32(10);
                    w.string(obj.id);
                }
                if ((obj.to != null && obj.to !== '')) {
                    w.uint32(18);
                    w.string(obj.to);
                }
                if ((obj.text != null && obj.text !== '')) {
                    w.uint32(26);
                    w.string(obj.text);
                }
                if ((obj.wait != null && obj.wait !== false)) {
                    w.uint32(32);
                    w.bool(obj.wait);
                }
                if ((obj.ttlMs != null && obj.ttlMs !== 0)) {
                    w.uint32(40);
                    w.uint32(obj.ttlMs);
                }
                if ((obj.maxReplyBytes != null && obj.maxReplyBytes !== 0)) {
                    w.uint32(48);
                    w.uint32(obj.maxReplyBytes);
                }
                if (obj.fromSessionKey != null) {
                    w.uint32(58);
                    w.string(obj.fromSessionKey);
                }
                if (obj.metaJson != null) {
                    w.uint32(66);
                    w.string(obj.metaJson);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {
                    id: '',
                    to: '',
                    text: '',
                    wait: false,
                    ttlMs: 0,
                    maxReplyBytes: 0
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            obj.id = reader.string();
                            break;
                        }
                        case 2: {
                            obj.to = reader.string();
                            break;
                        }
                        case 3: {
                            obj.text = reader.string();
                            break;
                        }
                        case 4: {
                            obj.wait = reader.bool();
                            break;
                        }
                        case 5: {
                            obj.ttlMs = reader.uint32();
                            break;
                        }
                        case 6: {
                            obj.maxReplyBytes = reader.uint32();
                            break;
                        }
                        case 7: {
                            obj.fromSessionKey = reader.string();
                            break;
                        }
                        case 8: {
                            obj.metaJson = reader.string();
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
                return obj;
            });
        }
        return _codec;
    };
    Request.encode = (obj) => {
        return encodeMessage(obj, Request.codec());
    };
    Request.decode = (buf, opts) => {
        return decodeMessage(buf, Request.codec(), opts);
    };
})(Request || (Request = {}));
export var Cancel;
(function (Cancel) {
    let _codec;
    Cancel.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if ((obj.id != null && obj.id !== '')) {
                    w.uint32(10);
                    w.string(obj.id);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {
                    id: ''
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            obj.id = reader.string();
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
                return obj;
            });
        }
        return _codec;
    };
    Cancel.encode = (obj) => {
        return encodeMessage(obj, Cancel.codec());
    };
    Cancel.decode = (buf, opts) => {
        return decodeMessage(buf, Cancel.codec(), opts);
    };
})(Cancel || (Cancel = {}));
export var ClientFrame;
(function (ClientFrame) {
    let _codec;
    ClientFrame.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if (obj.request != null) {
                    w.uint32(10);
                    Request.codec().encode(obj.request, w);
                }
                if (obj.cancel != null) {
                    w.uint32(18);
                    Cancel.codec().encode(obj.cancel, w);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {};
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            obj.request = Request.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.request
                            });
                            break;
                        }
                        case 2: {
                            obj.cancel = Cancel.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.cancel
                            });
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
                return obj;
            });
        }
        return _codec;
    };
    ClientFrame.encode = (obj) => {
        return encodeMessage(obj, ClientFrame.codec());
    };
    ClientFrame.decode = (buf, opts) => {
        return decodeMessage(buf, ClientFrame.codec(), opts);
    };
})(ClientFrame || (ClientFrame = {}));
export var Status;
(function (Status) {
    Status["UNSPECIFIED"] = "UNSPECIFIED";
    Status["ACCEPTED"] = "ACCEPTED";
    Status["OK"] = "OK";
    Status["NOT_FOUND"] = "NOT_FOUND";
    Status["FORBIDDEN"] = "FORBIDDEN";
    Status["TOO_LARGE"] = "TOO_LARGE";
    Status["BAD_REQUEST"] = "BAD_REQUEST";
    Status["TIMEOUT"] = "TIMEOUT";
    Status["ABORTED"] = "ABORTED";
    Status["REMOTE_ERROR"] = "REMOTE_ERROR";
    Status["STOPPED"] = "STOPPED";
    Status["AMBIGUOUS"] = "AMBIGUOUS";
    Status["UNREACHABLE"] = "UNREACHABLE";
    Status["INVITE_INVALID"] = "INVITE_INVALID";
    Status["INVITE_EXPIRED"] = "INVITE_EXPIRED";
    Status["INVITE_REFUSED"] = "INVITE_REFUSED";
})(Status || (Status = {}));
var __StatusValues;
(function (__StatusValues) {
    __StatusValues[__StatusValues["UNSPECIFIED"] = 0] = "UNSPECIFIED";
    __StatusValues[__StatusValues["ACCEPTED"] = 1] = "ACCEPTED";
    __StatusValues[__StatusValues["OK"] = 2] = "OK";
    __StatusValues[__StatusValues["NOT_FOUND"] = 3] = "NOT_FOUND";
    __StatusValues[__StatusValues["FORBIDDEN"] = 4] = "FORBIDDEN";
    __StatusValues[__StatusValues["TOO_LARGE"] = 5] = "TOO_LARGE";
    __StatusValues[__StatusValues["BAD_REQUEST"] = 6] = "BAD_REQUEST";
    __StatusValues[__StatusValues["TIMEOUT"] = 7] = "TIMEOUT";
    __StatusValues[__StatusValues["ABORTED"] = 8] = "ABORTED";
    __StatusValues[__StatusValues["REMOTE_ERROR"] = 9] = "REMOTE_ERROR";
    __StatusValues[__StatusValues["STOPPED"] = 10] = "STOPPED";
    __StatusValues[__StatusValues["AMBIGUOUS"] = 11] = "AMBIGUOUS";
    __StatusValues[__StatusValues["UNREACHABLE"] = 12] = "UNREACHABLE";
    __StatusValues[__StatusValues["INVITE_INVALID"] = 13] = "INVITE_INVALID";
    __StatusValues[__StatusValues["INVITE_EXPIRED"] = 14] = "INVITE_EXPIRED";
    __StatusValues[__StatusValues["INVITE_REFUSED"] = 15] = "INVITE_REFUSED";
})(__StatusValues || (__StatusValues = {}));
(function (Status) {
    Status.codec = () => {
        return enumeration(__StatusValues);
    };
})(Status || (Status = {}));
export var Response;
(function (Response) {
    let _codec;
    Response.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if ((obj.id != null && obj.id !== '')) {
                    w.uint32(10);
                    w.string(obj.id);
                }
                if (obj.status != null && __StatusValues[obj.status] !== 0) {
                    w.uint32(16);
                    Status.codec().encode(obj.status, w);
                }
                if (obj.reply != null) {
                    w.uint32(26);
                    w.string(obj.reply);
                }
                if (obj.message != null) {
                    w.uint32(34);
                    w.string(obj.message);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {
                    id: '',
                    status: Status.UNSPECIFIED
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            obj.id = reader.string();
                            break;
                        }
                        case 2: {
                            obj.status = Status.codec().decode(reader);
                            break;
                        }
                        case 3: {
                            obj.reply = reader.string();
                            break;
                        }
                        case 4: {
                            obj.message = reader.string();
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
                return obj;
            });
        }
        return _codec;
    };
    Response.encode = (obj) => {
        return encodeMessage(obj, Response.codec());
    };
    Response.decode = (buf, opts) => {
        return decodeMessage(buf, Response.codec(), opts);
    };
})(Response || (Response = {}));
