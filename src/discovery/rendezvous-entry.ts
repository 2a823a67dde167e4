/**
 * The entries of the rendezvous folder (src/discovery/local.ts): where a mesh's
 * folder is, what one entry holds, reading one defensively (any file there may
 * be garbage, or another user's), and what a reader makes of it.
 */
import { open } from 'node:fs/promises'
import { join } from 'node:path'
import { peerIdFromString } from '@libp2p/peer-id'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import type { PeerInfo } from '@libp2p/interface'

/** An entry is a few hundred bytes; anything bigger is not ours. */
const MAX_ENTRY_BYTES = 16 * 1024
/** Addresses per entry we accept. */
const MAX_ENTRY_ADDRS = 32

/** The file each node leaves in the rendezvous folder. */
export interface RendezvousEntry {
  peerId: string
  pid: number
  addrs: string[]
  updatedAt: number
}

/** The rendezvous folder of a mesh. */
export function rendezvousDir (stateDir: string, meshId: string): string {
  return join(stateDir, 'rendezvous', meshId)
}

/** Loopback addresses (others on this host reach us there); all addresses when we have none. */
export function localAddrs (addrs: Multiaddr[]): string[] {
  const all = addrs.map(a => a.toString())
  const loopback = all.filter(a => a.startsWith('/ip4/127.') || a.startsWith('/ip6/::1/'))
  return loopback.length > 0 ? loopback : all
}

/** Whether a process exists (EPERM: it exists but belongs to someone else). */
export function isAlive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** One entry, or undefined when it is gone, too big, or not an entry. */
export async function readEntry (path: string): Promise<RendezvousEntry | undefined> {
  let text: string
  try {
    const handle = await open(path, 'r')
    try {
      const buf = Buffer.alloc(MAX_ENTRY_BYTES + 1)
      const { bytesRead } = await handle.read(buf, 0, buf.byteLength, 0)
      if (bytesRead > MAX_ENTRY_BYTES) return undefined
      text = buf.subarray(0, bytesRead).toString('utf8')
    } finally {
      await handle.close()
    }
  } catch {
    return undefined // removed meanwhile
  }
  try {
    const value = JSON.parse(text) as Partial<RendezvousEntry>
    if (typeof value.peerId !== 'string' || !Number.isSafeInteger(value.pid) || (value.pid ?? 0) <= 0 ||
      !Array.isArray(value.addrs) || value.addrs.length > MAX_ENTRY_ADDRS || !value.addrs.every(a => typeof a === 'string') ||
      typeof value.updatedAt !== 'number') return undefined
    return value as RendezvousEntry
  } catch {
    return undefined
  }
}

export function toPeerInfo (entry: RendezvousEntry): PeerInfo | undefined {
  try {
    const id = peerIdFromString(entry.peerId)
    const multiaddrs = entry.addrs.map(a => multiaddr(a)).map(ma => {
      // Addresses carry /p2p/<id> already; strip it so the dialer can add its own.
      const p2p = ma.getComponents().findIndex(c => c.name === 'p2p')
      return p2p >= 0 ? multiaddr(ma.getComponents().slice(0, p2p)) : ma
    })
    return { id, multiaddrs }
  } catch {
    return undefined
  }
}
