/** How doctor judges a node's own account and turns checks into a report, an exit code and lines for a person. */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { doctorExitCode, formatDoctor } from '../../src/cli/doctor.ts'
import { judgeNode, type NodeView } from '../../src/doctor/node-view.ts'
import { check, report } from '../../src/doctor/report.ts'
import { FakeMesh } from '../control/fake-mesh.ts'
import type { IncompatiblePeer } from '../../src/types.ts'

function view (rejected: Array<{ address?: string, reason: string, at: number }>, bootstrap: string[] = [], incompatible: IncompatiblePeer[] = []): NodeView {
  const mesh = new FakeMesh()
  const status = { ...mesh.status(), meshId: 'aaaa', rejected, incompatible, versions: { software: '0.2.0', protocols: [2] }, node: { name: 'hq', pid: 1, socket: '/s', protocol: 1, bootstrap } }
  return { name: 'hq', status, peers: mesh.peers() }
}

describe('doctor report', () => {
  it('exit code follows the worst check: 0, 5, 6; skips do not count', () => {
    const ok = check('a', 'a', 'ok', 'fine')
    assert.equal(doctorExitCode(report('/s', [ok, check('b', 'b', 'skip', 'n/a')])), 0)
    assert.equal(doctorExitCode(report('/s', [ok, check('b', 'b', 'warn', 'hm', 'do x')])), 5)
    assert.equal(doctorExitCode(report('/s', [check('b', 'b', 'warn', 'hm'), check('c', 'c', 'fail', 'no', 'do y'), ok])), 6)
  })

  it('prints one aligned line per check, the fix under warnings and failures, and a tally', () => {
    const r = report('/state', [
      check('node', 'Node.js', 'ok', '24.1.0', undefined, ['hidden unless -v']),
      check('key-file', 'key file', 'fail', '/state/mesh.key can be read by everyone', 'chmod 600 /state/mesh.key', ['mode 644']),
      check('mdns', 'mDNS', 'skip', 'not tested (--no-mdns)')
    ], 'hq')
    const text = formatDoctor(r)
    assert.equal(text, [
      'clawmesh doctor  state folder /state, node hq',
      '',
      'ok    Node.js   24.1.0',
      'FAIL  key file  /state/mesh.key can be read by everyone',
      '                → chmod 600 /state/mesh.key',
      '                  mode 644',
      'skip  mDNS      not tested (--no-mdns)',
      '',
      '1 ok · 0 warnings · 1 failure · 1 skipped',
      ''
    ].join('\n'))
    assert.match(formatDoctor(r, true), /hidden unless -v/)
  })

  it('warns of recent refusals of others, not of the node\'s own bootstrap dials', () => {
    const now = Date.now()
    const own = { address: '/ip4/10.0.0.2/tcp/4001/p2p/12D3KooWX', reason: 'outbound refused: another secret', at: now }
    assert.equal(judgeNode(view([own], ['/ip4/10.0.0.2/tcp/4001/p2p/12D3KooWX']), [], now).status, 'ok')
    const knocking = { address: '/ip4/10.0.0.9/tcp/51234', reason: 'inbound refused: another secret', at: now }
    const warned = judgeNode(view([own, knocking], ['/ip4/10.0.0.2/tcp/4001/p2p/12D3KooWX']), [], now)
    assert.equal(warned.status, 'warn')
    assert.match(warned.fix ?? '', /at \/ip4\/10\.0\.0\.9\/tcp\/51234/)
    const old = { ...knocking, at: now - 60 * 60_000 }
    assert.equal(judgeNode(view([old]), [], now).status, 'ok')
  })

  it('warns of connected Gateways the node cannot exchange sessions with, naming what they speak and run', () => {
    const peer: IncompatiblePeer = { peerId: '12D3KooWOld', kind: 'no-common-version', reason: 'it speaks none of the registry protocol versions this Gateway speaks (2); it speaks 1', versions: [1], agentVersion: 'js-libp2p/3.3.11', address: '/ip4/10.0.0.3/tcp/4001', at: Date.now() }
    const warned = judgeNode(view([], [], [peer]), [])
    assert.equal(warned.status, 'warn')
    assert.match(warned.summary, /1 connected Gateway cannot exchange sessions/)
    assert.match(warned.fix ?? '', /rolling upgrade/)
    assert.ok(warned.details?.some(d => d.includes('12D3KooWOld (js-libp2p/3.3.11) at /ip4/10.0.0.3/tcp/4001')))
  })
})
