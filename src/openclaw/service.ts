/**
 * The plugin's background service: the only owner of the mesh. OpenClaw calls
 * `start` once per Gateway (and `stop` at shutdown), whereas `register()` runs
 * several times, also in helper processes, so nothing starts anywhere else.
 */
import { AsyncResource } from 'node:async_hooks'
import { createMesh } from '../index.ts'
import { MeshError } from '../errors.ts'
import type { MeshOptions } from '../types.ts'
import { configuredAgentIds, parsePluginConfig } from './config.ts'
import type { HostConfig, HostRuntime, ServiceContext } from './host.ts'
import { inboundHandler } from './inject.ts'
import { SessionSync } from './sessions.ts'
import type { MeshHolder, MeshLike } from './tools.ts'

export const SERVICE_ID = 'clawmesh'

/**
 * A Gateway's event loop stalls for seconds at a time (synchronous SQLite, the start of an
 * agent run; measured up to ~12 s on a busy 2-core machine), so the core's 4.5 s would call a
 * busy peer gone and fail sends to it. A Gateway that stops says goodbye and fails sends at
 * once; only a crashed one takes this long to notice, and a send to it fails on the dial.
 */
export const GATEWAY_PEER_SILENCE_MS = 30_000

export class MeshService {
  private readonly holder: MeshHolder
  private readonly runtime: HostRuntime
  private readonly pluginConfig: Record<string, unknown> | undefined
  private unsubscribe: (() => void) | undefined
  private mesh: MeshLike | undefined

  constructor (holder: MeshHolder, runtime: HostRuntime, pluginConfig: Record<string, unknown> | undefined) {
    this.holder = holder
    this.runtime = runtime
    this.pluginConfig = pluginConfig
  }

  async start (ctx: ServiceContext): Promise<void> {
    if (this.holder.mesh !== undefined) {
      ctx.logger.warn('clawmesh: a mesh is already running in this process; not starting a second one')
      return
    }
    const cfg = parsePluginConfig(this.pluginConfig, ctx.config, ctx.stateDir)
    const runtime = this.runtime
    const hostConfig = (): HostConfig => runtime.config?.current() ?? ctx.config
    const options: MeshOptions & Record<string, unknown> = {
      gatewayPort: cfg.gatewayPort,
      dataDir: cfg.dataDir,
      defaultTimeoutMs: cfg.defaultTimeoutSeconds * 1000,
      peerSilenceMs: GATEWAY_PEER_SILENCE_MS,
      deliver: inboundHandler(runtime, hostConfig),
      ...(cfg.name === undefined ? {} : { name: cfg.name }),
      ...(cfg.listen === undefined ? {} : { listen: cfg.listen }),
      ...(cfg.peers === undefined ? {} : { peers: cfg.peers }),
      ...(cfg.mdns === undefined ? {} : { mdns: cfg.mdns }),
      ...(cfg.policy === undefined ? {} : { policy: cfg.policy }),
      // Issue 3's options: the core ignores what it does not know yet.
      ...(cfg.secret === undefined ? {} : { secret: cfg.secret }),
      ...(cfg.join === undefined ? {} : { join: cfg.join }),
      ...(cfg.relay === undefined ? {} : { relay: cfg.relay }),
      ...(cfg.discovery === undefined ? {} : { discovery: cfg.discovery })
    }
    const mesh: MeshLike = await createMesh(options)
    this.mesh = mesh
    const agentIds = configuredAgentIds(ctx.config)
    const sync = new SessionSync(runtime, mesh, ctx.logger, agentIds)
    if (ctx.gatewayEvents === undefined) {
      ctx.logger.warn('clawmesh: this Gateway offers no session events; sessions created after start are not announced')
    } else {
      this.unsubscribe = ctx.gatewayEvents.onSessionsChanged((event) => { sync.onChanged(event) })
    }
    const count = sync.snapshot(agentIds)
    const status = mesh.status()
    this.holder.mesh = mesh
    // Background work (agent-to-agent exchanges) runs in this context, as inbound deliveries do.
    this.holder.detach = AsyncResource.bind((work: () => Promise<void>): void => {
      work().catch((err: unknown) => { ctx.logger.warn(`clawmesh: background work failed: ${String(err)}`) })
    })
    this.holder.defaultTimeoutSeconds = cfg.defaultTimeoutSeconds
    ctx.logger.info(`clawmesh: joined the mesh as ${status.self.name} (${status.self.peerId}) on ${status.addresses.join(' ')}; announced ${count} sessions`)
  }

  async stop (ctx: ServiceContext): Promise<void> {
    this.unsubscribe?.()
    this.unsubscribe = undefined
    const mesh = this.mesh
    this.mesh = undefined
    if (mesh === undefined) return
    if (this.holder.mesh === mesh) {
      delete this.holder.mesh
      delete this.holder.detach
    }
    try {
      await mesh.stop()
    } catch (err) {
      if (!(err instanceof MeshError && err.code === 'STOPPED')) ctx.logger.warn(`clawmesh: stopping the mesh failed: ${String(err)}`)
    }
    ctx.logger.info('clawmesh: left the mesh')
  }
}
