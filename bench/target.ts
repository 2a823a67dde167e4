/**
 * Which clawmesh the benchmarks measure: this checkout by default, or another one
 * (`npm run bench -- --target=/tmp/clawmesh-before`), so that an older commit can be
 * measured by the same harness in the same session (issue 13: before and after the
 * redesign). The other checkout needs its own `npm ci`; its sources are loaded from
 * there and resolve their dependencies there. Child processes (bench/peer.ts, the late
 * join) inherit the choice through `CLAWMESH_BENCH_TARGET`.
 *
 * Only the public API is used (`createMesh`, `Mesh`, and `clawmesh/testing`'s
 * `createTestMeshes`, `loopbackOptions`, `addressOf`, `waitForResolvable`), which has not
 * changed since the first benchmarked commit.
 */
import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'

export const TARGET_ENV = 'CLAWMESH_BENCH_TARGET'

const argument = process.argv.find(a => a.startsWith('--target='))?.slice('--target='.length)
if (argument !== undefined) process.env[TARGET_ENV] = resolve(argument)

/** The checkout measured (absolute path). */
export const targetDir = process.env[TARGET_ENV] ?? fileURLToPath(new URL('..', import.meta.url))
/** Whether it is another checkout than the harness's own. */
export const isOtherTarget = resolve(targetDir) !== resolve(fileURLToPath(new URL('..', import.meta.url)))

for (const file of ['src/index.ts', 'src/testing.ts']) {
  if (!existsSync(join(targetDir, file))) throw new Error(`--target=${targetDir}: no ${file} there`)
}
if (isOtherTarget && !existsSync(join(targetDir, 'node_modules'))) throw new Error(`--target=${targetDir}: run npm ci there first`)

export const core = await import(pathToFileURL(join(targetDir, 'src/index.ts')).href) as typeof import('../src/index.ts')
export const testing = await import(pathToFileURL(join(targetDir, 'src/testing.ts')).href) as typeof import('../src/testing.ts')
