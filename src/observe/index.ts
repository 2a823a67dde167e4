/**
 * What a running node shows about itself over HTTP: Prometheus metrics and the live
 * page with its JSON, served together by one small server (`createMesh({ metrics })`).
 */
import type { Registry } from 'prom-client'
import { MeshMetrics, type MeteredMesh } from '../metrics.ts'
import { ObserveServer, isLoopbackHost } from './server.ts'
import { MeshObserver, type ObservableMesh } from './snapshot.ts'

export interface ObserveOptions {
  /** TCP port; 0 picks a free one. */
  port: number
  /** @default '127.0.0.1' (nothing is for the whole network unless asked) */
  host?: string
  /** Also export Node.js process metrics (CPU, memory, event loop). @default true */
  processMetrics?: boolean
  /**
   * Serve the live page (`/`) and its JSON (`/mesh.json`) beside `/metrics`. They show
   * session keys and Gateway names, so on an address other machines can reach they are
   * served only when asked. @default true on a loopback host, false otherwise
   */
  page?: boolean
}

export interface Observability {
  /** The port the server listens on. */
  port: number
  stop: () => Promise<void>
}

/** Starts the metrics and, unless turned off, the page of `mesh`, served from `registry`. */
export async function startObservability (mesh: ObservableMesh & MeteredMesh, options: ObserveOptions, registry: Registry): Promise<Observability> {
  const host = options.host ?? '127.0.0.1'
  const metrics = new MeshMetrics(mesh, { registry, ...(options.processMetrics !== undefined ? { processMetrics: options.processMetrics } : {}) })
  const observer = (options.page ?? isLoopbackHost(host)) ? new MeshObserver(mesh) : undefined
  const server = new ObserveServer({ port: options.port, host, registry, ...(observer !== undefined ? { snapshot: () => observer.snapshot() } : {}) })
  metrics.start()
  observer?.start()
  const stop = async (): Promise<void> => {
    metrics.stop()
    observer?.stop()
    await server.stop()
  }
  try {
    return { port: await server.start(), stop }
  } catch (err) {
    await stop()
    throw err
  }
}
