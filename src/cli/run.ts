/**
 * `clawmesh run`: a standalone mesh node with a control socket, a live status
 * line on a terminal, an event log otherwise, and a clean stop on SIGINT/SIGTERM.
 */
import { randomUUID } from 'node:crypto'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { createMesh, type Mesh } from '../mesh.ts'
import { MeshError } from '../errors.ts'
import { serveControl, type ControlHost } from '../control/host.ts'
import { safeName } from '../control/protocol.ts'
import { isLoopbackHost } from '../observe/server.ts'
import { formatKeyring } from '../security/keyring.ts'
import { resolveSecret, resolveStateDir } from '../security/secret.ts'
import type { MeshEvents } from '../types.ts'
import { duration, paint, printable } from './output.ts'

export interface RunOptions {
  name?: string
  gatewayPort?: number
  session: string[]
  peer: string[]
  listen: string[]
  mdns: boolean
  local: boolean
  /** Serve as a relay member. */
  relay?: boolean
  stateDir?: string
  json?: boolean
  /** Serve Prometheus metrics on this port (0: any free port). */
  metricsPort?: number
  /** @default '127.0.0.1' */
  metricsHost?: string
  /** Wire versions to speak (`--wire`). @default [2, 1] */
  wire?: Array<1 | 2>
}

/** `KEY` or `KEY=UUID`; the agent ID is read off `agent:<id>:…`. */
export function parseSessionSpec (spec: string): { key: string, sessionId: string, agentId?: string } {
  const eq = spec.lastIndexOf('=')
  const key = eq > 0 ? spec.slice(0, eq) : spec
  const sessionId = eq > 0 ? spec.slice(eq + 1) : randomUUID()
  if (key === '' || sessionId === '') throw new MeshError('BAD_REQUEST', `--session "${spec}": expected KEY or KEY=SESSION_ID`)
  const agent = /^agent:([^:]+):/.exec(key)?.[1]
  return { key, sessionId, ...(agent !== undefined ? { agentId: agent } : {}) }
}

