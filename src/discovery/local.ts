/**
 * Local discovery: Gateways on one host find each other with no multicast at
 * all (containers, WSL and corporate laptops often block it).
 *
 * Each running node keeps a small file `<dir>/<peerId>.json`
 * (`{ peerId, pid, addrs, updatedAt }`, loopback addresses only) in a
 * rendezvous folder `<stateDir>/rendezvous/<meshId>/`, refreshes it every few
 * seconds and removes it on stop. Every node watches the folder (`fs.watch`,
 * with a slow rescan as a fallback for file systems without notifications)
 * and emits a libp2p `peer` event for each other entry, exactly like
 * `@libp2p/mdns`, so it plugs into libp2p as a peer-discovery service.
 * Entries of dead processes (`kill(pid, 0)` says ESRCH) or not refreshed for
 * `staleAfterMs` are deleted by whoever sees them first.
 *
 * PIDs are checked with `kill(pid, 0)`, which assumes one PID namespace: if
 * containers share a state directory across PID namespaces, a live entry may
 * look dead (and be deleted, then rewritten by its owner at the next refresh)
 * or a dead one alive until `staleAfterMs`. Give each container its own state
 * directory (`CLAWMESH_HOME`) or rely on mDNS/bootstrap there.
 *
 * The folder is per user (the state directory is mode 0700) and per mesh
 * (the mesh ID is derived from the secret), so meshes never see each other's
 * entries. Entries are hints, not credentials: a dial still needs the secret.
 */

import { watch, type FSWatcher } from 'node:fs'
import { mkdir, readdir, unlink } from 'node:fs/promises'
import { join } from 'node:path'
import { peerDiscoverySymbol, serviceCapabilities, TypedEventEmitter } from '@libp2p/interface'
import { writeFileAtomic } from '../util/atomic-write.ts'
import { isAlive, localAddrs, readEntry, rendezvousDir, toPeerInfo, type RendezvousEntry } from './rendezvous-entry.ts'
import type { LocalDiscoveryOptions } from '../types.ts'
import type { Multiaddr } from '@multiformats/multiaddr'
import type { ComponentLogger, Logger, PeerDiscovery, PeerDiscoveryEvents, PeerId, Startable, TypedEventTarget, Libp2pEvents } from '@libp2p/interface'

export { isAlive, readEntry, rendezvousDir, type RendezvousEntry } from './rendezvous-entry.ts'

/** Rewrite our entry this often so others can tell we are alive. */
export const DEFAULT_LOCAL_REFRESH_MS = 5_000
/** Rescan the folder this often in case a watch notification was missed; also re-announces live peers. */
export const DEFAULT_LOCAL_RESCAN_MS = 3_000
/** An entry not refreshed for this long belongs to a hung or vanished process: several missed refreshes. */
export const DEFAULT_LOCAL_STALE_MS = 30_000
/** Notifications arrive in bursts (create + write + rename): scan once per burst. */
const SCAN_DEBOUNCE_MS = 10

/** `LocalDiscoveryOptions` (the public option, see types.ts) plus what `createMesh` derives. */
export interface LocalDiscoveryInit extends LocalDiscoveryOptions {
  /** The state directory; the rendezvous folder is `<stateDir>/rendezvous/<meshId>/`. */
  stateDir: string
  /** The public mesh ID (see `MeshSecret.meshId`). */
  meshId: string
}

export interface LocalDiscoveryComponents {
  peerId: PeerId
  addressManager: { getAddresses: () => Multiaddr[] }
  logger: ComponentLogger
  events: TypedEventTarget<Libp2pEvents>
}

/** `services: { local: localDiscovery({ stateDir, meshId }) }` in `createLibp2p`. */
export function localDiscovery (init: LocalDiscoveryInit): (components: LocalDiscoveryComponents) => LocalDiscovery {
  return (components) => new LocalDiscovery(components, init)
}

export class LocalDiscovery extends TypedEventEmitter<PeerDiscoveryEvents> implements PeerDiscovery, Startable {
  readonly [peerDiscoverySymbol] = this
  readonly [Symbol.toStringTag] = 'clawmesh:local-discovery'
  readonly [serviceCapabilities]: string[] = ['@libp2p/peer-discovery']

