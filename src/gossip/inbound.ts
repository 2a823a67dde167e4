/**
 * What the registry gossip does with each frame a peer sends: hello and
 * digests start pulls, wants are served, records are checked (allowlist,
 * staleness, signature) and applied, liveness frames go to the liveness rules.
 */
import { MeshError } from '../errors.ts'
import { verifyRecord, type SignedRecord } from '../registry/records.ts'
import { heldOf } from '../registry/registry.ts'
import { compareHeld, newest } from '../registry/version.ts'
import { decodeFrame, encodeFrame, type Digest, type GossipMessage, type Version } from './wire.ts'
import { dropLink, hangUp, linkRevived, spreadDown } from './links.ts'
import { PUSH_MAX_BYTES } from './news.ts'
import type { GossipContext } from './context.ts'
import type { Proof } from './liveness.ts'
import type { PeerLink } from './peer-link.ts'

/** Handles one frame from `link`; `decode` reads the version its stream speaks (default: registry v2). */
export async function receiveFrame (gossip: GossipContext, link: PeerLink, frame: Uint8Array, decode: (frame: Uint8Array) => GossipMessage = decodeFrame): Promise<void> {
  const msg = decode(frame)
  const now = gossip.now()
  // The run it says it is, before anything we answer about it. A running Gateway's digest always holds
  // itself: without that entry it is a run that has published nothing yet (0), not one we may hold.
  if (msg.type === 'hello') link.ownVersion = msg.hello.digest.get(link.id)?.version ?? [0, 0]
  // Any frame is the peer's answer: a suspicion ends, a peer we had declared down is back.
  if (link.watch.heard(now) === 'dead' && link.joined) proven(gossip, link, [linkRevived(gossip, link)])
  heardFrom(gossip, link)
  switch (msg.type) {
    case 'record':
      await receiveRecord(gossip, link, msg.bytes)
      break
    case 'hello': {
      const { hello } = msg
      link.name = hello.name
      link.protocolVersion = hello.protocolVersion
      link.softwareVersion = hello.softwareVersion
      proven(gossip, link, gossip.liveness.peerLinks(link.id, hello.links, now, hello.runs))
      if (!link.joined) {
        link.joined = true
        proven(gossip, link, [gossip.liveness.linked(link.id, now, link.ownVersion?.[0] ?? 0)])
        gossip.safeDispatchEvent('peer:join', { detail: link.describe() })
        gossip.scheduleLinks()
      }
      // Both sides send hello, so each learns the other's digest: no need to answer with ours.
      requestMissing(gossip, link, hello.digest, true)
      break
    }
    case 'digest':
      requestMissing(gossip, link, msg.digest, msg.reply)
      break
    case 'want':
      // Not awaited: the read loop must keep draining while we send, or two large transfers deadlock.
      void serveWants(gossip, link, msg.wants)
      break
    case 'heartbeat': {
      if (msg.rttMs !== undefined) link.rttMs = msg.rttMs
      if (msg.keep !== undefined) link.remoteKeep = msg.keep
      void link.send(encodeFrame.heartbeatAck(gossip.policy.wants(link.id)))
      if (msg.digestHash !== undefined && !sameBytes(msg.digestHash, gossip.registry.digestHash())) {
        void link.send(encodeFrame.digest(gossip.registry.digest(), false))
      }
      break
    }
    case 'heartbeatAck':
      if (link.pingSentAt !== undefined) link.rttMs = now - link.pingSentAt
      link.pingSentAt = undefined
      if (msg.keep !== undefined) link.remoteKeep = msg.keep
      break
    case 'links': {
      const before = gossip.liveness.claimedBy(link.id)
      link.linksHeard = true
      proven(gossip, link, gossip.liveness.peerLinks(link.id, msg.links, now, msg.runs))
      offerLost(gossip, link, before, msg.links)
      break
    }
    case 'down': {
      // Hearsay about reachability only (the liveness rules decide whether to believe it): it never adds or removes entries.
      if (msg.origin === gossip.selfId) {
        // An accusation: we were too slow for that peer. Prove to everyone that we run.
        gossip.accused()
        break
      }
      // A peer linked to it lost it too: that confirms our own suspicion, if we have one.
      if (gossip.liveness.claimsLink(link.id, msg.origin)) gossip.links.get(msg.origin)?.watch.confirm(link.id)
      const verdict = gossip.liveness.down(link.id, msg.origin, msg.version, now)
      if (verdict.changed) {
        gossip.reachabilityChanged(msg.origin)
        spreadDown(gossip, msg.origin, link.id)
      }
      if (verdict.verify) gossip.verify(msg.origin)
      askOrigin(gossip, link, msg.origin, now)
      break
    }
    case 'suspect':
      // An indirect probe: it changes nothing here by itself. A peer that suspects it too confirms our suspicion.
      if (msg.origin === gossip.selfId) break
      gossip.links.get(msg.origin)?.watch.confirm(link.id)
      askOrigin(gossip, link, msg.origin, now)
      break
    case 'alive':
      if (msg.origin === gossip.selfId || !gossip.allowed(msg.origin)) break
      // A peer we asked hears it: our suspicion of it waits once more (the link between us may be what is broken).
      gossip.links.get(msg.origin)?.watch.indirectAck(link.id, now, gossip.health.multiplier, gossip.timing)
      if (proven(gossip, link, [gossip.liveness.alive(link.id, msg.origin, msg.version, now)])) {
        // It runs, yet our own link to it was declared down: that link is what is broken. Hang up, so a send dials afresh.
        const ours = gossip.links.get(msg.origin)
        if (ours?.watch.state === 'dead') hangUp(gossip, ours)
      }
      // It holds a newer version than ours (or one we had dropped): pull it.
      requestMissing(gossip, link, new Map([[msg.origin, { version: msg.version, departed: false }]]), true)
      break
    case 'unlink':
      // Closed on purpose by the peer: no evidence about anyone.
      dropLink(gossip, link.id, false)
      break
    case 'unknown':
      // Frames of a newer version are ignored, so that newer peers can add some.
      break
  }
}

