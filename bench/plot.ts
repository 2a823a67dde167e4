/**
 * Draws the benchmark plots as hand-written SVG (no dependencies):
 *   node bench/plot.ts   reads bench/results/{latest,samples}.json, writes docs/img/bench-*.svg
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises'

interface Figure { median: number, p99: number, unit: string, samples: number }
const root = new URL('../', import.meta.url).pathname
const latest = JSON.parse(await readFile(`${root}bench/results/latest.json`, 'utf8')) as { node: string, quick: boolean, figures: Record<string, Figure> }
const { samples } = JSON.parse(await readFile(`${root}bench/results/samples.json`, 'utf8')) as { samples: Record<string, number[]> }
const outDir = `${root}docs/img`
await mkdir(outDir, { recursive: true })

const W = 640
const H = 360
const M = { l: 64, r: 20, t: 36, b: 48 }
const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;')
const text = (x: number, y: number, s: string, extra = ''): string => `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" ${extra}>${esc(s)}</text>`
const frame = (title: string, xLabel: string, yLabel: string, body: string): string =>
  `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="12">\n` +
  `<rect width="${W}" height="${H}" fill="white"/>\n` +
  text(W / 2, 20, title, 'text-anchor="middle" font-size="14" font-weight="bold"') + '\n' +
  text(W / 2, H - 10, xLabel, 'text-anchor="middle"') + '\n' +
  text(16, H / 2, yLabel, `text-anchor="middle" transform="rotate(-90 16 ${H / 2})"`) + '\n' +
  `<line x1="${M.l}" y1="${H - M.b}" x2="${W - M.r}" y2="${H - M.b}" stroke="black"/>\n` +
  `<line x1="${M.l}" y1="${M.t}" x2="${M.l}" y2="${H - M.b}" stroke="black"/>\n` + body + '</svg>\n'

function niceMax (v: number): number {
  const p = 10 ** Math.floor(Math.log10(v))
  return [1, 2, 5, 10].map(m => m * p).find(x => x >= v) ?? 10 * p
}

function yTicks (max: number, toY: (v: number) => number, fmt: (v: number) => string): string {
  let out = ''
  for (let i = 0; i <= 5; i++) {
    const v = (max / 5) * i
    const y = toY(v)
    out += `<line x1="${M.l - 4}" y1="${y}" x2="${W - M.r}" y2="${y}" stroke="#ddd"/>` + text(M.l - 8, y + 4, fmt(v), 'text-anchor="end"') + '\n'
  }
  return out
}

// Convergence vs mesh size: every sample as a dot, the median as a line, the p99 dashed.
{
  const sizes = [2, 5, 10, 20].filter(n => samples[`converge_${n}`] !== undefined)
  const all = sizes.flatMap(n => samples[`converge_${n}`] as number[])
  const yMax = niceMax(Math.max(1, ...all))
  const toX = (n: number): number => M.l + 30 + ((W - M.l - M.r - 60) * (n - 2)) / 18
  const toY = (v: number): number => H - M.b - ((H - M.t - M.b) * Math.min(v, yMax)) / yMax
  let body = yTicks(yMax, toY, v => String(Math.round(v * 10) / 10))
  for (const n of sizes) {
    body += text(toX(n), H - M.b + 16, String(n), 'text-anchor="middle"') + '\n'
    for (const v of samples[`converge_${n}`] as number[]) body += `<circle cx="${(toX(n) + (Math.random() - 0.5) * 10).toFixed(1)}" cy="${toY(v).toFixed(1)}" r="2.5" fill="#4a90d9" fill-opacity="0.5"/>\n`
  }
  const pts = (key: 'median' | 'p99'): string => sizes.map(n => `${toX(n).toFixed(1)},${toY(latest.figures[`converge_${n}`]?.[key] ?? 0).toFixed(1)}`).join(' ')
  body += `<polyline points="${pts('median')}" fill="none" stroke="#d9534f" stroke-width="2"/>\n`
  body += `<polyline points="${pts('p99')}" fill="none" stroke="#d9534f" stroke-width="1.5" stroke-dasharray="5 4"/>\n`
  body += `<line x1="${M.l}" y1="${toY(20)}" x2="${W - M.r}" y2="${toY(20)}" stroke="#5cb85c" stroke-dasharray="2 3"/>` + text(W - M.r - 4, toY(20) - 4, 'target median 20 ms', 'text-anchor="end" fill="#5cb85c"') + '\n'
  body += text(M.l + 8, M.t + 12, 'dots: samples · line: median · dashed: p99 (in-process nodes, full mesh)', 'fill="#555"') + '\n'
  await writeFile(`${outDir}/bench-convergence.svg`, frame(`Registry convergence vs mesh size (${latest.quick ? 'quick run' : 'full run'}, Node ${latest.node})`, 'Gateways in the mesh', 'ms until every Gateway resolves the announce', body))
}

// Round-trip latency distributions: empirical CDF of each baseline and of send, log-scaled x.
{
  const series = [['tcp_rtt', '#777', 'raw TCP echo'], ['http_rtt', '#f0ad4e', 'HTTP POST keep-alive'], ['send_rtt', '#4a90d9', 'clawmesh send (waitForReply)']] as const
  const present = series.filter(([k]) => samples[k] !== undefined)
  const all = present.flatMap(([k]) => samples[k] as number[]).filter(v => v > 0)
  const lo = 10 ** Math.floor(Math.log10(Math.min(...all)))
  const hi = 10 ** Math.ceil(Math.log10(Math.max(...all)))
  const toX = (v: number): number => M.l + ((W - M.l - M.r) * (Math.log10(Math.max(v, lo)) - Math.log10(lo))) / (Math.log10(hi) - Math.log10(lo))
  const toY = (q: number): number => H - M.b - (H - M.t - M.b) * q
  let body = yTicks(1, toY, v => `${Math.round(v * 100)}%`)
  for (let d = lo; d <= hi * 1.001; d *= 10) body += `<line x1="${toX(d)}" y1="${M.t}" x2="${toX(d)}" y2="${H - M.b + 4}" stroke="#ddd"/>` + text(toX(d), H - M.b + 16, `${d} ms`, 'text-anchor="middle"') + '\n'
  present.forEach(([k, color, label], i) => {
    const sorted = [...(samples[k] as number[])].sort((a, b) => a - b)
    const step = Math.max(1, Math.floor(sorted.length / 400))
    const pts: string[] = []
    for (let j = 0; j < sorted.length; j += step) pts.push(`${toX(sorted[j] as number).toFixed(1)},${toY((j + 1) / sorted.length).toFixed(1)}`)
    pts.push(`${toX(sorted[sorted.length - 1] as number).toFixed(1)},${toY(1).toFixed(1)}`)
    body += `<polyline points="${pts.join(' ')}" fill="none" stroke="${color}" stroke-width="2"/>\n`
    const f = latest.figures[k]
    body += `<rect x="${M.l + 12}" y="${M.t + 8 + i * 16}" width="12" height="3" fill="${color}"/>` + text(M.l + 30, M.t + 13 + i * 16, `${label}: median ${f?.median} ms, p99 ${f?.p99} ms`) + '\n'
  })
  await writeFile(`${outDir}/bench-latency.svg`, frame('Round trip on an open connection, two processes, one host (CDF)', 'round-trip time (log scale)', 'share of requests at or below', body))
}
process.stdout.write(`wrote ${outDir}/bench-convergence.svg and bench-latency.svg\n`)