  /** The rendezvous folder this node uses. */
  readonly dir: string
  private readonly components: LocalDiscoveryComponents
  private readonly init: LocalDiscoveryInit
  private readonly log: Logger
  private readonly ownFile: string
  /** What we last announced for each peer, to emit only on change (between rescans). */
  private readonly known = new Map<string, string>()
  private watcher?: FSWatcher
  private refreshTimer?: ReturnType<typeof setInterval>
  private rescanTimer?: ReturnType<typeof setInterval>
  private scanTimer?: ReturnType<typeof setTimeout>
  private scanning?: Promise<void>
  private rescanPending = false
  /** A whole-folder read is due (a rescan, or a change the watcher could not name). */
  private fullScanPending = false
  /**
   * Entries the watcher saw change since the last scan: only these are read. Every Gateway rewrites its entry
   * every few seconds, so reading the whole folder on each change costs O(n²) file reads per refresh period
   * (50 Gateways on one host: ~500 opens a second each).
   */
  private readonly changed = new Set<string>()
  private writing: Promise<void> = Promise.resolve()
  private started = false

  constructor (components: LocalDiscoveryComponents, init: LocalDiscoveryInit) {
    super()
    this.components = components
    this.init = init
    this.log = components.logger.forComponent('clawmesh:discovery:local')
    this.dir = rendezvousDir(init.stateDir, init.meshId)
    this.ownFile = join(this.dir, `${components.peerId.toString()}.json`)
    this.onSelfUpdate = this.onSelfUpdate.bind(this)
  }

  isStarted (): boolean {
    return this.started
  }

  async start (): Promise<void> {
    if (this.started) return
    this.started = true
    await mkdir(this.dir, { recursive: true, mode: 0o700 })
    if (this.init.watch !== false) this.startWatching()
    // Our addresses appear when a transport starts listening (which may finish after our afterStart) and change later.
    this.components.events.addEventListener('transport:listening', this.onSelfUpdate)
    this.components.events.addEventListener('self:peer:update', this.onSelfUpdate)
  }

  /** Write our entry (if the transports listen already) and scan now. */
  async afterStart (): Promise<void> {
    // Our entry and the first scan side by side: dialling what we find needs no entry of ours.
    const written = this.writeOwn()
    this.refreshTimer = setInterval(() => { this.writeOwn().catch(err => { this.log.error('could not refresh %s - %e', this.ownFile, err) }) }, this.init.refreshIntervalMs ?? DEFAULT_LOCAL_REFRESH_MS)
    this.rescanTimer = setInterval(() => { this.scheduleScan(true) }, this.init.rescanIntervalMs ?? DEFAULT_LOCAL_RESCAN_MS)
    this.refreshTimer.unref()
    this.rescanTimer.unref()
    await Promise.all([written, this.scan(true)])
  }

  async beforeStop (): Promise<void> {
    this.components.events.removeEventListener('transport:listening', this.onSelfUpdate)
    this.components.events.removeEventListener('self:peer:update', this.onSelfUpdate)
  }

  async stop (): Promise<void> {
    if (!this.started) return
    this.started = false
    this.watcher?.close()
    this.watcher = undefined
    clearInterval(this.refreshTimer)
    clearInterval(this.rescanTimer)
    clearTimeout(this.scanTimer)
    await this.scanning?.catch(() => {})
    await this.writing.catch(() => {})
    await unlink(this.ownFile).catch(() => {})
    this.known.clear()
  }

  private onSelfUpdate (): void {
    this.writeOwn().catch(err => { this.log.error('could not update %s - %e', this.ownFile, err) })
  }

  private startWatching (): void {
    try {
      this.watcher = watch(this.dir, { persistent: false }, (_event, name) => {
        if (name == null) this.scheduleScan(false)
        else if (name.endsWith('.json') && !name.startsWith('.')) this.scheduleScan(false, name)
      })
      this.watcher.on('error', (err) => {
        this.log.error('watching %s failed, falling back to rescans - %e', this.dir, err)
        this.watcher?.close()
        this.watcher = undefined
      })
    } catch (err) {
      this.log.error('cannot watch %s, relying on rescans - %e', this.dir, err)
    }
  }

  /** A scan soon: of the entry `name` only, or of the whole folder (`announceAll`: announcing every live entry). */
  private scheduleScan (announceAll: boolean, name?: string): void {
    if (!this.started) return
    if (announceAll) this.rescanPending = true
    if (name !== undefined) this.changed.add(name)
    else this.fullScanPending = true
    if (this.scanTimer != null) return
    this.scanTimer = setTimeout(() => {
      this.scanTimer = undefined
      const all = this.rescanPending
      const only = this.fullScanPending || all ? undefined : [...this.changed]
      this.rescanPending = false
      this.fullScanPending = false
      this.changed.clear()
      this.scan(all, only).catch(err => { this.log.error('scanning %s failed - %e', this.dir, err) })
    }, SCAN_DEBOUNCE_MS)
  }

