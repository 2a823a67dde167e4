/**
 * clawmesh as an OpenClaw plugin (openclaw 2026.9.6): the Gateway that loads it
 * joins the mesh, announces its sessions and answers the other Gateways'
 * sends; its agents' own `sessions_send` reaches sessions on other Gateways and
 * `sessions_list` shows them (middleware.ts); `mesh_sessions_list` lists them
 * by Gateway.
 *
 * `register()` only registers: OpenClaw calls it several times, some in helper
 * processes. The service (`start` once per Gateway) owns the mesh.
 */
import type { HostConfig, PluginApi, ToolContext } from './host.ts'
import { remoteRows } from './listing.ts'
import { LocalSessions } from './local.ts'
import { beforeSessionsSend, toolResultMiddleware, type HookDeps } from './middleware.ts'
import { RemoteCalls } from './route.ts'
import { MeshService, SERVICE_ID, type MeshSlot } from './service.ts'
import { createListTool, LIST_TOOL } from './tools.ts'
import type { MeshHolder } from './tools.ts'
import { DEFAULT_TIMEOUT_SECONDS } from './config.ts'

export const PLUGIN_ID = 'clawmesh'
export const STATUS_METHOD = 'clawmesh.status'
export const RESTART_METHOD = 'clawmesh.restart'

/** One holder per process, whichever module instance (or `register()` call) the loader hands out. */
const HOLDER_KEY = Symbol.for('clawmesh.openclaw.holder')

interface ProcessState { holder: MeshHolder, calls: RemoteCalls, slot: MeshSlot }

function processState (): ProcessState {
  const g = globalThis as { [HOLDER_KEY]?: Partial<ProcessState> }
  const state = g[HOLDER_KEY] ??= {}
  state.holder ??= { defaultTimeoutSeconds: DEFAULT_TIMEOUT_SECONDS }
  state.calls ??= new RemoteCalls()
  state.slot ??= { stopping: Promise.resolve() }
  return state as ProcessState
}

/** The result middleware registers only for an explicitly enabled plugin; without it a rerouted call would show its note. */
function explicitlyEnabled (cfg: HostConfig): boolean {
  return cfg.plugins?.entries?.[PLUGIN_ID]?.enabled === true
}

function register (api: PluginApi): void {
  const { holder, calls, slot } = processState()
  const config = (): HostConfig => api.runtime.config?.current() ?? api.config
  api.registerTool((ctx: ToolContext) => createListTool(holder, config, ctx), { name: LIST_TOOL })
  const service = new MeshService(holder, slot, api.runtime, api.pluginConfig)
  api.registerService({
    id: SERVICE_ID,
    start: async (ctx) => { await service.start(ctx) },
    stop: async (ctx) => { await service.stop(ctx) }
  })
  // `openclaw gateway call clawmesh.status`: this Gateway's view of the mesh, for people and tests.
  api.registerGatewayMethod?.(STATUS_METHOD, ({ respond }) => {
    const mesh = holder.mesh
    if (mesh === undefined) {
      const failure = slot.owner?.startFailure
      respond(false, undefined, { code: 'UNAVAILABLE', message: `the clawmesh service is not running on this Gateway${failure !== undefined ? `: ${failure}` : ''}` })
      return
    }
    respond(true, { status: mesh.status(), peers: mesh.peers(), sessions: mesh.sessions(), node: slot.owner?.nodeFacts })
  }, { scope: 'operator.read' })
  // `openclaw gateway call clawmesh.restart`: the mesh again, with the key file read anew (rotation, docs/operations.md).
  api.registerGatewayMethod?.(RESTART_METHOD, async ({ respond }) => {
    const owner = slot.owner
    if (owner === undefined) {
      respond(false, undefined, { code: 'UNAVAILABLE', message: 'the clawmesh service is not running on this Gateway' })
      return
    }
    try {
      await owner.restart()
      respond(true, { status: holder.mesh?.status(), node: owner.nodeFacts })
    } catch (err) {
      respond(false, undefined, { code: 'UNAVAILABLE', message: err instanceof Error ? err.message : String(err) })
    }
  }, { scope: 'operator.admin' })

  if (api.registerAgentToolResultMiddleware === undefined || api.on === undefined || !explicitlyEnabled(api.config)) {
    api.logger.warn('clawmesh: sessions_send reaches only this Gateway here (enable the plugin explicitly, plugins.entries.clawmesh.enabled, on OpenClaw 2026.9.6 or later); mesh_sessions_list still lists the other Gateways')
    return
  }
  const deps: HookDeps = {
    outbound: () => {
      const { mesh, detach } = holder
      return mesh === undefined || detach === undefined ? undefined : { mesh, detach, runtime: api.runtime, log: api.logger, config, defaultTimeoutSeconds: holder.defaultTimeoutSeconds }
    },
    local: new LocalSessions(api.runtime, config),
    calls,
    rows: (requesterAgentId, filter) => holder.mesh === undefined ? [] : remoteRows(holder.mesh.sessions(), config(), requesterAgentId, filter),
    log: api.logger
  }
  api.registerAgentToolResultMiddleware(toolResultMiddleware(deps), { runtimes: ['openclaw', 'codex'], matcher: ['sessions_send', 'sessions_list'] })
  api.on('before_tool_call', beforeSessionsSend(deps), { matcher: ['sessions_send'] })
}

const plugin = {
  id: PLUGIN_ID,
  name: 'clawmesh',
  description: 'Several OpenClaw Gateways as one: sessions_send and sessions_list reach the sessions of other Gateways over a libp2p mesh.',
  register
}

export default plugin
