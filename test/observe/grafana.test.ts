// The Grafana dashboard asks only for metrics a node really exports (names drift; this notices).
import assert from 'node:assert/strict'
import { readFile } from 'node:fs/promises'
import { describe, it } from 'node:test'
import { createTestMeshes } from '../../src/testing.ts'

const DASHBOARD = new URL('../../docs/grafana/clawmesh.json', import.meta.url)

interface Panel { id: number, type: string, title: string, gridPos: { x: number, y: number, w: number, h: number }, targets?: Array<{ expr: string, datasource: { uid: string } }> }

/** Metric names a PromQL expression reads (ours, libp2p's, the process's). */
function metricsIn (expr: string): string[] {
  return [...expr.matchAll(/\b((?:clawmesh|libp2p|process|nodejs)_[a-z0-9_]+)\b(?=\s*[{[)]|\s*-|\s*$)/g)].map(m => m[1] as string)
}

describe('Grafana dashboard', () => {
  it('is a dashboard with the panels an operator needs, each query on the chosen data source', async () => {
    const dashboard = JSON.parse(await readFile(DASHBOARD, 'utf8')) as { uid: string, panels: Panel[], templating: { list: Array<{ name: string }> } }
    assert.deepEqual(dashboard.templating.list.map(v => v.name), ['datasource', 'instance'])
    const titles = dashboard.panels.map(p => p.title)
    for (const needed of ['Connected peers', 'Known but not linked', 'Send outcomes', 'Send latency (ok)', 'Sessions by owner', 'Registry churn', 'Refused connections and records']) {
      assert.ok(titles.includes(needed), needed)
    }
    assert.equal(new Set(dashboard.panels.map(p => p.id)).size, dashboard.panels.length, 'panel ids are unique')
    for (const p of dashboard.panels.filter(p => p.type !== 'row')) {
      assert.ok((p.targets ?? []).length > 0, `${p.title} has a query`)
      for (const t of p.targets ?? []) {
        assert.equal(t.datasource.uid, '${datasource}')
        assert.match(t.expr, /instance=~"\$instance"/, `${p.title} follows the node picker`)
      }
      assert.ok(p.gridPos.x + p.gridPos.w <= 24, `${p.title} fits the grid`)
    }
  })

  it('reads only metrics that a node exports', async () => {
    const dashboard = JSON.parse(await readFile(DASHBOARD, 'utf8')) as { panels: Panel[] }
    const wanted = new Set(dashboard.panels.flatMap(p => (p.targets ?? []).flatMap(t => metricsIn(t.expr))))
    assert.ok(wanted.size >= 10)
    const net = await createTestMeshes(1, { options: () => ({ metrics: { port: 0 } }) })
    try {
      const text = await (await fetch(`http://127.0.0.1:${net.meshes[0]?.status().metricsPort}/metrics`)).text()
      const exported = new Set<string>()
      for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
        exported.add(name as string)
        if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) exported.add(`${name}${suffix}`)
      }
      assert.deepEqual([...wanted].filter(name => !exported.has(name)), [])
    } finally {
      await net.stop()
    }
  })
})
