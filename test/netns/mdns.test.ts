/** clawmesh's mDNS service on a namespace LAN: per-mesh service tag, fast discovery, and the multicast self-test. */
import assert from 'node:assert/strict'
import { fileURLToPath } from 'node:url'
import { after, describe, it } from 'node:test'
import { createNetwork, type Host, type HostProcess } from '../helpers/netns.ts'

const script = fileURLToPath(new URL('../fixtures/mdns-node.ts', import.meta.url))
const net = createNetwork({ hosts: 2 })
after(() => { net.destroy() })

interface Line { event: string, peerId?: string, id?: string, healthy?: boolean | null }
const parse = (l: string): Line => JSON.parse(l) as Line

async function start (host: Host, meshId: string): Promise<{ proc: HostProcess, peerId: string, lines: () => Line[] }> {
  const proc = host.spawn(process.execPath, [script, meshId])
  const ready = parse(await proc.waitForLine(l => parse(l).event === 'ready', 15_000, 'mdns node ready'))
  return { proc, peerId: ready.peerId!, lines: () => proc.stdout.map(parse) }
}

void describe('mDNS discovery', () => {
  void it('finds and connects members of one mesh across hosts, never another mesh; reports a host without multicast', async () => {
    const noMulticast = net.addHost({ multicast: false })
    const a = await start(net.hosts[0]!, 'mesh-one')
    const other = await start(net.hosts[1]!, 'mesh-two')
    const b = await start(net.hosts[1]!, 'mesh-one')
    const lonely = await start(noMulticast, 'mesh-one')
    // The newcomer b is connected to a (whichever side dials).
    await a.proc.waitForLine(l => parse(l).event === 'connect' && parse(l).id === b.peerId, 10_000, 'a connected to b')
    await b.proc.waitForLine(l => parse(l).event === 'connect' && parse(l).id === a.peerId, 10_000, 'b connected to a')
    // After the self-test period several query rounds have passed on the LAN.
    for (const n of [a, b, other]) {
      const health = parse(await n.proc.waitForLine(l => parse(l).event === 'health', 10_000, 'health'))
      assert.equal(health.healthy, true)
    }
    const lonelyHealth = parse(await lonely.proc.waitForLine(l => parse(l).event === 'health', 10_000, 'health'))
    assert.equal(lonelyHealth.healthy, false, 'no multicast route: the self-test says so')
    assert.deepEqual(other.lines().filter(l => l.event === 'peer' || l.event === 'connect'), [], 'another mesh sees nothing')
    const members = [a.peerId, b.peerId, lonely.peerId]
    for (const n of [a, b]) {
      assert.ok(n.lines().every(l => l.id == null || members.includes(l.id)), 'members see only members')
    }
    for (const n of [a, b, other, lonely]) n.proc.child.stdin!.end()
    await Promise.all([a, b, other, lonely].map(async n => await n.proc.exited))
  })
})
