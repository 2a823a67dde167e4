/** The product never loads test code: nothing under src/ imports test/ or the `clawmesh/testing` fixture. */
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { readdir, readFile } from 'node:fs/promises'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..')
const src = join(root, 'src')
const TESTING = join(src, 'testing.ts')

async function sources (dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true })
  return entries.filter(e => e.isFile() && e.name.endsWith('.ts')).map(e => join(e.parentPath, e.name))
}

/** Relative module specifiers of static and dynamic imports and re-exports. */
function importsOf (text: string): string[] {
  const specifiers: string[] = []
  for (const m of text.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*|\bimport\s+)['"](\.{1,2}\/[^'"]+)['"]/g)) specifiers.push(m[1] as string)
  return specifiers
}

describe('layering', () => {
  it('no product module imports the test fixture or anything under test/', async () => {
    const offenders: string[] = []
    for (const file of await sources(src)) {
      if (file === TESTING) continue
      for (const spec of importsOf(await readFile(file, 'utf8'))) {
        const target = resolve(dirname(file), spec)
        if (target === TESTING || !relative(join(root, 'test'), target).startsWith('..')) offenders.push(`${relative(root, file)} → ${spec}`)
      }
    }
    assert.deepEqual(offenders, [])
  })
})
