/**
 * Checks that go on the network: the mDNS self-test, the node's listen
 * addresses (does the handshake complete there?) and each bootstrap peer
 * (dialed and classified: refused, unreachable, wrong secret, allowlist, …).
 */
import { DEFAULT_WIRE_VERSIONS, peerWireVersions } from '../compat/protocols.ts'
import type { MeshSecret } from '../security/secret.ts'
import { probeMdns, type MdnsProbeResult } from './mdns-probe.ts'
import { describeHolder, udpPortHolders } from './port-holders.ts'
import { probeAddress, type ProbeResult } from './probe.ts'
import { check, type Check } from './report.ts'
import type { NodeView } from './node-view.ts'

export interface NetworkContext {
  secret: MeshSecret
  /** The node the checks ask, when one runs. */
  node?: NodeView
  /** Peer ID → Gateway name, for answers and probes. */
  names: Map<string, string>
  /** PIDs of clawmesh nodes on this host (they share UDP 5353 as they should). */
  meshPids: Set<number>
  timeoutMs: number
}

const MDNS_PORT = 5353

export async function checkMdns (ctx: NetworkContext, run: () => Promise<MdnsProbeResult> = async () => await probeMdns({ meshId: ctx.secret.meshId })): Promise<Check> {
  const title = 'mDNS'
  if (ctx.node?.status.discovery?.mdns === false) return check('mdns', title, 'skip', `mDNS is off on ${ctx.node.name}; it finds peers by the rendezvous folder and bootstrap peers`)
  const probe = await run()
  const holders = (await udpPortHolders(MDNS_PORT))?.filter(h => h.pid === undefined || !ctx.meshPids.has(h.pid)) ?? []
  const others = holders.map(describeHolder)
  const details = [`service tag ${probe.serviceTag}`, ...others.map(o => `also on UDP ${MDNS_PORT}: ${o}`)]
  const offFix = 'or turn mDNS off (`--no-mdns`) and list the other Gateways with `--peer`; same-host Gateways still meet in the rendezvous folder'
  if (probe.bindError !== undefined) {
    return check('mdns', title, 'fail', `UDP port ${MDNS_PORT} cannot be used (${probe.bindError})${others.length > 0 ? `: held by ${others.join(', ')}, which does not share it` : ''}`,
      `stop the other responder (e.g. \`systemctl stop avahi-daemon\`) ${offFix}`, details)
  }
  if (!probe.looped) {
    const why = probe.sendError !== undefined ? ` (sending failed: ${probe.sendError})` : ''
    const cause = others.length > 0 ? `; ${others.join(', ')} also listens on UDP ${MDNS_PORT} and may be taking the packets` : ''
    return check('mdns', title, 'fail', `multicast does not work here: our own query never came back${why}${cause}`,
      `route multicast to the LAN (\`ip route add 224.0.0.0/4 dev <LAN interface>\`, and multicast on for that interface) ${offFix}`, details)
  }
  const answered = probe.answers.map(a => `${ctx.names.get(a.peerId) ?? a.peerId} from ${a.from}${a.peerId === ctx.node?.status.self.peerId ? ' (this node)' : ''}`)
  details.push(...answered.map(a => `answer: ${a}`))
  const summary = `works: our query came back; ${probe.answers.length} Gateway${probe.answers.length === 1 ? '' : 's'} of this mesh answered${answered.length > 0 ? ` (${answered.join(', ')})` : ''}`
  const self = ctx.node?.status.self.peerId
  // Found but not reachable is the classic firewall case: a member answers mDNS, its mesh port does not.
  const blocked = await unreachableAnswers(probe, ctx)
  if (blocked.length > 0) {
    const first = blocked[0] as { name: string, address: string, result: ProbeResult }
    return check('mdns', title, 'warn', `${summary}, but ${blocked.map(b => b.name).join(', ')} cannot be reached at the address${blocked.length === 1 ? '' : 'es'} it announces: ${describe(first.result, ctx)}`,
      `open the mesh port on ${first.name} (${first.address}) to this host, or listen on a fixed port your firewall allows`, [...details, ...blocked.map(b => `${b.name} at ${b.address}: ${describe(b.result, ctx)}`)])
  }
  if (self !== undefined && ctx.node?.status.discovery?.mdns === true && !probe.answers.some(a => a.peerId === self)) {
    return check('mdns', title, 'warn', `${summary}, but not ${ctx.node.name}, which has mDNS on`,
      `${ctx.node.name} answers only with private or loopback addresses: listen on one (\`--listen /ip4/0.0.0.0/tcp/PORT\`)`, details)
  }
  return check('mdns', title, 'ok', summary, undefined, details)
}

