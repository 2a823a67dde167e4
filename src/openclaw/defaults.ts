/**
 * The defaults a careful operator would choose for a mesh inside a Gateway
 * (docs/openclaw.md, "Defaults"), from the plugin config and how the Gateway runs:
 *
 * - **who it is for** (`network`): `host`, the Gateways of this machine only,
 *   while the Gateway itself binds to loopback (OpenClaw's default): the mesh
 *   listens on 127.0.0.1, mDNS stays off, and Gateways of this user find each
 *   other through the rendezvous folder. `lan` when the Gateway binds to the
 *   LAN (`gateway.bind` `lan`, `custom`, `tailnet`, or `auto` in a container)
 *   or when configured: the mesh listens where the Gateway does, with mDNS
 *   (not over a tailnet, where multicast does not travel);
 * - **a stable port**: the Gateway's port + 1000, so a firewall rule can name it;
 * - **which sessions are announced**: all but direct-message and cron keys;
 * - a peer silence of 30 s instead of the core's 4.5 s.
 * Anything set in the config wins.
 */
import { existsSync } from 'node:fs'
import { networkInterfaces } from 'node:os'
import { globToRegExp } from '../util/pattern.ts'
import type { MeshOptions } from '../types.ts'
import { coreOptionsOf, type PluginConfig } from './config.ts'
import type { HostConfig } from './host.ts'

export type NetworkScope = 'host' | 'lan'

/**
 * A Gateway's event loop stalls for seconds at a time (synchronous SQLite, the start of an
 * agent run; measured up to ~12 s on a busy 2-core machine), so the core's 4.5 s would call a
 * busy peer gone and fail sends to it. A Gateway that stops says goodbye and fails sends at
 * once; only a crashed or sleeping one takes this long to notice, and a send to it fails on the dial.
 */
export const GATEWAY_PEER_SILENCE_MS = 30_000

/** The mesh port is the Gateway's port plus this (19789 for 18789): clear of the ports OpenClaw derives from its own (+2, +11…+110). */
export const MESH_PORT_OFFSET = 1000

/**
 * Session keys announced by default. Direct-message keys (`agent:<id>:direct:<peer>`,
 * `agent:<id>:<channel>:direct:<peer>`, with an account too) carry users' IDs, and cron-run keys
 * (`agent:<id>:cron:<job>:run:<run>`) are machinery: other Gateways neither see nor reach them
 * until `announce` says so.
 */
export const DEFAULT_ANNOUNCE = ['*', '!agent:*:direct:*', '!agent:*:cron:*']

/** Which keys `announce` lets through: some pattern matches and no `!` pattern does. */
export function announceFilter (patterns: string[] = DEFAULT_ANNOUNCE): (sessionKey: string) => boolean {
  const include = patterns.filter(p => !p.startsWith('!')).map(globToRegExp)
  const exclude = patterns.filter(p => p.startsWith('!')).map(p => globToRegExp(p.slice(1)))
  return key => include.some(r => r.test(key)) && !exclude.some(r => r.test(key))
}

/** How the Gateway binds: `--bind` on its command line wins over `gateway.bind` (OpenClaw passes the flag to no config). */
export function gatewayBind (host: HostConfig, argv: readonly string[] = process.argv): string {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] ?? ''
    if (arg === '--bind' && argv[i + 1] !== undefined) return argv[i + 1] as string
    if (arg.startsWith('--bind=')) return arg.slice('--bind='.length)
  }
  return typeof host.gateway?.bind === 'string' && host.gateway.bind !== '' ? host.gateway.bind : 'loopback'
}

/** OpenClaw's own test for `bind: auto`: it binds to every interface in a container. */
function inContainer (): boolean {
  return existsSync('/.dockerenv') || existsSync('/run/.containerenv')
}

export function scopeOf (bind: string, container = inContainer()): NetworkScope {
  if (bind === 'loopback') return 'host'
  if (bind === 'auto') return container ? 'lan' : 'host'
  return 'lan'
}

/** The Tailscale address (100.64.0.0/10) of this machine, as OpenClaw's `tailnet` bind picks it. */
export function tailnetAddress (interfaces = networkInterfaces()): string | undefined {
  for (const list of Object.values(interfaces)) {
    for (const a of list ?? []) {
      if (a.family !== 'IPv4' || a.internal) continue
      const [first, second] = a.address.split('.').map(Number)
      if (first === 100 && second !== undefined && second >= 64 && second <= 127) return a.address
    }
  }
  return undefined
}

export interface NetworkPlan {
  scope: NetworkScope
  bind: string
  port: number
  listen: string[]
  mdns: boolean
}

/** Where the mesh listens and whether it uses mDNS, unless `listen`/`mdns`/`discovery.mdns` say otherwise. */
export function networkPlan (cfg: PluginConfig, host: HostConfig, argv: readonly string[] = process.argv): NetworkPlan {
  const bind = gatewayBind(host, argv)
  const scope = cfg.network ?? scopeOf(bind)
  const stable = cfg.gatewayPort + MESH_PORT_OFFSET
  const port = cfg.port ?? (stable <= 65535 ? stable : 0)
  const at = (ip: string): string => `/ip4/${ip}/tcp/${port}`
  let listen: string[]
  let mdns = false
  if (scope === 'host') {
    listen = [at('127.0.0.1')]
  } else if (cfg.network === undefined && bind === 'tailnet') {
    // Where the Gateway listens: its tailnet address; the loopback one for this host's Gateways.
    const ip = tailnetAddress()
    listen = ip === undefined ? [at('127.0.0.1')] : [at(ip), at('127.0.0.1')]
  } else if (cfg.network === undefined && bind === 'custom' && typeof host.gateway?.customBindHost === 'string' && !['', '0.0.0.0', '127.0.0.1'].includes(host.gateway.customBindHost)) {
    listen = [at(host.gateway.customBindHost), at('127.0.0.1')]
    mdns = true
  } else {
    listen = [at('0.0.0.0')]
    mdns = true
  }
  return { scope, bind, port, listen: cfg.listen ?? listen, mdns }
}

/** The `createMesh` options of the offered core settings, with the plugin's defaults filled in. */
export function meshOptionsFor (cfg: PluginConfig, plan: NetworkPlan, name: string): MeshOptions {
  const mdnsSet = cfg.mdns !== undefined || cfg.discovery?.mdns !== undefined
  return {
    ...coreOptionsOf(cfg),
    name,
    listen: plan.listen,
    ...(mdnsSet ? {} : { mdns: plan.mdns }),
    peerSilenceMs: cfg.peerSilenceMs ?? GATEWAY_PEER_SILENCE_MS,
    defaultTimeoutMs: cfg.defaultTimeoutSeconds * 1000
  }
}
