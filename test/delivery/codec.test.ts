// The deliver/2 codec: whatever bytes arrive, a value within the limits or a typed MeshError; never another exception.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { decodeAnswer, decodeClientFrame, encodeAnswer, encodeCancel, encodeRequest, MAX_ID_LENGTH, MAX_KEY_LENGTH, type DeliveryRequest } from '../../src/delivery/codec.ts'
import { MESH_ERROR_CODES, MeshError } from '../../src/errors.ts'
import { Response, Status } from '../../src/pb/deliver.js'
import { requestFrame } from '../helpers/deliver-frames.ts'

const SOAK = process.env.CLAWMESH_SOAK === '1'
const runs = (n: number): { numRuns: number } => ({ numRuns: SOAK ? n * 20 : n })

const request: DeliveryRequest = { id: 'm1', to: 'agent:main:main', text: 'hello', wait: true, ttlMs: 30_000, maxReplyBytes: 1024 }

describe('deliver codec', () => {
  it('a request round-trips, meta and sender session included', () => {
    const full = { ...request, fromSessionKey: 'agent:ops:main', meta: { a: [1, 'b'], c: null } }
    assert.deepEqual(decodeClientFrame(encodeRequest(full), 1024), { kind: 'request', request: full })
    assert.deepEqual(decodeClientFrame(encodeCancel('m1'), 1024), { kind: 'cancel', id: 'm1' })
  })

  it('caps ttl at the dedup window and a reply limit at our own', () => {
    const decoded = decodeClientFrame(requestFrame({ id: 'x', ttlMs: 24 * 3600_000, maxReplyBytes: 1 << 30 }), 1000)
    assert.equal(decoded.kind, 'request')
    if (decoded.kind !== 'request') return
    assert.equal(decoded.request.ttlMs, 600_000)
    assert.equal(decoded.request.maxReplyBytes, 1000)
  })

  it('limits name the request they refuse', () => {
    const cases: Array<[Parameters<typeof requestFrame>[0], string]> = [
      [{ id: 'a', to: '' }, 'BAD_REQUEST'],
      [{ id: 'b', to: 'k'.repeat(MAX_KEY_LENGTH + 1) }, 'BAD_REQUEST'],
      [{ id: 'c', text: 'x'.repeat(11) }, 'TOO_LARGE'],
      [{ id: 'd', metaJson: '[]' }, 'BAD_REQUEST'],
      [{ id: 'e', metaJson: `"${'m'.repeat(17_000)}"` }, 'TOO_LARGE'],
      [{ id: 'f', fromSessionKey: 's'.repeat(MAX_KEY_LENGTH + 1) }, 'BAD_REQUEST']
    ]
    for (const [fields, code] of cases) {
      const decoded = decodeClientFrame(requestFrame(fields), 10)
      assert.equal(decoded.kind, 'invalid')
      if (decoded.kind !== 'invalid') continue
      assert.equal(decoded.id, fields.id)
      assert.equal(decoded.error.code, code, fields.id)
    }
    const noId = decodeClientFrame(requestFrame({ id: 'i'.repeat(MAX_ID_LENGTH + 1) }), 10)
    assert.equal(noId.kind === 'invalid' ? noId.id : 'answered', undefined)
  })

  it('answers map statuses to codes; an unknown status is REMOTE_ERROR; an oversized reply is TOO_LARGE for that request only', () => {
    assert.deepEqual(decodeAnswer(encodeAnswer({ id: 'm', kind: 'accepted' }), 10), { id: 'm', kind: 'accepted' })
    assert.deepEqual(decodeAnswer(encodeAnswer({ id: 'm', kind: 'ok', reply: 'hi' }), 10), { id: 'm', kind: 'ok', reply: 'hi' })
    for (const code of MESH_ERROR_CODES) {
      const answer = decodeAnswer(encodeAnswer({ id: 'm', kind: 'error', error: { code, message: 'why' } }), 10)
      assert.deepEqual(answer, { id: 'm', kind: 'error', error: { code, message: 'why' } })
    }
    assert.equal(decodeAnswer(Response.encode({ id: 'm', status: Status.UNSPECIFIED }), 10).kind, 'error')
    const big = decodeAnswer(encodeAnswer({ id: 'm', kind: 'ok', reply: 'x'.repeat(11) }), 10)
    assert.deepEqual(big.kind === 'error' ? big.error.code : big.kind, 'TOO_LARGE')
  })

  it('any bytes as a client frame: a request within the limits, a cancel, or invalid with a MeshError', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 600 }), fc.integer({ min: 0, max: 400 }), (bytes, maxText) => {
      const decoded = decodeClientFrame(bytes, maxText)
      if (decoded.kind === 'invalid') {
        assert.ok(decoded.error instanceof MeshError && ['BAD_REQUEST', 'TOO_LARGE'].includes(decoded.error.code))
        return
      }
      if (decoded.kind === 'cancel') {
        assert.ok(decoded.id.length > 0 && decoded.id.length <= MAX_ID_LENGTH)
        return
      }
      const r = decoded.request
      assert.ok(r.id.length > 0 && r.id.length <= MAX_ID_LENGTH && r.to.length > 0 && r.to.length <= MAX_KEY_LENGTH)
      assert.ok(Buffer.byteLength(r.text) <= maxText && r.ttlMs <= 600_000)
    }), runs(3000))
  })

  it('a valid request with any field replaced by any value: decoded within limits, or invalid naming its ID', () => {
    const anyString = fc.oneof(fc.string({ maxLength: 2000 }), fc.constant(''), fc.string({ unit: 'binary', maxLength: 50 }))
    fc.assert(fc.property(fc.constantFrom('to', 'text', 'fromSessionKey', 'metaJson'), anyString, fc.nat(), fc.boolean(), (field, value, ttl, wait) => {
      const decoded = decodeClientFrame(requestFrame({ id: 'fz', ttlMs: ttl % 2 ** 32, wait, [field]: value }), 300)
      if (decoded.kind === 'invalid') assert.equal(decoded.id, 'fz')
      else assert.equal(decoded.kind, 'request')
    }), runs(2000))
  })

  it('any bytes as an answer: a well-formed answer or BAD_REQUEST', () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), bytes => {
      try {
        const answer = decodeAnswer(bytes, 100)
        assert.ok(['accepted', 'ok', 'error'].includes(answer.kind) && answer.id.length > 0)
        if (answer.kind === 'ok' && answer.reply !== undefined) assert.ok(Buffer.byteLength(answer.reply) <= 100)
      } catch (err) {
        assert.ok(err instanceof MeshError && err.code === 'BAD_REQUEST', String(err))
      }
    }), runs(3000))
  })
})
