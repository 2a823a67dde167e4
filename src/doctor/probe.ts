/**
 * Probing one mesh address the way a Gateway would dial it, and saying why it
 * fails: nothing listens (refused), no route or no answer (unreachable), another
 * mesh secret (or another program), no secret at all, refused after the
 * handshake (the remote's allowlist), a different peer than the address names,
 * or reachable, with the protocols the remote speaks.
 *
 * The probe is a short-lived libp2p node with a throwaway identity: it never
 * listens and runs no discovery (so it advertises nothing and no member dials
 * it), and it does not borrow the Gateway's own key (two processes with one
 * peer ID would confuse the remote).
 */
import { connect, type Socket } from 'node:net'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { identify } from '@libp2p/identify'
import { tcp } from '@libp2p/tcp'
import { getNetConfig } from '@libp2p/utils'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { meshProtector, type ProtectorRejection } from '../security/protector.ts'
import type { MeshSecret } from '../security/secret.ts'
import type { PeerId } from '@libp2p/interface'

/** How a probe of one address ended. */
export type ProbeResult =
  | { result: 'ok', peerId: string, protocols: string[], agentVersion?: string, ms: number }
  /** Nothing listens on that port (the host said so at once). */
  | { result: 'refused' }
  /** No route, or no answer within the timeout (a firewall dropping packets, a host that is down). */
  | { result: 'unreachable', why: string }
  /** A private-network peer whose first bytes do not decrypt with our secret: another mesh, or a mistyped secret. */
  | { result: 'wrong-secret' }
  /** A libp2p node without any mesh secret. */
  | { result: 'no-secret' }
  /** Another program: `banner` is the first line it sent (HTTP, SSH, …), when it sent one. */
  | { result: 'not-a-gateway', banner?: string }
  /** The handshake succeeded (same secret, identity proven), then the remote hung up: it keeps an allowlist. */
  | { result: 'not-allowed', peerId: string }
  /** The address names one peer ID, the remote proved another. */
  | { result: 'wrong-peer', expected: string, actual: string }
  | { result: 'bad-address', why: string }

export interface ProbeOptions {
  secret: Pick<MeshSecret, 'psk' | 'meshId'>
  /** Bound on each step (TCP connect, handshake, identify). @default 5000 */
  timeoutMs?: number
  signal?: AbortSignal
}

const DEFAULT_TIMEOUT_MS = 5_000
/** What every libp2p connection without a private network starts with. */
const MSS_HEADER = '\x13/multistream/1.0.0\n'

type Dialed =
  | { kind: 'connected', peerId: string, protocols?: string[], agentVersion?: string, open: boolean, ms: number }
  | { kind: 'rejected', why: ProtectorRejection }
  | { kind: 'failed', encryptedWith?: string, timedOut: boolean }

/** Dials `address` (a multiaddr, `/p2p/<id>` optional) and classifies what happened. */
export async function probeAddress (address: string, options: ProbeOptions): Promise<ProbeResult> {
  let ma: Multiaddr
  let host: string
  let port: number
  try {
    ma = multiaddr(address)
    if (ma.getComponents().some(c => c.name === 'p2p-circuit')) return { result: 'bad-address', why: 'a relayed (/p2p-circuit) address: only direct TCP addresses can be probed' }
    const net = getNetConfig(ma)
    if (net.protocol !== 'tcp' || net.port === undefined) return { result: 'bad-address', why: 'only TCP addresses (…/tcp/<port>) can be probed' }
    host = net.host
    port = net.port
  } catch (err) {
    return { result: 'bad-address', why: (err as Error).message }
  }
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS
  const unreachable = await tcpConnect(host, port, timeoutMs, options.signal)
  if (unreachable !== undefined) return unreachable
  // Dial without the peer ID, so that a different peer there is named, not just refused by Noise.
  const p2p = ma.getComponents().findIndex(c => c.name === 'p2p')
  const expected = p2p >= 0 ? ma.getComponents()[p2p]?.value : undefined
  const dialed = await libp2pDial(p2p >= 0 ? multiaddr(ma.getComponents().slice(0, p2p)) : ma, timeoutMs, options)
  switch (dialed.kind) {
    case 'connected':
      if (!dialed.open && dialed.protocols === undefined) return { result: 'not-allowed', peerId: dialed.peerId }
      if (expected !== undefined && expected !== dialed.peerId) return { result: 'wrong-peer', expected, actual: dialed.peerId }
      return { result: 'ok', peerId: dialed.peerId, protocols: dialed.protocols ?? [], ...(dialed.agentVersion !== undefined ? { agentVersion: dialed.agentVersion } : {}), ms: dialed.ms }
    case 'rejected':
      return dialed.why === 'no-secret' ? { result: 'no-secret' } : await listen(host, port, timeoutMs)
    case 'failed':
      if (dialed.encryptedWith !== undefined) return { result: 'not-allowed', peerId: dialed.encryptedWith }
      // No verdict from the handshake (it stalled or was reset): ask the program itself what it is.
      return await listen(host, port, timeoutMs)
  }
}

