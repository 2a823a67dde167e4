// The registry frames' codec where it carries more than the schema says at a glance: the run of each linked peer.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { decodeFrame, encodeFrame } from '../../src/gossip/wire.ts'
import { originToBytes } from '../../src/registry/origin.ts'
import { Frame } from '../../src/pb/registry.js'

const peer = async (): Promise<string> => peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()

describe('registry wire', () => {
  it('links and hello name the run of each linked peer; a frame without the list names none', async () => {
    const [p, q] = [await peer(), await peer()]
    // q has not published anything yet: run 0, which is no run anyone holds.
    const runs = new Map([[p, 1_700_000_000_123], [q, 0]])
    const links = decodeFrame(encodeFrame.links([p, q], new Map([[p, 1_700_000_000_123]])))
    assert.deepEqual(links, { type: 'links', links: new Set([p, q]), runs })
    const hello = decodeFrame(encodeFrame.hello({ protocolVersion: 2, softwareVersion: 't', name: 'n', digest: new Map(), links: new Set([p, q]), runs }))
    assert.equal(hello.type, 'hello')
    assert.deepEqual(hello.type === 'hello' ? hello.hello.runs : undefined, runs)
    // Without runs (a hand-written frame), or with a list of another length: no run is named.
    assert.deepEqual(decodeFrame(encodeFrame.links([p, q])), { type: 'links', links: new Set([p, q]), runs: new Map() })
    const skewed = Frame.encode({ record: new Uint8Array(0), links: { peers: [p, q].map(originToBytes), incarnations: [5] } })
    assert.deepEqual(decodeFrame(skewed), { type: 'links', links: new Set([p, q]), runs: new Map() })
  })
})
