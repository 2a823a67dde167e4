// Per-host limits on inbound handshakes (issue 11, item 1): a stranger's host is throttled,
// members are not, whether they share one NAT address or come through a relay.
import assert from 'node:assert/strict'
import { after, describe, it } from 'node:test'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { tcp, type TCPSocketOptions } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p, type Libp2p } from 'libp2p'
import { createMesh, type Mesh } from '../../src/index.ts'
import { InboundLimiter, MAX_TRACKED_HOSTS } from '../../src/security/inbound-limit.ts'
import { connect } from 'node:net'
import { parseSecret } from '../../src/security/key.ts'
import { MSS_HEADER } from '../../src/security/verifying-box.ts'
import { XSalsa20Stream } from '../../src/security/xsalsa20.ts'
import { loopbackOptions, testProtector, TEST_SECRET, waitUntil } from '../../src/testing.ts'
import type { MultiaddrConnection } from '@libp2p/interface'

/** Just what the limiter reads of a connection: its remote address and its `close` event. */
function fakeConnection (address: string): MultiaddrConnection & { hangUp: () => void } {
  const target = new EventTarget() as EventTarget & { remoteAddr: unknown, hangUp: () => void }
  target.remoteAddr = multiaddr(address)
  target.hangUp = () => { target.dispatchEvent(new Event('close')) }
  return target as unknown as MultiaddrConnection & { hangUp: () => void }
}

void describe('InboundLimiter', () => {
  void it('refuses a host past its pending handshakes, and again once they finish', () => {
    const limiter = new InboundLimiter({ pendingPerHost: 2, exempt: [] })
    const a = fakeConnection('/ip4/10.0.0.5/tcp/1001')
    const b = fakeConnection('/ip4/10.0.0.5/tcp/1002')
    assert.equal(limiter.admit(a), undefined)
    assert.equal(limiter.admit(b), undefined)
    assert.equal(limiter.admit(fakeConnection('/ip4/10.0.0.5/tcp/1003'))?.why, 'pending')
    assert.equal(limiter.admit(fakeConnection('/ip4/10.0.0.6/tcp/1003')), undefined, 'another host is not affected')
    limiter.proven(a)
    assert.equal(limiter.admit(fakeConnection('/ip4/10.0.0.5/tcp/1004')), undefined)
  })

  void it('refuses a host after its burst of failed handshakes, and lets it try again as the window passes', () => {
    let now = 0
    const limiter = new InboundLimiter({ maxFailures: 5, failureWindowMs: 10_000, exempt: [] }, () => now)
    for (let i = 0; i < 5; i++) {
      const c = fakeConnection(`/ip4/192.168.1.9/tcp/${2000 + i}`)
      assert.equal(limiter.admit(c), undefined)
      c.hangUp()
    }
    assert.equal(limiter.admit(fakeConnection('/ip4/192.168.1.9/tcp/3000'))?.why, 'failures', 'a private address is limited like any other')
    now += 2_000 // one failure's worth (10 s / 5)
    const retry = fakeConnection('/ip4/192.168.1.9/tcp/3001')
    assert.equal(limiter.admit(retry), undefined)
    retry.hangUp()
    assert.equal(limiter.admit(fakeConnection('/ip4/192.168.1.9/tcp/3002'))?.why, 'failures')
  })

  void it('never counts successful handshakes: many Gateways behind one NAT address reconnect freely', () => {
    const limiter = new InboundLimiter({ pendingPerHost: 4, maxFailures: 3, exempt: [] })
    for (let i = 0; i < 1_000; i++) {
      const c = fakeConnection(`/ip4/203.0.113.7/tcp/${10_000 + i}`)
      assert.equal(limiter.admit(c), undefined, `connection ${i}`)
      limiter.proven(c)
      c.hangUp()
    }
    assert.equal(limiter.trackedHosts, 0, 'a host with nothing pending and no failures is forgotten')
  })

  void it('does not count relayed connections against the relay, exempts loopback by default, groups IPv6 by /64', () => {
    const limiter = new InboundLimiter({ pendingPerHost: 1 })
    const relayed = '/ip4/198.51.100.1/tcp/4001/p2p/12D3KooWRBy97UB99e3J6hiPesre1MZeuNQvfan4gBziswrRJsNK/p2p-circuit'
    for (let i = 0; i < 10; i++) assert.equal(limiter.admit(fakeConnection(relayed)), undefined)
    for (let i = 0; i < 10; i++) assert.equal(limiter.admit(fakeConnection(`/ip4/127.0.${i}.1/tcp/5000`)), undefined)
    assert.equal(limiter.admit(fakeConnection('/ip6/::1/tcp/5000')), undefined)
    assert.equal(limiter.admit(fakeConnection('/ip6/2001:db8:1:2::1/tcp/5000')), undefined)
    assert.equal(limiter.admit(fakeConnection('/ip6/2001:db8:1:2:ffff::9/tcp/5000'))?.why, 'pending', 'same /64, same host')
    assert.equal(limiter.admit(fakeConnection('/ip6/2001:db8:1:3::1/tcp/5000')), undefined)
    assert.equal(limiter.admit(fakeConnection('/ip6/::ffff:10.1.1.1/tcp/5000')), undefined)
    assert.equal(limiter.admit(fakeConnection('/ip4/10.1.1.1/tcp/5001'))?.why, 'pending', 'an IPv4-mapped address is its IPv4 host')
  })

  void it('remembers a bounded number of hosts when a sweep comes from many addresses', () => {
    const limiter = new InboundLimiter({ exempt: [] })
    for (let i = 0; i < MAX_TRACKED_HOSTS * 2; i++) {
      const c = fakeConnection(`/ip4/10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}/tcp/80`)
      limiter.admit(c)
      c.hangUp()
    }
    assert.ok(limiter.trackedHosts <= MAX_TRACKED_HOSTS)
  })

  void it('refuses a malformed exempt block at start', () => {
    assert.throws(() => new InboundLimiter({ exempt: ['10.0.0.0/33'] }))
  })
})

