/**
 * The registry gossip's periodic check: our own health, each link's failure
 * detector, heartbeats, links to open or close, and stalled pulls.
 *
 * One side of each pair (the lower peer ID) sends a tiny heartbeat every
 * `heartbeatIntervalMs`, carrying its digest hash every `antiEntropyIntervalMs`;
 * the other answers. Both say whether they chose the link, so a link neither
 * side chooses any more is closed on purpose. What a silence means is decided
 * by link-watch.ts, with every timeout multiplied by our own health
 * (local-health.ts): a check that runs late means we were not running, and that
 * time is nobody's silence.
 */
import { askFor } from './inbound.ts'
import { hangUp, LINK_MIN_AGE_MS, linkDead, maintainLinks, suspect, unlink } from './links.ts'
import { encodeFrame } from './wire.ts'
import type { CheckContext } from './context.ts'

export function checkPeers (gossip: CheckContext): void {
  const now = gossip.now()
  // Time this process did not run (a long GC, a starved CPU, a laptop waking up) is time we
  // could not hear anyone: it must not count as their silence. Frames that arrived meanwhile
  // are still waiting to be read, after this timer.
  const lateBy = now - gossip.lastCheck - gossip.checkMs
  gossip.lastCheck = now
  gossip.health.checked(now, lateBy)
  if (lateBy > gossip.checkMs) {
    for (const link of gossip.links.values()) link.watch.excuse(lateBy, now)
  }
  for (const ask of gossip.pulls.expire(now, origin => gossip.registry.held(origin))) askFor(gossip, ask.peer, ask.origin)
  const { heartbeatIntervalMs, antiEntropyIntervalMs } = gossip.init
  const multiplier = gossip.health.multiplier
  for (const link of [...gossip.links.values()]) {
    if (!link.joined) continue
    const keep = gossip.policy.wants(link.id)
    switch (link.watch.step(now, multiplier, gossip.timing)) {
      case 'probe': link.probe(now, keep); break
      case 'suspect': suspect(gossip, link, keep); break
      case 'declare': linkDead(gossip, link); break
      case 'hangUp': hangUp(gossip, link); continue
      case 'none': break
    }
    if (link.watch.state === 'dead') continue
    if (!keep && link.remoteKeep === false && now - link.openedAt >= LINK_MIN_AGE_MS) {
      unlink(gossip, link)
      continue
    }
    if (gossip.selfId > link.id || now - link.lastPing < heartbeatIntervalMs) continue
    const withHash = now - link.lastHashAt >= antiEntropyIntervalMs
    if (withHash) link.lastHashAt = now
    link.lastPing = now
    link.pingSentAt = now
    void link.send(encodeFrame.heartbeat(link.rttMs, withHash ? gossip.registry.digestHash() : undefined, keep))
  }
  maintainLinks(gossip)
}