/** A plain TCP connect: undefined when it connects; refused or unreachable otherwise. */
async function tcpConnect (host: string, port: number, timeoutMs: number, signal?: AbortSignal): Promise<ProbeResult | undefined> {
  return await new Promise<ProbeResult | undefined>((resolve) => {
    const socket = connect({ host, port, timeout: timeoutMs })
    const done = (result: ProbeResult | undefined): void => {
      signal?.removeEventListener('abort', onAbort)
      socket.destroy()
      resolve(result)
    }
    const onAbort = (): void => { done({ result: 'unreachable', why: 'the check was cancelled' }) }
    signal?.addEventListener('abort', onAbort, { once: true })
    socket.once('connect', () => { done(undefined) })
    socket.once('timeout', () => { done({ result: 'unreachable', why: `no answer within ${timeoutMs} ms` }) })
    socket.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNREFUSED') done({ result: 'refused' })
      else done({ result: 'unreachable', why: err.code ?? err.message })
    })
  })
}

async function libp2pDial (ma: Multiaddr, timeoutMs: number, options: ProbeOptions): Promise<Dialed> {
  let rejected: ProtectorRejection | undefined
  let encryptedWith: PeerId | undefined
  const node = await createLibp2p({
    privateKey: await generateKeyPair('Ed25519'),
    addresses: { listen: [] },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionProtector: meshProtector({ secret: options.secret, onReject: (e) => { rejected ??= e.kind } }),
    // Not a gate: a witness that the handshake got as far as a proven identity.
    connectionGater: { denyOutboundEncryptedConnection: async (peer) => { encryptedWith = peer; return false } },
    connectionMonitor: { enabled: false },
    // Identified once, by us below (a second, automatic run would be one stream too many for the remote).
    services: { identify: identify({ runOnConnectionOpen: false }) }
  })
  const started = performance.now()
  const signal = AbortSignal.any([AbortSignal.timeout(timeoutMs), ...(options.signal !== undefined ? [options.signal] : [])])
  try {
    const connection = await node.dial(ma, { signal })
    const identified = await node.services.identify.identify(connection, { signal }).catch(() => undefined)
    return {
      kind: 'connected',
      peerId: connection.remotePeer.toString(),
      ...(identified !== undefined ? { protocols: [...identified.protocols].sort() } : {}),
      ...(identified?.agentVersion !== undefined ? { agentVersion: identified.agentVersion } : {}),
      open: connection.status === 'open',
      ms: Math.round(performance.now() - started)
    }
  } catch {
    if (rejected !== undefined) return { kind: 'rejected', why: rejected }
    return { kind: 'failed', timedOut: signal.aborted, ...(encryptedWith !== undefined ? { encryptedWith: encryptedWith.toString() } : {}) }
  } finally {
    await node.stop()
  }
}

/**
 * What the program at host:port is, from how it answers a libp2p greeting
 * (the multistream header): a libp2p node without a secret echoes the header,
 * a private-network peer sends 24 bytes of nonce (binary), other programs
 * answer in text (HTTP's error page, SSH's banner) or say nothing.
 */
async function listen (host: string, port: number, timeoutMs: number): Promise<ProbeResult> {
  const data = await new Promise<Buffer>((resolve) => {
    const socket: Socket = connect({ host, port, timeout: Math.min(timeoutMs, 2_000) })
    let received = Buffer.alloc(0)
    const done = (): void => { socket.destroy(); resolve(received) }
    socket.once('connect', () => { socket.write(MSS_HEADER) })
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk])
      if (received.includes(10) || received.length >= 24) done()
    })
    socket.once('timeout', done)
    socket.once('error', done)
    socket.once('end', done)
  })
  const text = data.toString('latin1')
  if (text.startsWith(MSS_HEADER)) return { result: 'no-secret' }
  const line = text.split(/\r?\n/)[0] ?? ''
  if (/^[\x20-\x7e]{3,}$/.test(line)) return { result: 'not-a-gateway', banner: line.slice(0, 80) }
  if (data.length >= 24) return { result: 'wrong-secret' }
  return { result: 'not-a-gateway' }
}
