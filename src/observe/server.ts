/**
 * The one small HTTP server of the library: Prometheus metrics (`/metrics`) and,
 * beside them, a read-only live page of the mesh (`/`, its script and style) with the
 * JSON it polls (`/mesh.json`).
 *
 * Node's own `http` is enough for five fixed GET routes; a framework would add more
 * than it saves. What the page shows (names, keys, labels) is chosen by other
 * Gateways, so the page renders it as text only, and this server forbids everything
 * else: a Content-Security-Policy without inline script, GET and HEAD only, and for
 * the page and its JSON a Host header that names this machine (a web site the viewer
 * visits cannot read them through DNS rebinding).
 */
import { readFile } from 'node:fs/promises'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { isIP } from 'node:net'
import type { Registry } from 'prom-client'
import type { MeshSnapshot } from './snapshot.ts'

export interface ObserveServerInit {
  /** TCP port; 0 picks a free one. */
  port: number
  /** @default '127.0.0.1' */
  host?: string
  /** Served on `/metrics`. */
  registry: Registry
  /** Serves the page and `/mesh.json` from these snapshots; without it, only `/metrics`. */
  snapshot?: () => MeshSnapshot
}

/** The page's files, in `web/` at the package root (beside `src/` in a checkout, `dist/` when installed). */
const WEB_DIR = new URL('../../web/', import.meta.url)
const ASSETS: Record<string, { file: string, type: string }> = {
  '/': { file: 'index.html', type: 'text/html; charset=utf-8' },
  '/app.js': { file: 'app.js', type: 'text/javascript; charset=utf-8' },
  '/app.css': { file: 'app.css', type: 'text/css; charset=utf-8' }
}

/** Everything the page needs comes from this server; nothing may be inlined, framed or sent elsewhere. */
const PAGE_HEADERS = {
  'content-security-policy': "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-resource-policy': 'same-origin',
  'cache-control': 'no-store'
}

/** True for addresses only this machine can reach: the page is served there by default. */
export function isLoopbackHost (host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '')
  return bare === 'localhost' || bare === '::1' || (isIP(bare) === 4 && bare.startsWith('127.'))
}

/**
 * Whether a request's Host header names this server rather than some web site's
 * domain that was made to resolve to it: an IP literal, `localhost`, or the host
 * the server was told to bind.
 */
export function isTrustedHostHeader (header: string | undefined, boundHost: string): boolean {
  if (header === undefined || header === '') return false
  const name = header.startsWith('[') ? header.slice(0, header.indexOf(']') + 1) : header.replace(/:\d+$/, '')
  const bare = name.replace(/^\[|\]$/g, '').toLowerCase()
  return isIP(bare) !== 0 || bare === 'localhost' || bare === boundHost.toLowerCase()
}

export class ObserveServer {
  private readonly init: ObserveServerInit
  private readonly host: string
  private server?: Server
  private readonly assets = new Map<string, Buffer>()

  constructor (init: ObserveServerInit) {
    this.init = init
    this.host = init.host ?? '127.0.0.1'
  }

  /** Listens on `host:port`; resolves with the bound port. */
  async start (): Promise<number> {
    if (this.init.snapshot !== undefined) {
      // Read once: the files are small and never change while the process runs.
      for (const [path, asset] of Object.entries(ASSETS)) this.assets.set(path, await readFile(new URL(asset.file, WEB_DIR)))
    }
    const server = createServer((req, res) => { this.handle(req, res) })
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(this.init.port, this.host, () => { server.off('error', reject); resolve() })
    })
    this.server = server
    const address = server.address()
    return typeof address === 'object' && address !== null ? address.port : this.init.port
  }

  async stop (): Promise<void> {
    const server = this.server
    this.server = undefined
    if (server === undefined) return
    server.closeAllConnections()
    await new Promise<void>(resolve => { server.close(() => { resolve() }) })
  }

  private handle (req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '/').split('?')[0] ?? '/'
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('read-only\n')
      return
    }
    if (path === '/metrics') {
      this.init.registry.metrics().then(
        text => { res.writeHead(200, { 'content-type': this.init.registry.contentType }).end(req.method === 'HEAD' ? undefined : text) },
        (err: unknown) => { res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${err instanceof Error ? err.message : 'unknown error'}\n`) }
      )
      return
    }
    if (path === '/favicon.ico') {
      // Browsers ask for it on every page; an empty answer keeps their consoles quiet.
      res.writeHead(204).end()
      return
    }
    const snapshot = this.init.snapshot
    const asset = ASSETS[path]
    if (snapshot === undefined || (asset === undefined && path !== '/mesh.json')) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(snapshot === undefined ? 'see /metrics\n' : 'see / or /metrics\n')
      return
    }
    if (!isTrustedHostHeader(req.headers.host, this.host)) {
      res.writeHead(403, { 'content-type': 'text/plain' }).end('open this page by IP address or localhost\n')
      return
    }
    if (asset !== undefined) {
      res.writeHead(200, { ...PAGE_HEADERS, 'content-type': asset.type }).end(req.method === 'HEAD' ? undefined : this.assets.get(path))
      return
    }
    let body: string
    try {
      body = JSON.stringify(snapshot())
    } catch (err) {
      res.writeHead(500, { 'content-type': 'text/plain' }).end(`snapshot failed: ${err instanceof Error ? err.message : 'unknown error'}\n`)
      return
    }
    res.writeHead(200, { ...PAGE_HEADERS, 'content-type': 'application/json; charset=utf-8' }).end(req.method === 'HEAD' ? undefined : body)
  }
}
