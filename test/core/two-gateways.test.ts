// The seed scenario: two Gateways on one machine (18789, 18790), each with its own
// agent:main:main. Every addressing form must reach the right one.
import assert from 'node:assert/strict'
import { after, before, describe, it } from 'node:test'
import { createMesh, type Mesh, type InboundMessage } from '../../src/index.ts'
import { addressOf, loopbackOptions, waitForResolvable } from '../../src/testing.ts'

const HQ_SESSION = '0f6c2a52-7d9e-4c41-9a55-1f0f3c1d0a01'
const HZ_SESSION = '7b1d9a40-2e3f-4b8a-8c6d-5e4f3a2b1c02'

describe('two Gateways on one host', () => {
  let hq: Mesh
  let hz: Mesh
  let observer: Mesh
  const received: Record<string, InboundMessage[]> = { hq: [], hangzhou: [] }

  before(async () => {
    hq = await createMesh(loopbackOptions({
      name: 'hq',
      gatewayPort: 18789,
      deliver: async (msg) => { received.hq?.push(msg); return { reply: `hq:${msg.sessionKey} got "${msg.text}"` } }
    }))
    hz = await createMesh(loopbackOptions({
      name: 'hangzhou',
      gatewayPort: 18790,
      peers: [addressOf(hq)],
      deliver: async (msg) => { received.hangzhou?.push(msg); return { reply: `hangzhou:${msg.sessionKey} got "${msg.text}" from ${msg.from.gateway}` } }
    }))
    observer = await createMesh(loopbackOptions({ name: 'observer', peers: [addressOf(hq)] }))
    await hq.announce('agent:main:main', { sessionId: HQ_SESSION, agentId: 'main' })
    await hz.announce('agent:main:main', { sessionId: HZ_SESSION, agentId: 'main', label: 'branch desk' })
    await hz.announce('agent:ops:telegram:direct:42', { agentId: 'ops' })
    await waitForResolvable(hq, 'gateway:hangzhou:agent:ops:telegram:direct:42')
    await waitForResolvable(observer, 'gateway:hangzhou:agent:ops:telegram:direct:42')
    await waitForResolvable(observer, 'gateway:hq:agent:main:main')
  })

  after(async () => {
    await Promise.all([hq?.stop(), hz?.stop(), observer?.stop()])
  })

  for (const target of ['gateway:hangzhou:agent:main:main', 'gateway:18790:agent:main:main', 'gateway:localhost:18790:agent:main:main']) {
    it(`delivers to ${target} and returns the reply`, async () => {
      const result = await hq.send(target, 'hello from hq', { fromSessionKey: 'agent:main:main' })
      assert.equal(result.status, 'ok')
      assert.equal(result.owner.name, 'hangzhou')
      assert.equal(result.sessionKey, 'agent:main:main')
      assert.equal(result.sessionId, HZ_SESSION)
      assert.equal(result.qualifiedKey, 'gateway:hangzhou:agent:main:main')
      assert.equal(result.reply, 'hangzhou:agent:main:main got "hello from hq" from hq')
      const last = received.hangzhou?.at(-1)
      assert.equal(last?.from.gateway, 'hq')
      assert.equal(last?.from.sessionKey, 'agent:main:main')
      assert.equal(last?.id, result.messageId)
    })
  }

  it('delivers to gateway:<peerId>:<key>', async () => {
    const result = await hq.send(`gateway:${hz.peerId}:agent:main:main`, 'by peer id')
    assert.equal(result.owner.peerId, hz.peerId)
    assert.match(result.reply ?? '', /by peer id/)
  })

  it('delivers with the targetGateway option', async () => {
    const result = await hq.send('agent:main:main', 'via option', { targetGateway: 'hangzhou' })
    assert.equal(result.owner.name, 'hangzhou')
    const byPort = await hq.send('agent:main:main', 'via port', { targetGateway: '18790' })
    assert.equal(byPort.owner.name, 'hangzhou')
  })

  it('delivers by session UUID with no qualification', async () => {
    const result = await hq.send(HZ_SESSION, 'by uuid')
    assert.equal(result.owner.name, 'hangzhou')
    assert.equal(result.sessionKey, 'agent:main:main')
    const back = await hz.send(HQ_SESSION, 'by uuid, other way')
    assert.equal(back.owner.name, 'hq')
  })

  it('delivers by label', async () => {
    const result = await hq.send('branch desk', 'by label')
    assert.equal(result.owner.name, 'hangzhou')
    assert.equal(result.sessionKey, 'agent:main:main')
  })

  it('keeps a bare key local-first, as OpenClaw does', async () => {
    const before = received.hq?.length ?? 0
    const result = await hq.send('agent:main:main', 'local')
    assert.equal(result.owner.self, true)
    assert.equal(result.owner.name, 'hq')
    assert.equal(received.hq?.length, before + 1)
  })

  it('routes a bare key owned by exactly one remote Gateway there', async () => {
    const result = await hq.send('agent:ops:telegram:direct:42', 'single owner')
    assert.equal(result.owner.name, 'hangzhou')
  })

  it('answers a bare key owned by several Gateways with AMBIGUOUS listing the qualified keys', async () => {
    await assert.rejects(observer.send('agent:main:main', 'which one?'), (err: { code: string, candidates: string[] }) => {
      assert.equal(err.code, 'AMBIGUOUS')
      assert.deepEqual(err.candidates, ['gateway:hangzhou:agent:main:main', 'gateway:hq:agent:main:main'])
      return true
    })
    // The owner itself also sees the ambiguity when local-first is off.
    await assert.rejects(hq.send('agent:main:main', 'x', { localFirst: false }), { code: 'AMBIGUOUS' })
  })

  it('names unknown Gateways and sessions with NOT_FOUND', async () => {
    await assert.rejects(hq.send('gateway:nowhere:agent:main:main', 'x'), { code: 'NOT_FOUND' })
    await assert.rejects(hq.send('gateway:hangzhou:agent:missing:main', 'x'), { code: 'NOT_FOUND' })
    await assert.rejects(hq.send('6a1d9a40-2e3f-4b8a-8c6d-5e4f3a2b1c09', 'x'), { code: 'NOT_FOUND' })
  })

  it('rejects bad input with BAD_REQUEST', async () => {
    await assert.rejects(hq.send('', 'x'), { code: 'BAD_REQUEST' })
    await assert.rejects(hq.send('gateway:hangzhou', 'x'), { code: 'BAD_REQUEST' })
    await assert.rejects(hq.send('agent:main:main', 42 as unknown as string), { code: 'BAD_REQUEST' })
    await assert.rejects(hq.announce(''), { code: 'BAD_REQUEST' })
    await assert.rejects(hq.send('gateway:hangzhou:agent:main:main', 'x', { timeoutMs: -1 }), { code: 'BAD_REQUEST' })
  })

  it('returns after accepted when waitForReply is false', async () => {
    const result = await hq.send('gateway:hangzhou:agent:main:main', 'fire and forget', { waitForReply: false })
    assert.equal(result.status, 'accepted')
    assert.equal(result.reply, undefined)
  })

  it('lists sessions with their owners and peers with their names', () => {
    const keys = hq.sessions().map(s => s.qualifiedKey).sort()
    assert.deepEqual(keys, ['gateway:hangzhou:agent:main:main', 'gateway:hangzhou:agent:ops:telegram:direct:42', 'gateway:hq:agent:main:main'])
    const names = hq.peers().map(p => p.name).sort()
    assert.deepEqual(names, ['hangzhou', 'observer'])
    const status = hq.status()
    assert.equal(status.self.name, 'hq')
    assert.equal(status.localSessions, 1)
    assert.equal(status.sessions, 3)
  })
})
