// The one address parser and the naming rules: pure syntax, never the registry.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import {
  checkGatewayName, checkSessionKey, defaultGatewayName, formatQualifiedKey, gatewayNameProblem, parseGatewayRef, parseTarget, splitQualifiedKey
} from '../../src/routing/address.ts'
import { PEERS } from '../helpers/fake-directory.ts'

describe('parseTarget', () => {
  it('splits gateway:<gw>:<key> by syntax alone: port, peer ID, host:port, name', () => {
    assert.deepEqual(parseTarget('gateway:18790:agent:main:main'), { kind: 'qualified', gateway: { kind: 'port', port: 18790 }, gatewayText: '18790', sessionKey: 'agent:main:main' })
    assert.deepEqual(parseTarget(`gateway:${PEERS.a}:agent:main:main`), { kind: 'qualified', gateway: { kind: 'peerId', peerId: PEERS.a }, gatewayText: PEERS.a, sessionKey: 'agent:main:main' })
    assert.deepEqual(parseTarget('gateway:box:18790:agent:main:main'), { kind: 'qualified', gateway: { kind: 'hostPort', host: 'box', port: 18790 }, gatewayText: 'box:18790', sessionKey: 'agent:main:main' })
    assert.deepEqual(parseTarget('gateway:[::1]:18790:agent:main:main'), { kind: 'qualified', gateway: { kind: 'hostPort', host: '[::1]', port: 18790 }, gatewayText: '[::1]:18790', sessionKey: 'agent:main:main' })
    assert.deepEqual(parseTarget('gateway:hq:agent:main:main'), { kind: 'qualified', gateway: { kind: 'name', name: 'hq' }, gatewayText: 'hq', sessionKey: 'agent:main:main' })
  })

  it('a name never swallows part of the key: gateway:alice:agent:main:main is alice + agent:main:main', () => {
    assert.deepEqual(splitQualifiedKey('gateway:alice:agent:main:main'), { gateway: 'alice', sessionKey: 'agent:main:main' })
    // A peer ID qualifier keeps every colon after it in the key.
    assert.deepEqual(splitQualifiedKey(`gateway:${PEERS.a}:12:x`), { gateway: PEERS.a, sessionKey: '12:x' })
  })

  it('session IDs and bare keys', () => {
    assert.deepEqual(parseTarget('0b6bd0a8-3f7e-4c9a-9d2a-1f5b6c7d8e9f'), { kind: 'sessionId', sessionId: '0b6bd0a8-3f7e-4c9a-9d2a-1f5b6c7d8e9f' })
    assert.deepEqual(parseTarget('agent:main:main'), { kind: 'key', key: 'agent:main:main' })
    assert.equal(splitQualifiedKey('agent:main:main'), undefined)
  })

  it('malformed qualified keys are BAD_REQUEST', () => {
    for (const bad of ['gateway:', 'gateway:hq', 'gateway:hq:', 'gateway::key', 'gateway:[::1:18790:k', '', 'gateway:[::1]:99999:k']) {
      assert.throws(() => parseTarget(bad), { code: 'BAD_REQUEST' }, bad)
    }
    assert.throws(() => parseTarget(42), { code: 'BAD_REQUEST' })
  })

  it('targetGateway values parse like <gw>', () => {
    assert.deepEqual(parseGatewayRef('localhost:18790'), { kind: 'hostPort', host: 'localhost', port: 18790 })
    assert.deepEqual(parseGatewayRef('18790'), { kind: 'port', port: 18790 })
    assert.throws(() => parseGatewayRef('a:b:c'), { code: 'BAD_REQUEST' })
  })

  it('formats what it parses', () => {
    const key = formatQualifiedKey('hq', 'agent:main:main')
    assert.deepEqual(splitQualifiedKey(key), { gateway: 'hq', sessionKey: 'agent:main:main' })
  })
})

describe('naming rules', () => {
  it('accepts host-like names', () => {
    for (const ok of ['hq', 'hangzhou', 'box-18789', 'gw.example.com', 'a_b', '1st-floor']) assert.equal(gatewayNameProblem(ok), undefined, ok)
  })

  it('refuses colons, ports, peer IDs and odd characters', () => {
    for (const bad of ['alice:agent', '18790', PEERS.a, '12D3KooWshort', 'Qm' + 'a'.repeat(44), 'a b', '', 'x'.repeat(65), 'ünï', 'a/b']) {
      assert.throws(() => checkGatewayName(bad), { code: 'BAD_REQUEST' }, bad)
    }
  })

  it('derives a valid default from any host name', () => {
    assert.equal(defaultGatewayName('my host:1', '18789'), 'my-host-1-18789')
    assert.equal(gatewayNameProblem(defaultGatewayName('', '18789')), undefined)
  })

  it('session keys: bounded, never gateway-qualified', () => {
    assert.equal(checkSessionKey('agent:main:main'), 'agent:main:main')
    assert.throws(() => checkSessionKey('gateway:hq:x'), { code: 'BAD_REQUEST' })
    assert.throws(() => checkSessionKey(''), { code: 'BAD_REQUEST' })
    assert.throws(() => checkSessionKey('k'.repeat(1025)), { code: 'BAD_REQUEST' })
  })
})