const LOOPBACK = /^\/ip[46]\/(127\.|::1\/)/
/** Our probe is a stranger to an allowlist, so a refusal after the handshake still proves the address works. */
const works = (r: ProbeResult): boolean => r.result === 'ok' || r.result === 'not-allowed'

/** Members that answered mDNS, are not linked to the node, and whose announced address does not complete a handshake. */
async function unreachableAnswers (probe: MdnsProbeResult, ctx: NetworkContext): Promise<Array<{ name: string, address: string, result: ProbeResult }>> {
  const linked = new Set([ctx.node?.status.self.peerId, ...(ctx.node?.peers.map(p => p.peerId) ?? [])])
  const found = await Promise.all(probe.answers.filter(a => !linked.has(a.peerId)).map(async a => {
    const addr = a.addrs.find(x => !LOOPBACK.test(x)) ?? a.addrs[0]
    if (addr === undefined) return undefined
    const address = `${addr}/p2p/${a.peerId}`
    const result = await probeAddress(address, { secret: ctx.secret, timeoutMs: ctx.timeoutMs })
    return works(result) ? undefined : { name: ctx.names.get(a.peerId) ?? a.peerId, address, result }
  }))
  return found.filter(f => f !== undefined)
}

/** The node's listen addresses: does the handshake complete there, and can other machines get at them at all. */
export async function checkListen (ctx: NetworkContext): Promise<Check> {
  const title = 'listen addresses'
  const node = ctx.node
  if (node === undefined) return check('listen', title, 'skip', 'no running node to ask')
  // Relayed addresses go through another Gateway; the direct ones are what can be probed from here.
  const addresses = node.status.addresses.filter(a => !a.includes('/p2p-circuit'))
  if (addresses.length === 0) return check('listen', title, 'fail', `${node.name} listens nowhere: no Gateway can connect to it`, 'start it with `--listen /ip4/0.0.0.0/tcp/PORT`')
  const results = await Promise.all(addresses.map(async a => ({ address: a, result: await probeAddress(a, { secret: ctx.secret, timeoutMs: ctx.timeoutMs }) })))
  const details = results.map(r => `${works(r.result) ? 'answers' : 'FAILS  '} ${r.address}${works(r.result) ? '' : `: ${describe(r.result, ctx)}`}`)
  const failed = results.filter(r => !works(r.result))
  if (failed.length > 0) {
    return check('listen', title, 'fail', `${failed.length} of ${addresses.length} addresses of ${node.name} do not complete a handshake from this host`, 'look at the details; a firewall on this host, or another program on the port', details)
  }
  const lanExpected = node.status.discovery?.mdns === true || (node.status.node.bootstrap?.length ?? 0) > 0
  if (addresses.every(a => LOOPBACK.test(a)) && lanExpected) {
    return check('listen', title, 'warn', `${node.name} listens on loopback only: Gateways on other machines cannot connect, although it looks for them (mDNS or bootstrap peers)`,
      'listen on the LAN: `--listen /ip4/0.0.0.0/tcp/PORT` (a fixed PORT can be named in firewall rules)', details)
  }
  return check('listen', title, 'ok', `${addresses.length} address${addresses.length === 1 ? '' : 'es'} of ${node.name}, each completes the handshake`, undefined, details)
}

