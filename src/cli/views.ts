/** Human renderings of what a node reports: status, peers, sessions, resolutions, send results. */
import type { MeshStatus, PeerStatus, Resolution, SendResult, SessionEntry } from '../types.ts'
import { duration, fields, paint, shortId, table } from './output.ts'

export function reachability (reachable: boolean, unreachableSince?: number): string {
  if (reachable) return 'reachable'
  return unreachableSince === undefined ? 'UNREACHABLE' : `UNREACHABLE ${duration(Date.now() - unreachableSince)}`
}

export function formatStatus (s: MeshStatus & { node?: { meshId?: string, stateDir?: string, socket?: string, pid?: number } }): string {
  const self = s.self
  const pairs: Array<[string, string]> = [
    ['Gateway', `${paint('bold', self.name)}  ${self.peerId}${self.gatewayPort !== undefined ? `  (OpenClaw port ${self.gatewayPort})` : ''}`],
    ['Version', s.versions !== undefined ? `clawmesh ${s.versions.software}, wire ${s.versions.protocols.join(' and ')}` : '-'],
    ['Mesh', s.node?.meshId ?? '-'],
    ['Listening', s.addresses.length > 0 ? s.addresses.join('\n' + ' '.repeat(11)) : '-'],
    ['Peers', String(s.peers)],
    ...(s.reachability !== undefined ? [['Reachable', reachabilityLine(s.reachability)] as [string, string]] : []),
    ['Sessions', `${s.sessions} on ${s.gateways} Gateway${s.gateways === 1 ? '' : 's'} (${s.localSessions} here)`],
    ['Messages', `sent ${s.counters.sent} · received ${s.counters.received} · failed ${s.counters.failed} · duplicates ${s.counters.duplicates}`],
    ['Registry', `deltas applied ${s.counters.deltasApplied} · rejected ${s.counters.deltasRejected} · redundant ${s.counters.recordsRedundant}`],
    ['Up', `${duration(Date.now() - s.startedAt)} (incarnation ${s.incarnation}${s.node?.pid !== undefined ? `, pid ${s.node.pid}` : ''})`],
    ['Rejected', s.rejected.length === 0 ? 'none' : `${s.rejected.length} recent`]
  ]
  const incompatible = s.incompatible ?? []
  if (incompatible.length > 0) pairs.push(['Incompatible', paint('red', `${incompatible.length} Gateway${incompatible.length === 1 ? '' : 's'}: neither side sees the other's sessions`)])
  let text = fields(pairs) + '\n'
  if (incompatible.length > 0) {
    text += '\n' + table(incompatible, [
      { header: 'PEER', value: p => shortId(p.peerId) },
      { header: 'SPEAKS', value: p => p.versions !== undefined ? `wire ${p.versions.join(', ')}` : '-' },
      { header: 'RUNS', value: p => p.agentVersion ?? '-' },
      { header: 'REASON', value: p => p.reason, style: () => 'red' }
    ]) + '\n'
  }
  if (s.rejected.length > 0) {
    text += '\n' + table(s.rejected.slice(-10), [
      { header: 'WHEN', value: r => new Date(r.at).toISOString() },
      { header: 'PEER', value: r => r.peerId !== undefined ? shortId(r.peerId) : '-' },
      { header: 'ADDRESS', value: r => r.address ?? '-' },
      { header: 'REASON', value: r => r.reason, style: () => 'yellow' }
    ]) + '\n'
  }
  return text
}

/** `directly (public address)`, or `through a relay: <address>`, or what is still unknown. */
export function reachabilityLine (r: NonNullable<MeshStatus['reachability']>): string {
  if (r.state === 'public') return 'directly from other networks (AutoNAT confirmed a public address)'
  const via = r.relayed.length > 0 ? `through a relay member: ${r.relayed[0] ?? ''}` : 'no relay slot yet (no relay member connected)'
  // What members see of our listening port: our NAT's mapping, what a hole punch dials. None: the NAT changes ports.
  const nat = r.observed.length > 0 ? `; NAT maps our port to ${r.observed.join(', ')}` : ''
  return (r.state === 'private' ? `from other networks only ${via}` : `not yet known (waiting for AutoNAT); ${via}`) + nat
}

export function formatPeers (peers: PeerStatus[]): string {
  if (peers.length === 0) return 'no peers connected\n'
  return table(peers, [
    { header: 'GATEWAY', value: p => p.name, style: () => 'bold' },
    { header: 'PORT', value: p => p.gatewayPort !== undefined ? String(p.gatewayPort) : '-', align: 'right' },
    { header: 'HOST', value: p => p.host || '-' },
    { header: 'STATE', value: p => reachability(p.reachable, p.unreachableSince), style: p => p.reachable ? 'green' : 'red' },
    { header: 'SESSIONS', value: p => String(p.sessions), align: 'right' },
    { header: 'LINK', value: p => p.link ?? '-', style: p => p.link === 'relayed' ? 'yellow' : 'green' },
    { header: 'RTT', value: p => p.rttMs !== undefined ? `${p.rttMs.toFixed(1)} ms` : '-', align: 'right' },
    { header: 'VERSION', value: p => p.softwareVersion ?? '-' },
    { header: 'WIRE', value: p => p.protocolVersion !== undefined ? String(p.protocolVersion) : '-', align: 'right', style: p => p.protocolVersion !== undefined && p.protocolVersion < 2 ? 'yellow' : undefined },
    { header: 'PEER ID', value: p => p.peerId },
    { header: 'ADDRESS', value: p => p.addresses[0] ?? '-' }
  ]) + '\n'
}

export function formatSessions (sessions: SessionEntry[]): string {
  if (sessions.length === 0) return 'no sessions\n'
  const sorted = [...sessions].sort((a, b) => a.owner.name.localeCompare(b.owner.name) || a.sessionKey.localeCompare(b.sessionKey))
  return table(sorted, [
    { header: 'GATEWAY', value: s => s.owner.self ? `${s.owner.name} (here)` : s.owner.name, style: () => 'bold' },
    { header: 'SESSION KEY', value: s => s.sessionKey },
    { header: 'STATE', value: s => reachability(s.owner.reachable, s.owner.unreachableSince), style: s => s.owner.reachable ? 'green' : 'red' },
    { header: 'SESSION ID', value: s => s.sessionId ?? '-' },
    { header: 'LABEL', value: s => s.label ?? '' }
  ]) + '\n'
}

export function formatResolution (target: string, r: Resolution): string {
  return fields([
    ['Target', target],
    ['Gateway', `${paint('bold', r.owner.name)}  ${r.owner.peerId}${r.owner.self ? ' (this node)' : ''}  ${reachability(r.owner.reachable, r.owner.unreachableSince)}`],
    ['Session', r.sessionKey + (r.sessionId !== undefined ? `  ${r.sessionId}` : '')],
    ['Qualified', r.qualifiedKey],
    ['Matched', r.via]
  ]) + '\n'
}

export function formatSendResult (r: SendResult, wait: boolean): string {
  const where = r.qualifiedKey
  if (r.status === 'accepted' || !wait) return `${paint('green', 'accepted')} by ${where} (message ${r.messageId})\n`
  if (r.reply === undefined || r.reply === '') return `${paint('green', 'delivered')} to ${where} (the session gave no reply)\n`
  return `${paint('green', 'reply')} from ${where}:\n${r.reply}\n`
}

