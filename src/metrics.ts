/**
 * Prometheus metrics of a running mesh node (served by `./observe/server.ts`).
 *
 * Built only on the public `Mesh` API (status, peers, events), so it works on
 * any mesh. Send and delivery metrics (`clawmesh_sends_total`,
 * `clawmesh_send_duration_seconds`, `clawmesh_deliveries_total`) are registered
 * by the service itself through libp2p's metrics (src/delivery/metrics.ts).
 * `createMesh({ metrics })` also hands the same registry to libp2p
 * (`@libp2p/prometheus-metrics`), so libp2p's own metrics are served alongside.
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client'
import type { MeshEvents, MeshStatus, PeerStatus } from './types.ts'

export interface MetricsInit {
  /** Also export Node.js process metrics (CPU, memory, event loop). @default true */
  processMetrics?: boolean
  /** The prom-client registry to fill (e.g. one shared with libp2p). @default a new one */
  registry?: Registry
}

type MetricEvents = 'peer:rejected'

/** What the metrics read of a mesh (a `Mesh` from `createMesh` has it all). */
export interface MeteredMesh {
  status: () => MeshStatus
  peers: () => PeerStatus[]
  addEventListener: <K extends MetricEvents>(type: K, listener: (event: MeshEvents[K]) => void) => void
  removeEventListener: <K extends MetricEvents>(type: K, listener: (event: MeshEvents[K]) => void) => void
}

export class MeshMetrics {
  readonly registry: Registry
  private readonly mesh: MeteredMesh
  private readonly rejected: Counter
  private readonly onRejected = (): void => { this.rejected.inc() }

  constructor (mesh: MeteredMesh, init: MetricsInit = {}) {
    this.mesh = mesh
    this.registry = init.registry ?? new Registry()
    const registers = [this.registry]
    if (init.processMetrics !== false) collectDefaultMetrics({ register: this.registry })
    const status = (): MeshStatus => mesh.status()
    new Gauge({ name: 'clawmesh_peers', help: 'Connected mesh peers', registers, collect () { this.set(status().peers) } })
    new Gauge({ name: 'clawmesh_gateways', help: 'Gateways (origins) in the registry, this one included', registers, collect () { this.set(status().gateways) } })
    new Gauge({
      name: 'clawmesh_sessions',
      help: 'Sessions in the registry, by owner (local: this Gateway, remote: others)',
      labelNames: ['owner'],
      registers,
      collect () {
        const s = status()
        this.set({ owner: 'local' }, s.localSessions)
        this.set({ owner: 'remote' }, s.sessions - s.localSessions)
      }
    })
    new Gauge({
      name: 'clawmesh_registry_records',
      help: 'Registry records from peers since start, by result (applied; rejected: bad signature or malformed; redundant: already held)',
      labelNames: ['result'],
      registers,
      collect () {
        const c = status().counters
        this.set({ result: 'applied' }, c.deltasApplied)
        this.set({ result: 'rejected' }, c.deltasRejected)
        this.set({ result: 'redundant' }, c.recordsRedundant)
      }
    })
    new Gauge({
      name: 'clawmesh_peer_rtt_seconds',
      help: 'Last round-trip time to each peer on the registry stream',
      labelNames: ['gateway'],
      registers,
      collect () {
        this.reset()
        for (const p of mesh.peers()) if (p.rttMs !== undefined) this.set({ gateway: p.name }, p.rttMs / 1000)
      }
    })
    this.rejected = new Counter({ name: 'clawmesh_rejected_total', help: 'Refused connections and records (wrong secret, not allowed, bad signature)', registers })
  }

  /** Starts counting refusals (the gauges read the mesh when scraped). */
  start (): void {
    this.mesh.addEventListener('peer:rejected', this.onRejected)
  }

  stop (): void {
    this.mesh.removeEventListener('peer:rejected', this.onRejected)
  }
}
