/**
 * The package as a user gets it: `npm pack` (which builds on `prepack`), then
 * `npm install <tarball>` into an empty project without dev dependencies, then
 * what the README promises: `import 'clawmesh'` and `'clawmesh/testing'`,
 * `npx clawmesh demo`, and a consumer file type-checked against the shipped
 * `.d.ts`. The same installed package also runs on the lowest Node that
 * `engines` claims (fetched from the npm registry like Node 24 is).
 *
 * Run with `npm run test:package` (not part of `npm test`: it packs the checkout
 * and installs the dependencies from the registry, about half a minute).
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { after, before, describe, it } from 'node:test'
import { promisify } from 'node:util'

const ROOT = resolve(import.meta.dirname, '..', '..')
const exec = promisify(execFile)

interface Manifest {
  version: string
  engines: { node: string }
  bin: Record<string, string>
  exports: Record<string, string | { types: string, import: string }>
  openclaw: { extensions: string[] }
}

/** Runs a command to completion; a non-zero exit rejects with its output attached. */
async function run (command: string, args: string[], options: { cwd: string, timeoutMs?: number, env?: NodeJS.ProcessEnv }): Promise<{ stdout: string, stderr: string }> {
  try {
    return await exec(command, args, { cwd: options.cwd, timeout: options.timeoutMs ?? 120_000, maxBuffer: 16 * 1024 * 1024, env: { ...process.env, NO_COLOR: '1', ...options.env } })
  } catch (err) {
    const e = err as { stdout?: string, stderr?: string, message: string }
    throw new Error(`${command} ${args.join(' ')} failed: ${e.message}\n-- stdout:\n${e.stdout ?? ''}\n-- stderr:\n${e.stderr ?? ''}`)
  }
}

/** The lowest Node version `engines.node` admits (`>=22.15.0` → `22.15.0`). */
function lowestNode (range: string): string {
  const m = /^>=\s*(\d+\.\d+\.\d+)$/.exec(range.trim())
  assert.ok(m?.[1] !== undefined, `engines.node "${range}" is not of the form >=X.Y.Z; teach this test its lowest version`)
  return m[1]
}

