/** Where control sockets live, and that a Gateway name can never point a socket path elsewhere. */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { dirname, join } from 'node:path'
import { controlDir, controlSocketPath, safeName } from '../../src/control/protocol.ts'

describe('control protocol', () => {
  it('puts each node\'s socket in <stateDir>/run/<name>.sock', () => {
    assert.equal(controlDir('/s'), join('/s', 'run'))
    assert.equal(controlSocketPath('/s', 'hq'), join('/s', 'run', 'hq.sock'))
    assert.equal(controlSocketPath('/s', 'host-1.lan_2'), join('/s', 'run', 'host-1.lan_2.sock'))
  })

  it('never lets a name leave the socket folder or hide', () => {
    for (const name of ['../../etc/passwd', '..', '.', '', '/abs', 'a/b', 'a\\b', 'x\0y', 'hangzhou 杭州', '\n']) {
      const path = controlSocketPath('/s', name)
      assert.equal(dirname(path), join('/s', 'run'), name)
      assert.match(safeName(name), /^[A-Za-z0-9._-]+$/, name)
      assert.notEqual(safeName(name), '.', name)
      assert.notEqual(safeName(name), '..', name)
    }
  })
})
