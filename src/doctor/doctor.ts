/**
 * `runDoctor`: every check of `clawmesh doctor`, in the order a person reads
 * them (this machine, the running node, the secret, discovery, the network,
 * OpenClaw). A running node is asked through its control socket; the network
 * is probed by doctor itself (the mDNS self-test, short-lived dials).
 */
import { resolveStateDir, type MeshSecret } from '../security/secret.ts'
import { checkBootstrap, checkListen, checkMdns, type NetworkContext } from './network-checks.ts'
import { checkKeyFile, checkNode, checkStateDir, judgeRendezvous, readRendezvous, type LocalSecret } from './local-checks.ts'
import { inspectNodes, judgeNode, type NodeView } from './node-view.ts'
import { checkOpenClaw, openclawConfigPath } from './openclaw-config.ts'
import { check, report, type Check, type DoctorReport } from './report.ts'
import type { MdnsProbeResult } from './mdns-probe.ts'

export interface DoctorOptions {
  /** @default `CLAWMESH_HOME`, `$XDG_STATE_HOME/clawmesh` or `~/.clawmesh` */
  stateDir?: string
  /** The running node to ask, when several run. */
  node?: string
  /** Bootstrap addresses to probe besides the node's and the OpenClaw plugin's. */
  peers?: string[]
  /** Run the mDNS self-test (it sends one query to the LAN). @default true */
  mdns?: boolean
  /** Bound on each network step. @default 5000 */
  timeoutMs?: number
  /** @default see `openclawConfigPath` */
  openclawConfig?: string
  /** @default process.env */
  env?: NodeJS.ProcessEnv
  /** The mDNS self-test (tests replace it). */
  mdnsProbe?: (meshId: string) => Promise<MdnsProbeResult>
}

export async function runDoctor (options: DoctorOptions = {}): Promise<DoctorReport> {
  const env = options.env ?? process.env
  const stateDir = resolveStateDir({ ...(options.stateDir !== undefined ? { stateDir: options.stateDir } : {}), env })
  const timeoutMs = options.timeoutMs ?? 5_000
  const checks: Check[] = [checkNode(), await checkStateDir(stateDir)]
  const key = await checkKeyFile(stateDir, env)
  checks.push(key.check)

  const nodes = await inspectNodes(stateDir, timeoutMs)
  checks.push(nodes.check)
  const chosen = options.node !== undefined ? nodes.views.find(v => v.name === options.node) : nodes.views[0]
  if (options.node !== undefined && chosen === undefined) {
    checks.push(check('running-node', 'running node', 'fail', `no node named ${options.node} answers`, `start it, or name one that runs: ${nodes.views.map(v => v.name).join(', ') || 'none runs'}`))
  } else if (chosen !== undefined) {
    checks.push(judgeNode(chosen, nodes.views.filter(v => v !== chosen).map(v => v.name)))
  }

  const openclaw = await checkOpenClaw(options.openclawConfig ?? openclawConfigPath(env), key.local?.secret ?? chosen?.secret, env)
  checks.push(judgeSecrets(key.local, nodes.views, openclaw.secret))

  const names = new Map<string, string>()
  for (const v of nodes.views) {
    names.set(v.status.self.peerId, v.status.self.name)
    for (const p of v.peers) names.set(p.peerId, p.name)
  }
  const secret: MeshSecret | undefined = chosen?.secret ?? key.local?.secret ?? openclaw.secret
  const findings = await readRendezvous(stateDir)
  if (secret !== undefined) checks.push(judgeRendezvous(findings, secret.meshId, names, chosen?.status.discovery?.local !== false))

  if (secret === undefined) {
    checks.push(check('network', 'network', 'skip', 'no mesh secret here yet, so nothing to probe with'))
  } else {
    const meshPids = new Set([...nodes.views.map(v => v.status.node.pid), ...findings.filter(f => f.stale === undefined).map(f => f.entry.pid)])
    const ctx: NetworkContext = { secret, names, meshPids, timeoutMs, ...(chosen !== undefined ? { node: chosen } : {}) }
    const bootstrap = dedupe([
      ...(chosen?.status.node.bootstrap ?? []).map(address => ({ address, source: chosen?.name ?? 'node' })),
      ...(options.peers ?? []).map(address => ({ address, source: '--peer' })),
      ...openclaw.peers.map(address => ({ address, source: 'OpenClaw config' }))
    ])
    const probe = options.mdnsProbe
    const [mdns, listen, ...peers] = await Promise.all([
      options.mdns === false
        ? check('mdns', 'mDNS', 'skip', 'not tested (--no-mdns)')
        : checkMdns(ctx, probe !== undefined ? async () => await probe(secret.meshId) : undefined),
      checkListen(ctx),
      ...bootstrap.map(async b => await checkBootstrap(b.address, b.source, ctx))
    ])
    checks.push(mdns, listen)
    if (peers.length === 0) checks.push(check('bootstrap', 'bootstrap peers', 'skip', 'none configured (Gateways on other subnets need one: `clawmesh run --peer <multiaddr>`)'))
    checks.push(...peers)
  }
  checks.push(openclaw.check)
  return report(stateDir, checks, chosen?.name)
}

function dedupe<T extends { address: string }> (list: T[]): T[] {
  const seen = new Set<string>()
  return list.filter(item => !seen.has(item.address) && seen.add(item.address) !== undefined)
}

/** One mesh for everything on this machine: the key file (or env), every running node, the OpenClaw plugin. */
function judgeSecrets (local: LocalSecret | undefined, views: NodeView[], plugin: MeshSecret | undefined): Check {
  const title = 'mesh secret'
  const sources: Array<{ label: string, meshId: string }> = []
  if (local !== undefined) sources.push({ label: local.source === 'env' ? 'CLAWMESH_SECRET' : 'the key file', meshId: local.secret.meshId })
  for (const v of views) {
    const meshId = v.status.meshId ?? v.status.node.meshId
    if (meshId !== undefined) sources.push({ label: `node ${v.name}`, meshId })
  }
  if (plugin !== undefined) sources.push({ label: 'the OpenClaw plugin config', meshId: plugin.meshId })
  if (sources.length === 0) return check('secret', title, 'skip', 'no secret here yet and no node running')
  const meshes = [...new Set(sources.map(s => s.meshId))]
  const list = sources.map(s => `${s.label}: mesh ${s.meshId}`)
  if (meshes.length === 1) return check('secret', title, 'ok', `one mesh, ${meshes[0] ?? ''} (${sources.map(s => s.label).join(', ')})`, undefined, list)
  const first = sources[0] as { label: string, meshId: string }
  const other = sources.find(s => s.meshId !== first.meshId) as { label: string, meshId: string }
  return check('secret', title, 'fail', `${other.label} uses mesh ${other.meshId} but ${first.label} mesh ${first.meshId}: Gateways with different secrets never connect`,
    `give them one secret: \`clawmesh secret\` prints this machine's; restart ${other.label.replace(/^the /, '')} with it (or install its secret in the key file)`, list)
}