/**
 * Origins the peer no longer says it is linked to: until now we left their records to them (news skips a
 * peer linked to the origin), so tell it what we hold of them, in case their last records missed it.
 */
function offerLost (gossip: GossipContext, link: PeerLink, before: ReadonlySet<string>, after: ReadonlySet<string>): void {
  const offer: Digest = new Map()
  for (const origin of before) {
    if (after.has(origin) || origin === link.id) continue
    const state = gossip.registry.get(origin)
    if (state === undefined) continue
    const held = heldOf(state)
    const theirs = link.holds.get(origin)
    if (theirs === undefined || compareHeld(held, theirs) > 0) offer.set(origin, held)
  }
  if (offer.size > 0) void link.send(encodeFrame.digest(offer, false))
}

/** A peer lost or suspects `origin`: if we are linked to it, we answer once we next hear from it, and ask it now rather than wait for a heartbeat. */
function askOrigin (gossip: GossipContext, link: PeerLink, origin: string, now: number): void {
  if (!gossip.liveness.askedBy(link.id, origin)) return
  const target = gossip.links.get(origin)
  // One probe per heartbeat interval, however many ask: a flood of questions is not a flood of probes.
  if (target !== undefined && now - target.lastProbeAt >= gossip.init.heartbeatIntervalMs) target.probe(now, gossip.policy.wants(origin))
}

/**
 * Any frame from `link` is a sign of life: answer the peers that lost it and asked whether we still hear it.
 * Only about the run we hear: when it restarted and we still hold its previous run, our `alive` would revive
 * that run; the askers learn of the new one as news once we have pulled it.
 */
function heardFrom (gossip: GossipContext, link: PeerLink): void {
  const state = gossip.registry.get(link.id)
  const askers = gossip.liveness.heard(link.id)
  if (state === undefined || (link.ownVersion !== undefined && link.ownVersion[0] !== state.incarnation)) return
  for (const peer of askers) void gossip.links.get(peer)?.send(encodeFrame.alive(link.id, heldOf(state).version))
}

async function receiveRecord (gossip: GossipContext, link: PeerLink, bytes: Uint8Array): Promise<void> {
  let signed: SignedRecord
  try {
    const decoded = gossip.wires.decodeRecord(bytes)
    const { origin } = decoded.record
    // Relayed records of origins outside the allowlist would let a member bring in Gateways we refuse.
    if (!gossip.allowed(origin)) {
      gossip.rejected(link.id, `record of origin ${origin}, which is not in the allowlist`)
      return
    }
    // Our own records come back relayed (or from a previous run): they prove nothing. And most
    // relayed copies are of records we already hold: drop them before paying for a signature check.
    if (origin === gossip.selfId || gossip.registry.isStale(decoded.record)) {
      gossip.counters.recordsRedundant++
      return
    }
    signed = await verifyRecord(decoded)
  } catch (err) {
    const reason = err instanceof MeshError && err.code === 'FORBIDDEN' ? 'bad signature' : 'malformed record'
    gossip.rejected(link.id, `${reason}: ${(err as Error).message}`)
    return
  }
  const { record } = signed
  const now = gossip.now()
  // The sender holds what it sent us (its own records: the run it is, now that it has published).
  link.noteHolds(record.origin, { version: [record.incarnation, record.seq], departed: record.kind === 'bye' })
  if (record.origin === link.id) link.ownVersion = newest([record.incarnation, record.seq], link.ownVersion)
  const buried = gossip.registry.tombstones.get(record.origin) !== undefined
  const outcome = gossip.registry.apply(signed, now)
  switch (outcome.status) {
    case 'applied': {
      gossip.counters.recordsApplied++
      const state = gossip.registry.get(record.origin)
      if (state !== undefined) {
        const next = gossip.pulls.progress(link.id, record.origin, heldOf(state), now)
        if (next !== undefined) askFor(gossip, next.peer, record.origin)
      }
      if (gossip.liveness.recordApplied(record.origin, record.origin === link.id, now)) gossip.reachabilityChanged(record.origin)
      gossip.emitChanges(outcome.changes)
      if (record.kind === 'bye') gossip.reachabilityChanged(record.origin)
      if (record.kind === 'snap' || signed.bytes.length > PUSH_MAX_BYTES) gossip.news.recordApplied(record.origin, link.id)
      else gossip.news.push(record.origin, link.id, signed.bytes, { version: [record.incarnation, record.seq], departed: record.kind === 'bye' })
      break
    }
    case 'pending': {
      // A chunk of a snapshot: the pull is alive. Peers hear of a snapshot once it is whole.
      const held = gossip.registry.held(record.origin)
      if (held !== undefined) gossip.pulls.progress(link.id, record.origin, held, now)
      break
    }
    case 'gap':
      // A signed record newer than the tombstone of an origin we dropped: it lives and wrote since. What came
      // before it from this peer (a checkpoint at or below the tombstone) was dropped as buried: ask again.
      if (buried) askFor(gossip, link.id, record.origin)
      // We missed something of this origin: ask this peer for it, from where we are (unless a pull is under way).
      else if (gossip.pulls.claim(link.id, record.origin, { version: [record.incarnation, record.seq], departed: false }, now)) askFor(gossip, link.id, record.origin)
      break
    case 'stale':
      gossip.counters.recordsRedundant++
      break
  }
}

