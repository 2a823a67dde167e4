/**
 * `clawmesh top`: frames rendered from hand-made snapshots (rates, cropping, hostile
 * names), and the real thing in a real terminal: tmux runs `clawmesh top` against
 * `clawmesh run` processes, the test reads the screen with capture-pane and quits
 * with send-keys. The tmux part is skipped where tmux is missing, except in CI.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { after, before, describe, it } from 'node:test'
import { promisify } from 'node:util'
import { renderTop } from '../../src/cli/top.ts'
import type { GatewayView, MeshSnapshot } from '../../src/observe/snapshot.ts'
import { BIN, clawmesh, start, type Running } from './helpers.ts'

const exec = promisify(execFile)
/** A stream that is not a terminal: frames come out without colour. */
const plain = new PassThrough() as unknown as NodeJS.WriteStream

function view (name: string, extra: Partial<GatewayView> = {}): GatewayView {
  return {
    name, peerId: `12D3KooW${name}xxxxxxxxxxxxxxxxxxxx`, host: 'box', self: false, reachable: true, link: 'direct', sessions: 1, addresses: [],
    sends: { ok: 0, accepted: 0, failed: 0, errors: {} }, ...extra
  }
}

function snapshot (at: number, gateways: GatewayView[], sends = { ok: 0, accepted: 0, failed: 0, errors: {} }): MeshSnapshot {
  return {
    version: 1, at, self: gateways[0] as GatewayView, meshId: '0123456789abcdef', startedAt: 0, incarnation: 1, gateways,
    sessions: [], sessionsTotal: gateways.reduce((n, g) => n + g.sessions, 0), sends,
    counters: { sent: 0, received: 4, failed: 0, duplicates: 0, deltasApplied: 0, deltasRejected: 0, recordsRedundant: 0, pullRequests: 0 }, rejected: []
  }
}

describe('top frames', () => {
  const hq = view('hq', { self: true, link: 'self', protocolVersion: 2, softwareVersion: '0.2.0' })

  it('shows each Gateway\'s link, state, RTT, version, sessions, send rate and errors', () => {
    const before = snapshot(10_000, [hq, view('hangzhou', { rttMs: 1.25, sessions: 3, sends: { ok: 10, accepted: 0, failed: 0, errors: {} } })], { ok: 10, accepted: 0, failed: 0, errors: {} })
    const now = snapshot(12_000, [
      hq,
      view('hangzhou', { rttMs: 1.25, sessions: 3, protocolVersion: 2, softwareVersion: '0.2.0', sends: { ok: 30, accepted: 0, failed: 2, errors: { TIMEOUT: 2 } } }),
      view('berlin', { link: 'relayed', reachable: false, sends: { ok: 0, accepted: 0, failed: 1, errors: { UNREACHABLE: 1 } } })
    ], { ok: 30, accepted: 0, failed: 3, errors: { TIMEOUT: 2, UNREACHABLE: 1 } })
    const text = renderTop(now, before, { columns: 0, rows: 0, keys: true }, plain).join('\n')
    assert.match(text, /3 Gateways \(1 unreachable\) · 5 sessions · sent 33 \(11\.5\/s\) · failed 3 \(1\.5\/s\) · received 4/)
    assert.match(text, /^hq \(this\)\s+-\s+self\s+reachable\s+-\s+0\.2\.0 w2\s+1$/m)
    assert.match(text, /^hangzhou\s+-\s+direct\s+reachable\s+1\.3 ms\s+0\.2\.0 w2\s+3\s+11\.0\s+30\s+TIMEOUT 2$/m)
    assert.match(text, /^berlin\s+-\s+relayed\s+UNREACHABLE\s+-\s+-\s+1\s+-\s+0\s+UNREACHABLE 1$/m)
    assert.match(text, /q quit$/)
  })

  it('lists a Gateway on the previous wire by its version, and incompatible Gateways below the table', () => {
    const old = view('old', { protocolVersion: 1 })
    const snap = { ...snapshot(1000, [hq, old]), incompatible: [{ peerId: '12D3KooWfuturexxxxxxxxxxxxxxxx', kind: 'no-common-version' as const, reason: 'it speaks none of the registry protocol versions this Gateway speaks (2, 1); it speaks 3', versions: [3], agentVersion: 'clawmesh/9.0.0', at: 1000 }] }
    const text = renderTop(snap, undefined, { columns: 0, rows: 0, keys: false }, plain).join('\n')
    assert.match(text, /^old\s+-\s+direct\s+reachable\s+-\s+\? w1\s+1/m)
    assert.match(text, /^INCOMPATIBLE/m)
    assert.match(text, /clawmesh\/9\.0\.0\s+it speaks none of the registry protocol versions this Gateway speaks \(2, 1\); it speaks 3$/m)
  })

  it('prints what a hostile member chose as text: no escape sequence reaches the terminal', () => {
    const evil = view('\x1b[2J\x1b]0;owned\x07evil\u202egnp.exe', { host: '\x1b[31mhost' })
    const text = renderTop(snapshot(1000, [hq, evil]), undefined, { columns: 0, rows: 0, keys: false }, plain).join('\n')
    // eslint-disable-next-line no-control-regex
    assert.doesNotMatch(text, /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u202a-\u202e]/, 'only newlines are control characters')
    assert.match(text, /\\x1b\[2J\\x1b\]0;owned\\x07evil\\u202egnp\.exe/)
  })

  it('fits the terminal: lines cropped to its width, rows beyond its height summed up', () => {
    const many = [hq, ...Array.from({ length: 30 }, (_, i) => view(`gateway-with-a-long-name-${i}`))]
    const lines = renderTop(snapshot(1000, many), undefined, { columns: 40, rows: 12, keys: true }, plain)
    assert.equal(lines.length, 12)
    for (const line of lines) assert.ok(line.length <= 40, line)
    assert.match(lines.at(-2) ?? '', /^… \d+ more lines/)
    assert.match(lines.at(-1) ?? '', /q quit/)
  })
})

