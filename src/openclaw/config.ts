/**
 * The plugin's config (`plugins.entries.clawmesh.config`), parsed: every
 * `createMesh` option the plugin offers (passed through as it is), or, in
 * `NOT_OFFERED`, why it is not; and the plugin's own settings. The manifest's
 * `configSchema` describes the same fields: test/openclaw/config-schema.test.ts
 * fails when the two drift apart, and the type of `CORE_FIELDS` fails the
 * type-check when the core gains an option the plugin has not classified.
 * Defaults that depend on the Gateway (network scope, port, name) are applied
 * in defaults.ts.
 */
import path from 'node:path'
import { keyringOf } from '../security/keyring.ts'
import type { InboundLimits, MeshOptions, PolicyRule } from '../types.ts'
import { boolean, either, fail, integer, list, literal, nonEmptyString, number, object, type Fields, type Parse } from './config-fields.ts'
import type { HostConfig } from './host.ts'

/** `createMesh` options the plugin does not offer, and why (shown by docs and tests). */
export const NOT_OFFERED = {
  deliver: 'the plugin delivers to OpenClaw sessions itself',
  incarnation: 'derived from the data folder, so a restart is always newer',
  defaultTimeoutMs: 'the plugin offers defaultTimeoutSeconds, in sessions_send\'s unit',
  localFirst: 'local first is OpenClaw\'s own rule: a target this Gateway\'s session store holds never reaches the mesh',
  reachability: 'not offered yet in plugin mode: its default (auto: a relay reservation when AutoNAT finds no public address) applies'
} as const

type NotOfferedKey = keyof typeof NOT_OFFERED
type OfferedKey = Exclude<keyof MeshOptions, NotOfferedKey>

/** The core options the plugin passes to `createMesh` as they are. */
export type OfferedCoreOptions = Pick<MeshOptions, OfferedKey>

export interface PluginConfig extends Omit<OfferedCoreOptions, 'gatewayPort' | 'dataDir'> {
  /** The Gateway's port as peers address it. @default the port the Gateway listens on */
  gatewayPort: number
  /** Peer identity, name and incarnation. @default `<OpenClaw state dir>/clawmesh` */
  dataDir: string
  /** sessions_send's default wait when the model passes no `timeoutSeconds`. @default 30 */
  defaultTimeoutSeconds: number
  /** Who the mesh is for: `host` (Gateways of this machine only) or `lan`. @default from `gateway.bind` (defaults.ts) */
  network?: 'host' | 'lan'
  /** The mesh's TCP port; 0 picks a free one. @default the Gateway's port + 1000 */
  port?: number
  /** Which session keys are announced (patterns with `*`, `!` excludes). @default all but direct-message and cron-run keys */
  announce?: string[]
}

export const DEFAULT_TIMEOUT_SECONDS = 30

const positive = integer(1)
/** Milliseconds for a timer: Node fires a longer `setTimeout`/`setInterval` after 1 ms instead. */
const millis = integer(1, 2_147_483_647)
const strings = list(nonEmptyString)

const rule = object<PolicyRule>({ from: nonEmptyString, sessionKey: nonEmptyString })

/** One key, a keyring's text form, or `{ primary, accept }`; each key is checked, as the mesh would on start. */
const secret: Parse<string | { primary: string, accept?: Array<string | { key: string, label?: string, expiresAt?: string | number }> }> = (v, at) => {
  const parsed = either(
    nonEmptyString,
    object<{ primary: string, accept?: Array<string | { key: string, label?: string, expiresAt?: string | number }> }>({
      primary: nonEmptyString,
      accept: list(either(nonEmptyString, object<{ key: string, label?: string, expiresAt?: string | number }>({
        key: nonEmptyString,
        label: nonEmptyString,
        expiresAt: either(nonEmptyString, integer(0), 'an ISO 8601 time or ms since the epoch')
      }, ['key']), 'a key or { key, label?, expiresAt? }'))
    }, ['primary']),
    'a key (swarm-key text or 64 hex digits), a keyring in text form, or { primary, accept }'
  )(v, at)
  try {
    keyringOf(parsed)
  } catch (err) {
    throw new TypeError(`clawmesh config: ${at} is not a valid secret: ${(err as Error).message}`)
  }
  return parsed
}

/** An invite code from `clawmesh invite` (the core checks the rest when it redeems it). */
const inviteCode: Parse<string> = (v, at) => typeof v === 'string' && v.startsWith('clawmesh-invite:') ? v : fail(at, 'an invite code (clawmesh-invite:…)')

/** The wire versions to speak: some of 1 and 2, each once (the core refuses anything else at start). */
const wireVersions: Parse<Array<1 | 2>> = (v, at) => {
  const versions = list(integer(1, 2))(v, at)
  if (versions.length === 0 || new Set(versions).size !== versions.length) fail(at, 'a list of some of 2, 1, each once')
  return versions as Array<1 | 2>
}