/**
 * Asks for what `link`'s digest shows we lack: an origin we are linked to is asked itself (it
 * holds at least what any peer claims of it), with `link` kept as the fallback; any other origin
 * is asked of `link`. Claims for origins outside the allowlist are ignored; the pull tracker
 * decides whom to ask.
 *
 * A linked origin pushes its records to us itself, which is why peers do not relay them to us;
 * but a push can miss us (our link was declared down on its side then, or a write failed), and
 * the origin's own anti-entropy with us may not run (it runs from one side of a link only): a
 * peer that shows we are behind on it is therefore never ignored, or only the origin could repair us.
 */
function requestMissing (gossip: GossipContext, link: PeerLink, theirs: Digest, isReply: boolean): void {
  const now = gossip.now()
  const wants = new Map<PeerLink, Map<string, Version | undefined>>()
  const want = (from: PeerLink, origin: string): void => {
    let list = wants.get(from)
    if (list === undefined) wants.set(from, list = new Map())
    list.set(origin, ourVersion(gossip, origin))
  }
  for (const [origin, claim] of theirs) {
    if (origin === gossip.selfId || !gossip.allowed(origin)) continue
    if (gossip.registry.get(origin) !== undefined) link.noteHolds(origin, claim)
    if (!gossip.registry.isBehind(origin, claim)) continue
    const originLink = origin !== link.id && gossip.liveness.isLinked(origin) ? gossip.links.get(origin) : undefined
    if (originLink !== undefined && gossip.pulls.claim(origin, origin, claim, now)) want(originLink, origin)
    // Without a linked origin, the pull; with one, the candidate it moves to if the origin does not deliver.
    if (gossip.pulls.claim(link.id, origin, claim, now)) want(link, origin)
  }
  for (const [from, list] of wants) sendWant(gossip, from, list)
  // They lack something we hold: show our digest so they can ask (once: not in reply to a reply).
  if (isReply) return
  for (const [origin] of gossip.registry.digest()) {
    if (origin !== link.id && gossip.registry.isAhead(origin, theirs.get(origin))) {
      void link.send(encodeFrame.digest(gossip.registry.digest(), true))
      return
    }
  }
}

/** Announces origins proven alive; those we had dropped are pulled again from the peer that proved them. True when any was revived. */
function proven (gossip: GossipContext, link: PeerLink, proofs: Array<Proof | undefined>): boolean {
  let revived = false
  for (const proof of proofs) {
    if (proof === undefined) continue
    if ('revived' in proof) {
      gossip.reachabilityChanged(proof.origin)
      revived = true
    } else {
      requestMissing(gossip, link, new Map([[proof.origin, proof.unburied]]), true)
    }
  }
  return revived
}

function ourVersion (gossip: GossipContext, origin: string): Version | undefined {
  const state = gossip.registry.get(origin)
  return state === undefined ? undefined : heldOf(state).version
}

/** Asks `peer` for the records of `origin` after what we hold. */
export function askFor (gossip: GossipContext, peer: string, origin: string): void {
  const link = gossip.links.get(peer)
  if (link !== undefined) sendWant(gossip, link, new Map([[origin, ourVersion(gossip, origin)]]))
}

function sendWant (gossip: GossipContext, link: PeerLink, wants: Map<string, Version | undefined>): void {
  gossip.counters.pullRequests++
  void link.send(encodeFrame.want(wants))
}

/** Sends the records asked for, from where the asker is. */
async function serveWants (gossip: GossipContext, link: PeerLink, wants: Map<string, Version | undefined>): Promise<void> {
  for (const [origin, theirs] of wants) {
    for (const bytes of gossip.registry.recordsSince(origin, theirs)) await link.send(encodeFrame.record(bytes))
  }
}

function sameBytes (a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i])
}
