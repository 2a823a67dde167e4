/**
 * The registry gossip's periodic check: silence, heartbeats and stalled pulls.
 * One side of each pair (the lower peer ID) sends a tiny heartbeat every
 * `heartbeatIntervalMs`, carrying its digest hash every `antiEntropyIntervalMs`;
 * the other answers. A peer heard from by neither frame for `peerSilenceMs` is
 * hung: hang up.
 */
import { MeshError } from '../errors.ts'
import { askFor } from './inbound.ts'
import { encodeFrame } from './wire.ts'
import type { CheckContext } from './context.ts'

export function checkPeers (gossip: CheckContext): void {
  const now = gossip.now()
  // Time this process did not run (a long GC, a starved CPU, a laptop waking up) is time we
  // could not hear anyone: it must not count as their silence. Frames that arrived meanwhile
  // are still waiting to be read, after this timer.
  const stalled = now - gossip.lastCheck - gossip.checkMs
  gossip.lastCheck = now
  if (stalled > gossip.checkMs) {
    for (const link of gossip.links.values()) link.lastHeard = Math.min(now, link.lastHeard + stalled)
  }
  for (const ask of gossip.pulls.expire(now, origin => gossip.registry.held(origin))) askFor(gossip, ask.peer, ask.origin)
  const { heartbeatIntervalMs, peerSilenceMs, antiEntropyIntervalMs } = gossip.init
  for (const link of [...gossip.links.values()]) {
    if (now - link.lastHeard > peerSilenceMs) {
      gossip.log('peer %s silent for %d ms, hanging up', link.id, now - link.lastHeard)
      const reason = new MeshError('UNREACHABLE', 'peer went silent (no heartbeat)')
      for (const connection of gossip.components.connectionManager.getConnections(link.peer)) connection.abort(reason)
      gossip.peerDisconnected(link.peer)
      continue
    }
    if (gossip.selfId > link.id || now - link.lastPing < heartbeatIntervalMs) continue
    const withHash = now - link.lastHashAt >= antiEntropyIntervalMs
    if (withHash) link.lastHashAt = now
    link.lastPing = now
    link.pingSentAt = now
    void link.send(encodeFrame.heartbeat(link.rttMs, withHash ? gossip.registry.digestHash() : undefined))
  }
}
