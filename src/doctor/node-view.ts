/**
 * A running node's view, through its control socket: which nodes run here,
 * whether their sockets are sound, and what the chosen one says about itself
 * (peers, addresses, recent refusals, its secret's mesh ID).
 */
import { stat } from 'node:fs/promises'
import { join } from 'node:path'
import { ControlClient, ControlUnavailableError, listNodes } from '../control/client.ts'
import { CONTROL_PROTOCOL_VERSION, CONTROL_SOCKET_SUFFIX, controlDir, type ControlMethods } from '../control/protocol.ts'
import { parseSecret, type MeshSecret } from '../security/secret.ts'
import type { PeerStatus } from '../types.ts'
import { check, type Check } from './report.ts'

export interface NodeView {
  name: string
  status: ControlMethods['status']['result']
  peers: PeerStatus[]
  /** The node's secret (it hands it to its own user), to probe with what the node uses. */
  secret?: MeshSecret
}

/** Refusals newer than this make the running-node check warn. */
const RECENT_REFUSAL_MS = 10 * 60_000

async function askNode (path: string, timeoutMs: number): Promise<NodeView> {
  const client = await ControlClient.connect(path)
  const signal = AbortSignal.timeout(timeoutMs)
  try {
    const status = await client.request('status', {}, { signal })
    const peers = await client.request('peers', {}, { signal })
    const secret = await client.request('secret', {}, { signal }).then(s => parseSecret(s.hex), () => undefined)
    return { name: status.node.name, status, peers, ...(secret !== undefined ? { secret } : {}) }
  } finally {
    client.close()
  }
}

/** The control sockets of the state folder, and the nodes that answer on them. */
export async function inspectNodes (stateDir: string, timeoutMs: number): Promise<{ check: Check, views: NodeView[] }> {
  const title = 'control sockets'
  const dir = controlDir(stateDir)
  let names: string[]
  try {
    names = await listNodes(stateDir)
  } catch (err) {
    const why = err instanceof ControlUnavailableError ? err.message : (err as Error).message
    return { check: check('control', title, 'fail', why, 'run doctor as the user who runs the node'), views: [] }
  }
  if (names.length === 0) {
    return { check: check('control', title, 'warn', `no node is running for ${stateDir} (no socket in ${dir})`, 'start one (`clawmesh run`, or the OpenClaw plugin), with the same state folder as this command'), views: [] }
  }
  const views: NodeView[] = []
  const details: string[] = []
  const problems: Array<{ status: 'warn' | 'fail', text: string, fix: string }> = []
  const dirMode = (await stat(dir)).mode & 0o777
  if ((dirMode & 0o077) !== 0) problems.push({ status: 'fail', text: `${dir} has mode ${dirMode.toString(8)}`, fix: `chmod 700 ${dir}` })
  for (const name of names) {
    const path = join(dir, name + CONTROL_SOCKET_SUFFIX)
    const mode = (await stat(path).catch(() => undefined))?.mode
    if (mode !== undefined && (mode & 0o077) !== 0) {
      problems.push({ status: 'fail', text: `${path} has mode ${(mode & 0o777).toString(8)}: other users could drive the node`, fix: `chmod 600 ${path}, or restart the node (it creates its socket 600)` })
    }
    try {
      const view = await askNode(path, timeoutMs)
      if (view.status.node.protocol !== CONTROL_PROTOCOL_VERSION) {
        problems.push({ status: 'warn', text: `${name} speaks control protocol ${view.status.node.protocol}, this clawmesh ${CONTROL_PROTOCOL_VERSION}`, fix: 'run the same clawmesh version as the node' })
      }
      views.push(view)
      details.push(`${name}: pid ${view.status.node.pid}, ${path}`)
    } catch (err) {
      const reason = err instanceof ControlUnavailableError ? err.reason : 'error'
      if (reason === 'not-running') {
        details.push(`${name}: stale socket (no node answers), ${path}`)
        problems.push({ status: 'warn', text: `${name}'s socket is left from a node that is gone`, fix: `start the node again (it replaces the socket), or delete ${path}` })
      } else {
        details.push(`${name}: ${(err as Error).message}`)
        problems.push({ status: 'warn', text: `${name} does not answer: ${(err as Error).message}`, fix: 'run doctor as the node\'s user' })
      }
    }
  }
  const worst = problems.find(p => p.status === 'fail') ?? problems[0]
  const summary = `${views.length} node${views.length === 1 ? '' : 's'} answer${views.length === 1 ? 's' : ''} in ${dir}`
  if (worst !== undefined) return { check: check('control', title, worst.status, `${summary}; ${worst.text}`, worst.fix, details), views }
  return { check: check('control', title, 'ok', summary, undefined, details), views }
}

