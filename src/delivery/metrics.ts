/**
 * Delivery metrics, registered through libp2p's metrics component (so they are
 * served wherever the node's metrics are, e.g. `@libp2p/prometheus-metrics`),
 * and updated as sends and deliveries happen: nothing polls.
 */
import type { Metrics, CounterGroup, HistogramGroup } from '@libp2p/interface'
import type { SendOutcome } from '../types.ts'

export class DeliveryMetrics {
  private readonly sends?: CounterGroup
  private readonly durations?: HistogramGroup
  private readonly deliveries?: CounterGroup

  constructor (metrics: Metrics | undefined) {
    if (metrics === undefined) return
    this.sends = metrics.registerCounterGroup('clawmesh_sends_total', { label: 'outcome', help: 'Sends, by outcome (ok, accepted, or the MeshError code)' })
    this.durations = metrics.registerHistogramGroup('clawmesh_send_duration_seconds', {
      label: 'outcome',
      help: 'Send latency, by outcome',
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]
    })
    this.deliveries = metrics.registerCounterGroup('clawmesh_deliveries_total', { label: 'result', help: 'Messages received from other Gateways, by result (delivered: handed to a session; duplicate: a retry answered from the dedup window)' })
  }

  sent (outcome: SendOutcome['outcome'], durationMs: number): void {
    this.sends?.increment({ [outcome]: true })
    this.durations?.observe({ [outcome]: durationMs / 1000 })
  }

  received (duplicate: boolean): void {
    this.deliveries?.increment({ [duplicate ? 'duplicate' : 'delivered']: true })
  }
}
