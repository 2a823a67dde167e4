// Which announced addresses a Gateway dials: where members were reached, our subnets, loopback on our host, known relays.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { multiaddr } from '@multiformats/multiaddr'
import { AddressFilter, type AddressFilterInit } from '../../src/delivery/address-filter.ts'
import { PEERS } from '../helpers/fake-directory.ts'

function filter (init: Partial<AddressFilterInit> = {}): AddressFilter {
  return new AddressFilter({ selfHost: 'here', interfaces: () => ['127.0.0.1/8', '192.168.1.5/24'], ...init })
}

const owner = (addrs: string[], host = 'there'): { peerId: string, addrs: string[], host: string } => ({ peerId: PEERS.a, addrs, host })
const allowed = (f: AddressFilter, addrs: string[], host?: string): string[] => f.allowed(owner(addrs, host)).map(a => a.toString().replace(`/p2p/${PEERS.a}`, ''))

describe('announced address filter', () => {
  it('drops what nobody reached the member at: another subnet, a public address, a DNS name', () => {
    assert.deepEqual(allowed(filter(), ['/ip4/203.0.113.7/tcp/4001', '/ip4/10.9.9.9/tcp/22', '/dns4/example.com/tcp/443']), [])
  })

  it('dials where the member (or any member) was reached, and our own subnets', () => {
    const f = filter()
    f.noteConnection(PEERS.a, multiaddr('/ip4/203.0.113.7/tcp/51234'))
    f.noteConnection(PEERS.b, multiaddr('/ip4/198.51.100.2/tcp/4001'))
    assert.deepEqual(allowed(f, ['/ip4/203.0.113.7/tcp/4001', '/ip4/198.51.100.2/tcp/4002', '/ip4/192.168.1.77/tcp/4001', '/ip4/10.0.0.1/tcp/1']),
      ['/ip4/203.0.113.7/tcp/4001', '/ip4/198.51.100.2/tcp/4002', '/ip4/192.168.1.77/tcp/4001'])
  })

  it('loopback only for a member on our host', () => {
    assert.deepEqual(allowed(filter(), ['/ip4/127.0.0.1/tcp/6379'], 'there'), [])
    assert.deepEqual(allowed(filter(), ['/ip4/127.0.0.1/tcp/4001'], 'here'), ['/ip4/127.0.0.1/tcp/4001'])
    const f = filter()
    f.noteConnection(PEERS.a, multiaddr('/ip4/127.0.0.1/tcp/50000'))
    assert.deepEqual(allowed(f, ['/ip4/127.0.0.1/tcp/4001'], 'there'), ['/ip4/127.0.0.1/tcp/4001'])
    // Another member reached over loopback does not open our loopback to everyone.
    const g = filter()
    g.noteConnection(PEERS.b, multiaddr('/ip4/127.0.0.1/tcp/50000'))
    assert.deepEqual(allowed(g, ['/ip4/127.0.0.1/tcp/4001'], 'there'), [])
  })

  it('relayed addresses through a relay we know', () => {
    const relayed = `/ip4/203.0.113.9/tcp/4001/p2p/${PEERS.c}/p2p-circuit`
    assert.deepEqual(allowed(filter(), [relayed]), [])
    const f = filter()
    f.noteConnection(PEERS.c, multiaddr('/ip4/203.0.113.9/tcp/4001'))
    assert.deepEqual(allowed(f, [relayed]), [relayed])
  })

  it('"all" dials everything; a CIDR list widens "reached"; addresses carry the owner\'s peer ID', () => {
    assert.deepEqual(allowed(filter({ policy: 'all' }), ['/ip4/203.0.113.7/tcp/4001']), ['/ip4/203.0.113.7/tcp/4001'])
    assert.deepEqual(allowed(filter({ policy: ['203.0.113.0/24', '/ip4/10.0.0.0/ipcidr/8'] }), ['/ip4/203.0.113.7/tcp/1', '/ip4/10.1.2.3/tcp/2', '/ip4/8.8.8.8/tcp/3']), ['/ip4/203.0.113.7/tcp/1', '/ip4/10.1.2.3/tcp/2'])
    assert.throws(() => filter({ policy: ['not a range'] }), { code: 'BAD_REQUEST' })
    assert.equal(filter({ policy: 'all' }).allowed(owner(['/ip4/1.2.3.4/tcp/1']))[0]?.toString(), `/ip4/1.2.3.4/tcp/1/p2p/${PEERS.a}`)
    assert.deepEqual(allowed(filter(), ['garbage']), [])
  })
})
