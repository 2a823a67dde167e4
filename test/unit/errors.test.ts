/** MeshError hints: what to do, as data each surface words for itself. */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { MeshError, parseMeshErrorHint } from '../../src/errors.ts'
import { cliAdvice } from '../../src/cli/advice.ts'

describe('MeshError hints', () => {
  it('keeps the summary apart from the library\'s own advice', () => {
    const err = new MeshError('NOT_FOUND', 'No session "x" in the mesh', { hint: { kind: 'list-sessions' } })
    assert.equal(err.summary, 'No session "x" in the mesh')
    assert.ok(err.message.startsWith(err.summary))
    assert.ok(err.message.length > err.summary.length, 'the API user gets advice in the message')
    assert.deepEqual(err.hint, { kind: 'list-sessions' })
    const plain = new MeshError('TIMEOUT', 'too slow')
    assert.equal(plain.summary, plain.message)
    assert.equal(plain.hint, undefined)
  })

  it('gives every hint kind CLI advice that names a command or option, never the API', () => {
    const hints = [
      { kind: 'list-sessions' }, { kind: 'list-sessions', gateway: 'hq' }, { kind: 'list-gateways' }, { kind: 'pick-candidate' },
      { kind: 'check-gateway', gateway: 'hq' }, { kind: 'raise-limit', option: 'maxMessageBytes', limit: 10 }
    ] as const
    for (const hint of hints) {
      const advice = cliAdvice(new MeshError('NOT_FOUND', 's', { hint }))
      assert.ok(advice !== undefined && advice.length > 0, hint.kind)
      assert.doesNotMatch(advice, /mesh\.\w+\(/, hint.kind)
    }
  })

  it('parses hints from outside strictly', () => {
    assert.deepEqual(parseMeshErrorHint({ kind: 'check-gateway', gateway: 'hq', extra: 1 }), { kind: 'check-gateway', gateway: 'hq' })
    assert.deepEqual(parseMeshErrorHint({ kind: 'list-sessions', gateway: 7 }), { kind: 'list-sessions' })
    for (const bad of [null, 'list-sessions', {}, { kind: 'rm -rf' }, { kind: 'check-gateway' }, { kind: 'raise-limit', option: 'other', limit: 1 }, { kind: '__proto__' }]) {
      assert.equal(parseMeshErrorHint(bad), undefined, JSON.stringify(bad))
    }
  })
})
