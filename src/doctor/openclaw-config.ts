/**
 * Where an OpenClaw Gateway on this machine would load clawmesh: its config
 * (`OPENCLAW_CONFIG_PATH`, else `openclaw.json` in `OPENCLAW_STATE_DIR`,
 * `~/.openclaw-<profile>` or `~/.openclaw`), whether the plugin is enabled and
 * allowed, whether its settings pass the plugin's own schema and parser, and
 * whether its secret is this machine's mesh.
 */
import { access, readFile } from 'node:fs/promises'
import { homedir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { multiaddr } from '@multiformats/multiaddr'
import { parsePluginConfig } from '../openclaw/config.ts'
import type { HostConfig } from '../openclaw/host.ts'
import { keyringOf } from '../security/keyring.ts'
import type { MeshSecret } from '../security/secret.ts'
import { check, type Check, type CheckStatus } from './report.ts'

const PLUGIN_ID = 'clawmesh'

export interface OpenClawFindings {
  check: Check
  /** Bootstrap addresses from the plugin's config (`peers`, `discovery.bootstrap`). */
  peers: string[]
  /** The plugin's own secret, when its config sets one. */
  secret?: MeshSecret
}

export function openclawConfigPath (env: NodeJS.ProcessEnv = process.env): string {
  if (env.OPENCLAW_CONFIG_PATH !== undefined && env.OPENCLAW_CONFIG_PATH !== '') return env.OPENCLAW_CONFIG_PATH
  if (env.OPENCLAW_STATE_DIR !== undefined && env.OPENCLAW_STATE_DIR !== '') return join(env.OPENCLAW_STATE_DIR, 'openclaw.json')
  const profile = env.OPENCLAW_PROFILE
  return join(homedir(), profile !== undefined && profile !== '' ? `.openclaw-${profile}` : '.openclaw', 'openclaw.json')
}

/** The option names the plugin's manifest schema accepts (OpenClaw refuses others). */
async function schemaKeys (): Promise<string[] | undefined> {
  try {
    // src/doctor and dist/doctor are both two levels below the package root.
    const manifest = JSON.parse(await readFile(new URL('../../openclaw.plugin.json', import.meta.url), 'utf8')) as { configSchema?: { properties?: Record<string, unknown> } }
    return Object.keys(manifest.configSchema?.properties ?? {})
  } catch {
    return undefined
  }
}

interface Finding { status: CheckStatus, text: string, fix?: string }

type Json = Record<string, unknown>
const obj = (v: unknown): Json | undefined => typeof v === 'object' && v !== null && !Array.isArray(v) ? v as Json : undefined
const strings = (v: unknown): string[] => Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : []

export async function checkOpenClaw (path: string, local: MeshSecret | undefined, env: NodeJS.ProcessEnv = process.env): Promise<OpenClawFindings> {
  const title = 'OpenClaw plugin'
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch {
    return { check: check('openclaw', title, 'skip', `no OpenClaw config at ${path}`), peers: [] }
  }
  let config: Json
  try {
    config = obj(JSON.parse(text)) ?? {}
  } catch {
    return { check: check('openclaw', title, 'warn', `${path} is not plain JSON (comments or trailing commas?), so doctor cannot read it`, '`openclaw config get plugins.entries.clawmesh` shows what OpenClaw reads'), peers: [] }
  }
  const plugins = obj(config.plugins) ?? {}
  const entry = obj(obj(plugins.entries)?.[PLUGIN_ID])
  const findings: Finding[] = []
  const details: string[] = []
  if (plugins.enabled === false) findings.push({ status: 'fail', text: 'plugins are off altogether (plugins.enabled: false)', fix: 'set plugins.enabled to true' })
  if (Array.isArray(plugins.allow) && !strings(plugins.allow).includes(PLUGIN_ID)) findings.push({ status: 'fail', text: 'plugins.allow does not list clawmesh', fix: 'add "clawmesh" to plugins.allow' })
  if (strings(plugins.deny).includes(PLUGIN_ID)) findings.push({ status: 'fail', text: 'plugins.deny lists clawmesh', fix: 'remove "clawmesh" from plugins.deny' })
  for (const p of strings(obj(plugins.load)?.paths)) {
    const folder = resolve(dirname(path), p)
    const manifest = await readFile(join(folder, 'openclaw.plugin.json'), 'utf8').then(t => obj(JSON.parse(t)), () => undefined)
    if (manifest?.id === PLUGIN_ID) details.push(`loaded from ${folder}`)
    else if (!await access(folder).then(() => true, () => false)) findings.push({ status: 'warn', text: `plugins.load.paths lists ${folder}, which does not exist`, fix: 'fix or remove that path' })
  }
  let peers: string[] = []
  let secret: MeshSecret | undefined
  if (entry === undefined) {
    findings.push({ status: 'warn', text: 'clawmesh is not set up (no plugins.entries.clawmesh)', fix: '`openclaw plugins install --link <clawmesh folder>`, or add plugins.entries.clawmesh { "enabled": true } and plugins.load.paths' })
  } else {
    if (entry.enabled === false) findings.push({ status: 'warn', text: 'clawmesh is disabled (plugins.entries.clawmesh.enabled: false)', fix: '`openclaw plugins enable clawmesh`' })
    const raw = obj(entry.config) ?? {}
    const known = await schemaKeys()
    const unknown = known === undefined ? [] : Object.keys(raw).filter(k => !known.includes(k))
    if (unknown.length > 0) findings.push({ status: 'fail', text: `OpenClaw refuses the plugin config: unknown option${unknown.length === 1 ? '' : 's'} ${unknown.join(', ')}`, fix: `remove ${unknown.join(', ')} (the options are listed in docs/openclaw.md)` })
    const stateDir = env.OPENCLAW_STATE_DIR !== undefined && env.OPENCLAW_STATE_DIR !== '' ? env.OPENCLAW_STATE_DIR : dirname(path)
    try {
      const parsed = parsePluginConfig(raw, config as HostConfig, stateDir)
      details.push(`Gateway port ${parsed.gatewayPort}, data folder ${parsed.dataDir}${parsed.name !== undefined ? `, name ${parsed.name}` : ''}`)
      peers = [...(parsed.peers ?? []), ...strings(parsed.discovery?.bootstrap)]
      if (parsed.secret !== undefined) secret = keyringOf(parsed.secret).primary
    } catch (err) {
      findings.push({ status: 'fail', text: `the plugin would not start: ${(err as Error).message}`, fix: 'fix that option in plugins.entries.clawmesh.config' })
    }
    for (const p of peers) {
      try { multiaddr(p) } catch { findings.push({ status: 'fail', text: `peer "${p}" is not a multiaddr`, fix: 'write it as /ip4/<address>/tcp/<port>/p2p/<peer ID>' }) }
    }
    if (secret !== undefined && local !== undefined && secret.meshId !== local.meshId) {
      findings.push({ status: 'fail', text: `its secret is mesh ${secret.meshId}, this machine's is ${local.meshId}: the Gateway and the clawmesh command join different meshes`, fix: 'use one secret: remove `secret` from the plugin config (it then reads the key file) or install it in the key file' })
    }
  }
  const worst = findings.find(f => f.status === 'fail') ?? findings.find(f => f.status === 'warn')
  const summary = `${path}: ${entry === undefined ? 'no clawmesh entry' : entry.enabled === false ? 'clawmesh disabled' : 'clawmesh enabled'}${secret !== undefined ? `, own secret (mesh ${secret.meshId})` : ''}`
  const all = [...details, ...findings.map(f => `${f.status}: ${f.text}`)]
  const result = worst === undefined
    ? check('openclaw', title, 'ok', summary, undefined, all)
    : check('openclaw', title, worst.status, `${summary}; ${worst.text}`, worst.fix, all)
  return { check: result, peers, ...(secret !== undefined ? { secret } : {}) }
}
