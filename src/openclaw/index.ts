/**
 * clawmesh as an OpenClaw plugin (openclaw 2026.9.6): the Gateway that loads it
 * joins the mesh, announces its sessions, lets its agents send to sessions on
 * other Gateways (`mesh_sessions_send`, `mesh_sessions_list`) and answers theirs.
 *
 * `register()` only registers: OpenClaw calls it several times, some in helper
 * processes. The service (`start` once per Gateway) owns the mesh.
 */
import type { PluginApi, ToolContext } from './host.ts'
import { MeshService, SERVICE_ID } from './service.ts'
import { createListTool, createSendTool, LIST_TOOL, SEND_TOOL } from './tools.ts'
import type { MeshHolder } from './tools.ts'
import { DEFAULT_TIMEOUT_SECONDS } from './config.ts'

export const PLUGIN_ID = 'clawmesh'
export const STATUS_METHOD = 'clawmesh.status'

/** One holder per process, whichever module instance the loader hands out. */
const HOLDER_KEY = Symbol.for('clawmesh.openclaw.holder')

function holder (): MeshHolder {
  const g = globalThis as { [HOLDER_KEY]?: MeshHolder }
  g[HOLDER_KEY] ??= { defaultTimeoutSeconds: DEFAULT_TIMEOUT_SECONDS }
  return g[HOLDER_KEY]
}

function register (api: PluginApi): void {
  const h = holder()
  api.registerTool((ctx: ToolContext) => createSendTool(h, api.runtime, ctx), { name: SEND_TOOL })
  api.registerTool(() => createListTool(h), { name: LIST_TOOL })
  const service = new MeshService(h, api.runtime, api.pluginConfig)
  api.registerService({
    id: SERVICE_ID,
    start: async (ctx) => { await service.start(ctx) },
    stop: async (ctx) => { await service.stop(ctx) }
  })
  // `openclaw gateway call clawmesh.status`: this Gateway's view of the mesh, for people and tests.
  api.registerGatewayMethod?.(STATUS_METHOD, ({ respond }) => {
    const mesh = h.mesh
    if (mesh === undefined) {
      respond(false, undefined, { code: 'UNAVAILABLE', message: 'the clawmesh service is not running on this Gateway' })
      return
    }
    respond(true, { status: mesh.status(), peers: mesh.peers(), sessions: mesh.sessions() })
  }, { scope: 'operator.read' })
  // A Gateway-qualified key given to the built-in sessions_send would fail as "not found": point the model at our tool.
  api.on?.('before_tool_call', (event) => {
    const key = event.params.sessionKey
    if (event.toolName !== 'sessions_send' || typeof key !== 'string' || !key.startsWith('gateway:')) return undefined
    return { block: true, blockReason: `sessions_send only reaches sessions on this Gateway. Use ${SEND_TOOL} with the same arguments for ${key}.` }
  }, { matcher: ['sessions_send'] })
}

const plugin = {
  id: PLUGIN_ID,
  name: 'clawmesh',
  description: 'Several OpenClaw Gateways as one: agents send to sessions on other Gateways (mesh_sessions_send) over a libp2p mesh.',
  register
}

export default plugin
