// FramedStream over a real yamux stream: a reader far behind its writer pauses the stream
// instead of letting libp2p buffer until it resets it.
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { MUXER_OPTIONS } from '../../src/mesh.ts'
import { FramedStream } from '../../src/wire/framed-stream.ts'
import { createTestNode, waitConnected } from '../helpers/libp2p.ts'

const PROTOCOL = '/clawmesh-test/framed/1.0.0'

describe('FramedStream', () => {
  it('a slow reader gets every frame of a fast writer: back-pressure, no reset (16 MiB of frames)', async () => {
    // The muxer settings of a mesh node: with yamux's default 16 MiB window no pause could keep
    // a slow reader's buffer under libp2p's 4 MiB limit.
    const [reader, writer] = await Promise.all([createTestNode({ muxer: MUXER_OPTIONS }), createTestNode({ muxer: MUXER_OPTIONS })])
    try {
      const frames = 40_000
      const frame = new Uint8Array(400).fill(7)
      const received = new Promise<number>((resolve, reject) => {
        void reader.handle(PROTOCOL, async (stream) => {
          const framed = new FramedStream(stream, 64 * 1024)
          let count = 0
          try {
            while (count < frames) {
              await framed.read()
              count++
              // Far slower than the writer: frames pile up and the stream must pause, and resume, many times.
              if (count % 50 === 0) await new Promise(resolve => { setImmediate(resolve) })
            }
            resolve(count)
          } catch (err) {
            reject(err as Error)
          }
        })
      })
      await writer.dial(reader.getMultiaddrs()[0]!)
      await waitConnected(writer, reader.peerId)
      const out = new FramedStream(await writer.dialProtocol(reader.peerId, PROTOCOL), 64 * 1024)
      for (let sent = 0; sent < frames; sent += 1_000) {
        await Promise.all(Array.from({ length: 1_000 }, async () => { await out.write(frame) }))
      }
      assert.equal(await received, frames)
    } finally {
      await Promise.all([reader.stop(), writer.stop()])
    }
  })
})
