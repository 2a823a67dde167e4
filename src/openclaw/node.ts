/**
 * One run of the mesh inside a Gateway, from a parsed config to a node that
 * other Gateways reach and the `clawmesh` CLI can ask: the identity checked
 * (gateway-identity.ts), the defaults applied (defaults.ts), the mesh started
 * (on a free port if the stable one is taken, with a warning), the control
 * socket `<clawmesh state dir>/run/<name>.sock` served as `clawmesh run` serves
 * it, the mesh's events written to OpenClaw's log, and the Gateway's sessions
 * announced and kept in step.
 */
import { createMesh, type Mesh } from '../mesh.ts'
import { serveControl, type ControlHost } from '../control/host.ts'
import { formatKeyring } from '../security/keyring.ts'
import { resolveSecret, resolveStateDir } from '../security/secret.ts'
import { configuredAgentIds, type PluginConfig } from './config.ts'
import { announceFilter, meshOptionsFor, networkPlan, type NetworkPlan } from './defaults.ts'
import { prepareGatewayIdentity, type GatewayIdentity } from './gateway-identity.ts'
import type { HostConfig, HostRuntime, PluginLogger, ServiceContext, ServiceHealth } from './host.ts'
import { inboundHandler } from './inject.ts'
import { logMeshEvents } from './mesh-log.ts'
import { SessionSync } from './sessions.ts'

export interface GatewayNodeInit {
  cfg: PluginConfig
  /** The Gateway's config when the service started. */
  host: HostConfig
  /** The Gateway's current config (it changes while the Gateway runs). */
  hostConfig: () => HostConfig
  runtime: HostRuntime
  log: PluginLogger
  health?: ServiceHealth
  gatewayEvents?: ServiceContext['gatewayEvents']
  /** The Gateway's command line (`--bind`). @default process.argv */
  argv?: readonly string[]
}

export interface GatewayNode {
  mesh: Mesh
  plan: NetworkPlan
  identity: GatewayIdentity
  /** The control socket, when it could be opened. */
  socket?: string
  /** How many sessions were announced at start. */
  announced: number
  stop: () => Promise<void>
}

function addressInUse (err: unknown): boolean {
  return err instanceof Error && /EADDRINUSE/.test(err.message)
}

export async function startGatewayNode (init: GatewayNodeInit): Promise<GatewayNode> {
  const { cfg, log, health } = init
  const stateDir = resolveStateDir(cfg.stateDir !== undefined ? { stateDir: cfg.stateDir } : {})
  // Resolved here, not in createMesh, so the control socket can answer `clawmesh secret`; with an invite
  // code the core redeems it on first start (writing the key file), so the secret is read after that.
  const joining = cfg.join !== undefined && cfg.secret === undefined
  const early = joining ? undefined : await resolveSecret({ ...(cfg.secret !== undefined ? { secret: cfg.secret } : {}), stateDir })
  const identity = await prepareGatewayIdentity({ dataDir: cfg.dataDir, stateDir, gatewayPort: cfg.gatewayPort, ...(cfg.name !== undefined ? { configuredName: cfg.name } : {}) })
  if (identity.copiedFrom !== undefined) {
    log.warn(`clawmesh: ${cfg.dataDir} was copied from ${identity.copiedFrom} (a state folder copied to make another Gateway?): this Gateway gets a peer key and name of its own, so the two do not share one identity` +
      (identity.setAside !== undefined ? `; the copied key is kept as ${identity.setAside}` : ''))
  }
  const plan = networkPlan(cfg, init.host, init.argv)
  const options = { ...meshOptionsFor(cfg, plan, identity.name), ...(early !== undefined ? { secret: formatKeyring(early.keyring) } : {}), stateDir, deliver: inboundHandler(init.runtime, init.hostConfig) }
  let mesh: Mesh
  try {
    mesh = await createMesh(options)
  } catch (err) {
    if (!addressInUse(err) || cfg.port !== undefined || cfg.listen !== undefined) throw err
    log.warn(`clawmesh: the mesh port ${plan.port} is taken by another program; listening on a free port instead, which changes at each start (set port in plugins.entries.clawmesh.config to choose another fixed one)`)
    mesh = await createMesh({ ...options, listen: plan.listen.map(a => a.replace(/\/tcp\/\d+$/, '/tcp/0')) })
  }
  const secret = early ?? await resolveSecret({ stateDir })
  const unlog = logMeshEvents(mesh, log, health)
  let control: ControlHost | undefined
  try {
    control = await serveControl({ mesh, stateDir, name: identity.name, secret, bootstrap: [...(cfg.peers ?? []), ...(cfg.discovery?.bootstrap ?? [])] })
  } catch (err) {
    // The mesh works without it; only the CLI cannot reach this Gateway.
    log.warn(`clawmesh: no control socket for the clawmesh CLI: ${(err as Error).message}`)
  }
  const agentIds = configuredAgentIds(init.host)
  const sync = new SessionSync(init.runtime, mesh, log, agentIds, announceFilter(cfg.announce))
  let unsubscribe: (() => void) | undefined
  if (init.gatewayEvents === undefined) {
    log.warn('clawmesh: this Gateway offers no session events; sessions created after start are not announced')
  } else {
    unsubscribe = init.gatewayEvents.onSessionsChanged((event) => { sync.onChanged(event) })
  }
  const announced = sync.snapshot(agentIds)
  return {
    mesh,
    plan,
    identity,
    ...(control !== undefined ? { socket: control.path } : {}),
    announced,
    stop: async () => {
      unsubscribe?.()
      unlog()
      // The goodbye first (peers' sends to us fail at once from then on), the socket beside it.
      await Promise.all([mesh.stop(), control?.stop()])
    }
  }
}
