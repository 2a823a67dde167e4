/**
 * Prometheus metrics of a running mesh node (served by `./observe/server.ts`).
 *
 * Built only on the public `Mesh` API (status, peers, events), so it works on
 * any mesh. Send and delivery metrics (`clawmesh_sends_total`,
 * `clawmesh_send_duration_seconds`, `clawmesh_deliveries_total`) and the
 * registry's (`clawmesh_peers`, `clawmesh_gateways`, `clawmesh_sessions`,
 * `clawmesh_registry_*`, `clawmesh_peer_rtt_seconds`) are registered by the
 * services themselves through libp2p's metrics (src/delivery/metrics.ts,
 * src/gossip/metrics.ts).
 * `createMesh({ metrics })` also hands the same registry to libp2p
 * (`@libp2p/prometheus-metrics`), so libp2p's own metrics are served alongside.
 */
import { Counter, Registry, collectDefaultMetrics } from 'prom-client'
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
    // The registry's own metrics (peers, gateways, sessions, records, RTT) are registered by the gossip service itself (src/gossip/metrics.ts).
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
