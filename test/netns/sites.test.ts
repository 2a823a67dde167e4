/**
 * Head office and branches on different networks (test/helpers/sites.ts):
 * three sites behind their own NAT routers and a relay host on the
 * "internet". Sites A and B sit behind port-keeping NATs, site C behind a
 * symmetric one. Every Gateway is configured with the relay's address only.
 *
 * What it shows: each site reserves a slot on the relay member; sends work
 * through the relay; A↔B is upgraded to a direct connection by hole punching
 * (observed: the connection's remote address is the other NAT's public
 * address), A↔C cannot be and stays relayed, with sends still working; with
 * the wrong secret nothing connects, directly or through the relay.
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { generateSecret } from '../../src/security/secret.ts'
import { startGateway, type GatewayHandle } from '../helpers/gateway.ts'
import { createSites, sitesSupported, type Sites } from '../helpers/sites.ts'

const skip = sitesSupported()
const PORT = 4001
const dirs: string[] = []
const gateways: GatewayHandle[] = []
let sites: Sites | undefined

interface Peer { name: string, peerId: string, link: string, addresses: string[] }
interface Conn { peerId: string, address: string, status: string }
interface Reach { state: string, relayed: string[], observed: string[] }

async function gateway (host: Sites['relay'], name: string, options: Record<string, unknown>): Promise<GatewayHandle> {
  const stateDir = await mkdtemp(join(tmpdir(), `clawmesh-sites-${name}-`))
  dirs.push(stateDir)
  const g = await startGateway(host, {
    name, stateDir, listen: [`/ip4/0.0.0.0/tcp/${PORT}`], mdns: false, discovery: { mdns: false, local: false }, sessions: [`agent:main:${name}`], ...options
  })
  gateways.push(g)
  return g
}

const reach = async (g: GatewayHandle): Promise<Reach> => (await g.request<{ reachability: Reach }>('status')).reachability
const linkTo = async (g: GatewayHandle, other: GatewayHandle): Promise<Peer | undefined> => (await g.request<Peer[]>('peers')).find(p => p.peerId === other.peerId)

void describe('two sites behind NAT and a relay member', { skip, timeout: 120_000 }, () => {
  const secret = generateSecret()
  let relay: GatewayHandle, a: GatewayHandle, b: GatewayHandle, c: GatewayHandle

  before(async () => {
    sites = createSites([{ name: 'a', nat: 'cone' }, { name: 'b', nat: 'cone' }, { name: 'c', nat: 'symmetric' }])
    relay = await gateway(sites.relay, 'relay', { secret, relay: true })
    const peers = [`/ip4/${sites.relay.ip}/tcp/${PORT}/p2p/${relay.peerId}`]
    // One after the other, each once it holds its relay slot: a Gateway that joins later learns the
    // others' relayed addresses with their records (a send made before that would find none to dial).
    for (const [name, host] of Object.entries(sites.hosts)) {
      const g = await gateway(host, name, { secret, peers })
      await g.request('waitRelayed', { timeoutMs: 20_000 })
      if (name === 'a') a = g
      else if (name === 'b') b = g
      else c = g
    }
    await Promise.all([a, b, c].map(async g => {
      for (const other of [a, b, c]) {
        if (other !== g) await g.waitEvent(e => e.event === 'session:add' && e.detail?.sessionKey === `agent:main:${other.name}`, 20_000, `${other.name}'s session`)
      }
    }))
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
    const there = await a.request<{ reply: string }>('send', { target: 'agent:main:c', text: 'from hq' })
    assert.equal(there.reply, 'c got: from hq')
    const back = await c.request<{ reply: string }>('send', { target: 'agent:main:a', text: 'from the branch' })
    assert.equal(back.reply, 'a got: from the branch')
    // C offers no address to punch to (its NAT picks a new port per connection), so the relayed link is the only one.
    assert.equal((await linkTo(a, c))?.link, 'relayed')
    assert.equal((await linkTo(c, a))?.link, 'relayed')
    const conns = (await a.request<Conn[]>('connections')).filter(x => x.peerId === c.peerId)
    assert.ok(conns.length > 0 && conns.every(x => x.address.includes('/p2p-circuit/')), JSON.stringify(conns))
  })

  void it('A and B exchange sends, and their link becomes direct by hole punching (observed, not assumed)', async () => {
    const first = await a.request<{ reply: string }>('send', { target: 'agent:main:b', text: 'first' })
    assert.equal(first.reply, 'b got: first')
    // The direct connection's remote end is B's NAT: only a punched hole lets that through a router that forwards nothing unsolicited.
    await a.request('waitConnection', { peerId: b.peerId, prefix: `/ip4/${sites!.publicIp.b}/tcp/${PORT}/p2p/${b.peerId}`, timeoutMs: 30_000 })
    await b.request('waitConnection', { peerId: a.peerId, prefix: `/ip4/${sites!.publicIp.a}/tcp/${PORT}/p2p/${a.peerId}`, timeoutMs: 30_000 })
    await a.request('waitLink', { peerId: b.peerId, link: 'direct', timeoutMs: 10_000 })
    await b.request('waitLink', { peerId: a.peerId, link: 'direct', timeoutMs: 10_000 })
    // Sends keep working over the direct link, both ways.
    assert.equal((await a.request<{ reply: string }>('send', { target: 'agent:main:b', text: 'second' })).reply, 'b got: second')
    assert.equal((await b.request<{ reply: string }>('send', { target: 'agent:main:a', text: 'third' })).reply, 'a got: third')
  })

  void it('with the wrong secret nothing connects, neither to the relay nor through it to a site', async () => {
    const stranger = await gateway(sites!.hosts.b!, 'stranger', {
      secret: generateSecret(), listen: [`/ip4/0.0.0.0/tcp/${PORT + 1}`], peers: [`/ip4/${sites!.relay.ip}/tcp/${PORT}/p2p/${relay.peerId}`]
    })
    // Through the relay to site A, as a member would: the hop itself is refused.
    const relayedA = (await reach(a)).relayed[0]!
    await assert.rejects(stranger.request('dial', { address: relayedA }))
    await relay.waitEvent(e => e.event === 'peer:rejected', 10_000, 'the relay refuses the stranger')
    assert.deepEqual(await stranger.request<Peer[]>('peers'), [])
    assert.deepEqual(await stranger.request<Conn[]>('connections'), [])
    assert.ok((await a.request<Peer[]>('peers')).every(p => p.peerId !== stranger.peerId))
  })
})
