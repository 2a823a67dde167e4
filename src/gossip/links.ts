/**
 * The life of a registry link: opened when we chose the peer or it chose us,
 * kept while either side wants it, declared down by its failure detector
 * (link-watch.ts) and back the moment the peer answers, closed on purpose
 * (`unlink`: no evidence about anyone) or lost with its connection (evidence).
 *
 * Whom to link with is the link policy's choice (the dialer's, in createMesh:
 * topology.ts); without one every connection is a link, as in a full mesh.
 */
import { MAX_STREAMS_PER_PROTOCOL } from '../constants.ts'
import { openMemberStream } from '../nat/links.ts'
import { heldOf } from '../registry/registry.ts'
import { PeerLink, runsOf } from './peer-link.ts'
import { encodeFrame, REGISTRY_PROTOCOL_VERSION } from './wire.ts'
import type { GossipContext } from './context.ts'
import type { Proof } from './liveness.ts'
import type { PeerId } from '@libp2p/interface'

/** A link neither side wants any more is closed no sooner than this after it opened (choices settle while a mesh forms). */
export const LINK_MIN_AGE_MS = 20_000
/** Peers asked to probe a suspect for us. */
const INDIRECT_PROBES = 3

/** Whom we keep registry links with. */
export interface LinkPolicy {
  /** True when we choose to keep a link with `peerId`. */
  wants: (peerId: string) => boolean
  /** The peers we choose (some may not be connected yet: the dialer dials them). */
  chosen: () => Iterable<string>
}

/** Without a dialer that chooses: every connection is a link (a full mesh). */
export const LINK_EVERY_CONNECTION: LinkPolicy = { wants: () => true, chosen: () => [] }

/** Opens (or returns) the link to `peer`: because we chose it, or because it opened a registry stream to us (`theirChoice`). */
export function openLink (gossip: GossipContext, peer: PeerId, theirChoice: boolean): PeerLink | undefined {
  const id = peer.toString()
  let link = gossip.links.get(id)
  if (link === undefined) {
    if (!theirChoice && !gossip.policy.wants(id)) return undefined
    link = new PeerLink({
      peer,
      now: gossip.now(),
      log: gossip.log,
      open: async (p, signal) => await openMemberStream(gossip.components.connectionManager, p, gossip.wires.protocols, { signal, maxOutboundStreams: MAX_STREAMS_PER_PROTOCOL }),
      wireFor: stream => gossip.wires.writerFor(stream, id),
      onOpenFailed: err => { gossip.wires.openFailed(id, err) },
      hello: () => encodeFrame.hello({ protocolVersion: REGISTRY_PROTOCOL_VERSION, softwareVersion: gossip.init.softwareVersion ?? '', name: gossip.init.gateway().name, digest: gossip.registry.digest(), links: new Set(gossip.joinedPeers()), runs: runsOf(gossip.links.values()) })
    })
    gossip.links.set(id, link)
  }
  link.ensureOpen()
  return link
}

/** Opens links to chosen peers we are connected to but not linked with (a delivery connection to a peer we now choose). */
export function maintainLinks (gossip: GossipContext): void {
  const chosen = new Set(gossip.policy.chosen())
  if (chosen.size === 0) return
  for (const connection of gossip.components.connectionManager.getConnections()) {
    const id = connection.remotePeer.toString()
    if (chosen.has(id) && !gossip.links.has(id) && connection.status === 'open') openLink(gossip, connection.remotePeer, false)
  }
}

/** Removes the link to `id`; `lost`: its connection closed (evidence), otherwise on purpose (none). `close`: abort our stream now. */
export function dropLink (gossip: GossipContext, id: string, lost: boolean, close = true): void {
  const link = gossip.links.get(id)
  if (link !== undefined) {
    if (close) link.close()
    gossip.links.delete(id)
    gossip.pulls.peerGone(id)
    if (link.live) {
      gossip.safeDispatchEvent('peer:leave', { detail: link.describe() })
      gossip.scheduleLinks()
    }
  }
  // A connection that carried no link says nothing about the peer's health.
  if (link === undefined) return
  if (!lost) {
    gossip.liveness.unlinkedQuietly(id)
    return
  }
  if (gossip.liveness.unlinked(id, gossip.now())) gossip.reachabilityChanged(id)
  spreadDown(gossip, id)
}

/** We close a link that neither side chooses any more: the peer takes it for no failure. */
export function unlink (gossip: GossipContext, link: PeerLink): void {
  gossip.log('closing the link to %s: neither side chooses it', link.id)
  // Our stream closes once the unlink frame is written.
  dropLink(gossip, link.id, false, false)
  void link.unlink()
}

/** Its failure detector declared the peer down: it is unreachable here, and our peers (and the peer itself, if it runs again) are told. */
export function linkDead (gossip: GossipContext, link: PeerLink): void {
  gossip.log('peer %s silent for %d ms after probes, declared down', link.id, gossip.now() - link.lastHeard)
  if (gossip.liveness.linkDead(link.id, gossip.now())) gossip.reachabilityChanged(link.id)
  gossip.safeDispatchEvent('peer:leave', { detail: link.describe() })
  gossip.scheduleLinks()
  spreadDown(gossip, link.id)
}

/** A peer we had declared down answered on its link: it is back. */
export function linkRevived (gossip: GossipContext, link: PeerLink): Proof | undefined {
  gossip.log('peer %s answered again', link.id)
  const proof = gossip.liveness.linked(link.id, gossip.now(), link.ownVersion?.[0] ?? 0)
  gossip.safeDispatchEvent('peer:join', { detail: link.describe() })
  gossip.scheduleLinks()
  return proof
}

/** The peer is suspect: probe it, and ask up to three peers linked to it to probe it for us. */
export function suspect (gossip: GossipContext, link: PeerLink, keep: boolean): void {
  const now = gossip.now()
  link.probe(now, keep)
  const state = gossip.registry.get(link.id)
  if (state === undefined) return
  const witnesses = gossip.liveness.witnesses(link.id).slice(0, INDIRECT_PROBES)
  gossip.log('peer %s silent for %d ms: suspect, asking %d peers linked to it', link.id, now - link.lastHeard, witnesses.length)
  link.watch.asking(witnesses)
  gossip.liveness.asking(link.id, witnesses)
  const frame = encodeFrame.suspect(link.id, heldOf(state).version)
  for (const w of witnesses) void gossip.links.get(w)?.send(frame)
}

/**
 * Tells our peers that `origin` turned unreachable here. Those linked to it answer `alive` once they
 * hear from it; for the others it is a rumour they check themselves. The origin's own link, if it is
 * still open, gets it too: an accusation it refutes if it runs again.
 */
export function spreadDown (gossip: GossipContext, origin: string, except?: string): void {
  const state = gossip.registry.get(origin)
  if (state === undefined || !gossip.running) return
  const frame = encodeFrame.down(origin, heldOf(state).version)
  const to = [...gossip.links.values()].filter(l => l.joined && l.id !== except && (l.live || l.id === origin))
  // Only those linked to it can answer truthfully that they hear it: only their `alive` will count.
  gossip.liveness.asking(origin, to.filter(l => gossip.liveness.claimsLink(l.id, origin)).map(l => l.id))
  for (const link of to) void link.send(frame)
}

/** Hangs up on a peer declared down long ago. */
export function hangUp (gossip: GossipContext, link: PeerLink): void {
  gossip.log('peer %s still silent, hanging up', link.id)
  for (const connection of gossip.components.connectionManager.getConnections(link.peer)) connection.abort(new Error('peer silent'))
  dropLink(gossip, link.id, true)
}
