// Regressions found by the decoder fuzz test, kept as plain cases.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { parseRequest, parseResponse } from '../../src/delivery/frames.ts'
import { decodeJson } from '../../src/wire/json-frame.ts'

describe('deliver frame parsing', () => {
  it('refuses a version that cannot be turned into a string with BAD_REQUEST, not a TypeError', () => {
    // String({ toString: '' }) throws "Cannot convert object to primitive value".
    const frame = decodeJson(new TextEncoder().encode('{"t":"req","v":{"toString":""},"id":" ","from":{"gw":""},"to":{"k":" "},"text":"","wait":false,"ttl":0}'))
    assert.throws(() => parseRequest(frame, 1024), { name: 'MeshError', code: 'BAD_REQUEST' })
    assert.throws(() => parseRequest({ t: { toString: '' } }, 1024), { name: 'MeshError', code: 'BAD_REQUEST' })
    assert.throws(() => parseResponse({ t: { toString: '' }, id: 'x' }), { name: 'MeshError', code: 'BAD_REQUEST' })
  })

  it('keeps error messages short whatever the offending value', () => {
    assert.throws(() => parseRequest({ t: 'x'.repeat(100_000) }, 1024), (err: Error) => err.message.length < 200)
  })
})