/** Where OpenClaw looks for the built peer of a TypeScript extension entry (`./src/x/y.ts` → `dist/x/y.js` first). */
function builtPluginEntry (entry: string): string {
  const bare = entry.replace(/^\.\//, '').replace(/\.[cm]?tsx?$/, '')
  return bare.startsWith('src/') ? `dist/${bare.slice(4)}.js` : bare.endsWith('.js') ? bare : `dist/${bare}.js`
}

/** Uses the package the way its README does: both entry points, a real two-node mesh, metrics and the page. */
const CONSUMER_MJS = `
import assert from 'node:assert/strict'
import { MeshError, MESH_ERROR_CODES } from 'clawmesh'
import { createTestMeshes, waitForResolvable } from 'clawmesh/testing'
import pkg from 'clawmesh/package.json' with { type: 'json' }

const net = await createTestMeshes(2, {
  options: i => i === 0 ? { metrics: { port: 0, processMetrics: false } } : { deliver: async (m) => ({ reply: 'echo ' + m.text }) }
})
try {
  const [a, b] = net.meshes
  await b.announce('agent:main:main')
  await waitForResolvable(a, 'gateway:gw1:agent:main:main')
  assert.equal((await a.send('gateway:gw1:agent:main:main', 'hi')).reply, 'echo hi')
  await assert.rejects(a.send('gateway:gw1:agent:main:nope', 'x'), e => e instanceof MeshError && e.code === 'NOT_FOUND')
  assert.ok(MESH_ERROR_CODES.includes('UNREACHABLE'))
  const base = 'http://127.0.0.1:' + a.status().metricsPort
  assert.match(await (await fetch(base + '/metrics')).text(), /clawmesh_sends_total/)
  const page = await fetch(base + '/')
  assert.equal(page.status, 200)
  assert.match(await page.text(), /<script src="app.js"/)
  assert.equal((await fetch(base + '/app.js')).status, 200)
  const view = await (await fetch(base + '/mesh.json')).json()
  assert.deepEqual(view.gateways.map(g => g.name).sort(), ['gw0', 'gw1'])
} finally {
  await net.stop()
}
await assert.rejects(import('clawmesh/dist/mesh.js'), { code: 'ERR_PACKAGE_PATH_NOT_EXPORTED' })
console.log(JSON.stringify({ ok: true, version: pkg.version, node: process.version }))
`

/** Type-checks against the shipped declarations: options, results, events, errors, the testing entry. */
const CONSUMER_TS = `
import { createMesh, MeshError, type Mesh, type MeshErrorCode, type MeshOptions, type MeshSnapshot, type SendResult, type SessionEntry } from 'clawmesh'
import { createTestMeshes, loopbackOptions, type TestNetwork } from 'clawmesh/testing'

const options: MeshOptions = loopbackOptions({ name: 'hq', gatewayPort: 18789, metrics: { port: 0 } })
const mesh: Mesh = await createMesh({ ...options, deliver: async (msg, { signal }) => ({ reply: signal.aborted ? '' : msg.text }) })
mesh.addEventListener('send:done', (event) => { const ms: number = event.detail.durationMs; void ms })
try {
  const result: SendResult = await mesh.send('gateway:hangzhou:agent:main:main', 'hi', { timeoutMs: 1000, waitForReply: true })
  const reply: string | undefined = result.reply
  void reply
} catch (err) {
  if (err instanceof MeshError) { const code: MeshErrorCode = err.code; void code }
}
const sessions: SessionEntry[] = mesh.sessions()
const names: string[] = sessions.map(s => s.owner.name)
void names
const view = await (await fetch('http://127.0.0.1:' + String(mesh.status().metricsPort) + '/mesh.json')).json() as MeshSnapshot
const links: string[] = view.gateways.map(g => g.link)
void links
const net: TestNetwork = await createTestMeshes(2, { topology: 'chain' })
await net.stop()
await mesh.stop()
`

/** Must NOT type-check: proves the declarations are real types, not \`any\`. Each line is one expected error. */
const CONSUMER_WRONG_TS = `
import { createMesh } from 'clawmesh'
import { createTestMeshes } from 'clawmesh/testing'
const mesh = await createMesh({ nmae: 'typo' })
const id: number = mesh.peerId
await mesh.send(42, 'hi')
await createTestMeshes('two')
void id
`
const WRONG_ERRORS = ['TS2353', 'TS2322', 'TS2345', 'TS2345']

describe('the packed package', { timeout: 300_000 }, () => {
  let work: string
  let project: string
  let tarball: string
  let files: string[]
  let manifest: Manifest

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'clawmesh-package-'))
    project = join(work, 'project')
    await mkdir(project)
    // prepack builds dist/ (and postpack removes it again, so the checkout keeps running its sources).
    await run('npm', ['pack', '--pack-destination', work, '--loglevel', 'error'], { cwd: ROOT })
    const packed = (await readdir(work)).filter(f => f.endsWith('.tgz'))
    assert.equal(packed.length, 1, `npm pack made ${packed.join(', ')}`)
    tarball = join(work, packed[0] as string)
    files = (await run('tar', ['-tzf', tarball], { cwd: work })).stdout.split('\n').filter(Boolean).map(f => f.replace(/^package\//, ''))
    manifest = JSON.parse((await run('tar', ['-xzOf', tarball, 'package/package.json'], { cwd: work })).stdout) as Manifest
    await writeFile(join(project, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }))
    await run('npm', ['install', '--omit=dev', '--no-audit', '--no-fund', '--loglevel', 'error', tarball], { cwd: project, timeoutMs: 240_000 })
  })

  after(async () => {
    if (work !== undefined) await rm(work, { recursive: true, force: true })
  })

  it('leaves the checkout as it was (no dist/ for OpenClaw to pick up instead of the sources)', () => {
    assert.ok(!existsSync(join(ROOT, 'dist')), 'postpack removes the build')
  })

  it('ships the build, the bin, the plugin manifest and the page, and no sources, tests or maps', () => {
    for (const f of ['package.json', 'README.md', 'CHANGELOG.md', 'LICENSE', 'openclaw.plugin.json', 'bin/clawmesh.js',
      'dist/index.js', 'dist/index.d.ts', 'dist/testing.js', 'dist/testing.d.ts', 'dist/cli/main.js', 'web/index.html', 'web/app.js', 'web/app.css']) {
      assert.ok(files.includes(f), `${f} is in the package`)
    }
    const unwanted = files.filter(f => /^(src|test|bench|examples|docs|scripts)\//.test(f) || /\.map$|\.tsbuildinfo$|tsconfig[^/]*\.json$/.test(f) || (/\.[cm]?tsx?$/.test(f) && !/\.d\.ts$/.test(f)))
    assert.deepEqual(unwanted, [])
  })

  it('points every entry (exports, bin, the OpenClaw plugin) at a file it ships', () => {
    for (const [path, target] of Object.entries(manifest.exports)) {
      const targets = typeof target === 'string' ? [target] : [target.types, target.import]
      for (const t of targets) assert.ok(files.includes(t.replace(/^\.\//, '')), `exports["${path}"] → ${t} is shipped`)
    }
    for (const [name, target] of Object.entries(manifest.bin)) assert.ok(files.includes(target.replace(/^\.\//, '')), `bin ${name} → ${target}`)
    for (const entry of manifest.openclaw.extensions) assert.ok(files.includes(builtPluginEntry(entry)), `OpenClaw loads ${builtPluginEntry(entry)} for ${entry}`)
  })

  it('installs without dev dependencies', () => {
    for (const dev of ['typescript', 'eslint', 'playwright-core', 'fast-check', 'typedoc', '@types/xsalsa20']) {
      assert.ok(!existsSync(join(project, 'node_modules', dev)), `${dev} is not installed`)
    }
    assert.ok(existsSync(join(project, 'node_modules', 'clawmesh', 'dist', 'index.js')))
  })

  it('imports clawmesh and clawmesh/testing and runs a mesh (Node 24)', async () => {
    await writeFile(join(project, 'consumer.mjs'), CONSUMER_MJS)
    const { stdout } = await run(process.execPath, ['consumer.mjs'], { cwd: project, timeoutMs: 60_000 })
    assert.equal(JSON.parse(stdout.trim()).ok, true)
  })

  it('runs `npx clawmesh demo` and `--version`', async () => {
    const demo = await run('npx', ['--no', '--', 'clawmesh', 'demo'], { cwd: project, timeoutMs: 90_000 })
    assert.match(demo.stdout, /A qualified send, with its reply/)
    assert.match(demo.stdout, /UNREACHABLE after \d+ ms/)
    const version = await run('npx', ['--no', '--', 'clawmesh', '--version'], { cwd: project })
    assert.equal(version.stdout.trim(), manifest.version)
  })

  it('type-checks a consumer against the shipped declarations, and rejects a wrong one', async () => {
    const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc')
    // A typical consumer: strict, NodeNext, skipLibCheck as `tsc --init` sets it, and @types/node as any
    // Node project has (it lives in the checkout, not in the consumer's dependencies).
    const compilerOptions = {
      strict: true, target: 'ES2023', lib: ['ES2024'], module: 'NodeNext', moduleResolution: 'NodeNext', noEmit: true,
      types: ['node'], typeRoots: [join(ROOT, 'node_modules', '@types')], skipLibCheck: true
    }
    await writeFile(join(project, 'consumer.ts'), CONSUMER_TS)
    await writeFile(join(project, 'consumer-wrong.ts'), CONSUMER_WRONG_TS)
    // One run for both files: the right one must have no error, the wrong one exactly the expected ones.
    await writeFile(join(project, 'tsconfig.json'), JSON.stringify({ compilerOptions, files: ['consumer.ts', 'consumer-wrong.ts'] }))
    const output = await run(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: project }).then(() => '', (err: Error) => err.message)
    const errors = [...output.matchAll(/^(\S+)\(\d+,\d+\): error (TS\d+)/gm)].map(m => ({ file: m[1], code: m[2] }))
    assert.deepEqual(errors.filter(e => e.file !== 'consumer-wrong.ts'), [], output)
    assert.deepEqual(errors.map(e => e.code), WRONG_ERRORS, output)
    // skipLibCheck hides errors inside declaration files, and an import they cannot resolve turns into
    // `any`: check ours in full too (libp2p's own need the DOM library, so that is given them).
    const strict = { ...compilerOptions, skipLibCheck: false, lib: ['ES2024', 'DOM'] }
    await writeFile(join(project, 'tsconfig.strict.json'), JSON.stringify({ compilerOptions: strict, files: ['consumer.ts'] }))
    const full = await run(process.execPath, [tsc, '-p', 'tsconfig.strict.json'], { cwd: project }).then(() => '', (err: Error) => err.message)
    const ours = full.split('\n').filter(line => line.startsWith('node_modules/clawmesh/'))
    assert.deepEqual(ours, [])
  })

  it('runs on the lowest Node that engines claims', async () => {
    const version = lowestNode(manifest.engines.node)
    const bin = (await run('bash', [join(ROOT, 'scripts', 'fetch-node.sh'), version], { cwd: ROOT, timeoutMs: 180_000 })).stdout.trim()
    const node = join(bin, 'node')
    const { stdout } = await run(node, ['consumer.mjs'], { cwd: project, timeoutMs: 60_000 })
    assert.equal(JSON.parse(stdout.trim()).node, `v${version}`)
    const demo = await run(node, [join(project, 'node_modules', '.bin', 'clawmesh'), 'demo'], { cwd: project, timeoutMs: 90_000 })
    assert.match(demo.stdout, /UNREACHABLE after \d+ ms/)
    assert.ok(!demo.stdout.includes('\u001b['), 'no colour codes when stdout is not a terminal')
  })

  it('passes `npm publish --dry-run` without warnings', async () => {
    const { stderr } = await run('npm', ['publish', '--dry-run', tarball], { cwd: work })
    // Without an npm login a dry run always says so; any other warning is a packaging defect.
    const warnings = stderr.split('\n').filter(l => /npm warn/i.test(l) && !/requires you to be logged in/.test(l))
    assert.deepEqual(warnings, [])
    assert.match(await readFile(join(ROOT, 'CHANGELOG.md'), 'utf8'), new RegExp(`## \\[?${manifest.version.replace(/\./g, '\\.')}`), 'CHANGELOG has an entry for this version')
  })
})
