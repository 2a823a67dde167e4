/**
 * Two benchmark results side by side: `node bench/compare.ts bench/results/before.json bench/results/latest.json`.
 *
 * Prints a Markdown table of the medians (with their sample counts) and after / before for each
 * figure either file has, then the same-run ratios of each file. Meant for two runs made in the
 * same session (`npm run bench -- --target=DIR --out=before`, then `npm run bench`): across
 * sessions the machine's load moves the figures more than most changes do.
 */
import { readFileSync } from 'node:fs'
import type { Figure } from './lib.ts'

interface Results {
  commit?: string
  quick: boolean
  load?: number[]
  figures: Record<string, Figure>
  ratios?: Record<string, number>
}

const [beforePath, afterPath] = process.argv.slice(2)
if (beforePath === undefined || afterPath === undefined) {
  console.error('usage: node bench/compare.ts BEFORE.json AFTER.json')
  process.exit(2)
}
const read = (path: string): Results => JSON.parse(readFileSync(path, 'utf8')) as Results
const before = read(beforePath)
const after = read(afterPath)

const cell = (f: Figure | undefined): string => f === undefined ? '–' : `${f.median} (n=${f.samples})`
const names = [...Object.keys(after.figures), ...Object.keys(before.figures).filter(n => !(n in after.figures))]
const label = (r: Results, path: string): string => `${r.commit ?? path}${r.quick ? ', quick' : ''}${r.load !== undefined ? `, load ${r.load.map(l => l.toFixed(1)).join('/')}` : ''}`

console.log(`before: ${label(before, beforePath)}\nafter:  ${label(after, afterPath)}\n`)
console.log('| figure | unit | before | after | after / before |')
console.log('|---|---|---|---|---|')
for (const name of names) {
  const b = before.figures[name]
  const a = after.figures[name]
  const ratio = a !== undefined && b !== undefined && b.median !== 0 ? (a.median / b.median).toFixed(2) : ''
  console.log(`| ${name} | ${(a ?? b)?.unit ?? ''} | ${cell(b)} | ${cell(a)} | ${ratio} |`)
}
const ratioNames = [...new Set([...Object.keys(before.ratios ?? {}), ...Object.keys(after.ratios ?? {})])]
if (ratioNames.length > 0) {
  console.log('\n| same-run ratio | before | after |')
  console.log('|---|---|---|')
  for (const name of ratioNames) console.log(`| ${name} | ${before.ratios?.[name] ?? '–'} | ${after.ratios?.[name] ?? '–'} |`)
}
