/**
 * The `clawmesh` CLI end to end: real `clawmesh run` processes (multicast off,
 * 127.0.0.1, a temporary state directory shared as on one host), driven by
 * real `clawmesh status|sessions|send|…` processes through the control socket.
 */
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { chmod, mkdtemp, rm, stat } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { asNobody, clawmesh, start, type Running } from './helpers.ts'
import { SOFTWARE_VERSION } from '../../src/version.ts'

const RUN_FLAGS = ['--listen', '/ip4/127.0.0.1/tcp/0', '--no-mdns', '--json']

describe('clawmesh run + control commands', () => {
  let stateDir: string
  let hq: Running
  let hangzhou: Running
  const nodeArgs = (name: string): string[] => ['--state-dir', stateDir, '--node', name]

  before(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'clawmesh-cli-'))
    hq = start(['run', '--name', 'hq', '--gateway-port', '18789', '--session', 'agent:main:main', '--state-dir', stateDir, ...RUN_FLAGS])
    await hq.waitEvent(e => e.event === 'ready', 'hq ready')
    hangzhou = start(['run', '--name', 'hangzhou', '--gateway-port', '18790', '--session', 'agent:main:main=7b1d9a40-2e3f-4b8a-8c6d-5e4f3a2b1c02', '--session', 'agent:research:main', '--state-dir', stateDir, ...RUN_FLAGS])
    await hangzhou.waitEvent(e => e.event === 'ready', 'hangzhou ready')
    // Found through the rendezvous folder (no multicast), then the registry syncs.
    await hq.waitEvent(e => e.event === 'session:add' && e.qualifiedKey === 'gateway:hangzhou:agent:research:main', 'hangzhou\'s sessions on hq')
    await hangzhou.waitEvent(e => e.event === 'session:add' && e.qualifiedKey === 'gateway:hq:agent:main:main', 'hq\'s sessions on hangzhou')
  })

  after(async () => {
    await hq?.stop('SIGKILL')
    await hangzhou?.stop('SIGKILL')
    await rm(stateDir, { recursive: true, force: true })
  })

  it('status --json describes the node and its mesh', async () => {
    const r = await clawmesh(['status', '--json', ...nodeArgs('hq')])
    assert.equal(r.code, 0, r.stderr)
    const s = JSON.parse(r.stdout) as { self: { name: string, gatewayPort: number }, peers: number, sessions: number, localSessions: number, node: { name: string, meshId: string }, versions: { software: string, protocols: number[] }, incompatible: unknown[] }
    assert.equal(s.self.name, 'hq')
    assert.equal(s.self.gatewayPort, 18789)
    assert.equal(s.peers, 1)
    assert.equal(s.sessions, 3)
    assert.equal(s.localSessions, 1)
    assert.match(s.node.meshId, /^[0-9a-f]{16}$/)
    assert.deepEqual(s.versions, { software: SOFTWARE_VERSION, protocols: [2, 1] })
    assert.deepEqual(s.incompatible, [])
  })

  it('status in human form is an aligned summary', async () => {
    const r = await clawmesh(['status', ...nodeArgs('hq')])
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /^Gateway\s+hq\s/m)
    assert.match(r.stdout, /^Peers\s+1$/m)
    assert.match(r.stdout, /^Version\s+clawmesh \S+, wire 2 and 1$/m)
  })

  it('sessions --json lists every owner; --owner filters', async () => {
    const all = await clawmesh(['sessions', '--json', ...nodeArgs('hq')])
    assert.equal(all.code, 0, all.stderr)
    const entries = JSON.parse(all.stdout) as Array<{ qualifiedKey: string, sessionId?: string, owner: { name: string, reachable: boolean } }>
    assert.deepEqual(entries.map(e => e.qualifiedKey).sort(), ['gateway:hangzhou:agent:main:main', 'gateway:hangzhou:agent:research:main', 'gateway:hq:agent:main:main'])
    assert.ok(entries.every(e => e.owner.reachable))
    const only = await clawmesh(['sessions', '--json', '--owner', 'hangzhou', ...nodeArgs('hq')])
    assert.deepEqual((JSON.parse(only.stdout) as Array<{ owner: { name: string } }>).map(e => e.owner.name), ['hangzhou', 'hangzhou'])
    const human = await clawmesh(['sessions', ...nodeArgs('hq')])
    assert.match(human.stdout, /^GATEWAY\s+SESSION KEY\s+STATE\s+SESSION ID/m)
    assert.match(human.stdout, /^hangzhou\s+agent:research:main\s+reachable/m)
  })

  it('peers lists hangzhou from hq', async () => {
    const r = await clawmesh(['peers', '--json', ...nodeArgs('hq')])
    assert.equal(r.code, 0, r.stderr)
    const peers = JSON.parse(r.stdout) as Array<{ name: string, gatewayPort: number, reachable: boolean, protocolVersion: number, softwareVersion: string }>
    assert.deepEqual(peers.map(p => [p.name, p.gatewayPort, p.reachable, p.protocolVersion, p.softwareVersion]), [['hangzhou', 18790, true, 2, SOFTWARE_VERSION]])
    // The human table tells a direct link from a relayed one, and shows its RTT once pinged (or -).
    const human = await clawmesh(['peers', ...nodeArgs('hq')])
    assert.match(human.stdout, /^GATEWAY\s+PORT\s+HOST\s+STATE\s+SESSIONS\s+LINK\s+RTT\s+VERSION\s+WIRE\s+PEER ID/m)
    assert.match(human.stdout, /^hangzhou\s+18790\s+\S+\s+reachable\s+2\s+direct\s+(\d+\.\d ms|-)\s/m)
  })

  it('run --wire 1 talks like the previous release: peers shows it on wire 1, and its sessions arrive', async () => {
    const old = start(['run', '--name', 'old', '--wire', '1', '--session', 'agent:main:old', '--state-dir', stateDir, ...RUN_FLAGS])
    try {
      await old.waitEvent(e => e.event === 'ready', 'old ready')
      await hq.waitEvent(e => e.event === 'session:add' && e.qualifiedKey === 'gateway:old:agent:main:old', 'old\'s session on hq')
      const peers = JSON.parse((await clawmesh(['peers', '--json', ...nodeArgs('hq')])).stdout) as Array<{ name: string, protocolVersion: number }>
      assert.equal(peers.find(p => p.name === 'old')?.protocolVersion, 1)
      const human = await clawmesh(['peers', ...nodeArgs('hq')])
      assert.match(human.stdout, /^old\s.*\s1\s+12D3KooW/m)
      const status = JSON.parse((await clawmesh(['status', '--json', ...nodeArgs('old')])).stdout) as { versions: { protocols: number[] } }
      assert.deepEqual(status.versions.protocols, [1])
    } finally {
      await old.stop('SIGTERM')
    }
  })

  it('send shows the remote reply by default (qualified key, port, session UUID)', async () => {
    const r = await clawmesh(['send', 'gateway:hangzhou:agent:main:main', 'hello', '--json', ...nodeArgs('hq')])
    assert.equal(r.code, 0, r.stderr)
    const result = JSON.parse(r.stdout) as { status: string, reply: string, owner: { name: string } }
    assert.equal(result.status, 'ok')
    assert.equal(result.reply, 'hangzhou received: hello')
    await hangzhou.waitEvent(e => e.event === 'message' && e.text === 'hello' && e.from === 'hq', 'the message on hangzhou')

    const byPort = await clawmesh(['send', 'gateway:18790:agent:research:main', 'by port', ...nodeArgs('hq')])
    assert.equal(byPort.code, 0, byPort.stderr)
    assert.equal(byPort.stdout, 'reply from gateway:hangzhou:agent:research:main:\nhangzhou received: by port\n')

    // --wait, the old way to ask for the reply, is still accepted.
    const byId = await clawmesh(['send', '7b1d9a40-2e3f-4b8a-8c6d-5e4f3a2b1c02', 'by id', '--wait', '--timeout', '10', '--json', ...nodeArgs('hq')])
    assert.equal(byId.code, 0, byId.stderr)
    assert.equal((JSON.parse(byId.stdout) as { reply: string }).reply, 'hangzhou received: by id')
  })

  it('send --no-wait returns once the owner accepted', async () => {
    const r = await clawmesh(['send', 'gateway:hq:agent:main:main', 'fire and forget', '--no-wait', '--json', ...nodeArgs('hangzhou')])
    assert.equal(r.code, 0, r.stderr)
    assert.equal((JSON.parse(r.stdout) as { status: string }).status, 'accepted')
    await hq.waitEvent(e => e.event === 'message' && e.text === 'fire and forget', 'the message on hq')
    const human = await clawmesh(['send', 'gateway:hq:agent:main:main', 'again', '--no-wait', ...nodeArgs('hangzhou')])
    assert.match(human.stdout, /^accepted by gateway:hq:agent:main:main \(message [0-9a-f-]{36}\)\n$/)
  })

  it('MeshErrors become distinct exit codes with their code in --json', async () => {
    const ambiguous = await clawmesh(['send', 'agent:main:main', 'which?', '--no-local-first', '--json', ...nodeArgs('hq')])
    assert.equal(ambiguous.code, 11)
    const error = (JSON.parse(ambiguous.stdout) as { error: { code: string, candidates: string[] } }).error
    assert.equal(error.code, 'AMBIGUOUS')
    assert.deepEqual([...error.candidates].sort(), ['gateway:hangzhou:agent:main:main', 'gateway:hq:agent:main:main'])

    const missing = await clawmesh(['resolve', 'agent:nobody:main', ...nodeArgs('hq')])
    assert.equal(missing.code, 10)
    // Advice in the CLI's words, not the library's API.
    assert.equal(missing.stderr, 'NOT_FOUND No session "agent:nobody:main" in the mesh\nhint: `clawmesh sessions` lists the sessions of the mesh; `gateway:<gateway>:<key>` names one on a given Gateway\n')
    const json = JSON.parse((await clawmesh(['send', 'agent:nobody:main', 'x', '--json', ...nodeArgs('hq')])).stdout) as { error: { code: string, hint: unknown } }
    assert.deepEqual(json.error.hint, { kind: 'list-sessions' })

    const noGateway = await clawmesh(['send', 'gateway:atlantis:agent:main:main', 'x', ...nodeArgs('hq')])
    assert.equal(noGateway.code, 10)
    assert.match(noGateway.stderr, /^NOT_FOUND No Gateway "atlantis" in the mesh\. Known Gateways: .*\nhint: `clawmesh peers` lists the connected Gateways/)
    const wrongKey = await clawmesh(['send', 'gateway:hangzhou:agent:nobody:main', 'x', ...nodeArgs('hq')])
    assert.match(wrongKey.stderr, /\nhint: `clawmesh sessions --owner hangzhou` lists hangzhou's sessions\n$/)

    const resolved = await clawmesh(['resolve', 'agent:research:main', '--json', ...nodeArgs('hq')])
    assert.equal(resolved.code, 0, resolved.stderr)
    assert.equal((JSON.parse(resolved.stdout) as { qualifiedKey: string }).qualifiedKey, 'gateway:hangzhou:agent:research:main')
  })

  it('several nodes and no --node is a usage error (2); a missing node is 3', async () => {
    const several = await clawmesh(['status', '--state-dir', stateDir])
    assert.equal(several.code, 2)
    assert.match(several.stderr, /--node/)
    const none = await clawmesh(['status', '--json', '--state-dir', stateDir, '--node', 'nowhere'])
    assert.equal(none.code, 3)
    assert.equal((JSON.parse(none.stdout) as { error: { code: string } }).error.code, 'NO_NODE')
  })

  it('secret prints the running mesh\'s secret', async () => {
    const r = await clawmesh(['secret', '--json', ...nodeArgs('hq')])
    assert.equal(r.code, 0, r.stderr)
    const s = JSON.parse(r.stdout) as { hex: string, meshId: string }
    assert.match(s.hex, /^[0-9a-f]{64}$/)
    const status = JSON.parse((await clawmesh(['status', '--json', ...nodeArgs('hangzhou')])).stdout) as { node: { meshId: string } }
    assert.equal(s.meshId, status.node.meshId)
    const fresh = await clawmesh(['secret', '--new', '--json', '--state-dir', stateDir])
    assert.notEqual((JSON.parse(fresh.stdout) as { hex: string }).hex, s.hex)
  })

  it('a stopped node shuts down cleanly (exit 0, socket removed) and its sessions turn UNREACHABLE', async () => {
    assert.equal(await hangzhou.stop('SIGINT'), 0)
    assert.ok(!existsSync(join(stateDir, 'run', 'hangzhou.sock')))
    await hq.waitEvent(e => e.event === 'gateway:reachability' && e.gateway === 'hangzhou' && e.reachable === false, 'hangzhou unreachable on hq')
    const r = await clawmesh(['send', 'gateway:hangzhou:agent:main:main', 'there?', '--json', '--state-dir', stateDir])
    assert.equal(r.code, 12, r.stdout)
    assert.equal((JSON.parse(r.stdout) as { error: { code: string } }).error.code, 'UNREACHABLE')
    const human = await clawmesh(['send', 'gateway:hangzhou:agent:main:main', 'there?', '--state-dir', stateDir])
    assert.match(human.stderr, /^UNREACHABLE Gateway hangzhou .*\nhint: `clawmesh peers` shows whether hangzhou is connected; `clawmesh doctor` checks why it cannot be reached\n$/)
    assert.equal(await hq.stop('SIGTERM'), 0)
    const gone = await clawmesh(['status', '--state-dir', stateDir])
    assert.equal(gone.code, 3)
  })
})

