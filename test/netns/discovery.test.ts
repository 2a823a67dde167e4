/**
 * Discovery and mesh isolation on a private LAN of network namespaces (see
 * test/helpers/netns.ts). mDNS runs only inside these namespaces.
 */
import assert from 'node:assert/strict'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { generateSecret } from '../../src/security/secret.ts'
import { startGateway, type GatewayHandle } from '../helpers/gateway.ts'
import { createNetwork, type Network } from '../helpers/netns.ts'

const networks: Network[] = []
const dirs: string[] = []
after(async () => {
  for (const n of networks) n.destroy()
  await Promise.all(dirs.map(async d => { await rm(d, { recursive: true, force: true }) }))
})

function network (hosts: number, multicast = true): Network {
  const n = createNetwork({ hosts, multicast })
  networks.push(n)
  return n
}

async function stateDir (): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'clawmesh-netns-'))
  dirs.push(d)
  return d
}

const sessionOf = (g: GatewayHandle): string => `agent:main:${g.name}`

/** Wait until `g` has learnt every one of `keys` (session:add events, past or future). */
async function waitSessions (g: GatewayHandle, keys: string[], ms = 15_000): Promise<void> {
  await Promise.all(keys.map(async key => {
    await g.waitEvent(e => e.event === 'session:add' && e.detail?.sessionKey === key, ms, `session ${key}`)
  }))
}

async function stopAll (gateways: GatewayHandle[]): Promise<void> {
  await Promise.all(gateways.map(async g => { await g.stop() }))
}

