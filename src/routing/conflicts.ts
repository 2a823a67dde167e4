/**
 * Duplicate names: a mesh has no leader to refuse a second `hq`, and two
 * partitions may each have one before they meet. So a duplicate is allowed in
 * the registry and handled where it is used: a name or `host:port` held by
 * several Gateways resolves to `AMBIGUOUS` everywhere (routing/resolve.ts),
 * qualified keys of those Gateways use their peer IDs, and allow rules by that
 * name match none of them (routing/policy.ts). Each Gateway whose own name or
 * `host:port` is shared warns: a `gateway:conflict` event, `status().conflicts`
 * and an error line in the log, so both operators see it.
 */
import type { OwnerDirectory } from './directory.ts'
import type { NameConflict } from '../types.ts'

export class NameConflicts {
  private readonly directory: Pick<OwnerDirectory, 'selfId' | 'gateway' | 'gateways'>
  private readonly onConflict: (conflict: NameConflict) => void
  private current: NameConflict[] = []
  /** Conflicts already reported, so a steady one warns once. */
  private reported = new Set<string>()

  constructor (directory: Pick<OwnerDirectory, 'selfId' | 'gateway' | 'gateways'>, onConflict: (conflict: NameConflict) => void) {
    this.directory = directory
    this.onConflict = onConflict
  }

  /** Looks for Gateways sharing our name or host:port; reports each new conflict once. */
  check (): void {
    const self = this.directory.gateway(this.directory.selfId)
    if (self === undefined) return
    const byName: string[] = []
    const byHostPort: string[] = []
    for (const other of this.directory.gateways()) {
      if (other.peerId === self.peerId) continue
      if (self.name !== undefined && other.name === self.name) byName.push(other.peerId)
      if (self.gatewayPort !== undefined && other.gatewayPort === self.gatewayPort && other.host === self.host) byHostPort.push(other.peerId)
    }
    const next: NameConflict[] = []
    if (byName.length > 0) next.push({ kind: 'name', value: self.name as string, peerIds: [self.peerId, ...byName].sort() })
    if (byHostPort.length > 0) next.push({ kind: 'hostPort', value: `${self.host}:${String(self.gatewayPort)}`, peerIds: [self.peerId, ...byHostPort].sort() })
    this.current = next
    const keys = new Set(next.map(c => `${c.kind}\n${c.value}\n${c.peerIds.join()}`))
    for (const conflict of next) {
      const key = `${conflict.kind}\n${conflict.value}\n${conflict.peerIds.join()}`
      if (!this.reported.has(key)) this.onConflict(conflict)
    }
    this.reported = keys
  }

  list (): NameConflict[] {
    return this.current.map(c => ({ ...c, peerIds: [...c.peerIds] }))
  }
}