const TMUX = ['/usr/bin/tmux', '/bin/tmux'].find(existsSync)
if (TMUX === undefined && process.env.CI === 'true') throw new Error('tmux is missing: .ci/run installs it')

describe('clawmesh top in a terminal (tmux)', { skip: TMUX === undefined ? 'tmux not installed' : false }, () => {
  const RUN_FLAGS = ['--listen', '/ip4/127.0.0.1/tcp/0', '--no-mdns', '--json']
  /** Our own tmux server, so nobody else's sessions are touched. */
  const socket = `clawmesh-top-${process.pid}`
  const tmux = async (...args: string[]): Promise<string> => (await exec(TMUX as string, ['-L', socket, ...args])).stdout
  let stateDir: string
  let hq: Running
  let hangzhou: Running

  /** The screen as a person sees it, re-read until `match` holds (a deadline guards against a hang). */
  const screenUntil = async (match: (screen: string) => boolean, what: string, deadlineMs = 20_000): Promise<string> => {
    const end = Date.now() + deadlineMs
    let screen = ''
    while (Date.now() < end) {
      screen = await tmux('capture-pane', '-p', '-t', 'top')
      if (match(screen)) return screen
      await new Promise(resolve => setTimeout(resolve, 100))
    }
    throw new Error(`no ${what} on the screen within ${deadlineMs} ms:\n${screen}`)
  }

  before(async () => {
    stateDir = await mkdtemp(join(tmpdir(), 'clawmesh-top-'))
    hq = start(['run', '--name', 'hq', '--gateway-port', '18789', '--session', 'agent:main:main', '--state-dir', stateDir, ...RUN_FLAGS])
    await hq.waitEvent(e => e.event === 'ready', 'hq ready')
    hangzhou = start(['run', '--name', 'hangzhou', '--gateway-port', '18790', '--session', 'agent:main:main', '--session', 'agent:research:main', '--state-dir', stateDir, ...RUN_FLAGS])
    await hangzhou.waitEvent(e => e.event === 'ready', 'hangzhou ready')
    await hq.waitEvent(e => e.event === 'session:add' && e.qualifiedKey === 'gateway:hangzhou:agent:research:main', 'hangzhou\'s sessions on hq')
  })

  after(async () => {
    await exec(TMUX as string, ['-L', socket, 'kill-server']).catch(() => {})
    await hq?.stop('SIGKILL')
    await hangzhou?.stop('SIGKILL')
    if (stateDir !== undefined) await rm(stateDir, { recursive: true, force: true })
  })

  it('redraws the mesh live, shows sends and a stopped Gateway, and quits on q', async () => {
    const exitFile = join(stateDir, 'top.exit')
    const command = `NO_COLOR=1 '${process.execPath}' '${BIN}' top --state-dir '${stateDir}' --node hq --interval 0.3; echo $? > '${exitFile}'`
    await tmux('new-session', '-d', '-s', 'top', '-x', '150', '-y', '30', command)
    await screenUntil(s => /^hangzhou\s+18790\s+direct\s+reachable\s+[\d.]+ ms\s+\S+ w2\s+2\b/m.test(s) && /^hq \(this\)\s+18789\s+self/m.test(s), 'both Gateways')

    const sent = await clawmesh(['send', 'gateway:hangzhou:agent:main:main', 'hello', '--wait', '--state-dir', stateDir, '--node', 'hq'])
    assert.equal(sent.code, 0, sent.stderr)
    await screenUntil(s => /^hangzhou\s.*\s1\s+-$/m.test(s) && /sent 1 /.test(s), 'the send counted for hangzhou')

    await hangzhou.stop('SIGTERM')
    const screen = await screenUntil(s => /^hangzhou\s+18790\s+\S+\s+UNREACHABLE/m.test(s), 'hangzhou unreachable')
    assert.match(screen, /2 Gateways \(1 unreachable\)/)

    await tmux('send-keys', '-t', 'top', 'q')
    const end = Date.now() + 10_000
    while (!existsSync(exitFile) && Date.now() < end) await new Promise(resolve => setTimeout(resolve, 100))
    assert.equal((await readFile(exitFile, 'utf8')).trim(), '0', 'q quits with exit code 0')
  })
})