void describe('discovery and isolation across network namespaces', { timeout: 90_000 }, () => {
  void it('3 hosts × 2 Gateways find each other by mDNS alone, and every one reaches every other', async () => {
    const net = network(3)
    const secret = generateSecret()
    const gateways = await Promise.all(net.hosts.flatMap((host, h) => [0, 1].map(async i => {
      const name = `h${h + 1}g${i + 1}`
      return await startGateway(host, { name, secret, stateDir: await stateDir(), discovery: { local: false }, sessions: [`agent:main:${name}`] })
    })))
    try {
      await Promise.all(gateways.map(async g => { await waitSessions(g, gateways.filter(o => o !== g).map(sessionOf)) }))
      const sends = gateways.flatMap(from => gateways.filter(to => to !== from).map(async to => {
        const result = await from.request<{ status: string, reply: string, owner: { name: string } }>('send', { target: sessionOf(to), text: `from ${from.name}` })
        assert.equal(result.status, 'ok')
        assert.equal(result.reply, `${to.name} got: from ${from.name}`)
        assert.equal(result.owner.name, to.name)
      }))
      await Promise.all(sends)
      for (const g of gateways) {
        const delivered = g.events().filter(e => e.event === 'delivered')
        assert.equal(delivered.length, 5, `${g.name} received one message from each of the 5 others`)
      }
    } finally {
      await stopAll(gateways)
    }
  })

  void it('2 Gateways on a host without multicast find each other through the rendezvous folder alone', async () => {
    const net = network(1, false)
    const secret = generateSecret()
    const dir = await stateDir()
    // mDNS stays on (it cannot work here): local discovery alone must connect them.
    const a = await startGateway(net.hosts[0]!, { name: 'a', secret, stateDir: dir, listen: ['/ip4/127.0.0.1/tcp/0'], sessions: ['agent:main:a'] })
    const b = await startGateway(net.hosts[0]!, { name: 'b', secret, stateDir: dir, listen: ['/ip4/127.0.0.1/tcp/0'], sessions: ['agent:main:b'] })
    try {
      await waitSessions(a, ['agent:main:b'])
      await waitSessions(b, ['agent:main:a'])
      const result = await b.request<{ reply: string }>('send', { target: 'agent:main:a', text: 'over loopback' })
      assert.equal(result.reply, 'a got: over loopback')
    } finally {
      await stopAll([a, b])
    }
  })

  void it('a Gateway with the wrong secret never connects, learns nothing, cannot deliver; the members log why', async () => {
    const net = network(3)
    const secret = generateSecret()
    const a = await startGateway(net.hosts[0]!, { name: 'a', secret, stateDir: await stateDir(), sessions: ['agent:main:a'] })
    const b = await startGateway(net.hosts[1]!, { name: 'b', secret, stateDir: await stateDir(), sessions: ['agent:main:b'] })
    try {
      await waitSessions(a, ['agent:main:b'])
      // The stranger knows the members' addresses (say, from a stale config) and dials them.
      const peers = [...a.addresses, ...b.addresses].filter(x => !x.includes('/127.0.0.1/'))
      const stranger = await startGateway(net.hosts[2]!, { name: 'stranger', secret: generateSecret(), stateDir: await stateDir(), peers, sessions: ['agent:main:stranger'] })
      try {
        for (const member of [a, b]) {
          const rejected = await member.waitEvent(e => e.event === 'peer:rejected', 15_000, 'a refusal of the stranger')
          assert.match(String(rejected.detail?.reason), /different mesh secret/)
          // The log line (DEBUG=clawmesh:*), on stderr.
          await member.proc.waitForLine(l => l.includes('different mesh secret'), 15_000, `${member.name} to log why it refused`, 'stderr')
        }
        await assert.rejects(stranger.request('send', { target: 'agent:main:a', text: 'let me in', options: { timeoutMs: 3_000 } }),
          (err: Error & { code?: string }) => err.code === 'NOT_FOUND' || err.code === 'UNREACHABLE')
        const status = await stranger.request<{ peers: number, sessions: number, rejected: Array<{ reason: string }> }>('status')
        assert.equal(status.peers, 0)
        assert.equal(status.sessions, 1, 'the stranger knows only its own session')
        assert.ok(status.rejected.length > 0, 'the stranger is told its dials failed for a secret mismatch')
        for (const member of [a, b]) {
          assert.ok(!member.events().some(e => e.event === 'peer:join' && e.detail?.name === 'stranger'))
          assert.ok(!member.events().some(e => e.event === 'session:add' && e.detail?.sessionKey === 'agent:main:stranger'))
          assert.equal(member.events().filter(e => e.event === 'delivered').length, 0)
        }
      } finally {
        await stranger.stop()
      }
    } finally {
      await stopAll([a, b])
    }
  })

  void it('two meshes with different secrets on one LAN (and one state directory per host) stay apart', async () => {
    const net = network(2)
    const [x, y] = [generateSecret(), generateSecret()]
    const dirs = [await stateDir(), await stateDir()]
    const start = async (mesh: 'x' | 'y', h: number): Promise<GatewayHandle> => {
      const name = `${mesh}${h + 1}`
      return await startGateway(net.hosts[h]!, { name, secret: mesh === 'x' ? x : y, stateDir: dirs[h], sessions: [`agent:main:${name}`] })
    }
    const gateways = await Promise.all([start('x', 0), start('y', 0), start('x', 1), start('y', 1)])
    const [x1, y1, x2, y2] = gateways as [GatewayHandle, GatewayHandle, GatewayHandle, GatewayHandle]
    try {
      await Promise.all([waitSessions(x1, ['agent:main:x2']), waitSessions(x2, ['agent:main:x1']), waitSessions(y1, ['agent:main:y2']), waitSessions(y2, ['agent:main:y1'])])
      // A late joiner to mesh x has heard every mDNS answer and rendezvous entry on the LAN by the time it has joined.
      const x3 = await startGateway(net.hosts[1]!, { name: 'x3', secret: x, stateDir: dirs[1], sessions: ['agent:main:x3'] })
      gateways.push(x3)
      await waitSessions(x3, ['agent:main:x1', 'agent:main:x2'])
      for (const g of gateways) {
        const sessions = await g.request<Array<{ sessionKey: string }>>('sessions')
        const own = g.name[0]!
        assert.ok(sessions.every(s => s.sessionKey.startsWith(`agent:main:${own}`)), `${g.name} sees only its mesh: ${sessions.map(s => s.sessionKey).join(', ')}`)
        const status = await g.request<{ rejected: unknown[] }>('status')
        assert.equal(status.rejected.length, 0, `${g.name} was never even dialed by the other mesh`)
      }
    } finally {
      await stopAll(gateways)
    }
  })

  void it('an inbound policy that denies a session: FORBIDDEN, and nothing is delivered', async () => {
    const net = network(2)
    const secret = generateSecret()
    const a = await startGateway(net.hosts[0]!, { name: 'a', secret, stateDir: await stateDir(), sessions: ['agent:main:a'] })
    const b = await startGateway(net.hosts[1]!, {
      name: 'b', secret, stateDir: await stateDir(), sessions: ['agent:main:private', 'agent:main:public'],
      policy: { deny: [{ sessionKey: 'agent:main:private' }] }
    })
    try {
      await waitSessions(a, ['agent:main:private', 'agent:main:public'])
      await assert.rejects(a.request('send', { target: 'agent:main:private', text: 'secret plans' }),
        (err: Error & { code?: string }) => err.code === 'FORBIDDEN')
      const ok = await a.request<{ reply: string }>('send', { target: 'agent:main:public', text: 'hello' })
      assert.equal(ok.reply, 'b got: hello')
      const delivered = b.events().filter(e => e.event === 'delivered')
      assert.deepEqual(delivered.map(e => e.message?.sessionKey), ['agent:main:public'])
    } finally {
      await stopAll([a, b])
    }
  })
})
