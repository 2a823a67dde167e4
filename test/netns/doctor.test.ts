/**
 * `clawmesh doctor` on a private LAN of network namespaces (test/helpers/netns.ts):
 * real `clawmesh run` nodes, real multicast, real dials. mDNS runs only inside
 * these namespaces.
 */
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, describe, it } from 'node:test'
import { generateSecret } from '../../src/security/secret.ts'
import { BIN } from '../cli/helpers.ts'
import { createNetwork, type Host, type HostProcess } from '../helpers/netns.ts'

const net = createNetwork({ hosts: 2 })
const dirs: string[] = []
after(async () => {
  net.destroy()
  await Promise.all(dirs.map(async d => { await rm(d, { recursive: true, force: true }) }))
})

const env = { ...process.env, NO_COLOR: '1', CLAWMESH_SECRET: '' }
const NO_OPENCLAW = ['--openclaw-config', '/nonexistent/openclaw.json']

async function stateDir (secret?: string, mode = 0o600): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'clawmesh-doctor-ns-'))
  dirs.push(d)
  if (secret !== undefined) {
    await writeFile(join(d, 'mesh.key'), secret + '\n', { mode })
    await chmod(join(d, 'mesh.key'), mode)
  }
  return d
}

/** `clawmesh run` on `host`; resolves with the process and its address on the LAN. */
async function run (host: Host, name: string, dir: string, extra: string[] = [], extraEnv: NodeJS.ProcessEnv = {}): Promise<{ proc: HostProcess, address: string }> {
  const proc = host.spawn(process.execPath, [BIN, 'run', '--name', name, '--state-dir', dir, '--listen', '/ip4/0.0.0.0/tcp/0', '--json', ...extra], { env: { ...env, ...extraEnv } })
  const ready = JSON.parse(await proc.waitForLine(l => l.includes('"event":"ready"'), 20_000, `${name} ready`)) as { addresses: string[] }
  const address = ready.addresses.find(a => a.startsWith(`/ip4/${host.ip}/`))
  assert.ok(address !== undefined, `${name} listens on ${host.ip}`)
  return { proc, address }
}

interface Report { checks: Array<{ id: string, title: string, status: string, summary: string, fix?: string }>, worst: string, exitCode: number }

/** `clawmesh doctor` on `host`: its JSON report and exit code, and (a second run) its human output unless `jsonOnly`. */
async function doctor (host: Host, args: string[], jsonOnly = false): Promise<{ code: number | string, text: string, report: Report }> {
  const json = host.spawn(process.execPath, [BIN, 'doctor', '--json', ...NO_OPENCLAW, ...args], { env })
  const code = await json.exited
  const report = JSON.parse(json.stdout.join('\n')) as Report
  if (jsonOnly) return { code, text: JSON.stringify(report, null, 2), report }
  const human = host.spawn(process.execPath, [BIN, 'doctor', ...NO_OPENCLAW, ...args], { env })
  assert.equal(await human.exited, code)
  return { code, text: human.stdout.join('\n'), report }
}

const byId = (r: Report, id: string): Report['checks'] => r.checks.filter(c => c.id === id)

