/** The namespace harness itself: hosts reach each other, nothing else, and everything is removed, even on SIGINT. */
import assert from 'node:assert/strict'
import { execFileSync, spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { describe, it } from 'node:test'
import { createNetwork } from '../helpers/netns.ts'

const namespaces = (): string[] => execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n').map(l => l.split(' ')[0]!).filter(n => n !== '')
/** The namespaces of one network (its bridge's name without `-br` is their prefix): other test processes on the machine make and remove their own meanwhile. */
const namespacesOf = (bridgeNs: string): string[] => namespaces().filter(n => n.startsWith(bridgeNs.slice(0, -'br'.length)))

function deadOrZombie (pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')
  } catch {
    return true
  }
}

const tcpEcho = `const net = require('node:net'); const s = net.createServer(c => c.pipe(c)); s.listen(7000, () => console.log('listening'))`
const tcpProbe = (ip: string): string => `const net = require('node:net'); const c = net.connect(7000, '${ip}', () => { c.end('ping') }); c.on('data', d => { console.log('got ' + d); process.exit(0) }); c.on('error', e => { console.log('error ' + e.code); process.exit(1) })`

void describe('network namespace harness', () => {
  void it('hosts reach each other over the bridge, have no route out, and are removed by destroy()', async () => {
    const net = createNetwork({ hosts: 2 })
    try {
      assert.deepEqual(namespacesOf(net.bridgeNs).sort(), [net.bridgeNs, ...net.hosts.map(h => h.ns)].sort(), 'a bridge namespace and two hosts')
      const server = net.hosts[0]!.spawn(process.execPath, ['-e', tcpEcho])
      await server.waitForLine(l => l === 'listening', 10_000, 'echo server')
      const probe = net.hosts[1]!.spawn(process.execPath, ['-e', tcpProbe(net.hosts[0]!.ip)])
      assert.equal(await probe.exited, 0)
      assert.deepEqual(probe.stdout, ['got ping'])
      const outside = net.hosts[1]!.spawn(process.execPath, ['-e', tcpProbe('192.0.2.1')])
      assert.equal(await outside.exited, 1)
      assert.deepEqual(outside.stdout, ['error ENETUNREACH'], 'no default route: nothing leaves the LAN')
      const routes = execFileSync('ip', ['-n', net.hosts[0]!.ns, 'route'], { encoding: 'utf8' })
      assert.match(routes, /^224\.0\.0\.0\/4 dev eth0/m)
      assert.doesNotMatch(routes, /default/)
    } finally {
      net.destroy()
    }
    assert.deepEqual(namespacesOf(net.bridgeNs), [])
  })

  void it('removes namespaces and kills its processes when the test process gets SIGINT', async () => {
    const moduleUrl = new URL('../helpers/netns.ts', import.meta.url).href
    const script = `const { createNetwork } = await import(${JSON.stringify(moduleUrl)}); const net = createNetwork({ hosts: 2 }); const p = net.hosts[0].spawn('sleep', ['600']); console.log(JSON.stringify({ pid: p.pid, bridge: net.bridgeNs, ns: net.hosts.map(h => h.ns) })); setInterval(() => {}, 1000)`
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] })
    const first = await new Promise<string>((resolve) => { child.stdout.once('data', (d: Buffer) => { resolve(d.toString()) }) })
    const { pid, bridge, ns } = JSON.parse(first) as { pid: number, bridge: string, ns: string[] }
    assert.deepEqual(namespacesOf(bridge).sort(), [bridge, ...ns].sort())
    const exited = new Promise<void>((resolve) => { child.on('exit', () => { resolve() }) })
    child.kill('SIGINT')
    await exited
    assert.deepEqual(namespacesOf(bridge), [], 'every namespace is gone')
    assert.ok(deadOrZombie(pid), 'the process started inside is killed (gone, or dead awaiting reaping by init)')
  })
})
