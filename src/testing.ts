/**
 * Test fixtures for clawmesh users and for our own tests: start N real mesh
 * nodes on 127.0.0.1 (multicast off) in a chosen topology, wait on events,
 * and tear everything down.
 *
 * ```ts
 * import { createTestMeshes } from 'clawmesh/testing'
 * const net = await createTestMeshes(3)
 * try { ... } finally { await net.stop() }
 * ```
 */
import { createMesh, type Mesh } from './mesh.ts'
import { MeshError } from './errors.ts'
import { meshProtector } from './security/protector.ts'
import { generateSecret, parseSecret } from './security/secret.ts'
import type { MeshEvents, MeshOptions } from './types.ts'
import { waitUntil } from './util/wait-until.ts'

export { waitUntil }

export interface TestMeshOptions {
  /** `full`: everyone dials everyone before it; `chain`: each dials only its predecessor. @default 'full' */
  topology?: 'full' | 'chain'
  /** Options for node `i` (merged over the defaults). */
  options?: (index: number) => MeshOptions
}

export interface TestNetwork {
  meshes: Mesh[]
  /** Starts one more node connected to `dialTo` (default: the first node). */
  add: (options?: MeshOptions, dialTo?: Mesh[]) => Promise<Mesh>
  stop: () => Promise<void>
}

/**
 * One secret for every test mesh of this process, so test nodes never read or
 * create the key file in the user's state directory.
 */
export const TEST_SECRET = generateSecret()

/** A connection protector holding {@link TEST_SECRET}, for a hand-built libp2p peer that must reach test meshes. */
export function testProtector (): ReturnType<typeof meshProtector> {
  return meshProtector({ secret: parseSecret(TEST_SECRET) })
}

/**
 * Options that keep a test node on loopback, off multicast and off the shared
 * rendezvous folder (so only the topology a test builds is connected).
 */
export function loopbackOptions (options: MeshOptions = {}): MeshOptions {
  return { listen: ['/ip4/127.0.0.1/tcp/0'], mdns: false, discovery: { mdns: false, local: false }, secret: TEST_SECRET, ...options }
}

export function addressOf (mesh: Mesh): string {
  const address = mesh.status().addresses.find(a => a.includes('/ip4/127.0.0.1/'))
  if (address === undefined) throw new Error('mesh has no loopback address')
  return address
}

export async function createTestMeshes (count: number, init: TestMeshOptions = {}): Promise<TestNetwork> {
  const meshes: Mesh[] = []
  const add = async (options: MeshOptions = {}, dialTo: Mesh[] = meshes.slice(0, 1)): Promise<Mesh> => {
    const mesh = await createMesh(loopbackOptions({ peers: dialTo.map(addressOf), ...options }))
    meshes.push(mesh)
    await Promise.all(dialTo.map(async other => { await waitForPeer(mesh, other.peerId) }))
    return mesh
  }
  try {
    for (let i = 0; i < count; i++) {
      const dialTo = init.topology === 'chain' ? meshes.slice(-1) : [...meshes]
      await add({ name: `gw${i}`, ...init.options?.(i) }, dialTo)
    }
  } catch (err) {
    await Promise.allSettled(meshes.map(async m => { await m.stop() }))
    throw err
  }
  return {
    meshes,
    add,
    stop: async () => { await Promise.allSettled(meshes.map(async m => { await m.stop() })) }
  }
}

/**
 * Resolves with the first event of `type` whose detail satisfies `predicate`.
 * The timeout is a guard against a hung test, not an assertion about speed.
 */
export async function waitForEvent<K extends keyof MeshEvents> (
  mesh: Mesh, type: K, predicate: (detail: MeshEvents[K]['detail']) => boolean = () => true, timeoutMs = 20_000
): Promise<MeshEvents[K]['detail']> {
  return await new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      mesh.removeEventListener(type, listener)
      reject(new MeshError('TIMEOUT', `no ${type} event within ${timeoutMs} ms`))
    }, timeoutMs)
    const listener = (event: MeshEvents[K]): void => {
      if (!predicate(event.detail)) return
      clearTimeout(timer)
      mesh.removeEventListener(type, listener)
      resolve(event.detail)
    }
    mesh.addEventListener(type, listener)
  })
}

/** Waits until `mesh` has a registry link with `peerId`. */
export async function waitForPeer (mesh: Mesh, peerId: string, timeoutMs = 20_000): Promise<void> {
  await waitUntil(mesh, () => mesh.peers().some(p => p.peerId === peerId), timeoutMs)
}

/** Waits until `mesh` can resolve `target` (e.g. after a remote announce). */
export async function waitForResolvable (mesh: Mesh, target: string, timeoutMs = 20_000): Promise<void> {
  await waitUntil(mesh, () => {
    try {
      mesh.resolve(target)
      return true
    } catch {
      return false
    }
  }, timeoutMs)
}
