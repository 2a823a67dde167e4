/**
 * The slice of the OpenClaw plugin API (openclaw 2026.9.6) that the clawmesh
 * plugin uses, typed structurally so the package does not depend on `openclaw`.
 * Field names and shapes follow `dist/agent-harness-runtime-*.d.ts`
 * (`OpenClawPluginApi`, `OpenClawPluginServiceContext`, `PluginRuntime`) and
 * `dist/hook-runner-global-*.d.ts` (`PluginHookToolContext`).
 */

export interface PluginLogger {
  info: (message: string) => void
  warn: (message: string) => void
  error: (message: string) => void
  debug?: (message: string) => void
}

/** The parts of `OpenClawConfig` we read. */
export interface HostConfig {
  gateway?: { port?: number, bind?: string, customBindHost?: string }
  agents?: {
    entries?: Record<string, unknown>
    list?: Array<{ id?: string, default?: boolean }>
  }
  session?: { mainKey?: string }
  tools?: {
    sessions?: { visibility?: unknown }
    agentToAgent?: { enabled?: unknown, allow?: unknown }
  }
  plugins?: { entries?: Record<string, { enabled?: unknown } | undefined> }
}

/** `SessionEntry` fields we read. */
export interface HostSessionEntry {
  sessionId?: string
  label?: string
  displayName?: string
  archivedAt?: number | string
}

export interface SessionsChangedEvent {
  sessionKey: string
  agentId?: string
  label?: string
  displayName?: string
  reason?: string
  phase?: string
}

export interface AgentWaitResult {
  status: 'ok' | 'error' | 'timeout' | 'pending'
  error?: string
  terminalReply?: { disposition: 'visible', text: string } | { disposition: 'silent' | 'empty' }
  timeoutPhase?: string
  pendingError?: boolean
  endedAt?: number
  stopReason?: string
  livenessState?: string
}

export interface HostRuntime {
  config?: { current: () => HostConfig }
  agent: {
    session: {
      listSessionEntries: (params?: { agentId?: string }) => Array<{ sessionKey: string, entry: HostSessionEntry }>
      getSessionEntry: (params: { agentId?: string, sessionKey: string }) => HostSessionEntry | undefined
    }
  }
  subagent: {
    run: (params: {
      sessionKey: string
      message: string
      deliver?: boolean
      extraSystemPrompt?: string
      lane?: string
      idempotencyKey?: string
    }) => Promise<{ runId: string, sessionKey?: string }>
    waitForRun: (params: { runId: string, timeoutMs?: number }) => Promise<AgentWaitResult>
    getSessionMessages: (params: { sessionKey: string, limit?: number }) => Promise<{ messages: unknown[] }>
  }
}

/** `OpenClawPluginServiceHealth`: a failure shows in `openclaw health` and `plugins.list` until cleared. */
export interface ServiceHealth {
  reportFailure: (error: unknown) => void
  clearFailure: () => void
}

export interface ServiceContext {
  config: HostConfig
  stateDir: string
  logger: PluginLogger
  serviceHealth?: ServiceHealth
  gatewayEvents?: {
    onSessionsChanged: (handler: (event: SessionsChangedEvent) => void) => () => void
  }
}

export interface ToolContext {
  agentId?: string
  sessionKey?: string
  sessionId?: string
}

export interface ToolResult {
  content: Array<{ type: 'text', text: string }>
  details: unknown
}

export interface HostTool {
  name: string
  label?: string
  description: string
  parameters: Record<string, unknown>
  execute: (toolCallId: string, params: Record<string, unknown>, signal?: AbortSignal) => Promise<ToolResult>
}

/** `PluginHookBeforeToolCallEvent`. */
export interface BeforeToolCallEvent {
  toolName: string
  params: Record<string, unknown>
  runId?: string
  toolCallId?: string
}

/** `PluginHookToolContext`: who is calling. */
export interface HookToolContext {
  agentId?: string
  sessionKey?: string
  sessionId?: string
  runId?: string
  toolCallId?: string
  channelId?: string
}

export type BeforeToolCallResult = { params: Record<string, unknown> } | { block: true, blockReason: string } | undefined

/** `AgentToolResultMiddlewareEvent`: `args` are the params as `before_tool_call` left them. */
export interface ToolResultEvent {
  toolCallId: string
  toolName: string
  args: Record<string, unknown>
  isError?: boolean
  result: { content: unknown[], details?: unknown }
}

/** `AgentToolResultMiddlewareContext`. */
export interface ToolResultContext {
  runtime: string
  agentId?: string
  sessionId?: string
  sessionKey?: string
  runId?: string
}

export type ToolResultMiddleware = (event: ToolResultEvent, ctx: ToolResultContext) => Promise<{ result: ToolResult } | undefined>

export interface PluginApi {
  id: string
  registrationMode?: string
  config: HostConfig
  pluginConfig?: Record<string, unknown>
  runtime: HostRuntime
  logger: PluginLogger
  registerTool: (tool: HostTool | ((ctx: ToolContext) => HostTool | null | undefined), opts?: { name?: string }) => void
  registerService: (service: {
    id: string
    start: (ctx: ServiceContext) => void | Promise<void>
    stop?: (ctx: ServiceContext) => void | Promise<void>
  }) => void
  registerGatewayMethod?: (
    method: string,
    handler: (opts: { params: Record<string, unknown>, respond: (ok: boolean, payload?: unknown, error?: { code: string, message: string }) => void }) => void | Promise<void>,
    opts?: { scope?: 'operator.read' | 'operator.write' | 'operator.admin' }
  ) => void
  on?: (
    hook: 'before_tool_call',
    handler: (event: BeforeToolCallEvent, ctx: HookToolContext) => BeforeToolCallResult | Promise<BeforeToolCallResult>,
    opts?: { matcher?: string[] }
  ) => void
  /** Needs `contracts.agentToolResultMiddleware` in the manifest and the plugin explicitly enabled. */
  registerAgentToolResultMiddleware?: (handler: ToolResultMiddleware, options?: { runtimes?: string[], matcher?: string[] }) => void
}
