/** The registry gossip's options with their defaults filled in. */
import { DEFAULT_ANTI_ENTROPY_INTERVAL_MS, DEFAULT_HEARTBEAT_INTERVAL_MS, DEFAULT_PEER_SILENCE_MS, DEFAULT_UNREACHABLE_GRACE_MS } from '../constants.ts'
import type { RegistryGossipInit } from './types.ts'

/** A pull whose records stop coming for this long moves to another peer. */
const DEFAULT_PULL_TIMEOUT_MS = 2_000

export type GossipOptions = Required<Omit<RegistryGossipInit, 'allow' | 'clock' | 'softwareVersion' | 'protocolVersions'>> & Pick<RegistryGossipInit, 'softwareVersion'>

export function gossipOptions (init: RegistryGossipInit): GossipOptions {
  const grace = init.unreachableGraceMs ?? DEFAULT_UNREACHABLE_GRACE_MS
  return {
    incarnation: init.incarnation,
    gateway: init.gateway,
    heartbeatIntervalMs: init.heartbeatIntervalMs ?? DEFAULT_HEARTBEAT_INTERVAL_MS,
    peerSilenceMs: init.peerSilenceMs ?? DEFAULT_PEER_SILENCE_MS,
    antiEntropyIntervalMs: init.antiEntropyIntervalMs ?? DEFAULT_ANTI_ENTROPY_INTERVAL_MS,
    unreachableGraceMs: grace,
    tombstoneMs: init.tombstoneMs ?? grace * 10,
    pullTimeoutMs: init.pullTimeoutMs ?? DEFAULT_PULL_TIMEOUT_MS,
    ...(init.softwareVersion !== undefined ? { softwareVersion: init.softwareVersion } : {})
  }
}
