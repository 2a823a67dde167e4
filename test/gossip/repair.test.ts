// Anti-entropy repairs what a push missed, whoever holds it: on in-memory stream pairs with a fake clock.
import assert from 'node:assert/strict'
import { afterEach, describe, it } from 'node:test'
import { decodeFrame } from '../../src/gossip/wire.ts'
import { FakeNet, until } from './harness.ts'
import type { RegistryGossip } from '../../src/gossip/index.ts'

let net: FakeNet
afterEach(async () => { await net.stopAll() })

/** Runs every service's periodic work once per fake second, until `done` or `seconds` have passed; true if done. */
async function tick (services: RegistryGossip[], seconds: number, done: () => boolean): Promise<boolean> {
  for (let s = 0; s < seconds && !done(); s++) {
    net.now += 1_000
    for (const g of services) g.check()
    // Let the frames of this second be read and answered.
    await until(() => true)
    for (let i = 0; i < 20; i++) await new Promise(resolve => { setImmediate(resolve) })
  }
  return done()
}

void describe('repair', () => {
  it('a record of an origin we are linked to that never reaches us from it is pulled from a peer whose digest shows it', async () => {
    net = new FakeNet()
    const a = await net.gossip()
    const w = await net.gossip()
    const o = await net.gossip()
    net.connect(a.node, w.node)
    net.connect(a.node, o.node)
    net.connect(w.node, o.node)
    const all = [a.gossip, w.gossip, o.gossip]
    await until(() => all.every(g => g.connectedPeers().length === 2 && g.registry.originCount === 3))
    // Each has told the others whom it is linked to.
    await until(() => w.gossip.liveness.claimsLink(a.node.id, o.node.id) && a.gossip.liveness.claimsLink(w.node.id, o.node.id))
    // Every record O writes to A is lost (a push that missed A, and O's answers to A's wants too); its heartbeats
    // still arrive, so A holds a live link to O, and W, seeing A linked to O, leaves O's records to O.
    const toA = o.gossip.links.get(a.node.id)!
    const send = toA.send.bind(toA)
    toA.send = async (bytes) => { if (decodeFrame(bytes).type !== 'record') await send(bytes) }
    o.gossip.stage({ sessionKey: 'agent:main:late' })
    await o.gossip.flushed()
    await until(() => w.gossip.registry.ownersOfKey('agent:main:late').length === 1)
    assert.equal(a.gossip.isConnected(o.node.id), true)
    const repaired = await tick(all, 60, () => a.gossip.registry.ownersOfKey('agent:main:late').length === 1)
    assert.equal(repaired, true, 'A pulled O\'s record from W')
    assert.equal(a.gossip.isConnected(o.node.id), true, 'and its link to O stayed up throughout')
  })
})
