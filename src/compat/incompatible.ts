/**
 * Peers we are connected to but cannot exchange sessions with: what the
 * registry gossip reports (no common version, unreadable frames), completed
 * with what libp2p's identify says the peer speaks and runs, and kept (one
 * entry per peer, the newest) for `status()` until the peer links after all.
 */
import { peerIdFromString } from '@libp2p/peer-id'
import { peerWireVersions } from './protocols.ts'
import type { IncompatiblePeer, IncompatibleReport } from './types.ts'
import type { Connection, Libp2pEvents, PeerId, PeerStore } from '@libp2p/interface'
import type { TypedEventTarget } from 'main-event'

/** How long a report waits for the peer's identify to name its versions: identify runs as a connection opens (deferred-identify.ts), later on a loaded machine. */
const IDENTIFY_WAIT_MS = 5_000
const MAX_KEPT = 50
const decoder = new TextDecoder()

/** What the peer says it runs (identify's agent version, any text it likes): printable ASCII, bounded, for logs and terminals. */
function agentText (text: string): string {
  return text.replace(/[^\x20-\x7e]/g, '?').slice(0, 128)
}

export interface IncompatiblePeersInit {
  peerStore: Pick<PeerStore, 'get'>
  events: Pick<TypedEventTarget<Libp2pEvents>, 'addEventListener' | 'removeEventListener'>
  connections: (peer: PeerId) => Connection[]
}

export class IncompatiblePeers {
  private readonly init: IncompatiblePeersInit
  private readonly peers = new Map<string, IncompatiblePeer>()

  constructor (init: IncompatiblePeersInit) {
    this.init = init
  }

  /** The report with the peer's versions and agent (when identify tells them), kept for `list()`. */
  async add (report: IncompatibleReport, signal: AbortSignal): Promise<IncompatiblePeer> {
    const peerId = peerIdFromString(report.peerId)
    const known = await this.identified(peerId) ?? await this.identify(report.peerId, signal)
    const versions = peerWireVersions(known?.protocols ?? [])
    const address = this.init.connections(peerId)[0]?.remoteAddr.toString()
    const peer: IncompatiblePeer = {
      peerId: report.peerId,
      kind: report.kind,
      reason: versions.length > 0 && report.kind === 'no-common-version' ? `${report.reason}; it speaks ${versions.join(', ')}` : report.reason,
      ...(versions.length > 0 ? { versions } : {}),
      ...(known?.agentVersion !== undefined ? { agentVersion: known.agentVersion } : {}),
      ...(address !== undefined ? { address } : {}),
      at: Date.now()
    }
    this.peers.delete(peer.peerId)
    this.peers.set(peer.peerId, peer)
    if (this.peers.size > MAX_KEPT) this.peers.delete(this.peers.keys().next().value as string)
    return peer
  }

  /** The peer linked (it was upgraded, or the fault is gone). */
  forget (peerId: string): void {
    this.peers.delete(peerId)
  }

  list (): IncompatiblePeer[] {
    return [...this.peers.values()]
  }

  private async identified (peerId: PeerId): Promise<{ protocols: string[], agentVersion?: string } | undefined> {
    const peer = await this.init.peerStore.get(peerId).catch(() => undefined)
    // The agent version is stored by identify alone; protocols also by the streams we negotiated.
    const agent = peer?.metadata.get('AgentVersion')
    if (peer === undefined || agent === undefined) return undefined
    return { protocols: peer.protocols, agentVersion: agentText(decoder.decode(agent)) }
  }

  /** What `peerId`'s identify says once it completes; undefined after IDENTIFY_WAIT_MS or on `signal`. */
  private async identify (peerId: string, signal: AbortSignal): Promise<{ protocols: string[], agentVersion?: string } | undefined> {
    const { events } = this.init
    return await new Promise(resolve => {
      const done = (result?: { protocols: string[], agentVersion?: string }): void => {
        clearTimeout(timer)
        events.removeEventListener('peer:identify', onIdentify)
        signal.removeEventListener('abort', onAbort)
        resolve(result)
      }
      const onAbort = (): void => { done() }
      const onIdentify = (evt: Libp2pEvents['peer:identify']): void => {
        const { peerId: id, protocols, agentVersion } = evt.detail
        if (id.toString() === peerId) done({ protocols, ...(agentVersion !== undefined ? { agentVersion: agentText(agentVersion) } : {}) })
      }
      const timer = setTimeout(onAbort, IDENTIFY_WAIT_MS)
      events.addEventListener('peer:identify', onIdentify)
      signal.addEventListener('abort', onAbort, { once: true })
    })
  }
}
