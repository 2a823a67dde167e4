// An in-memory owner directory: what routing and delivery see of the registry, built by hand.
import { isValidGatewayName } from '../../src/routing/address.ts'
import type { GatewayRecord, OwnedKey, OwnerDirectory, SessionRecord } from '../../src/routing/directory.ts'

export interface FakeGateway extends Partial<Omit<GatewayRecord, 'peerId'>> {
  peerId: string
  sessions?: SessionRecord[]
}

export class FakeDirectory implements OwnerDirectory {
  readonly selfId: string
  readonly records = new Map<string, GatewayRecord>()
  readonly entries = new Map<string, Map<string, SessionRecord>>()
  readonly markedUnreachable: string[] = []

  constructor (selfId: string, gateways: FakeGateway[] = []) {
    this.selfId = selfId
    for (const g of gateways) this.add(g)
  }

  /** Adds a Gateway as its record would arrive: an invalid name is dropped, as the registry adapter does. */
  add (g: FakeGateway): void {
    const { sessions, name, ...rest } = g
    this.records.set(g.peerId, {
      host: 'host', addrs: [], maxMessageBytes: 1024 * 1024, reachable: true, departed: false, ...rest,
      ...(name !== undefined && isValidGatewayName(name) ? { name } : {})
    })
    this.entries.set(g.peerId, new Map((sessions ?? []).map(s => [s.sessionKey, s])))
  }

  gateways (): Iterable<GatewayRecord> { return this.records.values() }
  gateway (peerId: string): GatewayRecord | undefined { return this.records.get(peerId) }
  session (peerId: string, sessionKey: string): SessionRecord | undefined { return this.entries.get(peerId)?.get(sessionKey) }
  sessions (peerId: string): Iterable<SessionRecord> { return this.entries.get(peerId)?.values() ?? [] }
  ownersOfKey (sessionKey: string): string[] { return [...this.entries].filter(([, m]) => m.has(sessionKey)).map(([o]) => o) }
  ownersOfSessionId (sessionId: string): OwnedKey[] { return this.find(s => s.sessionId === sessionId) }
  withLabel (label: string): OwnedKey[] { return this.find(s => s.label === label) }
  gatewaysNamed (name: string): string[] { return [...this.records.values()].filter(r => r.name === name).map(r => r.peerId) }
  markUnreachable (peerId: string): void {
    this.markedUnreachable.push(peerId)
    const record = this.records.get(peerId)
    if (record !== undefined) this.records.set(peerId, { ...record, reachable: false })
  }

  private find (match: (s: SessionRecord) => boolean): OwnedKey[] {
    const out: OwnedKey[] = []
    for (const [origin, m] of this.entries) for (const s of m.values()) if (match(s)) out.push({ origin, sessionKey: s.sessionKey })
    return out
  }
}

/** Peer IDs for tests (valid Ed25519 peer IDs, so they parse). */
export const PEERS = {
  self: '12D3KooWSrZ4fLuuHakvoNNZdTLRsHkM3hzuuFqP3J7nYDwbvLpb',
  a: '12D3KooWAHpBrkZ4dDuoyQf1fHJDjTBiXsqjXvqsghmjdhtfR2LX',
  b: '12D3KooWNdo1bSA2KpsSBiZA6yiVRYqmfNSZ5YU3ieMG6DXgNo3y',
  c: '12D3KooWLXYnUexZUjGgrCbe8ws1vQhZ3PXKDbR4tT8hjvmoEQRp'
} as const
