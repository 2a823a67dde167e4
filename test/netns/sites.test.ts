/**
 * Head office and branches on different networks (test/helpers/sites.ts):
 * three sites behind their own NAT routers and a relay host on the
 * "internet". Sites A and B sit behind port-keeping NATs, site C behind a
 * symmetric one.
 *
 * What it shows: every site Gateway joins by invite code alone (A from the
 * relay member; B from A, which B can reach only through the relay; C with
 * `clawmesh join` on the command line); each site reserves a slot on the
 * relay member; sends work through the relay; A↔B is upgraded to a direct
 * connection by hole punching (observed: the connection's remote address is
 * the other NAT's public address), A↔C cannot be and stays relayed, with
 * sends still working; an expired invite is refused; with the wrong secret
 * nothing connects, directly or through the relay; two Gateways behind one
 * NAT address are not throttled by the relay member's per-host limits.
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { fileURLToPath } from 'node:url'
import { generateSecret } from '../../src/security/secret.ts'
import { startGateway, type GatewayHandle } from '../helpers/gateway.ts'
import { createSites, sitesSupported, type Sites } from '../helpers/sites.ts'

const skip = sitesSupported()
const cli = fileURLToPath(new URL('../../bin/clawmesh.js', import.meta.url))
const PORT = 4001
const dirs: string[] = []
const gateways: GatewayHandle[] = []
let sites: Sites | undefined

interface Peer { name: string, peerId: string, link: string, addresses: string[] }
interface Conn { peerId: string, address: string, status: string }
interface Reach { state: string, relayed: string[], observed: string[] }

async function stateDir (name: string): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), `clawmesh-sites-${name}-`))
  dirs.push(d)
  return d
}

async function gateway (host: Sites['relay'], name: string, options: Record<string, unknown>, port = PORT): Promise<GatewayHandle> {
  const g = await startGateway(host, {
    name, stateDir: await stateDir(name), listen: [`/ip4/0.0.0.0/tcp/${port}`], mdns: false, discovery: { mdns: false, local: false }, sessions: [`agent:main:${name}`], ...options
  })
  gateways.push(g)
  return g
}

interface Invite { code: string, addresses: string[], expiresAt: number }
const invite = async (g: GatewayHandle, options: Record<string, unknown> = {}): Promise<Invite> => await g.request<Invite>('invite', { options })

/** `clawmesh join CODE` inside a site; resolves with the exit code and output. */
async function cliJoin (host: Sites['relay'], code: string, dir: string): Promise<{ exit: number | string, out: string }> {
  const proc = host.spawn(process.execPath, [cli, 'join', code, '--state-dir', dir, '--json'])
  const exit = await proc.exited
  return { exit, out: proc.stdout.join('\n') + proc.stderr.join('\n') }
}

const reach = async (g: GatewayHandle): Promise<Reach> => (await g.request<{ reachability: Reach }>('status')).reachability