  /** Read every entry (or those named in `only`); emit `peer` for new or changed ones (or all live ones when `announceAll`). */
  private async scan (announceAll: boolean, only?: string[]): Promise<void> {
    // One scan at a time; a request arriving meanwhile runs after it.
    while (this.scanning != null) await this.scanning.catch(() => {})
    if (!this.started) return
    this.scanning = this.doScan(announceAll, only)
    try {
      await this.scanning
    } finally {
      this.scanning = undefined
    }
  }

  private async doScan (announceAll: boolean, only?: string[]): Promise<void> {
    if (only !== undefined) {
      await this.readEntries(only, announceAll)
      return
    }
    let names: string[]
    try {
      names = await readdir(this.dir)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') {
        // Someone removed the folder: recreate it and our entry.
        await mkdir(this.dir, { recursive: true, mode: 0o700 })
        await this.writeOwn()
        if (this.init.watch !== false) { this.watcher?.close(); this.startWatching() }
        return
      }
      throw err
    }
    const seen = await this.readEntries(names, announceAll)
    for (const id of this.known.keys()) if (!seen.has(id)) this.known.delete(id)
  }

  /** Reads the entries `names` (others' `.json` files); emits `peer` for new or changed ones. Returns the live ones' IDs. */
  private async readEntries (names: string[], announceAll: boolean): Promise<Set<string>> {
    const self = this.components.peerId.toString()
    const seen = new Set<string>()
    for (const name of names) {
      if (!name.endsWith('.json') || name.startsWith('.')) continue
      const id = name.slice(0, -'.json'.length)
      if (id === self) continue
      const path = join(this.dir, name)
      const entry = await readEntry(path)
      if (entry == null || entry.peerId !== id) {
        this.known.delete(id) // removed (or unreadable): announced afresh if it comes back
        continue
      }
      const stale = this.staleReason(entry)
      if (stale != null) {
        this.log('removing stale entry of %s: %s', id, stale)
        await unlink(path).catch(() => {})
        this.known.delete(id)
        continue
      }
      seen.add(id)
      const peer = toPeerInfo(entry)
      if (peer == null) continue
      const fingerprint = `${entry.pid}|${entry.addrs.join(',')}`
      if (announceAll || this.known.get(id) !== fingerprint) {
        this.known.set(id, fingerprint)
        if (!this.started) return seen
        this.log('found %p at %s', peer.id, entry.addrs.join(' '))
        this.safeDispatchEvent('peer', { detail: peer })
      }
    }
    return seen
  }

  private staleReason (entry: RendezvousEntry): string | undefined {
    if (!isAlive(entry.pid)) return `process ${entry.pid} is gone`
    const age = Date.now() - entry.updatedAt
    if (age > (this.init.staleAfterMs ?? DEFAULT_LOCAL_STALE_MS)) return `not refreshed for ${Math.round(age / 1000)} s`
    return undefined
  }

  /** Write our entry; writes are serialized (the last one written is the newest). */
  private async writeOwn (): Promise<void> {
    const next = this.writing.catch(() => {}).then(async () => { await this.doWriteOwn() })
    this.writing = next
    await next
  }

  /** Write our entry atomically (temporary name, then rename), so readers never see half a file. */
  private async doWriteOwn (): Promise<void> {
    if (!this.started) return
    const entry: RendezvousEntry = {
      peerId: this.components.peerId.toString(),
      pid: process.pid,
      addrs: localAddrs(this.components.addressManager.getAddresses()),
      updatedAt: Date.now()
    }
    if (entry.addrs.length === 0) {
      this.log('no addresses to leave in %s yet', this.dir)
      return
    }
    // Entries are hints, rewritten every few seconds: no fsync.
    const write = async (): Promise<boolean> => await writeFileAtomic(this.ownFile, JSON.stringify(entry), { mode: 0o600, durable: false })
    try {
      await write()
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
      await mkdir(this.dir, { recursive: true, mode: 0o700 })
      await write()
    }
    // Stopped while writing: do not leave the entry behind.
    if (!this.started) await unlink(this.ownFile).catch(() => {})
  }
}

