/**
 * The plugin's background service: the only owner of the mesh. OpenClaw calls
 * `start` once per Gateway (and `stop` at shutdown), whereas `register()` runs
 * several times, also in helper processes, so nothing starts anywhere else.
 *
 * A change to the plugin's config makes OpenClaw reload the plugin: it stops
 * this service and starts the new registration's, which reads the new config.
 * One mesh runs per process: a start waits for the previous mesh to finish
 * stopping (it holds the port and the control socket), and stops one still
 * running under an older registration, so new settings always take effect.
 * `openclaw gateway call clawmesh.restart` restarts the mesh by hand (after
 * editing the shared key file, which is not part of OpenClaw's config).
 *
 * A mesh that cannot start (a taken name, a peer key in use elsewhere, an
 * invalid setting) leaves the Gateway running on its own: the reason goes to
 * the log and to OpenClaw's health as this service's failure.
 */
import { AsyncResource } from 'node:async_hooks'
import { MeshError } from '../errors.ts'
import { parsePluginConfig } from './config.ts'
import type { HostConfig, HostRuntime, ServiceContext } from './host.ts'
import { startGatewayNode, type GatewayNode } from './node.ts'
import type { MeshHolder } from './tools.ts'

export const SERVICE_ID = 'clawmesh'

/**
 * OpenClaw gives a service 5 s to stop and counts a slower stop as failed cleanup, which fails a
 * plugin reload (the config change then does not apply). The mesh says goodbye first; closing its
 * connections may take longer while the Gateway is busy: that goes on in the background, and the
 * next start waits for it.
 */
export const STOP_BUDGET_MS = 3_000

/** Which service instance runs this process's mesh, and the stop still in progress, across plugin reloads. */
export interface MeshSlot {
  owner?: MeshService
  stopping: Promise<void>
}

/** What `clawmesh.status` adds about the plugin's own node. */
export interface NodeFacts {
  socket?: string
  network: string
  bind: string
  listen: string[]
  dataDir: string
  copiedFrom?: string
}

export class MeshService {
  private readonly holder: MeshHolder
  private readonly slot: MeshSlot
  private readonly runtime: HostRuntime
  private readonly pluginConfig: Record<string, unknown> | undefined
  private node: GatewayNode | undefined
  private facts: NodeFacts | undefined
  private ctx: ServiceContext | undefined
  /** Why the last start failed, until a start succeeds. */
  private failure: string | undefined

  constructor (holder: MeshHolder, slot: MeshSlot, runtime: HostRuntime, pluginConfig: Record<string, unknown> | undefined) {
    this.holder = holder
    this.slot = slot
    this.runtime = runtime
    this.pluginConfig = pluginConfig
  }

  get nodeFacts (): NodeFacts | undefined {
    return this.facts
  }

  get startFailure (): string | undefined {
    return this.failure
  }

  async start (ctx: ServiceContext): Promise<void> {
    this.ctx = ctx
    const previous = this.slot.owner
    if (previous !== undefined && previous !== this) {
      ctx.logger.info('clawmesh: stopping the mesh of the previous plugin load, to start it with the current settings')
      await previous.stop(ctx)
    }
    await this.slot.stopping
    if (this.node !== undefined) return
    this.slot.owner = this
    const runtime = this.runtime
    const hostConfig = (): HostConfig => runtime.config?.current() ?? ctx.config
    let node: GatewayNode
    try {
      const cfg = parsePluginConfig(this.pluginConfig, ctx.config, ctx.stateDir)
      node = await startGatewayNode({ cfg, host: ctx.config, hostConfig, runtime, log: ctx.logger, ...(ctx.serviceHealth !== undefined ? { health: ctx.serviceHealth } : {}), ...(ctx.gatewayEvents !== undefined ? { gatewayEvents: ctx.gatewayEvents } : {}) })
      this.holder.defaultTimeoutSeconds = cfg.defaultTimeoutSeconds
      this.facts = { network: node.plan.scope, bind: node.plan.bind, listen: node.plan.listen, dataDir: cfg.dataDir, ...(node.socket !== undefined ? { socket: node.socket } : {}), ...(node.identity.copiedFrom !== undefined ? { copiedFrom: node.identity.copiedFrom } : {}) }
    } catch (err) {
      // Still the owner: `clawmesh.restart` tries again once the cause is fixed.
      this.failure = err instanceof Error ? err.message : String(err)
      ctx.logger.error(`clawmesh: the mesh did not start, so sessions_send reaches this Gateway's sessions only: ${this.failure}`)
      ctx.serviceHealth?.reportFailure(err)
      return
    }
    this.node = node
    this.failure = undefined
    ctx.serviceHealth?.clearFailure()
    this.holder.mesh = node.mesh
    // Background work (agent-to-agent exchanges) runs in this context, as inbound deliveries do.
    this.holder.detach = AsyncResource.bind((work: () => Promise<void>): void => {
      work().catch((err: unknown) => { ctx.logger.warn(`clawmesh: background work failed: ${String(err)}`) })
    })
    const status = node.mesh.status()
    ctx.logger.info(`clawmesh: joined the mesh as ${status.self.name} (${status.self.peerId}), ${node.plan.scope === 'host' ? 'Gateways of this host only' : 'LAN'}, on ${status.addresses.join(' ')}; announced ${node.announced} sessions` +
      (node.socket !== undefined ? `; \`clawmesh status --node ${status.self.name}\` asks it` : ''))
  }

  async stop (ctx: ServiceContext): Promise<void> {
    const node = this.node
    this.node = undefined
    if (this.slot.owner === this) delete this.slot.owner
    if (node === undefined) return
    if (this.holder.mesh === node.mesh) {
      delete this.holder.mesh
      delete this.holder.detach
    }
    const started = Date.now()
    const stopping = node.stop().then(() => {
      ctx.logger.info(`clawmesh: left the mesh (stopped in ${Date.now() - started} ms)`)
    }, (err: unknown) => {
      if (!(err instanceof MeshError && err.code === 'STOPPED')) ctx.logger.warn(`clawmesh: stopping the mesh failed: ${String(err)}`)
    })
    const before = this.slot.stopping
    this.slot.stopping = Promise.all([before, stopping]).then(() => {})
    let timer: NodeJS.Timeout | undefined
    await Promise.race([stopping, new Promise<void>(resolve => { timer = setTimeout(resolve, STOP_BUDGET_MS) })])
    clearTimeout(timer)
  }

  /** Stops and starts the mesh with this registration's settings, reading the key file again. */
  async restart (): Promise<void> {
    const ctx = this.ctx
    if (ctx === undefined) throw new MeshError('STOPPED', 'the clawmesh service has not started on this Gateway')
    await this.stop(ctx)
    await this.start(ctx)
    if (this.node === undefined) throw new MeshError('STOPPED', 'the mesh did not start again; the Gateway log says why')
  }
}