void describe('two sites behind NAT and a relay member', { skip, timeout: 120_000 }, () => {
  let relay: GatewayHandle, a: GatewayHandle, b: GatewayHandle, c: GatewayHandle

  before(async () => {
    sites = createSites([{ name: 'a', nat: 'cone' }, { name: 'b', nat: 'cone' }, { name: 'c', nat: 'symmetric' }])
    // The relay member is the mesh's first Gateway: it creates the secret. Everyone else joins by invite.
    relay = await gateway(sites.relay, 'relay', { relay: true })
    // Site A, invited by the relay member.
    a = await gateway(sites.hosts.a!, 'a', { join: (await invite(relay)).code })
    await a.request('waitRelayed', { timeoutMs: 20_000 })
    // Site B, invited by A: B can reach A only through the relay (A's code carries its relayed address).
    const fromA = await invite(a)
    assert.ok(fromA.addresses.some(x => x.includes(`/p2p/${relay.peerId}/p2p-circuit/p2p/${a.peerId}`)), JSON.stringify(fromA.addresses))
    b = await gateway(sites.hosts.b!, 'b', { join: fromA.code })
    await b.request('waitRelayed', { timeoutMs: 20_000 })
    // Site C, with the command line: `clawmesh join`, then a Gateway on that state directory (no code, no secret, no peers).
    const dirC = await stateDir('c')
    const joined = await cliJoin(sites.hosts.c!, (await invite(relay)).code, dirC)
    assert.equal(joined.exit, 0, joined.out)
    c = await startGateway(sites.hosts.c!, { name: 'c', stateDir: dirC, listen: [`/ip4/0.0.0.0/tcp/${PORT}`], mdns: false, discovery: { mdns: false, local: false }, sessions: ['agent:main:c'] })
    gateways.push(c)
    await c.request('waitRelayed', { timeoutMs: 20_000 })
    // Every Gateway holds the four Gateways' sessions (some arrive during start, before any event listener).
    await Promise.all([relay, a, b, c].map(async g => { await g.request('waitSessions', { count: 4, timeoutMs: 20_000 }) }))
  })

  after(async () => {
    await Promise.allSettled(gateways.map(async g => { await g.stop() }))
    sites?.destroy()
    await Promise.all(dirs.map(async d => { await rm(d, { recursive: true, force: true }) }))
  })

  void it('the relay member learns from AutoNAT that it is reachable; every site is private, holds a relay slot, and knows its NAT mapping when the NAT keeps ports', async () => {
    await relay.request('waitReachability', { state: 'public', timeoutMs: 20_000 })
    for (const g of [a, b, c]) {
      const r = await reach(g)
      assert.equal(r.state, 'private', g.name)
      assert.match(r.relayed[0] ?? '', new RegExp(`/p2p/${relay.peerId}/p2p-circuit/p2p/${g.peerId}$`))
    }
    assert.deepEqual((await reach(a)).observed, [`/ip4/${sites!.publicIp.a}/tcp/${PORT}`])
    assert.deepEqual((await reach(b)).observed, [`/ip4/${sites!.publicIp.b}/tcp/${PORT}`])
    assert.deepEqual((await reach(c)).observed, [], 'a symmetric NAT changes the port: nothing to punch with')
  })

  void it('A and C (symmetric NAT) exchange sends through the relay, and stay relayed', async () => {
    // C's relayed address reaches A with the record C republishes once it holds its slot; a send before
    // that finds no address A can dial and says UNREACHABLE (the record that follows revives C). Retried
    // as a person would, for at most 20 s.
    const sendOnceReachable = async (from: GatewayHandle, target: string, text: string): Promise<{ reply: string }> => {
      const until = Date.now() + 20_000
      for (;;) {
        try {
          return await from.request<{ reply: string }>('send', { target, text })
        } catch (err) {
          if ((err as { code?: string }).code !== 'UNREACHABLE' || Date.now() > until) throw err
          await new Promise(resolve => setTimeout(resolve, 250))
        }
      }
    }
    const there = await sendOnceReachable(a, 'agent:main:c', 'from hq')
    assert.equal(there.reply, 'c got: from hq')
    const back = await sendOnceReachable(c, 'agent:main:a', 'from the branch')
    assert.equal(back.reply, 'a got: from the branch')
    // C offers no address to punch to (its NAT picks a new port per connection), so the relayed link is the only one.
    // (Checked on the connections: with bounded degree, A and C need not hold a registry link, and peers() lists links.)
    for (const [from, to] of [[a, c], [c, a]] as const) {
      const conns = (await from.request<Conn[]>('connections')).filter(x => x.peerId === to.peerId)
      assert.ok(conns.length > 0 && conns.every(x => x.address.includes('/p2p-circuit/')), JSON.stringify(conns))
    }
  })

  void it('A and B exchange sends, and their link becomes direct by hole punching (observed, not assumed)', async () => {
    const first = await a.request<{ reply: string }>('send', { target: 'agent:main:b', text: 'first' })
    assert.equal(first.reply, 'b got: first')
    // B joined from A's code and dials what A gave it: a relayed address, and private ones it cannot reach. The
    // direct connection's remote end is the other's NAT: only a punched hole lets that through routers that
    // forward nothing unsolicited.
    await a.request('waitConnection', { peerId: b.peerId, prefix: `/ip4/${sites!.publicIp.b}/tcp/${PORT}/p2p/${b.peerId}`, timeoutMs: 30_000 })
    await b.request('waitConnection', { peerId: a.peerId, prefix: `/ip4/${sites!.publicIp.a}/tcp/${PORT}/p2p/${a.peerId}`, timeoutMs: 30_000 })
    await a.request('waitLink', { peerId: b.peerId, link: 'direct', timeoutMs: 10_000 })
    await b.request('waitLink', { peerId: a.peerId, link: 'direct', timeoutMs: 10_000 })
    // Sends keep working over the direct link, both ways.
    assert.equal((await a.request<{ reply: string }>('send', { target: 'agent:main:b', text: 'second' })).reply, 'b got: second')
    assert.equal((await b.request<{ reply: string }>('send', { target: 'agent:main:a', text: 'third' })).reply, 'a got: third')
  })

  void it('an expired invite is refused: by the newcomer, and by the inviter when the code\'s expiry was edited', async () => {
    const short = await invite(relay, { ttlMs: 1_000 })
    await new Promise(resolve => setTimeout(resolve, Math.max(0, short.expiresAt * 1000 - Date.now()) + 100))
    const expired = await cliJoin(sites!.hosts.b!, short.code, await stateDir('late'))
    assert.equal(expired.exit, 21, expired.out)
    assert.match(expired.out, /INVITE_EXPIRED/)
    // The same code with its expiry pushed back: the inviter dropped its key, so the join is refused.
    const body = JSON.parse(Buffer.from(short.code.slice('clawmesh-invite:'.length), 'base64url').toString()) as Record<string, unknown>
    const edited = 'clawmesh-invite:' + Buffer.from(JSON.stringify({ ...body, exp: Math.floor(Date.now() / 1000) + 3600 })).toString('base64url')
    const refused = await cliJoin(sites!.hosts.b!, edited, await stateDir('late2'))
    assert.equal(refused.exit, 22, refused.out)
  })

  void it('two Gateways behind one NAT address are not throttled by the relay member\'s per-host limits', async () => {
    const a2 = await gateway(sites!.hosts.a!, 'a2', { join: (await invite(relay)).code }, PORT + 2)
    await a2.request('waitRelayed', { timeoutMs: 20_000 })
    await a2.request('waitSessions', { count: 5, timeoutMs: 20_000 })
    assert.equal((await a2.request<{ reply: string }>('send', { target: 'agent:main:c', text: 'from the second Gateway at A' })).reply, 'c got: from the second Gateway at A')
    const rejected = (await relay.request<{ rejected: Array<{ reason: string }> }>('status')).rejected
    assert.deepEqual(rejected.filter(r => /throttl|handshakes in progress|failed handshakes/.test(r.reason)), [])
  })

  void it('with the wrong secret nothing connects, neither to the relay nor through it to a site', async () => {
    const stranger = await gateway(sites!.hosts.b!, 'stranger', {
      secret: generateSecret(), peers: [`/ip4/${sites!.relay.ip}/tcp/${PORT}/p2p/${relay.peerId}`]
    }, PORT + 1)
    // Through the relay to site A, as a member would: the hop itself is refused.
    const relayedA = (await reach(a)).relayed[0]!
    await assert.rejects(stranger.request('dial', { address: relayedA }))
    await relay.waitEvent(e => e.event === 'peer:rejected', 10_000, 'the relay refuses the stranger')
    assert.deepEqual(await stranger.request<Peer[]>('peers'), [])
    assert.deepEqual(await stranger.request<Conn[]>('connections'), [])
    assert.ok((await a.request<Peer[]>('peers')).every(p => p.peerId !== stranger.peerId))
  })
})
