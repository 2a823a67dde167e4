/**
 * The doctor's probe against real nodes on 127.0.0.1: each way a dial can go
 * wrong is told apart (and none of them needs a long timeout).
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { createServer, type Server } from 'node:http'
import { REGISTRY_PROTOCOL } from '../../src/constants.ts'
import { createMesh, type Mesh } from '../../src/mesh.ts'
import { probeAddress } from '../../src/doctor/probe.ts'
import { generateSecret, parseSecret } from '../../src/security/secret.ts'
import { createTestNode } from '../helpers/libp2p.ts'
import type { Libp2p } from '@libp2p/interface'

const SECRET = generateSecret()
const base = { listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false, discovery: { mdns: false, local: false }, secret: SECRET }

describe('probeAddress', () => {
  let open: Mesh
  let guarded: Mesh
  let plain: Libp2p
  let http: Server
  let httpPort: number
  const secret = parseSecret(SECRET)
  const probe = async (address: string, s = secret): Promise<ReturnType<typeof probeAddress>> => await probeAddress(address, { secret: s, timeoutMs: 5_000 })

  before(async () => {
    open = await createMesh({ ...base, name: 'open' })
    // Admits only a peer that does not exist: every probe is a stranger to it.
    guarded = await createMesh({ ...base, name: 'guarded', allow: [open.peerId] })
    plain = await createTestNode()
    http = createServer((_req, res) => { res.end('hello') })
    await new Promise<void>(resolve => { http.listen(0, '127.0.0.1', resolve) })
    httpPort = (http.address() as { port: number }).port
  })
  after(async () => {
    await Promise.all([open?.stop(), guarded?.stop(), plain?.stop()])
    http?.close()
  })

  it('reaches a Gateway that holds the secret, and names the protocols it speaks', async () => {
    const r = await probe(open.status().addresses[0] as string)
    assert.equal(r.result, 'ok')
    assert.ok(r.result === 'ok' && r.peerId === open.peerId)
    assert.ok(r.result === 'ok' && r.protocols.includes(REGISTRY_PROTOCOL))
    // Without the peer ID the same Gateway answers; the probe learns who it is.
    const bare = await probe((open.status().addresses[0] as string).replace(/\/p2p\/.*$/, ''))
    assert.ok(bare.result === 'ok' && bare.peerId === open.peerId)
  })

  it('tells a wrong secret apart at once', async () => {
    const r = await probe(open.status().addresses[0] as string, parseSecret(generateSecret()))
    assert.deepEqual(r, { result: 'wrong-secret' })
  })

  it('tells a closed port (refused) from a node without secret and from another program', async () => {
    assert.deepEqual(await probe('/ip4/127.0.0.1/tcp/1'), { result: 'refused' })
    assert.deepEqual(await probe(plain.getMultiaddrs()[0]?.toString() as string), { result: 'no-secret' })
    const other = await probe(`/ip4/127.0.0.1/tcp/${httpPort}`)
    assert.equal(other.result, 'not-a-gateway')
    assert.ok(other.result === 'not-a-gateway' && other.banner?.startsWith('HTTP/1.1 400') === true)
  })

  it('sees a refusal after the handshake as the remote\'s allowlist', async () => {
    const r = await probe(guarded.status().addresses[0] as string)
    assert.deepEqual(r, { result: 'not-allowed', peerId: guarded.peerId })
  })

  it('names the peer found where the address expected another', async () => {
    const address = (open.status().addresses[0] as string).replace(/\/p2p\/.*$/, `/p2p/${guarded.peerId}`)
    assert.deepEqual(await probe(address), { result: 'wrong-peer', expected: guarded.peerId, actual: open.peerId })
  })

  it('refuses what it cannot dial', async () => {
    for (const address of ['hello', '/ip4/127.0.0.1/udp/53', '/unix/tmp/x.sock', '/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWCPnHAHP8QxwBoUi6x5wFP1KARDVxT2j76uaDViibmarr/p2p-circuit/p2p/12D3KooWCPnHAHP8QxwBoUi6x5wFP1KARDVxT2j76uaDViibmarr']) {
      assert.equal((await probe(address)).result, 'bad-address', address)
    }
  })
})