/** Starts the node and resolves once it has stopped (after SIGINT/SIGTERM). */
export async function runNode (opts: RunOptions): Promise<void> {
  const json = opts.json === true
  const out = process.stdout
  const live = !json && out.isTTY
  const stateDir = resolveStateDir(opts.stateDir !== undefined ? { stateDir: opts.stateDir } : {})
  const sessions = opts.session.map(parseSessionSpec)
  // Resolved here (not inside createMesh) so `clawmesh secret` can ask this node for it.
  const secret = await resolveSecret({ stateDir })
  const name = opts.name ?? (opts.gatewayPort !== undefined ? `${hostname()}-${opts.gatewayPort}` : `${hostname()}-${process.pid}`)

  let statusLine = ''
  const clearStatus = (): void => { if (live && statusLine !== '') out.write('\r\x1b[2K') }
  const drawStatus = (): void => { if (live && statusLine !== '') out.write(statusLine) }
  const log = (event: string, detail: Record<string, unknown>, text: string): void => {
    if (json) {
      out.write(JSON.stringify({ event, at: Date.now(), ...detail }) + '\n')
      return
    }
    clearStatus()
    out.write(`${paint('dim', new Date().toISOString().slice(11, 19))} ${text}\n`)
    drawStatus()
  }

  const mesh: Mesh = await createMesh({
    name,
    ...(opts.gatewayPort !== undefined ? { gatewayPort: opts.gatewayPort } : {}),
    listen: opts.listen.length > 0 ? opts.listen : ['/ip4/0.0.0.0/tcp/0'],
    // The whole keyring (a rotation's accepted keys too), not only the primary.
    secret: formatKeyring(secret.keyring),
    stateDir,
    dataDir: join(stateDir, 'nodes', safeName(name)),
    discovery: { mdns: opts.mdns, local: opts.local, bootstrap: opts.peer },
    ...(opts.wire !== undefined ? { protocolVersions: opts.wire } : {}),
    ...(opts.relay === true ? { relay: true } : {}),
    ...(opts.metricsPort !== undefined ? { metrics: { port: opts.metricsPort, ...(opts.metricsHost !== undefined ? { host: opts.metricsHost } : {}) } } : {}),
    deliver: async (msg) => {
      log('message', { from: msg.from.gateway, sessionKey: msg.sessionKey, text: msg.text }, `${paint('cyan', '←')} ${msg.from.gateway} → ${msg.sessionKey}: ${msg.text}`)
      return { reply: `${name} received: ${msg.text}` }
    }
  })

  let control: ControlHost | undefined
  const metricsPort = mesh.status().metricsPort
  try {
    control = await serveControl({ mesh, stateDir, name, secret, bootstrap: opts.peer })
    for (const s of sessions) {
      await mesh.announce(s.key, { sessionId: s.sessionId, ...(s.agentId !== undefined ? { agentId: s.agentId } : {}) })
    }
  } catch (err) {
    await control?.stop()
    await mesh.stop()
    throw err
  }

  const status = mesh.status()
  const metricsHost = opts.metricsHost ?? '127.0.0.1'
  // createMesh serves the page beside the metrics on a loopback address only.
  const page = metricsPort !== undefined && isLoopbackHost(metricsHost) ? `http://${metricsHost}:${metricsPort}/` : undefined
  log('ready', {
    name, peerId: mesh.peerId, addresses: status.addresses, socket: control.path, meshId: secret.meshId, stateDir,
    secretSource: secret.source, discovery: { mdns: opts.mdns, local: opts.local, bootstrap: opts.peer.length },
    sessions: sessions.map(s => ({ sessionKey: s.key, sessionId: s.sessionId })),
    ...(metricsPort !== undefined ? { metrics: `http://${metricsHost}:${metricsPort}/metrics` } : {}),
    ...(page !== undefined ? { page } : {})
  }, [
    `${paint('bold', name)} is up: ${mesh.peerId}`,
    ...status.addresses.map(a => `  listening ${a}`),
    `  mesh ${secret.meshId} (secret ${secret.source === 'file-created' ? 'created in' : 'from'} ${secret.path ?? secret.source})`,
    `  discovery: mdns ${opts.mdns ? 'on' : 'off'}, local ${opts.local ? 'on' : 'off'}, ${opts.peer.length} bootstrap peer(s)`,
    `  control socket ${control.path}`,
    ...(metricsPort !== undefined ? [`  metrics http://${metricsHost}:${metricsPort}/metrics`] : []),
    ...(page !== undefined ? [`  live page ${page}`] : []),
    ...sessions.map(s => `  session ${s.key} ${s.sessionId}`),
    '  Ctrl-C to stop'
  ].join('\n'))

  const on = <K extends keyof MeshEvents>(type: K, fn: (event: MeshEvents[K]) => void): void => { mesh.addEventListener(type, fn) }
  on('peer:join', e => { log('peer:join', { gateway: e.detail.name, peerId: e.detail.peerId }, `${paint('green', '+')} peer ${e.detail.name} (${e.detail.peerId})`) })
  on('peer:leave', e => { log('peer:leave', { gateway: e.detail.name, peerId: e.detail.peerId }, `${paint('yellow', '-')} peer ${e.detail.name} left`) })
  on('session:add', e => { if (!e.detail.owner.self) log('session:add', { qualifiedKey: e.detail.qualifiedKey, sessionId: e.detail.sessionId }, `  session ${e.detail.qualifiedKey} ${e.detail.sessionId ?? ''}`) })
  on('session:remove', e => { if (!e.detail.owner.self) log('session:remove', { qualifiedKey: e.detail.qualifiedKey }, `  session ${e.detail.qualifiedKey} removed`) })
  on('gateway:reachability', e => { log('gateway:reachability', { gateway: e.detail.name, reachable: e.detail.reachable }, `${e.detail.reachable ? paint('green', '✓') : paint('red', '✗')} ${e.detail.name} is ${e.detail.reachable ? 'reachable again' : 'UNREACHABLE'}`) })
  on('gateway:conflict', e => { log('gateway:conflict', { ...e.detail }, `${paint('yellow', '!')} another Gateway shares our ${e.detail.kind === 'name' ? 'name' : 'host:port'} ${e.detail.value}: it is AMBIGUOUS in the mesh until one is renamed (${e.detail.peerIds.join(', ')})`) })
  on('peer:incompatible', e => { log('peer:incompatible', { ...e.detail }, `${paint('red', '✗')} incompatible Gateway ${e.detail.peerId}${e.detail.agentVersion !== undefined ? ` (${e.detail.agentVersion})` : ''}: ${printable(e.detail.reason)}; neither sees the other's sessions (docs/operations.md, rolling upgrade)`) })
  on('peer:rejected', e => { log('peer:rejected', { ...e.detail }, `${paint('yellow', '!')} refused ${e.detail.peerId ?? e.detail.address ?? '?'}: ${e.detail.reason}`) })

  const refresh = (): void => {
    if (!live) return
    const s = mesh.status()
    let line = `${name} · ${s.peers} peer${s.peers === 1 ? '' : 's'} · ${s.sessions} sessions (${s.localSessions} here) on ${s.gateways} Gateway${s.gateways === 1 ? '' : 's'} · sent ${s.counters.sent} · received ${s.counters.received} · up ${duration(Date.now() - s.startedAt)}`
    // One line, never wrapped: a wrapped line cannot be rewritten in place.
    const columns = out.columns ?? 0
    if (columns > 1 && line.length >= columns) line = line.slice(0, columns - 2) + '…'
    clearStatus()
    statusLine = paint('bold', name) + line.slice(name.length)
    drawStatus()
  }
  const timer = live ? setInterval(refresh, 1000) : undefined
  refresh()

  await new Promise<void>(resolve => {
    let stopping = false
    const stop = (signal: NodeJS.Signals): void => {
      if (stopping) {
        // A second Ctrl-C: the person does not want to wait.
        process.exit(130)
      }
      stopping = true
      if (timer !== undefined) clearInterval(timer)
      clearStatus()
      statusLine = ''
      log('stopping', { signal }, `${signal}: stopping ${name}…`)
      void (async () => {
        try {
          await control?.stop()
          await mesh.stop()
        } finally {
          log('stopped', {}, 'stopped')
          process.off('SIGINT', stop)
          process.off('SIGTERM', stop)
          resolve()
        }
      })()
    }
    process.on('SIGINT', stop)
    process.on('SIGTERM', stop)
  })
}
