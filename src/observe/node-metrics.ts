/**
 * libp2p's metrics for one node, with clawmesh's own (`clawmesh_*`, which the
 * services register through `components.metrics`) kept on that node's registry.
 *
 * `@libp2p/prometheus-metrics` keeps one metric object per name for the whole
 * process: a second node in the process (tests, an app running two meshes) is
 * handed the first node's metric, bound to the first node's registry (and, for
 * calculated ones, to its state), so its own registry lacks them. clawmesh's
 * metrics are therefore created here, per node, with the library's semantics;
 * everything else goes to the library.
 */
import { prometheusMetrics, type PrometheusMetricsComponents } from '@libp2p/prometheus-metrics'
import { Counter, Gauge, Histogram, type Registry } from 'prom-client'
import type { CalculatedMetricOptions, CounterGroup, HistogramGroup, HistogramOptions, MetricOptions, Metrics } from '@libp2p/interface'

const OWN = 'clawmesh_'

type Registrations = Pick<Metrics, 'registerMetric' | 'registerMetricGroup' | 'registerCounterGroup' | 'registerHistogramGroup'>

export function nodeMetrics (registry: Registry): (components: PrometheusMetricsComponents) => Metrics {
  const libp2pMetrics = prometheusMetrics({ registry, collectDefaultMetrics: false, preserveExistingMetrics: true })
  const registers = [registry]
  return (components) => {
    const inner = libp2pMetrics(components)
    const own: Registrations = {
      registerMetric: ((name: string, options?: CalculatedMetricOptions) => {
        const calculate = options?.calculate
        if (!name.startsWith(OWN) || calculate === undefined) return inner.registerMetric(name, options)
        new Gauge({ name, help: options?.help ?? name, registers, async collect () { this.set(await calculate()) } })
      }) as Metrics['registerMetric'],
      registerMetricGroup: ((name: string, options?: CalculatedMetricOptions<Record<string, number>>) => {
        const calculate = options?.calculate
        if (!name.startsWith(OWN) || calculate === undefined) return inner.registerMetricGroup(name, options)
        const label = options?.label ?? name
        new Gauge({
          name,
          help: options?.help ?? name,
          labelNames: [label],
          registers,
          async collect () {
            const values = await calculate()
            // Labels that are gone (a peer that left) disappear instead of keeping their last value.
            this.reset()
            for (const [key, value] of Object.entries(values)) this.set({ [label]: key }, value)
          }
        })
      }) as Metrics['registerMetricGroup'],
      registerCounterGroup: ((name: string, options?: MetricOptions) => {
        if (!name.startsWith(OWN)) return inner.registerCounterGroup(name, options)
        const label = options?.label ?? name
        const counter = new Counter({ name, help: options?.help ?? name, labelNames: [label], registers })
        const group: CounterGroup = {
          increment: values => { for (const [key, value] of Object.entries(values)) counter.inc({ [label]: key }, typeof value === 'number' ? value : 1) },
          reset: () => { counter.reset() }
        }
        return group
      }) as Metrics['registerCounterGroup'],
      registerHistogramGroup: ((name: string, options?: HistogramOptions) => {
        if (!name.startsWith(OWN)) return inner.registerHistogramGroup(name, options)
        const label = options?.label ?? name
        const histogram = new Histogram({ name, help: options?.help ?? name, labelNames: [label], registers, ...(options?.buckets !== undefined ? { buckets: options.buckets } : {}) })
        const group: HistogramGroup = {
          observe: values => { for (const [key, value] of Object.entries(values)) if (value !== undefined) histogram.observe({ [label]: key }, value) },
          reset: () => { histogram.reset() },
          timer: key => histogram.startTimer({ [label]: key })
        }
        return group
      }) as Metrics['registerHistogramGroup']
    }
    // The library's object with those registrations replaced (it keeps no private fields, so its own methods still work).
    return Object.assign(Object.create(inner) as Metrics, own)
  }
}
