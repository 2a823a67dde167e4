/**
 * The invite keys a Gateway accepts for now, on top of its keyring: its own
 * invites' keys, and (as a relay member) other members' invite keys for the
 * hop to them. The protector asks {@link InviteKeys.list} at each inbound
 * connection, so a key stops working the moment it is dropped, and tells
 * which key a connection was admitted under (`connectionKey`).
 */
import { connectionKey, type ProtectorKey } from '../security/protector.ts'
import { meshIdOf } from '../security/secret.ts'
import type { InviteKeyring } from './service.ts'
import type { Connection } from '@libp2p/interface'

export class InviteKeys implements InviteKeyring {
  private readonly keys = new Map<string, ProtectorKey>()
  /** Mesh IDs of every invite key admitted in this run, for {@link labelOf} (keys of the keyring are members'). */
  private readonly issued = new Map<string, string>()

  admit (label: string, psk: Uint8Array, expiresAt: number): void {
    const meshId = meshIdOf(psk)
    this.keys.set(label, { psk, meshId, label, expiresAt })
    this.issued.set(meshId, label)
  }

  drop (label: string): void {
    this.keys.delete(label)
  }

  /** What the protector accepts on top of the keyring right now. */
  list (): ProtectorKey[] {
    const now = Date.now()
    return [...this.keys.values()].filter(k => (k.expiresAt ?? Infinity) > now)
  }

  labelOf (connection: Connection): string | undefined {
    const key = connectionKey(connection)
    if (key === undefined || key.primary) return undefined
    // A key of the keyring (a rotation's next or previous key) is a member's, whatever its label.
    return this.issued.get(key.meshId) === key.label ? key.label : undefined
  }
}
