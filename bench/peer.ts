/**
 * The remote side of the benchmarks, as its own process:
 *
 *   node bench/peer.ts tcp                 raw TCP echo server
 *   node bench/peer.ts http                HTTP server answering each POST with its body (keep-alive)
 *   node bench/peer.ts libp2p '<secret>'   a bare js-libp2p node (TCP + pnet + Noise + yamux) echoing
 *                                          every byte of its one protocol (bench/bare.ts)
 *   node bench/peer.ts gateway '<JSON>'    a clawmesh Gateway; the JSON holds createMesh options plus
 *                                          `sessions` (keys to announce) and `firstSend` (a target to
 *                                          send to as soon as it resolves; reports the time since start,
 *                                          since createMesh, and the CPU time since createMesh)
 *
 * stdout: JSON lines, `{"event":"ready",...}` first; answers `{"id","ok","result"|"error"}`.
 * stdin (gateway): `{"id","cmd":"announce"|"announceMany"|"memory"|"status"|"invite"|"stop",...}`.
 * The deliver handler replies at once with the text it got. The Gateway is the checkout
 * `CLAWMESH_BENCH_TARGET` names (bench/target.ts), this one by default.
 */
import { createServer as createHttpServer } from 'node:http'
import { createServer as createTcpServer } from 'node:net'
import { createInterface } from 'node:readline'
import { bareNode, serveEcho } from './bare.ts'
import { core, testing } from './target.ts'
import type { MeshOptions } from '../src/types.ts'

const { createMesh } = core
const { waitForResolvable } = testing

const out = (value: unknown): void => { process.stdout.write(JSON.stringify(value) + '\n') }
const mode = process.argv[2]

if (mode === 'tcp') {
  const server = createTcpServer(socket => {
    socket.setNoDelay(true)
    socket.on('data', d => { socket.write(d) })
    socket.on('error', () => {})
  })
  server.listen(0, '127.0.0.1', () => { out({ event: 'ready', port: (server.address() as { port: number }).port }) })
} else if (mode === 'http') {
  const server = createHttpServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      const body = Buffer.concat(chunks)
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': body.length })
      res.end(body)
    })
  })
  server.keepAliveTimeout = 60_000
  server.listen(0, '127.0.0.1', () => { out({ event: 'ready', port: (server.address() as { port: number }).port }) })
} else if (mode === 'libp2p') {
  const node = await bareNode(new TextEncoder().encode(process.argv[3] ?? ''))
  await serveEcho(node)
  out({ event: 'ready', addresses: node.getMultiaddrs().map(String) })
} else if (mode === 'gateway') {
  type Options = MeshOptions & { sessions?: string[], firstSend?: string }
  const options = JSON.parse(process.argv[3] ?? '{}') as Options
  const createdAt = performance.now()
  const cpuAtCreate = process.cpuUsage()
  const mesh = await createMesh({
    ...options,
    deliver: async (message) => ({ reply: message.text })
  })
  for (const key of options.sessions ?? []) await mesh.announce(key)
  out({ event: 'ready', peerId: mesh.peerId, addresses: mesh.status().addresses, t: performance.now() })
  if (options.firstSend !== undefined) {
    // performance.now() counts from process start (performance.timeOrigin).
    await waitForResolvable(mesh, options.firstSend, 30_000)
    await mesh.send(options.firstSend, 'first', { timeoutMs: 10_000 })
    const t = performance.now()
    const cpu = process.cpuUsage(cpuAtCreate)
    out({ event: 'firstSend', sinceStart: t, sinceCreate: t - createdAt, cpuSinceCreate: (cpu.user + cpu.system) / 1000 })
  }
  createInterface({ input: process.stdin }).on('line', line => {
    void (async () => {
      let request: { id?: number, cmd?: string, [key: string]: unknown } = {}
      try {
        request = JSON.parse(line) as typeof request
        let result: unknown = null
        switch (request.cmd) {
          case 'announce': await mesh.announce(request.sessionKey as string); break
          case 'announceMany': {
            const prefix = request.prefix as string
            const count = request.count as number
            await Promise.all(Array.from({ length: count }, async (_, i) => { await mesh.announce(`${prefix}${i}`, { sessionId: `${prefix}-id-${i}` }) }))
            break
          }
          case 'memory': result = process.memoryUsage(); break
          case 'status': result = mesh.status(); break
          case 'invite': result = await mesh.invite(); break
          case 'stop':
            await mesh.stop()
            out({ id: request.id, ok: true, result: null })
            process.exit(0)
            break
          default: throw new Error(`unknown command ${String(request.cmd)}`)
        }
        out({ id: request.id, ok: true, result })
      } catch (err) {
        const e = err as { name?: string, code?: string, message?: string }
        out({ id: request.id, ok: false, error: { name: e.name, code: e.code, message: e.message } })
      }
    })()
  }).on('close', () => { void mesh.stop().finally(() => process.exit(0)) })
} else {
  process.stderr.write('usage: node bench/peer.ts tcp|http|libp2p|gateway [secret | JSON options]\n')
  process.exit(2)
}