describe('versions', () => {
  it('two Gateways with no wire in common (--wire 2, --wire 1) each report the other: the event log and status, never a silent empty registry', async () => {
    const stateDir = await mkdtemp(join(tmpdir(), 'clawmesh-wire-'))
    const modern = start(['run', '--name', 'modern', '--wire', '2', '--session', 'agent:main:m', '--state-dir', stateDir, ...RUN_FLAGS])
    const legacy = start(['run', '--name', 'legacy', '--wire', '1', '--session', 'agent:main:l', '--state-dir', stateDir, ...RUN_FLAGS])
    try {
      // Found through the rendezvous folder; neither can open a registry stream to the other.
      const [onModern, onLegacy] = await Promise.all([
        modern.waitEvent(e => e.event === 'peer:incompatible', 'modern reports legacy'),
        legacy.waitEvent(e => e.event === 'peer:incompatible', 'legacy reports modern')
      ])
      assert.deepEqual([onModern.kind, onModern.versions], ['no-common-version', [1]])
      assert.deepEqual([onLegacy.kind, onLegacy.versions], ['no-common-version', [2]])
      for (const [name, speaks] of [['modern', 'wire 1'], ['legacy', 'wire 2']] as const) {
        const r = await clawmesh(['status', '--state-dir', stateDir, '--node', name])
        assert.equal(r.code, 0, r.stderr)
        assert.match(r.stdout, /^Incompatible\s+1 Gateway: neither side sees the other's sessions$/m, name)
        assert.match(r.stdout, new RegExp(`^PEER\\s+SPEAKS\\s+RUNS\\s+REASON\\n\\S+\\s+${speaks}\\s+clawmesh/`, 'm'), name)
        const sessions = JSON.parse((await clawmesh(['sessions', '--json', '--state-dir', stateDir, '--node', name])).stdout) as unknown[]
        assert.equal(sessions.length, 1, `${name} lists only its own session`)
      }
    } finally {
      await modern.stop('SIGTERM')
      await legacy.stop('SIGTERM')
      await rm(stateDir, { recursive: true, force: true })
    }
  })
})

describe('control socket', () => {
  it('has mode 0600 in a 0700 folder and refuses other users', async (t) => {
    const stateDir = await mkdtemp(join(tmpdir(), 'clawmesh-sock-'))
    const node = start(['run', '--name', 'solo', '--state-dir', stateDir, '--no-local', ...RUN_FLAGS])
    try {
      const ready = await node.waitEvent(e => e.event === 'ready', 'solo ready')
      const socket = ready.socket as string
      assert.equal(socket, join(stateDir, 'run', 'solo.sock'))
      assert.equal((await stat(socket)).mode & 0o777, 0o600)
      assert.equal((await stat(join(stateDir, 'run'))).mode & 0o777, 0o700)

      if (process.getuid?.() !== 0) {
        t.skip('needs root to run a client as another user (setpriv)')
        return
      }
      // Open the folders, so only the socket's own mode stands between another user and the node.
      await chmod(stateDir, 0o755)
      await chmod(join(stateDir, 'run'), 0o755)
      const nobody = await asNobody()
      const r = await clawmesh(['status', '--json', '--state-dir', stateDir, '--node', 'solo'], nobody).finally(nobody.cleanup)
      assert.equal(r.code, 3, `stdout: ${r.stdout}\nstderr: ${r.stderr}`)
      const error = (JSON.parse(r.stdout) as { error: { code: string, reason: string } }).error
      assert.equal(error.reason, 'permission')
      // The owner still gets in.
      const own = await clawmesh(['status', '--json', '--state-dir', stateDir, '--node', 'solo'])
      assert.equal(own.code, 0, own.stderr)
    } finally {
      await node.stop('SIGTERM')
      await rm(stateDir, { recursive: true, force: true })
    }
  })
})

describe('control socket lifecycle', () => {
  it('a crashed node\'s socket is replaced on restart; a second live node of the same name is refused', async () => {
    const stateDir = await mkdtemp(join(tmpdir(), 'clawmesh-stale-'))
    const args = ['run', '--name', 'phoenix', '--state-dir', stateDir, '--no-local', ...RUN_FLAGS]
    const first = start(args)
    let second: Running | undefined
    let third: Running | undefined
    try {
      await first.waitEvent(e => e.event === 'ready', 'phoenix ready')
      await first.stop('SIGKILL')
      // The socket file outlives the process; nobody answers on it.
      assert.ok(existsSync(join(stateDir, 'run', 'phoenix.sock')))
      const dead = await clawmesh(['status', '--json', '--state-dir', stateDir])
      assert.equal(dead.code, 3)
      assert.equal((JSON.parse(dead.stdout) as { error: { reason: string } }).error.reason, 'not-running')

      second = start(args)
      await second.waitEvent(e => e.event === 'ready', 'phoenix ready again')
      assert.equal((await clawmesh(['status', '--state-dir', stateDir])).code, 0)

      third = start(args)
      const refused = await third.waitEvent(e => e.error !== undefined, 'the duplicate to be refused')
      assert.equal((refused.error as { code: string }).code, 'BAD_REQUEST')
      assert.equal(await third.exited(), 16)
      // The survivor is untouched.
      assert.equal((await clawmesh(['status', '--state-dir', stateDir])).code, 0)
    } finally {
      await first.stop('SIGKILL')
      await second?.stop('SIGTERM')
      await third?.stop('SIGKILL')
      await rm(stateDir, { recursive: true, force: true })
    }
  })
})

describe('metrics', () => {
  it('run --metrics-port serves Prometheus metrics, sends through the control socket timed', async () => {
    const stateDir = await mkdtemp(join(tmpdir(), 'clawmesh-metrics-'))
    const node = start(['run', '--name', 'metered', '--session', 'agent:main:main', '--metrics-port', '0', '--state-dir', stateDir, '--no-local', ...RUN_FLAGS])
    try {
      const ready = await node.waitEvent(e => e.event === 'ready', 'metered ready')
      const url = ready.metrics as string
      assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/)
      const sent = await clawmesh(['send', 'agent:main:main', 'count me', '--state-dir', stateDir])
      assert.equal(sent.code, 0, sent.stderr)
      const missing = await clawmesh(['send', 'agent:nobody:main', 'lost', '--state-dir', stateDir])
      assert.equal(missing.code, 10)
      const response = await fetch(url)
      assert.equal(response.status, 200)
      const text = await response.text()
      assert.match(text, /^clawmesh_sessions\{owner="local"\} 1$/m)
      assert.match(text, /^clawmesh_peers 0$/m)
      assert.match(text, /^clawmesh_sends_total\{outcome="ok"\} 1$/m)
      assert.match(text, /^clawmesh_sends_total\{outcome="NOT_FOUND"\} 1$/m)
      assert.match(text, /^clawmesh_send_duration_seconds_count\{outcome="ok"\} 1$/m)
      assert.match(text, /^process_cpu_user_seconds_total /m)
    } finally {
      await node.stop('SIGTERM')
      await rm(stateDir, { recursive: true, force: true })
    }
  })
})

