/**
 * The registry's Prometheus metrics, registered with libp2p's own metrics
 * (`components.metrics`, e.g. `@libp2p/prometheus-metrics`): each is computed
 * from the gossip's state when scraped, so nothing polls and nothing is kept twice.
 */
import type { GossipView } from './context.ts'
import type { Metrics } from '@libp2p/interface'

export function registerGossipMetrics (metrics: Metrics | undefined, gossip: GossipView): void {
  if (metrics === undefined) return
  const { registry } = gossip
  metrics.registerMetric('clawmesh_peers', { help: 'Linked mesh peers (their registry hello arrived)', calculate: () => gossip.joinedPeers().length })
  metrics.registerMetric('clawmesh_gateways', { help: 'Gateways (origins) in the registry, this one included', calculate: () => registry.originCount })
  metrics.registerMetricGroup('clawmesh_sessions', {
    label: 'owner',
    help: 'Sessions in the registry, by owner (local: this Gateway, remote: others)',
    calculate: () => {
      const local = registry.get(gossip.selfId)?.entries.size ?? 0
      return { local, remote: registry.size - local }
    }
  })
  metrics.registerMetricGroup('clawmesh_registry_records', {
    label: 'result',
    help: 'Registry records from peers since start, by result (applied; rejected: bad signature, malformed or not allowed; redundant: already held)',
    calculate: () => ({ applied: gossip.counters.recordsApplied, rejected: gossip.counters.recordsRejected, redundant: gossip.counters.recordsRedundant })
  })
  metrics.registerMetric('clawmesh_registry_tombstones', { help: 'Dropped Gateways whose last version is kept, so old copies cannot bring them back', calculate: () => registry.tombstones.size })
  metrics.registerMetric('clawmesh_registry_pulls', { help: 'Origins being pulled from a peer right now', calculate: () => gossip.pulls.size })
  metrics.registerMetricGroup('clawmesh_peer_rtt_seconds', {
    label: 'gateway',
    help: 'Last round-trip time to each peer on the registry stream',
    calculate: () => {
      const out: Record<string, number> = {}
      for (const peer of gossip.connectedPeers()) if (peer.rttMs !== undefined) out[peer.name ?? peer.id] = peer.rttMs / 1000
      return out
    }
  })
}