function hasNft (): boolean {
  try {
    execFileSync('nft', ['--version'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

void describe('clawmesh doctor across network namespaces', { timeout: 120_000 }, () => {
  void it('finds nothing wrong on a working LAN, and sees the other Gateway answer mDNS', async () => {
    const secret = generateSecret()
    const dir = await stateDir(secret)
    const a = await run(net.hosts[0]!, 'a', dir)
    const b = await run(net.hosts[1]!, 'b', await stateDir(secret))
    try {
      await a.proc.waitForLine(l => l.includes('"event":"peer:join"'), 20_000, 'a meets b')
      const r = await doctor(net.hosts[0]!, ['--state-dir', dir])
      assert.equal(r.code, 0, r.text)
      assert.equal(r.report.worst, 'ok')
      const mdns = byId(r.report, 'mdns')[0]
      assert.equal(mdns?.status, 'ok')
      assert.match(mdns?.summary ?? '', /answered \(.*b from /)
      assert.match(r.text, /^ok {4}mDNS {2,}works: our query came back; 2 Gateways of this mesh answered/m)
      assert.equal(byId(r.report, 'listen')[0]?.status, 'ok')
      assert.equal(byId(r.report, 'secret')[0]?.status, 'ok')
    } finally {
      a.proc.kill()
      b.proc.kill()
      await Promise.all([a.proc.exited, b.proc.exited])
    }
  })

  void it('catches multicast not routed, a bootstrap peer with another secret, an unreachable one, and a key file others can read', async () => {
    const lonely = net.addHost({ multicast: false })
    const stranger = await run(net.hosts[1]!, 'stranger', await stateDir(), [], { CLAWMESH_SECRET: generateSecret() })
    const nobody = `/ip4/${net.hosts[1]!.ip.replace(/\.\d+$/, '.250')}/tcp/4001/p2p/12D3KooWCPnHAHP8QxwBoUi6x5wFP1KARDVxT2j76uaDViibmarr`
    const dir = await stateDir(generateSecret())
    const a = await run(lonely, 'a', dir, ['--peer', stranger.address, '--peer', nobody])
    // A node refuses to start on a key file others can read: it is opened up once the node runs.
    await chmod(join(dir, 'mesh.key'), 0o644)
    try {
      const r = await doctor(lonely, ['--state-dir', dir, '--timeout', '2'])
      assert.equal(r.code, 6, r.text)
      assert.equal(r.report.worst, 'fail')

      const key = byId(r.report, 'key-file')[0]
      assert.equal(key?.status, 'fail')
      assert.equal(key?.fix, `chmod 600 ${join(dir, 'mesh.key')}`)
      assert.match(r.text, /^FAIL {2}key file .* can be read by every user on this machine: whoever reads it can join your mesh$/m)

      const mdns = byId(r.report, 'mdns')[0]
      assert.equal(mdns?.status, 'fail')
      assert.match(mdns?.summary ?? '', /^multicast does not work here: our own query never came back/)
      assert.match(r.text, /^FAIL {2}mDNS .*\n {6,}→ route multicast to the LAN/m)

      const peers = byId(r.report, 'bootstrap')
      const wrong = peers.find(c => c.summary.startsWith(stranger.address))
      assert.equal(wrong?.status, 'fail')
      assert.match(wrong?.summary ?? '', /it holds a different mesh secret/)
      assert.match(wrong?.fix ?? '', /clawmesh secret/)
      const gone = peers.find(c => c.summary.startsWith(nobody))
      assert.equal(gone?.status, 'fail')
      assert.match(gone?.summary ?? '', /unreachable/)
      assert.match(r.text, new RegExp(`^FAIL {2}bootstrap peer \\(a\\) {2}${stranger.address.replace(/[/.]/g, '\\$&')}: it holds a different mesh secret`, 'm'))
    } finally {
      a.proc.kill()
      stranger.proc.kill()
      await Promise.all([a.proc.exited, stranger.proc.exited])
    }
  })

  void it('warns of a member that answers mDNS but whose mesh port a firewall drops', { skip: hasNft() ? false : 'needs nft' }, async () => {
    const secret = generateSecret()
    const walled = net.addHost()
    const b = await run(walled, 'b', await stateDir(secret))
    try {
      const port = /\/tcp\/(\d+)\//.exec(b.address)?.[1] as string
      for (const args of [['add', 'table', 'inet', 'wall'], ['add', 'chain', 'inet', 'wall', 'in', '{ type filter hook input priority 0 ; }'], ['add', 'rule', 'inet', 'wall', 'in', 'tcp', 'dport', port, 'drop']]) {
        const nft = walled.spawn('nft', args)
        assert.equal(await nft.exited, 0, nft.stderr.join('\n'))
      }
      const r = await doctor(net.hosts[0]!, ['--state-dir', await stateDir(secret), '--timeout', '2'], true)
      const mdns = byId(r.report, 'mdns')[0]
      assert.equal(mdns?.status, 'warn', r.text)
      assert.match(mdns?.summary ?? '', /cannot be reached at the address it announces: unreachable \(no answer within 2000 ms\)$/)
      assert.match(mdns?.fix ?? '', /^open the mesh port on /)
    } finally {
      b.proc.kill()
      await b.proc.exited
    }
  })

  void it('names the program that holds UDP 5353 without sharing it', async () => {
    const host = net.addHost()
    const holder = host.spawn('python3', ['-c', 'import socket,sys; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("0.0.0.0", 5353)); print("bound", flush=True); sys.stdin.read()'])
    try {
      await holder.waitForLine(l => l === 'bound', 10_000, 'python holds 5353')
      const r = await doctor(host, ['--state-dir', await stateDir(generateSecret())], true)
      const mdns = byId(r.report, 'mdns')[0]
      assert.equal(mdns?.status, 'fail', r.text)
      assert.equal(mdns?.summary, `UDP port 5353 cannot be used (EADDRINUSE): held by python3 (pid ${holder.pid}), which does not share it`)
      assert.match(mdns?.fix ?? '', /^stop the other responder/)
    } finally {
      holder.kill()
      await holder.exited
    }
  })
})