describe('clawmesh demo', () => {
  it('walks through the original problem with multicast off and exits 0', async () => {
    const r = await clawmesh(['demo'], { deadlineMs: 60_000 })
    assert.equal(r.code, 0, `stdout: ${r.stdout}\nstderr: ${r.stderr}`)
    const out = r.stdout
    assert.match(out, /multicast off/)
    assert.match(out, /hq found hangzhou and hangzhou found hq/)
    assert.match(out, /hangzhou\s+agent:research:main\s+reachable/)
    assert.match(out, /AMBIGUOUS: .*gateway:hangzhou:agent:main:main/)
    assert.match(out, /reply from hangzhou: \[hangzhou agent:main:main\]/)
    assert.match(out, /reply from hangzhou \(agent:main:main\)/)
    assert.match(out, /hangzhou\s+agent:main:main\s+UNREACHABLE/)
    assert.match(out, /UNREACHABLE after \d+ ms/)
    assert.match(out, /Done/)
    const dir = /state directory (\S+) \(temporary\)/.exec(out)?.[1]
    assert.ok(dir !== undefined && !existsSync(dir), 'the temporary state directory is removed')
  })

  it('with --mdns, inside a private network namespace (multicast never leaves it)', async (t) => {
    if (process.getuid?.() !== 0) {
      t.skip('needs root for a network namespace (unshare --net)')
      return
    }
    // A fresh namespace with only a loopback that carries multicast.
    const netns = ['unshare', '--net', 'sh', '-c', 'ip link set lo up && ip link set lo multicast on && ip route add 224.0.0.0/4 dev lo && exec "$0" "$@"']
    const r = await clawmesh(['demo', '--mdns'], { prefix: netns, deadlineMs: 60_000 })
    assert.equal(r.code, 0, `stdout: ${r.stdout}\nstderr: ${r.stderr}`)
    assert.match(r.stdout, /multicast on/)
    assert.match(r.stdout, /Multicast DNS/)
    assert.match(r.stdout, /UNREACHABLE after \d+ ms/)
  })
})

describe('--help', () => {
  for (const command of [[], ['run'], ['status'], ['peers'], ['sessions'], ['resolve'], ['send'], ['secret'], ['invite'], ['join'], ['doctor'], ['demo']]) {
    it(`clawmesh ${command.join(' ')} --help`, async () => {
      const r = await clawmesh([...command, '--help'])
      assert.equal(r.code, 0, r.stderr)
      assert.match(r.stdout, new RegExp(`^Usage: clawmesh ${command.join(' ')}`, 'm'))
    })
  }

  it('a bad option is a usage error (2)', async () => {
    const r = await clawmesh(['send', 'x', 'y', '--timeout', 'soon'])
    assert.equal(r.code, 2)
    assert.match(r.stderr, /positive number of seconds/)
  })
})
