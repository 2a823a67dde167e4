/**
 * The shape of the house, checked on every run (issue 13's acceptance):
 * small files, no import cycle, only the CLI writes to the console, each
 * folder says its one job, and the logger names are the ones
 * docs/operations.md tells people to switch on.
 */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { readdir, readFile, stat } from 'node:fs/promises'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const src = join(root, 'src')
const MAX_LINES = 350

async function sources (): Promise<string[]> {
  const entries = await readdir(src, { withFileTypes: true, recursive: true })
  return entries
    .filter(e => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.d.ts'))
    .map(e => join(e.parentPath, e.name))
}

/** Relative specifiers of static imports and re-exports that load code at run time (type-only ones cannot make a cycle). */
function runtimeImports (text: string): string[] {
  const specifiers: string[] = []
  for (const m of text.matchAll(/^\s*(import|export)\s+(type\s+)?[^'"]*?\bfrom\s+['"](\.{1,2}\/[^'"]+)['"]/gm)) {
    if (m[2] === undefined) specifiers.push(m[3] as string)
  }
  for (const m of text.matchAll(/^\s*import\s+['"](\.{1,2}\/[^'"]+)['"]/gm)) specifiers.push(m[1] as string)
  return specifiers
}

function toSource (from: string, specifier: string): string {
  return resolve(dirname(from), specifier).replace(/\.js$/, '.ts')
}

/** The cycles of a directed graph (Tarjan's strongly connected components larger than one, or a self-loop). */
function cycles (graph: Map<string, string[]>): string[][] {
  let index = 0
  const indexOf = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: string[] = []
  const onStack = new Set<string>()
  const found: string[][] = []
  const visit = (v: string): void => {
    indexOf.set(v, index); low.set(v, index); index++
    stack.push(v); onStack.add(v)
    for (const w of graph.get(v) ?? []) {
      if (!indexOf.has(w)) {
        visit(w)
        low.set(v, Math.min(low.get(v) as number, low.get(w) as number))
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v) as number, indexOf.get(w) as number))
      }
    }
    if (low.get(v) === indexOf.get(v)) {
      const component: string[] = []
      let w: string
      do { w = stack.pop() as string; onStack.delete(w); component.push(w) } while (w !== v)
      if (component.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(component)
    }
  }
  for (const v of graph.keys()) if (!indexOf.has(v)) visit(v)
  return found
}

describe('structure of src/', () => {
  it(`no file is over ${MAX_LINES} lines`, async () => {
    const long: string[] = []
    for (const file of await sources()) {
      const lines = (await readFile(file, 'utf8')).split('\n').length - 1
      if (lines > MAX_LINES && !file.startsWith(join(src, 'pb'))) long.push(`${relative(root, file)}: ${lines}`)
    }
    assert.deepEqual(long, [])
  })

  it('has no import cycle', async () => {
    const graph = new Map<string, string[]>()
    for (const file of await sources()) {
      graph.set(file, runtimeImports(await readFile(file, 'utf8')).map(s => toSource(file, s)))
    }
    const found = cycles(graph).map(c => c.map(f => relative(root, f)).sort())
    assert.deepEqual(found, [])
  })

  it('the cycle finder finds a cycle (so the test above can fail)', () => {
    const graph = new Map([['a', ['b']], ['b', ['c']], ['c', ['a']], ['d', ['a']]])
    assert.deepEqual(cycles(graph).map(c => c.sort()), [['a', 'b', 'c']])
  })

  it('only src/cli/ writes to the console', async () => {
    const writers: string[] = []
    for (const file of await sources()) {
      if (file.startsWith(join(src, 'cli') + '/')) continue
      const text = await readFile(file, 'utf8')
      if (/\bconsole\.\w+\(|process\.(stdout|stderr)\.write\(/.test(text)) writers.push(relative(root, file))
    }
    assert.deepEqual(writers, [])
  })

  it('each folder opens with a README.md that says its one job', async () => {
    const missing: string[] = []
    for (const entry of await readdir(src, { withFileTypes: true })) {
      if (!entry.isDirectory()) continue
      const readme = join(src, entry.name, 'README.md')
      const text = await readFile(readme, 'utf8').catch(() => '')
      // a heading naming the folder, then a sentence of what it does
      if (!new RegExp(`^# src/${entry.name}/\\n\\n\\S`).test(text)) missing.push(relative(root, readme))
    }
    assert.deepEqual(missing, [])
  })

  it('the logger names in the code are the ones docs/operations.md lists, and no more', async () => {
    const inCode = new Set<string>()
    for (const file of await sources()) {
      for (const m of (await readFile(file, 'utf8')).matchAll(/forComponent\(\s*['"](clawmesh:[a-z:-]+)['"]/g)) inCode.add(m[1] as string)
    }
    const docs = await readFile(join(root, 'docs/operations.md'), 'utf8')
    const section = docs.match(/Namespaces:([\s\S]*?)\n\n/)?.[1] ?? ''
    const documented = new Set([...section.matchAll(/`(clawmesh:[a-z:-]+)`/g)].map(m => m[1] as string))
    assert.ok(inCode.size > 0)
    assert.deepEqual([...documented].sort(), [...inCode].sort())
  })

  it('src/pb holds only generated code and its schemas', async () => {
    for (const name of await readdir(join(src, 'pb'))) {
      assert.match(name, /\.(proto|js|d\.ts|md)$/)
      assert.ok((await stat(join(src, 'pb', name))).isFile())
    }
  })
})