/** Every core option the plugin offers, with its parser. A new `MeshOptions` field fails the type-check here until it is offered or listed in `NOT_OFFERED`. */
const CORE_FIELDS: { [K in OfferedKey]-?: Parse<Exclude<MeshOptions[K], undefined>> } = {
  name: nonEmptyString,
  gatewayPort: integer(1, 65535),
  secret,
  stateDir: nonEmptyString,
  dataDir: nonEmptyString,
  listen: strings,
  peers: strings,
  mdns: boolean,
  discovery: object({
    mdns: either(boolean, object({ intervalMs: millis, announce: boolean, port: integer(1, 65535), ip: nonEmptyString }), 'true, false or { intervalMs?, announce?, port?, ip? }'),
    local: either(boolean, object({ refreshIntervalMs: millis, rescanIntervalMs: millis, staleAfterMs: millis, watch: boolean }), 'true, false or { refreshIntervalMs?, rescanIntervalMs?, staleAfterMs?, watch? }'),
    bootstrap: strings
  }),
  allow: strings,
  inboundLimits: either(literal(false), object<InboundLimits>({ pendingPerHost: positive, maxFailures: positive, failureWindowMs: millis, exempt: strings }), 'false or { pendingPerHost?, maxFailures?, failureWindowMs?, exempt? }'),
  metrics: object({ port: integer(0, 65535), host: nonEmptyString, processMetrics: boolean, page: boolean }, ['port']),
  policy: object({ allow: list(rule), deny: list(rule) }),
  maxMessageBytes: positive,
  unreachableGraceMs: millis,
  antiEntropyIntervalMs: millis,
  heartbeatIntervalMs: millis,
  peerSilenceMs: millis,
  dialTimeoutMs: millis,
  degree: integer(1, 64),
  announcedAddresses: either(literal('reached', 'all'), strings, '"reached", "all" or a list of CIDR ranges'),
  join: inviteCode,
  relay: boolean,
  protocolVersions: wireVersions
}

/** The plugin's own settings. */
const PLUGIN_FIELDS = {
  defaultTimeoutSeconds: number(0, 600),
  network: literal('host', 'lan'),
  port: integer(0, 65535),
  announce: strings
}

/** Every option the config may hold: what the manifest's `configSchema.properties` must list. */
export const CONFIG_FIELDS = { ...CORE_FIELDS, ...PLUGIN_FIELDS }

type RawConfig = Partial<Omit<PluginConfig, 'gatewayPort' | 'dataDir' | 'defaultTimeoutSeconds'>> & { gatewayPort?: number, dataDir?: string, defaultTimeoutSeconds?: number }

const parseRaw = object<RawConfig>(CONFIG_FIELDS as Fields<RawConfig>)

/** The offered core settings of a parsed config, as `createMesh` takes them. */
export function coreOptionsOf (cfg: PluginConfig): OfferedCoreOptions {
  const out: Record<string, unknown> = {}
  for (const key of Object.keys(CORE_FIELDS)) {
    const value = (cfg as unknown as Record<string, unknown>)[key]
    if (value !== undefined) out[key] = value
  }
  return out as OfferedCoreOptions
}

/** The port this Gateway serves on: the Gateway sets `OPENCLAW_GATEWAY_PORT` at startup, whatever set it (`--port`, env, config). */
export function gatewayPortOf (host: HostConfig, env: NodeJS.ProcessEnv = process.env): number {
  const fromEnv = Number.parseInt(env.OPENCLAW_GATEWAY_PORT ?? '', 10)
  if (Number.isInteger(fromEnv) && fromEnv > 0) return fromEnv
  const fromConfig = host.gateway?.port
  if (typeof fromConfig === 'number' && Number.isInteger(fromConfig) && fromConfig > 0) return fromConfig
  return 18789
}

/**
 * Checks the config and fills in what does not depend on the running Gateway: its port, the
 * data folder (relative paths are relative to OpenClaw's state folder) and the default wait.
 * Throws a `TypeError` naming the first option that does not fit.
 */
export function parsePluginConfig (raw: Record<string, unknown> | undefined, host: HostConfig, stateDir: string): PluginConfig {
  const c = parseRaw(raw ?? {}, '')
  return {
    ...c,
    gatewayPort: c.gatewayPort ?? gatewayPortOf(host),
    dataDir: c.dataDir === undefined ? path.join(stateDir, 'clawmesh') : path.resolve(stateDir, c.dataDir),
    ...(c.stateDir === undefined ? {} : { stateDir: path.resolve(stateDir, c.stateDir) }),
    defaultTimeoutSeconds: c.defaultTimeoutSeconds ?? DEFAULT_TIMEOUT_SECONDS
  }
}

/** The configured agent IDs (`agents.entries` keys, legacy `agents.list`), `main` when none are. */
export function configuredAgentIds (host: HostConfig): string[] {
  const ids = new Set<string>()
  for (const id of Object.keys(host.agents?.entries ?? {})) ids.add(id.toLowerCase())
  for (const a of host.agents?.list ?? []) if (typeof a.id === 'string' && a.id !== '') ids.add(a.id.toLowerCase())
  if (ids.size === 0) ids.add('main')
  return [...ids]
}
