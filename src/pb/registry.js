/* eslint-disable import/export */
/* eslint-disable complexity */
/* eslint-disable @typescript-eslint/no-namespace */
/* eslint-disable @typescript-eslint/no-unnecessary-boolean-literal-compare */
/* eslint-disable @typescript-eslint/no-empty-interface */
/* eslint-disable import/consistent-type-specifier-style */
/* eslint-disable @typescript-eslint/no-unused-vars */
import { decodeMessage, encodeMessage, enumeration, MaxLengthError, message } from 'protons-runtime';
import { alloc as uint8ArrayAlloc } from 'uint8arrays/alloc';
export var Frame;
(function (Frame) {
    let _codec;
    Frame.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if (obj.hello != null) {
                    w.uint32(10);
                    Hello.codec().encode(obj.hello, w);
                }
                if ((obj.record != null && obj.record.byteLength > 0)) {
                    w.uint32(18);
                    w.bytes(obj.record);
                }
                if (obj.digest != null) {
                    w.uint32(26);
                    Digest.codec().encode(obj.digest, w);
                }
                if (obj.want != null) {
                    w.uint32(34);
                    Want.codec().encode(obj.want, w);
                }
                if (obj.heartbeat != null) {
                    w.uint32(42);
                    Heartbeat.codec().encode(obj.heartbeat, w);
                }
                if (obj.heartbeatAck != null) {
                    w.uint32(50);
                    HeartbeatAck.codec().encode(obj.heartbeatAck, w);
                }
                if (obj.links != null) {
                    w.uint32(58);
                    Links.codec().encode(obj.links, w);
                }
                if (obj.down != null) {
                    w.uint32(66);
                    Down.codec().encode(obj.down, w);
                }
                if (obj.alive != null) {
                    w.uint32(74);
                    Alive.codec().encode(obj.alive, w);
                }
                if (obj.suspect != null) {
                    w.uint32(82);
                    Suspect.codec().encode(obj.suspect, w);
                }
                if (obj.unlink != null) {
                    w.uint32(90);
                    Unlink.codec().encode(obj.unlink, w);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {
                    record: uint8ArrayAlloc(0)
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            obj.hello = Hello.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.hello
                            });
                            break;
                        }
                        case 2: {
                            obj.record = reader.bytes();
                            break;
                        }
                        case 3: {
                            obj.digest = Digest.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.digest
                            });
                            break;
                        }
                        case 4: {
                            obj.want = Want.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.want
                            });
                            break;
                        }
                        case 5: {
                            obj.heartbeat = Heartbeat.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.heartbeat
                            });
                            break;
                        }
                        case 6: {
                            obj.heartbeatAck = HeartbeatAck.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.heartbeatAck
                            });
                            break;
                        }
                        case 7: {
                            obj.links = Links.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.links
                            });
                            break;
                        }
                        case 8: {
                            obj.down = Down.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.down
                            });
                            break;
                        }
                        case 9: {
                            obj.alive = Alive.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.alive
                            });
                            break;
                        }
                        case 10: {
                            obj.suspect = Suspect.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.suspect
                            });
                            break;
                        }
                        case 11: {
                            obj.unlink = Unlink.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.unlink
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
    Frame.encode = (obj) => {
        return encodeMessage(obj, Frame.codec());
    };
    Frame.decode = (buf, opts) => {
        return decodeMessage(buf, Frame.codec(), opts);
    };
})(Frame || (Frame = {}));
export var Hello;
(function (Hello) {
    let _codec;
    Hello.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if ((obj.protocolVersion != null && obj.protocolVersion !== 0)) {
                    w.uint32(8);
                    w.uint32(obj.protocolVersion);
                }
                if ((obj.softwareVersion != null && obj.softwareVersion !== '')) {
                    w.uint32(18);
                    w.string(obj.softwareVersion);
                }
                if ((obj.name != null && obj.name !== '')) {
                    w.uint32(26);
                    w.string(obj.name);
                }
                if (obj.digest != null) {
                    w.uint32(34);
                    Digest.codec().encode(obj.digest, w);
                }
                if (obj.links != null) {
                    for (const value of obj.links) {
                        w.uint32(42);
                        w.bytes(value);
                    }
                }
                if (obj.linkIncarnations != null) {
                    for (const value of obj.linkIncarnations) {
                        w.uint32(48);
                        w.uint64Number(value);
                    }
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {
                    protocolVersion: 0,
                    softwareVersion: '',
                    name: '',
                    links: [],
                    linkIncarnations: []
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            obj.protocolVersion = reader.uint32();
                            break;
                        }
                        case 2: {
                            obj.softwareVersion = reader.string();
                            break;
                        }
                        case 3: {
                            obj.name = reader.string();
                            break;
                        }
                        case 4: {
                            obj.digest = Digest.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.digest
                            });
                            break;
                        }
                        case 5: {
                            if (opts.limits?.links != null && obj.links.length === opts.limits.links) {
                                throw new MaxLengthError('Decode error - map field "links" had too many elements');
                            }
                            if (obj.links.length === 4096) {
                                throw new MaxLengthError('Decode error - repeated field "links" had too many elements');
                            }
                            obj.links.push(reader.bytes());
                            break;
                        }
                        case 6: {
                            if (opts.limits?.linkIncarnations != null && obj.linkIncarnations.length === opts.limits.linkIncarnations) {
                                throw new MaxLengthError('Decode error - map field "linkIncarnations" had too many elements');
                            }
                            if (obj.linkIncarnations.length === 4096) {
                                throw new MaxLengthError('Decode error - repeated field "linkIncarnations" had too many elements');
                            }
                            obj.linkIncarnations.push(reader.uint64Number());
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
    Hello.encode = (obj) => {
        return encodeMessage(obj, Hello.codec());
    };
    Hello.decode = (buf, opts) => {
        return decodeMessage(buf, Hello.codec(), opts);
    };
})(Hello || (Hello = {}));
export var OriginVersion;
(function (OriginVersion) {
    let _codec;
    OriginVersion.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if ((obj.origin != null && obj.origin.byteLength > 0)) {
                    w.uint32(10);
                    w.bytes(obj.origin);
                }
                if ((obj.incarnation != null && obj.incarnation !== 0)) {
                    w.uint32(16);
                    w.uint64Number(obj.incarnation);
                }
                if ((obj.seq != null && obj.seq !== 0)) {
                    w.uint32(24);
                    w.uint64Number(obj.seq);
                }
                if ((obj.departed != null && obj.departed !== false)) {
                    w.uint32(32);
                    w.bool(obj.departed);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {
                    origin: uint8ArrayAlloc(0),
                    incarnation: 0,
                    seq: 0,
                    departed: false
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            obj.origin = reader.bytes();
                            break;
                        }
                        case 2: {
                            obj.incarnation = reader.uint64Number();
                            break;
                        }
                        case 3: {
                            obj.seq = reader.uint64Number();
                            break;
                        }
                        case 4: {
                            obj.departed = reader.bool();
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
    OriginVersion.encode = (obj) => {
        return encodeMessage(obj, OriginVersion.codec());
    };
    OriginVersion.decode = (buf, opts) => {
        return decodeMessage(buf, OriginVersion.codec(), opts);
    };
})(OriginVersion || (OriginVersion = {}));
export var Digest;
(function (Digest) {
    let _codec;
    Digest.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if (obj.origins != null) {
                    for (const value of obj.origins) {
                        w.uint32(10);
                        OriginVersion.codec().encode(value, w);
                    }
                }
                if ((obj.reply != null && obj.reply !== false)) {
                    w.uint32(16);
                    w.bool(obj.reply);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {
                    origins: [],
                    reply: false
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            if (opts.limits?.origins != null && obj.origins.length === opts.limits.origins) {
                                throw new MaxLengthError('Decode error - map field "origins" had too many elements');
                            }
                            if (obj.origins.length === 10000) {
                                throw new MaxLengthError('Decode error - repeated field "origins" had too many elements');
                            }
                            obj.origins.push(OriginVersion.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.origins$
                            }));
                            break;
                        }
                        case 2: {
                            obj.reply = reader.bool();
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
    Digest.encode = (obj) => {
        return encodeMessage(obj, Digest.codec());
    };
    Digest.decode = (buf, opts) => {
        return decodeMessage(buf, Digest.codec(), opts);
    };
})(Digest || (Digest = {}));
export var Want;
(function (Want) {
    let _codec;
    Want.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if (obj.origins != null) {
                    for (const value of obj.origins) {
                        w.uint32(10);
                        WantEntry.codec().encode(value, w);
                    }
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {
                    origins: []
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            if (opts.limits?.origins != null && obj.origins.length === opts.limits.origins) {
                                throw new MaxLengthError('Decode error - map field "origins" had too many elements');
                            }
                            if (obj.origins.length === 10000) {
                                throw new MaxLengthError('Decode error - repeated field "origins" had too many elements');
                            }
                            obj.origins.push(WantEntry.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.origins$
                            }));
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
    Want.encode = (obj) => {
        return encodeMessage(obj, Want.codec());
    };
    Want.decode = (buf, opts) => {
        return decodeMessage(buf, Want.codec(), opts);
    };
})(Want || (Want = {}));
export var WantEntry;
(function (WantEntry) {
    let _codec;
    WantEntry.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if ((obj.origin != null && obj.origin.byteLength > 0)) {
                    w.uint32(10);
                    w.bytes(obj.origin);
                }
                if (obj.incarnation != null) {
                    w.uint32(16);
                    w.uint64Number(obj.incarnation);
                }
                if (obj.seq != null) {
                    w.uint32(24);
                    w.uint64Number(obj.seq);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {
                    origin: uint8ArrayAlloc(0)
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            obj.origin = reader.bytes();
                            break;
                        }
                        case 2: {
                            obj.incarnation = reader.uint64Number();
                            break;
                        }
                        case 3: {
                            obj.seq = reader.uint64Number();
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
    WantEntry.encode = (obj) => {
        return encodeMessage(obj, WantEntry.codec());
    };
    WantEntry.decode = (buf, opts) => {
        return decodeMessage(buf, WantEntry.codec(), opts);
    };
})(WantEntry || (WantEntry = {}));
export var Heartbeat;
(function (Heartbeat) {
    let _codec;
    Heartbeat.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if (obj.rttMs != null) {
                    w.uint32(8);
                    w.uint32(obj.rttMs);
                }
                if (obj.digestHash != null) {
                    w.uint32(18);
                    w.bytes(obj.digestHash);
                }
                if (obj.keep != null) {
                    w.uint32(24);
                    w.bool(obj.keep);
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
                            obj.rttMs = reader.uint32();
                            break;
                        }
                        case 2: {
                            obj.digestHash = reader.bytes();
                            break;
                        }
                        case 3: {
                            obj.keep = reader.bool();
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
    Heartbeat.encode = (obj) => {
        return encodeMessage(obj, Heartbeat.codec());
    };
    Heartbeat.decode = (buf, opts) => {
        return decodeMessage(buf, Heartbeat.codec(), opts);
    };
})(Heartbeat || (Heartbeat = {}));
export var HeartbeatAck;
(function (HeartbeatAck) {
    let _codec;
    HeartbeatAck.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if (obj.keep != null) {
                    w.uint32(8);
                    w.bool(obj.keep);
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
                            obj.keep = reader.bool();
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
    HeartbeatAck.encode = (obj) => {
        return encodeMessage(obj, HeartbeatAck.codec());
    };
    HeartbeatAck.decode = (buf, opts) => {
        return decodeMessage(buf, HeartbeatAck.codec(), opts);
    };
})(HeartbeatAck || (HeartbeatAck = {}));
export var Links;
(function (Links) {
    let _codec;
    Links.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if (obj.peers != null) {
                    for (const value of obj.peers) {
                        w.uint32(10);
                        w.bytes(value);
                    }
                }
                if (obj.incarnations != null) {
                    for (const value of obj.incarnations) {
                        w.uint32(16);
                        w.uint64Number(value);
                    }
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {
                    peers: [],
                    incarnations: []
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            if (opts.limits?.peers != null && obj.peers.length === opts.limits.peers) {
                                throw new MaxLengthError('Decode error - map field "peers" had too many elements');
                            }
                            if (obj.peers.length === 4096) {
                                throw new MaxLengthError('Decode error - repeated field "peers" had too many elements');
                            }
                            obj.peers.push(reader.bytes());
                            break;
                        }
                        case 2: {
                            if (opts.limits?.incarnations != null && obj.incarnations.length === opts.limits.incarnations) {
                                throw new MaxLengthError('Decode error - map field "incarnations" had too many elements');
                            }
                            if (obj.incarnations.length === 4096) {
                                throw new MaxLengthError('Decode error - repeated field "incarnations" had too many elements');
                            }
                            obj.incarnations.push(reader.uint64Number());
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
    Links.encode = (obj) => {
        return encodeMessage(obj, Links.codec());
    };
    Links.decode = (buf, opts) => {
        return decodeMessage(buf, Links.codec(), opts);
    };
})(Links || (Links = {}));
export var Down;
(function (Down) {
    let _codec;
    Down.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if ((obj.origin != null && obj.origin.byteLength > 0)) {
                    w.uint32(10);
                    w.bytes(obj.origin);
                }
                if ((obj.incarnation != null && obj.incarnation !== 0)) {
                    w.uint32(16);
                    w.uint64Number(obj.incarnation);
                }
                if ((obj.seq != null && obj.seq !== 0)) {
                    w.uint32(24);
                    w.uint64Number(obj.seq);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {
                    origin: uint8ArrayAlloc(0),
                    incarnation: 0,
                    seq: 0
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            obj.origin = reader.bytes();
                            break;
                        }
                        case 2: {
                            obj.incarnation = reader.uint64Number();
                            break;
                        }
                        case 3: {
                            obj.seq = reader.uint64Number();
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
    Down.encode = (obj) => {
        return encodeMessage(obj, Down.codec());
    };
    Down.decode = (buf, opts) => {
        return decodeMessage(buf, Down.codec(), opts);
    };
})(Down || (Down = {}));
export var Alive;
(function (Alive) {
    let _codec;
    Alive.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if ((obj.origin != null && obj.origin.byteLength > 0)) {
                    w.uint32(10);
                    w.bytes(obj.origin);
                }
                if ((obj.incarnation != null && obj.incarnation !== 0)) {
                    w.uint32(16);
                    w.uint64Number(obj.incarnation);
                }
                if ((obj.seq != null && obj.seq !== 0)) {
                    w.uint32(24);
                    w.uint64Number(obj.seq);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {
                    origin: uint8ArrayAlloc(0),
                    incarnation: 0,
                    seq: 0
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            obj.origin = reader.bytes();
                            break;
                        }
                        case 2: {
                            obj.incarnation = reader.uint64Number();
                            break;
                        }
                        case 3: {
                            obj.seq = reader.uint64Number();
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
    Alive.encode = (obj) => {
        return encodeMessage(obj, Alive.codec());
    };
    Alive.decode = (buf, opts) => {
        return decodeMessage(buf, Alive.codec(), opts);
    };
})(Alive || (Alive = {}));
export var Suspect;
(function (Suspect) {
    let _codec;
    Suspect.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if ((obj.origin != null && obj.origin.byteLength > 0)) {
                    w.uint32(10);
                    w.bytes(obj.origin);
                }
                if ((obj.incarnation != null && obj.incarnation !== 0)) {
                    w.uint32(16);
                    w.uint64Number(obj.incarnation);
                }
                if ((obj.seq != null && obj.seq !== 0)) {
                    w.uint32(24);
                    w.uint64Number(obj.seq);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {
                    origin: uint8ArrayAlloc(0),
                    incarnation: 0,
                    seq: 0
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            obj.origin = reader.bytes();
                            break;
                        }
                        case 2: {
                            obj.incarnation = reader.uint64Number();
                            break;
                        }
                        case 3: {
                            obj.seq = reader.uint64Number();
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
    Suspect.encode = (obj) => {
        return encodeMessage(obj, Suspect.codec());
    };
    Suspect.decode = (buf, opts) => {
        return decodeMessage(buf, Suspect.codec(), opts);
    };
})(Suspect || (Suspect = {}));
export var Unlink;
(function (Unlink) {
    let _codec;
    Unlink.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
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
    Unlink.encode = (obj) => {
        return encodeMessage(obj, Unlink.codec());
    };
    Unlink.decode = (buf, opts) => {
        return decodeMessage(buf, Unlink.codec(), opts);
    };
})(Unlink || (Unlink = {}));
export var SignedRecord;
(function (SignedRecord) {
    let _codec;
    SignedRecord.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if ((obj.body != null && obj.body.byteLength > 0)) {
                    w.uint32(10);
                    w.bytes(obj.body);
                }
                if ((obj.signature != null && obj.signature.byteLength > 0)) {
                    w.uint32(18);
                    w.bytes(obj.signature);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {
                    body: uint8ArrayAlloc(0),
                    signature: uint8ArrayAlloc(0)
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            obj.body = reader.bytes();
                            break;
                        }
                        case 2: {
                            obj.signature = reader.bytes();
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
    SignedRecord.encode = (obj) => {
        return encodeMessage(obj, SignedRecord.codec());
    };
    SignedRecord.decode = (buf, opts) => {
        return decodeMessage(buf, SignedRecord.codec(), opts);
    };
})(SignedRecord || (SignedRecord = {}));
export var RecordBody;
(function (RecordBody) {
    let Kind;
    (function (Kind) {
        Kind["KIND_UNSPECIFIED"] = "KIND_UNSPECIFIED";
        Kind["SNAPSHOT"] = "SNAPSHOT";
        Kind["DELTA"] = "DELTA";
        Kind["BYE"] = "BYE";
    })(Kind = RecordBody.Kind || (RecordBody.Kind = {}));
    let __KindValues;
    (function (__KindValues) {
        __KindValues[__KindValues["KIND_UNSPECIFIED"] = 0] = "KIND_UNSPECIFIED";
        __KindValues[__KindValues["SNAPSHOT"] = 1] = "SNAPSHOT";
        __KindValues[__KindValues["DELTA"] = 2] = "DELTA";
        __KindValues[__KindValues["BYE"] = 3] = "BYE";
    })(__KindValues || (__KindValues = {}));
    (function (Kind) {
        Kind.codec = () => {
            return enumeration(__KindValues);
        };
    })(Kind = RecordBody.Kind || (RecordBody.Kind = {}));
    let _codec;
    RecordBody.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if (obj.kind != null && __KindValues[obj.kind] !== 0) {
                    w.uint32(8);
                    RecordBody.Kind.codec().encode(obj.kind, w);
                }
                if ((obj.origin != null && obj.origin.byteLength > 0)) {
                    w.uint32(18);
                    w.bytes(obj.origin);
                }
                if ((obj.incarnation != null && obj.incarnation !== 0)) {
                    w.uint32(24);
                    w.uint64Number(obj.incarnation);
                }
                if ((obj.seq != null && obj.seq !== 0)) {
                    w.uint32(32);
                    w.uint64Number(obj.seq);
                }
                if ((obj.base != null && obj.base !== 0)) {
                    w.uint32(40);
                    w.uint64Number(obj.base);
                }
                if ((obj.chunk != null && obj.chunk !== 0)) {
                    w.uint32(48);
                    w.uint32(obj.chunk);
                }
                if ((obj.chunks != null && obj.chunks !== 0)) {
                    w.uint32(56);
                    w.uint32(obj.chunks);
                }
                if (obj.gateway != null) {
                    w.uint32(66);
                    GatewayMeta.codec().encode(obj.gateway, w);
                }
                if (obj.entries != null) {
                    for (const value of obj.entries) {
                        w.uint32(74);
                        Entry.codec().encode(value, w);
                    }
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {
                    kind: Kind.KIND_UNSPECIFIED,
                    origin: uint8ArrayAlloc(0),
                    incarnation: 0,
                    seq: 0,
                    base: 0,
                    chunk: 0,
                    chunks: 0,
                    entries: []
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            obj.kind = RecordBody.Kind.codec().decode(reader);
                            break;
                        }
                        case 2: {
                            obj.origin = reader.bytes();
                            break;
                        }
                        case 3: {
                            obj.incarnation = reader.uint64Number();
                            break;
                        }
                        case 4: {
                            obj.seq = reader.uint64Number();
                            break;
                        }
                        case 5: {
                            obj.base = reader.uint64Number();
                            break;
                        }
                        case 6: {
                            obj.chunk = reader.uint32();
                            break;
                        }
                        case 7: {
                            obj.chunks = reader.uint32();
                            break;
                        }
                        case 8: {
                            obj.gateway = GatewayMeta.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.gateway
                            });
                            break;
                        }
                        case 9: {
                            if (opts.limits?.entries != null && obj.entries.length === opts.limits.entries) {
                                throw new MaxLengthError('Decode error - map field "entries" had too many elements');
                            }
                            if (obj.entries.length === 10000) {
                                throw new MaxLengthError('Decode error - repeated field "entries" had too many elements');
                            }
                            obj.entries.push(Entry.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.entries$
                            }));
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
    RecordBody.encode = (obj) => {
        return encodeMessage(obj, RecordBody.codec());
    };
    RecordBody.decode = (buf, opts) => {
        return decodeMessage(buf, RecordBody.codec(), opts);
    };
})(RecordBody || (RecordBody = {}));
export var GatewayMeta;
(function (GatewayMeta) {
    let _codec;
    GatewayMeta.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if ((obj.name != null && obj.name !== '')) {
                    w.uint32(10);
                    w.string(obj.name);
                }
                if ((obj.host != null && obj.host !== '')) {
                    w.uint32(18);
                    w.string(obj.host);
                }
                if (obj.gatewayPort != null) {
                    w.uint32(24);
                    w.uint32(obj.gatewayPort);
                }
                if (obj.addrs != null) {
                    for (const value of obj.addrs) {
                        w.uint32(34);
                        w.string(value);
                    }
                }
                if ((obj.maxMessageBytes != null && obj.maxMessageBytes !== 0)) {
                    w.uint32(40);
                    w.uint32(obj.maxMessageBytes);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {
                    name: '',
                    host: '',
                    addrs: [],
                    maxMessageBytes: 0
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            obj.name = reader.string();
                            break;
                        }
                        case 2: {
                            obj.host = reader.string();
                            break;
                        }
                        case 3: {
                            obj.gatewayPort = reader.uint32();
                            break;
                        }
                        case 4: {
                            if (opts.limits?.addrs != null && obj.addrs.length === opts.limits.addrs) {
                                throw new MaxLengthError('Decode error - map field "addrs" had too many elements');
                            }
                            if (obj.addrs.length === 32) {
                                throw new MaxLengthError('Decode error - repeated field "addrs" had too many elements');
                            }
                            obj.addrs.push(reader.string());
                            break;
                        }
                        case 5: {
                            obj.maxMessageBytes = reader.uint32();
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
    GatewayMeta.encode = (obj) => {
        return encodeMessage(obj, GatewayMeta.codec());
    };
    GatewayMeta.decode = (buf, opts) => {
        return decodeMessage(buf, GatewayMeta.codec(), opts);
    };
})(GatewayMeta || (GatewayMeta = {}));
export var Entry;
(function (Entry) {
    let _codec;
    Entry.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if ((obj.key != null && obj.key !== '')) {
                    w.uint32(10);
                    w.string(obj.key);
                }
                if (obj.keyAgent != null) {
                    w.uint32(18);
                    w.string(obj.keyAgent);
                }
                if (obj.agentId != null) {
                    w.uint32(26);
                    w.string(obj.agentId);
                }
                if ((obj.agentIsKeyAgent != null && obj.agentIsKeyAgent !== false)) {
                    w.uint32(32);
                    w.bool(obj.agentIsKeyAgent);
                }
                if (obj.sessionUuid != null) {
                    w.uint32(42);
                    w.bytes(obj.sessionUuid);
                }
                if (obj.sessionId != null) {
                    w.uint32(50);
                    w.string(obj.sessionId);
                }
                if (obj.label != null) {
                    w.uint32(58);
                    w.string(obj.label);
                }
                if ((obj.removed != null && obj.removed !== false)) {
                    w.uint32(64);
                    w.bool(obj.removed);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {
                    key: '',
                    agentIsKeyAgent: false,
                    removed: false
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            obj.key = reader.string();
                            break;
                        }
                        case 2: {
                            obj.keyAgent = reader.string();
                            break;
                        }
                        case 3: {
                            obj.agentId = reader.string();
                            break;
                        }
                        case 4: {
                            obj.agentIsKeyAgent = reader.bool();
                            break;
                        }
                        case 5: {
                            obj.sessionUuid = reader.bytes();
                            break;
                        }
                        case 6: {
                            obj.sessionId = reader.string();
                            break;
                        }
                        case 7: {
                            obj.label = reader.string();
                            break;
                        }
                        case 8: {
                            obj.removed = reader.bool();
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
    Entry.encode = (obj) => {
        return encodeMessage(obj, Entry.codec());
    };
    Entry.decode = (buf, opts) => {
        return decodeMessage(buf, Entry.codec(), opts);
    };
})(Entry || (Entry = {}));