const strangerScript = fileURLToPath(new URL('../fixtures/stranger.ts', import.meta.url))
async function runStranger (options: Record<string, unknown>): Promise<{ done: number, refused: number }> {
  const child = spawn(process.execPath, [strangerScript, JSON.stringify(options)], { stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  child.stdout.on('data', (d: Buffer) => { out += d.toString() })
  await new Promise(resolve => child.on('exit', resolve))
  return JSON.parse(out.trim().split('\n').pop() ?? '{}') as { done: number, refused: number }
}

/** A bare libp2p node holding the test secret that dials from `source` (a second "host" on loopback). */
async function memberFrom (source: string): Promise<Libp2p> {
  return await createLibp2p({
    // @libp2p/tcp hands `dialOpts` to net.connect(), which takes a source address (not in its type).
    transports: [tcp({ dialOpts: { localAddress: source } as unknown as TCPSocketOptions })],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionProtector: testProtector()
  })
}

const stops: Array<() => Promise<void>> = []
after(async () => { for (const s of stops.reverse()) await s().catch(() => {}) })

void describe('inbound limits on a Gateway', { timeout: 120_000 }, () => {
  void it('a member that hangs up right after proving the secret (before Noise ends) is not counted as a failure', async () => {
    // What an honest dial-then-close can look like from the listener's side when the dialer's last
    // handshake bytes and its FIN arrive together: the secret is proven, the upgrade never finishes.
    const gateway: Mesh = await createMesh(loopbackOptions({ name: 'gw', inboundLimits: { exempt: [], maxFailures: 3, failureWindowMs: 3_600_000 } }))
    stops.push(async () => { await gateway.stop() })
    const port = Number(/\/tcp\/(\d+)/.exec(gateway.status().addresses.find(a => a.includes('/ip4/127.0.0.1/'))!)?.[1])
    const psk = parseSecret(TEST_SECRET).psk
    /** Nonce out, nonce in, the encrypted multistream header with our FIN; resolves with the bytes the Gateway sent. */
    const proveAndHangUp = async (): Promise<number> => await new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port, localAddress: '127.0.0.4' })
      const nonce = crypto.getRandomValues(new Uint8Array(24))
      let received = 0
      socket.on('connect', () => { socket.write(nonce) })
      socket.on('data', (d: Buffer) => {
        const before = received
        received += d.length
        if (before < 24 && received >= 24) socket.end(new XSalsa20Stream(nonce, psk).update(MSS_HEADER))
      })
      socket.on('error', reject)
      socket.on('close', () => { resolve(received) })
    })
    for (let i = 0; i < 10; i++) assert.ok(await proveAndHangUp() >= 24, `connection ${i} was answered (not refused at accept)`)
  })

  void it('a stranger host is throttled at accept while members behind one address connect and reconnect', async () => {
    // Loopback is exempt by default; here every 127.x.y.z counts as the host it is. A window of an
    // hour: the host earns no new try (one per 3 minutes) while the test runs.
    const gateway: Mesh = await createMesh(loopbackOptions({ name: 'gw', inboundLimits: { exempt: [], maxFailures: 20, failureWindowMs: 3_600_000 } }))
    stops.push(async () => { await gateway.stop() })
    const address = gateway.status().addresses.find(a => a.includes('/ip4/127.0.0.1/'))!
    const port = Number(/\/tcp\/(\d+)/.exec(address)?.[1])

    const flood = await runStranger({ port, count: 300, concurrency: 4, sources: ['127.0.0.2'], modes: ['random64'] })
    assert.equal(flood.done, 300)
    // 20 failures allowed in the window (a few more may slip in while the first ones are still pending).
    assert.ok(flood.refused >= 300 - 20 - 8 - 5, `${flood.refused} of 300 refused at accept`)
    await waitUntil(gateway, () => gateway.status().rejected.some(r => r.address?.startsWith('/ip4/127.0.0.2/') === true && /too many failed handshakes/.test(r.reason)), 10_000)

    // Six members behind one address (127.0.0.3), each connecting and reconnecting 10 times: 60
    // successful handshakes, three times the failure budget, none refused.
    const members = await Promise.all(Array.from({ length: 6 }, async () => await memberFrom('127.0.0.3')))
    stops.push(async () => { await Promise.all(members.map(async m => { await m.stop() })) })
    for (let round = 0; round < 10; round++) {
      await Promise.all(members.map(async (m) => {
        const connection = await m.dial(multiaddr(address), { signal: AbortSignal.timeout(20_000) })
        assert.equal(connection.remoteAddr.toString().startsWith('/ip4/127.0.0.1/'), true)
        await connection.close()
      }))
    }
    // And the stranger's host is still refused.
    const again = await runStranger({ port, count: 10, concurrency: 1, sources: ['127.0.0.2'], modes: ['random64'] })
    assert.equal(again.refused, 10)
  })
})