/** One bootstrap peer: connected already, or probed and classified. */
export async function checkBootstrap (address: string, source: string, ctx: NetworkContext): Promise<Check> {
  const title = `bootstrap peer (${source})`
  if (address.includes('/p2p-circuit')) return check('bootstrap', title, 'skip', `${address}: a relayed address, not probed (doctor dials direct addresses only)`)
  const expected = /\/p2p\/([^/]+)$/.exec(address)?.[1]
  const connected = expected !== undefined ? ctx.node?.peers.find(p => p.peerId === expected) : undefined
  if (connected !== undefined) {
    return check('bootstrap', title, 'ok', `${address}: ${ctx.node?.name ?? 'the node'} is connected to ${connected.name}${connected.rttMs !== undefined ? ` (${connected.rttMs.toFixed(1)} ms)` : ''}`)
  }
  const result = await probeAddress(address, { secret: ctx.secret, timeoutMs: ctx.timeoutMs })
  const line = `${address}: ${describe(result, ctx)}`
  if (result.result !== 'ok') return check('bootstrap', title, 'fail', line, fixFor(result, ctx))
  const speaks = result.protocols.filter(p => p.startsWith('/clawmesh/'))
  if (!speaks.some(p => p.startsWith('/clawmesh/registry/'))) {
    return check('bootstrap', title, 'fail', `${address}: a libp2p node with this mesh's secret that runs no clawmesh (${result.protocols.join(', ') || 'no protocols'})`, 'point the address at a Gateway\'s mesh port (`clawmesh status` on it shows its addresses)')
  }
  // What the running node speaks (its `protocolVersions`), else what this clawmesh speaks by default.
  const ours: readonly number[] = ctx.node?.status.versions?.protocols ?? DEFAULT_WIRE_VERSIONS
  const theirs = peerWireVersions(speaks)
  if (!theirs.some(v => ours.includes(v))) {
    return check('bootstrap', title, 'warn', `${line}, but it speaks wire ${theirs.join(', ')} and ${ctx.node?.name ?? 'this clawmesh'} ${ours.join(' and ')}: they cannot exchange sessions`, 'upgrade the older clawmesh (docs/operations.md, rolling upgrade)')
  }
  if (theirs[0] !== undefined && theirs[0] < (ours[0] ?? 0)) {
    return check('bootstrap', title, 'warn', `${line}, on the previous wire (${theirs.join(', ')}): sessions and sends work, through the older version`, 'upgrade it (docs/operations.md, rolling upgrade)')
  }
  if (ctx.node !== undefined) {
    return check('bootstrap', title, 'warn', `${line}, yet ${ctx.node.name} is not connected to it`, `${ctx.node.name} retries with backoff; if it stays apart, check ${ctx.node.name}'s allowlist and its log (DEBUG=clawmesh:dialer)`)
  }
  return check('bootstrap', title, 'ok', line)
}

/** A probe's outcome in a few words. */
export function describe (r: ProbeResult, ctx: NetworkContext): string {
  switch (r.result) {
    case 'ok': return `a clawmesh Gateway answers (${ctx.names.get(r.peerId) ?? r.peerId}, handshake in ${r.ms} ms)`
    case 'refused': return 'connection refused: nothing listens on that port'
    case 'unreachable': return `unreachable (${r.why})`
    case 'wrong-secret': return `it holds a different mesh secret (this mesh is ${ctx.secret.meshId})`
    case 'no-secret': return 'a libp2p node without any mesh secret'
    case 'not-a-gateway': return `another program answers${r.banner !== undefined ? ` ("${r.banner}")` : ''}, not a clawmesh Gateway`
    case 'not-allowed': return `same secret, but ${ctx.names.get(r.peerId) ?? r.peerId} hung up after the handshake: its allowlist does not admit us`
    case 'wrong-peer': return `the Gateway there is ${r.actual}, not ${r.expected}`
    case 'bad-address': return `not a usable address (${r.why})`
  }
}

function fixFor (r: ProbeResult, ctx: NetworkContext): string {
  const me = ctx.node?.status.self.peerId
  switch (r.result) {
    case 'refused': return 'start the Gateway there, or fix the port (`clawmesh status` on it shows where it listens)'
    case 'unreachable': return 'check the host is up and that no firewall drops the mesh port between here and there'
    case 'wrong-secret': return 'install this mesh\'s secret on that Gateway (`clawmesh secret` here prints how) and restart it'
    case 'no-secret': return 'start it with this mesh\'s secret (`clawmesh secret` prints it), or remove the address'
    case 'not-a-gateway': return 'fix the port: it belongs to another program'
    case 'not-allowed': return `add ${me !== undefined ? `this Gateway's peer ID ${me}` : 'this Gateway\'s peer ID (`clawmesh status` shows it)'} to that Gateway's \`allow\` list`
    case 'wrong-peer': return `update the address to /p2p/${r.actual} (a Gateway gets a new peer ID when its data folder is new)`
    case 'bad-address': return 'write it as /ip4/<address>/tcp/<port>/p2p/<peer ID>'
    case 'ok': return ''
  }
}
