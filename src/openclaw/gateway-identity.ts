/**
 * A Gateway's mesh identity, guarded against copies. The peer key lives in the
 * OpenClaw state folder (`<state dir>/clawmesh/peer-key`), and copying that
 * folder to make a second profile (the usual way to get a second Gateway)
 * copies the key: two Gateways with one peer ID skip each other in discovery,
 * share one rendezvous entry and replace each other's registry records.
 *
 * So the data folder remembers where it belongs (`gateway.json`: its real
 * path, and the name chosen at first start):
 * - **copied** (it sits elsewhere than it was made): the key is set aside
 *   (`peer-key.copied-<time>`, kept so it can be restored) and a new one made,
 *   with a new name; the copy becomes a Gateway of its own, with a warning.
 * - **in use** (another live process on this host runs a mesh node with this
 *   key: a copy made before this check existed, or two Gateways pointed at one
 *   data folder): which one is the copy cannot be told, so this Gateway does
 *   not join, and says how to fix it (`DuplicatePeerKeyError`).
 *
 * The name chosen at first start (`<host>-<gateway port>`) is kept, so a
 * laptop whose host name changes keeps its mesh name.
 */
import { readdir, readFile, realpath, rename, mkdir, stat } from 'node:fs/promises'
import { hostname } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { privateKeyFromProtobuf } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { DEFAULT_LOCAL_REFRESH_MS, DEFAULT_LOCAL_STALE_MS, type RendezvousEntry } from '../discovery/local.ts'
import { defaultGatewayName } from '../routing/address.ts'
import { writeFileAtomic } from '../util/atomic-write.ts'

const KEY_FILE = 'peer-key'
const MARKER_FILE = 'gateway.json'

/** Another live process on this host runs a mesh node with this Gateway's peer key. */
export class DuplicatePeerKeyError extends Error {
  override name = 'DuplicatePeerKeyError'
  readonly peerId: string
  readonly pid: number
  constructor (peerId: string, pid: number, keyPath: string) {
    super(`another process on this host (pid ${pid}) runs a mesh node with this Gateway's peer key ${keyPath} (peer ID ${peerId}): ` +
      'two Gateways with one peer ID cannot both be reached, so this one does not join the mesh. ' +
      `Fix: if pid ${pid} is another Gateway made by copying this one's state folder, stop this Gateway, move ${keyPath} away (a new key is made at the next start) and start it again; ` +
      'if both Gateways set the same clawmesh dataDir, give each its own')
    this.peerId = peerId
    this.pid = pid
  }
}

export interface IdentityInit {
  /** The Gateway's data folder (`<OpenClaw state dir>/clawmesh` by default). */
  dataDir: string
  /** The clawmesh state folder, whose rendezvous entries show which peer IDs run on this host. */
  stateDir: string
  gatewayPort: number
  /** `name` from the plugin config, if set. */
  configuredName?: string
  /** How long to watch a suspicious rendezvous entry for a refresh. @default the local discovery refresh interval */
  refreshWaitMs?: number
}

export interface GatewayIdentity {
  /** The mesh name to use. */
  name: string
  /** Set when this data folder was copied from `from` and got a new key (and name). */
  copiedFrom?: string
  /** Where the copied key was set aside. */
  setAside?: string
}

interface Marker { boundTo: string, name?: string }

async function readMarker (dataDir: string): Promise<Marker | undefined> {
  try {
    const parsed = JSON.parse(await readFile(join(dataDir, MARKER_FILE), 'utf8')) as Partial<Marker>
    if (typeof parsed.boundTo !== 'string') return undefined
    return { boundTo: parsed.boundTo, ...(typeof parsed.name === 'string' && parsed.name !== '' ? { name: parsed.name } : {}) }
  } catch {
    return undefined
  }
}

async function exists (path: string): Promise<boolean> {
  return await stat(path).then(() => true, () => false)
}

function alive (pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** Rendezvous entries (any mesh) under `peerId` written by another live process and refreshed lately. */
async function foreignEntries (stateDir: string, peerId: string): Promise<Array<{ path: string, entry: RendezvousEntry }>> {
  const root = join(stateDir, 'rendezvous')
  const meshes = await readdir(root).catch(() => [])
  const found: Array<{ path: string, entry: RendezvousEntry }> = []
  for (const mesh of meshes) {
    const path = join(root, mesh, `${peerId}.json`)
    try {
      const entry = JSON.parse(await readFile(path, 'utf8')) as RendezvousEntry
      if (entry.peerId !== peerId || typeof entry.pid !== 'number' || entry.pid === process.pid) continue
      if (Date.now() - entry.updatedAt > DEFAULT_LOCAL_STALE_MS || !alive(entry.pid)) continue
      found.push({ path, entry })
    } catch {
      // No entry, or a partial one: nothing runs there under this peer ID.
    }
  }
  return found
}

/**
 * Whether another live process runs under `peerId`: an entry fresh enough and a live PID could
 * be a crashed node's whose PID was reused, so the entry must also be refreshed while we watch.
 */
async function runningElsewhere (stateDir: string, peerId: string, waitMs: number): Promise<number | undefined> {
  const first = await foreignEntries(stateDir, peerId)
  if (first.length === 0) return undefined
  const deadline = Date.now() + waitMs
  for (;;) {
    for (const { path, entry } of first) {
      const now = await readFile(path, 'utf8').then(t => JSON.parse(t) as RendezvousEntry, () => undefined)
      if (now !== undefined && now.pid === entry.pid && now.updatedAt > entry.updatedAt && alive(now.pid)) return now.pid
    }
    if (Date.now() >= deadline) return undefined
    await sleep(Math.min(500, waitMs))
  }
}

/** Checks the data folder before the mesh starts (see the module comment); returns the name to use. */
export async function prepareGatewayIdentity (init: IdentityInit): Promise<GatewayIdentity> {
  const { dataDir } = init
  await mkdir(dataDir, { recursive: true, mode: 0o700 })
  const here = await realpath(dataDir)
  const keyPath = join(dataDir, KEY_FILE)
  let marker = await readMarker(dataDir)
  const result: Partial<GatewayIdentity> = {}
  if (marker !== undefined && marker.boundTo !== here) {
    // A copy: its key and name are the original's.
    if (await exists(keyPath)) {
      const setAside = `${keyPath}.copied-${new Date().toISOString().replace(/[:.]/g, '-')}`
      await rename(keyPath, setAside)
      result.setAside = setAside
    }
    result.copiedFrom = marker.boundTo
    marker = undefined
  } else if (await exists(keyPath)) {
    const peerId = peerIdFromPrivateKey(privateKeyFromProtobuf(await readFile(keyPath))).toString()
    const pid = await runningElsewhere(init.stateDir, peerId, init.refreshWaitMs ?? DEFAULT_LOCAL_REFRESH_MS + 1_000)
    if (pid !== undefined) throw new DuplicatePeerKeyError(peerId, pid, keyPath)
  }
  const chosen = marker?.name ?? defaultGatewayName(hostname(), String(init.gatewayPort))
  const next: Marker = { boundTo: here, name: chosen }
  if (marker?.boundTo !== next.boundTo || marker.name !== next.name) await writeFileAtomic(join(dataDir, MARKER_FILE), JSON.stringify(next) + '\n', { mode: 0o600 })
  return { ...result, name: init.configuredName ?? chosen }
}