/** What the chosen node says about itself and its peers. */
export function judgeNode (view: NodeView, others: string[], now = Date.now()): Check {
  const s = view.status
  const title = 'running node'
  const details = [
    `peer ID ${s.self.peerId}`,
    ...s.addresses.map(a => `listening ${a}`),
    `discovery: mDNS ${s.discovery?.mdns === true ? 'on' : 'off'}, same-host ${s.discovery?.local === true ? 'on' : 'off'}, ${s.node.bootstrap?.length ?? s.discovery?.bootstrap ?? 0} bootstrap peer(s)`,
    ...view.peers.map(p => `peer ${p.name} ${p.reachable ? 'reachable' : 'UNREACHABLE'}${p.rttMs !== undefined ? ` ${p.rttMs.toFixed(1)} ms` : ''}${p.protocolVersion !== undefined ? ` wire ${p.protocolVersion}` : ''} ${p.addresses[0] ?? ''}`)
  ]
  const also = others.length > 0 ? `; also running: ${others.join(', ')} (pick one with --node)` : ''
  const summary = `${s.self.name}, up ${Math.max(0, Math.round((now - s.startedAt) / 60_000))} min, ${s.peers} peer${s.peers === 1 ? '' : 's'}, ${s.sessions} sessions on ${s.gateways} Gateway${s.gateways === 1 ? '' : 's'}${also}`
  // Refusals of our own dials to bootstrap peers are judged by the bootstrap checks; the rest are others knocking.
  const bootstrap = (s.node.bootstrap ?? []).map(a => a.replace(/\/p2p\/[^/]+$/, ''))
  const recent = s.rejected.filter(r => now - r.at < RECENT_REFUSAL_MS && !bootstrap.some(b => r.address?.startsWith(b) === true))
  const incompatible = s.incompatible ?? []
  if (incompatible.length > 0) {
    return check('running-node', title, 'warn', `${summary}; ${incompatible.length} connected Gateway${incompatible.length === 1 ? '' : 's'} cannot exchange sessions with it (no wire version in common, or frames it cannot read): ${incompatible.map(p => p.reason).join('; ')}`,
      `upgrade the older clawmesh (docs/operations.md, rolling upgrade); this one speaks wire ${s.versions?.protocols.join(' and ') ?? '?'}`,
      [...details, ...incompatible.map(p => `incompatible ${p.peerId}${p.agentVersion !== undefined ? ` (${p.agentVersion})` : ''}${p.address !== undefined ? ` at ${p.address}` : ''}: ${p.reason}`)])
  }
  if (recent.length > 0) {
    const newest = recent[recent.length - 1]
    return check('running-node', title, 'warn', `${summary}; refused ${recent.length} connection${recent.length === 1 ? '' : 's'} in the last ${RECENT_REFUSAL_MS / 60_000} minutes, newest: ${newest?.reason ?? ''}`,
      `a Gateway${newest?.address !== undefined ? ` at ${newest.address}` : ''} tries to join with another secret or an identity the allowlist does not admit: give it this mesh's secret (\`clawmesh secret\`) or admit it`,
      [...details, ...recent.map(r => `refused ${new Date(r.at).toISOString()} ${r.address ?? r.peerId ?? ''}: ${r.reason}`)])
  }
  return check('running-node', title, 'ok', summary, undefined, details)
}
