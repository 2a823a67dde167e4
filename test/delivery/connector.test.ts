// The connector's reading of a failed dial: a timeout (ours, or one inside the upgrade) is what an
// overloaded owner gives too, so it never makes sends fail fast and the router dials again; a refusal
// is definite. Fakes for the dialer and filter: the rule is the connector's, not libp2p's.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { ChannelLost } from '../../src/delivery/client.ts'
import { Connector, isTimeout } from '../../src/delivery/connector.ts'
import { MeshError } from '../../src/errors.ts'
import { PEERS } from '../helpers/fake-directory.ts'
import type { AddressFilter } from '../../src/delivery/address-filter.ts'
import type { GatewayRecord } from '../../src/routing/directory.ts'

const peerId = PEERS.b
const owner: GatewayRecord = { peerId, name: 'b', host: 'h', addrs: ['/ip4/127.0.0.1/tcp/1'], maxMessageBytes: 1024, reachable: true, departed: false }

function connector (failure: Error): { connector: Connector, marked: Array<[string, boolean | undefined]> } {
  const marked: Array<[string, boolean | undefined]> = []
  const c = new Connector({
    dialer: { getConnections: () => [], openConnection: async () => { throw failure } },
    directory: { markUnreachable: (id, timedOut) => { marked.push([id, timedOut]) } },
    liveness: { failFast: () => false, isLinked: () => false },
    filter: { allowed: () => [multiaddr('/ip4/127.0.0.1/tcp/1')] } as unknown as AddressFilter,
    dialTimeoutMs: 5_000
  })
  return { connector: c, marked }
}

describe('connector: a failed dial', () => {
  it('a timeout inside the upgrade: listed unreachable as timed out, and retried (ChannelLost), not UNREACHABLE at once', async () => {
    const inner = new DOMException('The operation was aborted due to timeout', 'TimeoutError')
    const failure = Object.assign(new Error(inner.message, { cause: inner }), { name: 'EncryptionFailedError' })
    const { connector: c, marked } = connector(failure)
    await assert.rejects(c.ensureConnected(owner, peerIdFromString(peerId), new AbortController().signal), (err: unknown) => err instanceof ChannelLost)
    assert.deepEqual(marked, [[peerId, true]])
  })

  it('a reset in the handshake (an overloaded owner whose own handshake timeout fired): timed out and retried, not UNREACHABLE at once', async () => {
    // As the 50-Gateway load test saw it: libp2p's encrypter wraps the socket error, keeping its message.
    const failure = Object.assign(new Error('write ECONNRESET'), { name: 'EncryptionFailedError' })
    const { connector: c, marked } = connector(failure)
    await assert.rejects(c.ensureConnected(owner, peerIdFromString(peerId), new AbortController().signal), (err: unknown) => err instanceof ChannelLost)
    assert.deepEqual(marked, [[peerId, true]])
  })

  it('a refusal is definite: UNREACHABLE, marked so that sends fail fast', async () => {
    const failure = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' })
    const { connector: c, marked } = connector(failure)
    await assert.rejects(c.ensureConnected(owner, peerIdFromString(peerId), new AbortController().signal), (err: unknown) => err instanceof MeshError && err.code === 'UNREACHABLE')
    assert.deepEqual(marked, [[peerId, false]])
  })

  it('an overloaded Gateway gives its dials longer: the timeout is scaled by its own health multiplier, never past the send\'s deadline', async () => {
    // A handshake that completes after 100 ms, against a 20 ms dial timeout: only the widened timeout lets it finish.
    const slowHandshake = async (_addresses: unknown, options?: { signal?: AbortSignal }): Promise<never> => await new Promise((resolve, reject) => {
      const done = setTimeout(() => { resolve({ status: 'open' } as never) }, 100)
      options?.signal?.addEventListener('abort', () => { clearTimeout(done); reject(new DOMException('The operation was aborted due to timeout', 'TimeoutError')) }, { once: true })
    })
    const make = (slowdown: number): Connector => new Connector({
      dialer: { getConnections: () => [], openConnection: slowHandshake },
      directory: { markUnreachable: () => {} },
      liveness: { failFast: () => false, isLinked: () => false },
      filter: { allowed: () => [multiaddr('/ip4/127.0.0.1/tcp/1')] } as unknown as AddressFilter,
      dialTimeoutMs: 20,
      slowdown: () => slowdown
    })
    await make(100).ensureConnected(owner, peerIdFromString(peerId), new AbortController().signal)
    await assert.rejects(make(1).ensureConnected(owner, peerIdFromString(peerId), new AbortController().signal), (err: unknown) => err instanceof ChannelLost)
    const deadline = new AbortController()
    const dial = make(100).ensureConnected(owner, peerIdFromString(peerId), deadline.signal)
    deadline.abort(new DOMException('deadline', 'TimeoutError'))
    await assert.rejects(dial)
  })

  it('isTimeout looks through the cause chain', () => {
    assert.equal(isTimeout(new Error('x', { cause: new DOMException('t', 'TimeoutError') })), true)
    assert.equal(isTimeout(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' })), false)
  })
})
