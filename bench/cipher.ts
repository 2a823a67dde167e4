/**
 * The private-network cipher, measured two ways in one run (issue 11, item 1):
 *
 * - raw: XSalsa20 over 200-byte pieces (a message) and 64 KiB pieces (a snapshot), ours
 *   (`src/security/xsalsa20.ts`, on `@noble/ciphers`) against the `xsalsa20` package
 *   (WebAssembly, what `@libp2p/pnet` uses). Each sample encrypts 8 MiB; the two
 *   implementations alternate sample by sample so that machine noise hits both alike.
 * - protector: one libp2p stream (TCP + protector + Noise + yamux, both ends in this process)
 *   carrying 2 MB one way in 200-byte messages or 8 MiB in 64 KiB pieces, with our protector
 *   or with `@libp2p/pnet`'s, alternating sample by sample. The same bytes travel on both
 *   (they interoperate); timed from the first send to the last byte received.
 *
 * `*_ratio` figures are per-sample ratios ours / theirs (above 1: ours is faster).
 */
import { createRequire } from 'node:module'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { preSharedKey } from '@libp2p/pnet'
import { tcp } from '@libp2p/tcp'
import { createLibp2p, type Libp2p } from 'libp2p'
import type { ComponentLogger, ConnectionProtector, Stream } from '@libp2p/interface'
import { meshProtector } from '../src/security/protector.ts'
import { parseSecret, generateSecret } from '../src/security/secret.ts'
import { XSalsa20Stream } from '../src/security/xsalsa20.ts'

interface Xor { update: (input: Uint8Array) => Uint8Array, finalize: () => void }
const wasmXsalsa20 = createRequire(import.meta.url)('xsalsa20') as (nonce: Uint8Array, key: Uint8Array) => Xor

export interface CipherFigures {
  /** MB/s per sample, keyed by figure name. */
  rates: Record<string, number[]>
  ratios: Record<string, number[]>
}

function rawRate (make: () => { update: (b: Uint8Array) => Uint8Array, done: () => void }, piece: number, total: number): number {
  const cipher = make()
  const data = crypto.getRandomValues(new Uint8Array(piece))
  const started = performance.now()
  for (let sent = 0; sent < total; sent += piece) cipher.update(data)
  const seconds = (performance.now() - started) / 1000
  cipher.done()
  return total / 1e6 / seconds
}

/** Raw cipher throughput, ours vs the WebAssembly package, alternating. */
export function rawCipher (samples: number, out: CipherFigures): void {
  const key = crypto.getRandomValues(new Uint8Array(32))
  const nonce = crypto.getRandomValues(new Uint8Array(24))
  const ours = (): { update: (b: Uint8Array) => Uint8Array, done: () => void } => {
    const s = new XSalsa20Stream(nonce, key)
    return { update: b => s.update(b), done: () => { s.destroy() } }
  }
  const wasm = (): { update: (b: Uint8Array) => Uint8Array, done: () => void } => {
    const s = wasmXsalsa20(nonce, key)
    return { update: b => s.update(b), done: () => { s.finalize() } }
  }
  for (const [label, piece] of [['200b', 200], ['64k', 65_536]] as const) {
    // Warm both up (JIT) before counting.
    rawRate(ours, piece, 2 << 20)
    rawRate(wasm, piece, 2 << 20)
    for (let i = 0; i < samples; i++) {
      const a = rawRate(ours, piece, 8 << 20)
      const b = rawRate(wasm, piece, 8 << 20)
      push(out.rates, `xsalsa20_${label}_ours`, a)
      push(out.rates, `xsalsa20_${label}_wasm`, b)
      push(out.ratios, `xsalsa20_${label}_ratio`, a / b)
    }
  }
}

type Protector = (components: { logger: ComponentLogger }) => ConnectionProtector

async function node (protector: Protector): Promise<Libp2p> {
  return await createLibp2p({
    addresses: { listen: ['/ip4/127.0.0.1/tcp/0'] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionProtector: protector,
    connectionManager: { allow: ['/ip4/127.0.0.0/ipcidr/8'] }
  })
}

const PROTOCOL = '/clawmesh-bench/sink/1'

interface Pair { stream: Stream, until: (bytes: number) => Promise<void>, stop: () => Promise<void> }

/** A pair of nodes with `protector` and an open stream from one to the other whose bytes are counted. */
async function pair (protector: () => Protector): Promise<Pair> {
  const [a, b] = [await node(protector()), await node(protector())]
  let received = 0
  let waiter: { bytes: number, resolve: () => void } | undefined
  await b.handle(PROTOCOL, (stream) => {
    stream.addEventListener('message', (evt) => {
      received += evt.data.byteLength
      if (waiter !== undefined && received >= waiter.bytes) { waiter.resolve(); waiter = undefined }
    })
  })
  const stream = await a.dialProtocol(b.getMultiaddrs()[0]!, PROTOCOL)
  let expected = 0
  return {
    stream,
    // Resolves once `bytes` more than before have arrived.
    until: async (bytes) => {
      expected += bytes
      if (received >= expected) return
      await new Promise<void>(resolve => { waiter = { bytes: expected, resolve } })
    },
    stop: async () => { await a.stop(); await b.stop() }
  }
}

/** Sends `count` pieces of `size` bytes (respecting back-pressure); returns MB/s from the first send to the last byte received. */
async function pump (p: Pair, size: number, count: number): Promise<number> {
  const piece = new Uint8Array(size).fill(7)
  const started = performance.now()
  const arrived = p.until(size * count)
  for (let i = 0; i < count; i++) {
    if (!p.stream.send(piece)) await new Promise(resolve => p.stream.addEventListener('drain', resolve, { once: true }))
  }
  await arrived
  return size * count / 1e6 / ((performance.now() - started) / 1000)
}

/** Protector throughput over real connections: ours vs `@libp2p/pnet`, alternating samples. */
export async function protectorThroughput (samples: number, out: CipherFigures): Promise<void> {
  const secret = parseSecret(generateSecret())
  const ours = await pair(() => meshProtector({ secret }))
  const theirs = await pair(() => preSharedKey({ psk: secret.swarmKey }))
  try {
    for (const [label, size, count] of [['200b', 200, 10_000], ['64k', 65_536, 128]] as const) {
      await pump(ours, size, count)
      await pump(theirs, size, count)
      for (let i = 0; i < samples; i++) {
        const a = await pump(ours, size, count)
        const b = await pump(theirs, size, count)
        push(out.rates, `protector_${label}_ours`, a)
        push(out.rates, `protector_${label}_pnet`, b)
        push(out.ratios, `protector_${label}_ratio`, a / b)
      }
    }
  } finally {
    await ours.stop()
    await theirs.stop()
  }
}

function push (map: Record<string, number[]>, name: string, value: number): void {
  (map[name] ??= []).push(value)
}
