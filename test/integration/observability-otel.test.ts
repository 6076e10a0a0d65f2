import * as api from '@opentelemetry/api'
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks'
import { AggregationTemporality, MeterProvider, MetricReader, type DataPoint, type Histogram } from '@opentelemetry/sdk-metrics'
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base'
import parsePrometheus from 'parse-prometheus-text-format'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createCache } from '../../runtimes/default.js'
import { lru } from '../../adapters/lru.js'
import { memoryStore } from '../../adapters/memory.js'
import { otel } from '../../adapters/otel.js'
import { instrumentOtel, prometheusText, type CacheStats } from '../../src/index.js'
import { backends } from '../support/backends.js'
import { sleep, trackCaches, uniqueName } from '../support/helpers.js'

/** A reader the test collects from on demand (the SDK's in-memory path without timers). */
class TestReader extends MetricReader {
  constructor() {
    super({ aggregationTemporalitySelector: () => AggregationTemporality.CUMULATIVE })
  }
  protected override async onShutdown(): Promise<void> {}
  protected override async onForceFlush(): Promise<void> {}
}

const spans = new InMemorySpanExporter()
const reader = new TestReader()
const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] })
const meterProvider = new MeterProvider({ readers: [reader] })
const contextManager = new AsyncLocalStorageContextManager()

beforeAll(() => {
  api.context.setGlobalContextManager(contextManager.enable())
  api.trace.setGlobalTracerProvider(tracerProvider)
  api.metrics.setGlobalMeterProvider(meterProvider)
})
afterAll(async () => {
  await meterProvider.shutdown()
  await tracerProvider.shutdown()
  api.trace.disable()
  api.metrics.disable()
  api.context.disable()
})
afterEach(() => spans.reset())

const track = trackCaches()

async function collect(): Promise<Map<string, DataPoint<number | Histogram>[]>> {
  const { resourceMetrics, errors } = await reader.collect()
  expect(errors).toEqual([])
  const byName = new Map<string, DataPoint<number | Histogram>[]>()
  for (const scope of resourceMetrics.scopeMetrics) {
    for (const metric of scope.metrics) byName.set(metric.descriptor.name, [...(byName.get(metric.descriptor.name) ?? []), ...(metric.dataPoints as DataPoint<number | Histogram>[])])
  }
  return byName
}

const of = (name: string) => (span: ReadableSpan) => span.name === name

describe('otelMetricPoints()', () => {
  it('gives every counter as an OpenTelemetry-shaped point with a namespace attribute', async () => {
    const cache = track(createCache({ namespace: uniqueName('otel'), l1: lru(), l2: memoryStore() }))
    await cache.getOrLoad('a', () => 1)
    await cache.get('a')
    await cache.get('b')
    const points = cache.otelMetricPoints()
    for (const p of points) {
      expect(p.attributes.namespace).toBe(cache.namespace)
      expect(p.name).toMatch(/^tiercache\.[a-z0-9_.]+$/)
      expect(['sum', 'gauge']).toContain(p.type)
      expect(p.monotonic).toBe(p.type === 'sum')
      expect(typeof p.value).toBe('number')
      expect(p.description.length).toBeGreaterThan(10)
    }
    const ids = points.map((p) => `${p.name} ${JSON.stringify(p.attributes)}`)
    expect(new Set(ids).size).toBe(ids.length)
    const value = (name: string, attributes: Record<string, string> = {}) =>
      points.find((p) => p.name === name && Object.entries(attributes).every(([k, v]) => p.attributes[k] === v))?.value
    const s = cache.stats()
    expect(value('tiercache.requests')).toBe(3)
    expect(value('tiercache.hits')).toBe(1)
    expect(value('tiercache.misses')).toBe(2)
    expect(value('tiercache.hit_ratio')).toBeCloseTo(1 / 3)
    expect(value('tiercache.tier.hits', { tier: 'l1', store: 'lru' })).toBe(1)
    expect(value('tiercache.tier.misses', { tier: 'l2' })).toBe(s.tiers.l2!.misses)
    expect(value('tiercache.loads')).toBe(1)
    expect(value('tiercache.circuit.state', { tier: 'l2', state: 'closed' })).toBe(1)
    expect(value('tiercache.circuit.state', { tier: 'l2', state: 'open' })).toBe(0)
    expect(value('tiercache.invalidation.published')).toBe(s.invalidation.published)
  })
})

describe.each(backends)('OpenTelemetry SDK over $name', ({ shared }) => {
  it('records the counters, a latency histogram, and spans with namespace, tier and result', async () => {
    const cache = track(createCache({ namespace: uniqueName('otel'), l1: lru(), l2: shared()(), invalidation: false }))
    const stop = instrumentOtel(cache, { api })
    await cache.set('a', 'secret-value-a')
    await cache.get('a') // l1 hit
    await cache.getOrLoad('b', async () => {
      // the loader's own span nests under tiercache.load
      api.trace.getTracer('app').startSpan('db.query').end()
      return 'secret-value-b'
    })
    await cache.mget(['a', 'b', 'zz'])
    await cache.mset([['c', 1], ['d', 2]])
    await cache.delete('a')
    await expect(cache.getOrLoad('e', async () => {
      throw new Error('db down for secret-value-e')
    })).rejects.toThrow('db down')

    const finished = spans.getFinishedSpans()
    const get = finished.find(of('tiercache.get'))!
    expect(get.attributes).toEqual({ namespace: cache.namespace, operation: 'get', keys: 1, tier: 'l1', result: 'hit' })
    const loads = finished.filter(of('tiercache.getOrLoad'))
    const miss = loads.find((s) => s.attributes.result === 'miss')!
    expect(miss.attributes).toMatchObject({ namespace: cache.namespace, tier: 'loader', result: 'miss' })
    const load = finished.find((s) => s.name === 'tiercache.load' && s.parentSpanContext?.spanId === miss.spanContext().spanId)
    expect(load, 'tiercache.load is a child of the getOrLoad span').toBeDefined()
    expect(load!.attributes).toMatchObject({ namespace: cache.namespace, tier: 'loader', result: 'ok' })
    const query = finished.find(of('db.query'))!
    expect(query.parentSpanContext?.spanId).toBe(load!.spanContext().spanId)
    expect(finished.find(of('tiercache.mget'))!.attributes).toMatchObject({ keys: 3, hits: 2, misses: 1, result: 'partial', tier: 'all' })
    expect(finished.find(of('tiercache.mset'))!.attributes).toMatchObject({ keys: 2, result: 'ok' })
    expect(finished.find(of('tiercache.set'))!.attributes).toMatchObject({ keys: 1, result: 'ok' })
    expect(finished.find(of('tiercache.delete'))!.attributes).toMatchObject({ keys: 1, result: 'ok' })
    const failed = loads.find((s) => s.attributes.result === 'error')!
    expect(failed.status.code).toBe(api.SpanStatusCode.ERROR)
    expect(finished.filter((s) => s.name === 'tiercache.load' && s.status.code === api.SpanStatusCode.ERROR)).toHaveLength(1)
    // no values, no keys, no error messages (they may carry data) unless asked for
    const dump = JSON.stringify(finished.map((s) => [s.attributes, s.status, s.events]))
    expect(dump).not.toContain('secret-value')
    expect(dump).not.toMatch(/"key"/)

    const metrics = await collect()
    const mine = <T,>(points: DataPoint<T>[] | undefined) => (points ?? []).filter((p) => p.attributes.namespace === cache.namespace)
    const s = cache.stats()
    expect(mine(metrics.get('tiercache.requests'))[0]?.value).toBe(s.requests)
    expect(mine(metrics.get('tiercache.loads'))[0]?.value).toBe(2)
    expect(mine(metrics.get('tiercache.load.errors'))[0]?.value).toBe(1)
    expect(mine(metrics.get('tiercache.tier.hits')).find((p) => p.attributes.tier === 'l1')?.value).toBe(s.tiers.l1!.hits)
    const durations = mine(metrics.get('tiercache.operation.duration')) as DataPoint<Histogram>[]
    const l1Gets = durations.find((p) => p.attributes.operation === 'get' && p.attributes.tier === 'l1' && p.attributes.result === 'hit')
    expect(l1Gets?.value.count).toBe(1)
    expect(durations.find((p) => p.attributes.operation === 'load' && p.attributes.result === 'error')?.value.count).toBe(1)

    const requests = s.requests
    stop()
    await cache.get('c')
    expect(spans.getFinishedSpans().filter(of('tiercache.get'))).toHaveLength(1) // no new span after stop
    const after = await collect()
    expect(cache.stats().requests).toBe(requests + 1)
    expect(mine(after.get('tiercache.requests'))[0]?.value ?? requests).toBe(requests) // no longer observed
  })
})

describe('OpenTelemetry options', () => {
  it('puts keys and error messages on spans only when asked; several caches share one meter', async () => {
    const a = track(createCache({ namespace: uniqueName('otel-a'), l1: lru(), l2: memoryStore() }))
    const b = track(createCache({ namespace: uniqueName('otel-b'), l1: lru(), l2: memoryStore() }))
    const stop = await otel([a, b], { api, keys: true })
    expect(stop).toBeTypeOf('function')
    await a.getOrLoad('user:1', () => 'x')
    await expect(b.getOrLoad('user:2', () => {
      throw new Error('boom')
    })).rejects.toThrow('boom')
    const finished = spans.getFinishedSpans()
    expect(finished.find((s) => s.name === 'tiercache.getOrLoad' && s.attributes.namespace === a.namespace)?.attributes.key).toBe('user:1')
    const failed = finished.find((s) => s.name === 'tiercache.getOrLoad' && s.attributes.namespace === b.namespace)!
    expect(failed.status.message).toBe('Error: boom')
    const metrics = await collect()
    const namespaces = (metrics.get('tiercache.requests') ?? []).map((p) => p.attributes.namespace)
    expect(namespaces).toEqual(expect.arrayContaining([a.namespace, b.namespace]))
    stop!()
  })

  it('refuses something that is not the API module', () => {
    const cache = track(createCache({ namespace: uniqueName('otel'), l1: lru(), l2: false }))
    expect(() => instrumentOtel(cache, { api: {} as never })).toThrow(/@opentelemetry\/api/)
  })
})

describe('prometheus()', () => {
  it('is valid text exposition format, with HELP/TYPE, tiercache_<name>_total counters and a namespace label', async () => {
    const cache = track(createCache({ namespace: uniqueName('prom'), l1: lru(), l2: memoryStore() }))
    cache.instrument() // adds the latency histogram
    await cache.getOrLoad('a', async () => {
      await sleep(2)
      return 1
    })
    for (let i = 0; i < 5; i++) await cache.get('a')
    await cache.get('zz')
    const text = cache.prometheus()
    const families = parsePrometheus(text)
    const s = cache.stats()
    for (const family of families) {
      expect(family.name).toMatch(/^tiercache_[a-z0-9_]+$/)
      expect(family.help.length).toBeGreaterThan(10)
      if (family.type === 'COUNTER') expect(family.name).toMatch(/_total$/)
      // (the parser keeps no labels for labelled histograms: those are checked line by line below)
      if (family.type !== 'HISTOGRAM') for (const m of family.metrics) expect(m.labels?.namespace).toBe(cache.namespace)
    }
    // every sample line: a name, labels with a namespace, and a number the Go parser accepts
    for (const line of text.split('\n').filter((l) => l !== '' && !l.startsWith('#'))) {
      const match = /^([a-z_][a-z0-9_]*)\{(.*)\} (\S+)$/.exec(line)
      expect(match, line).not.toBeNull()
      expect(match![2]).toContain(`namespace="${cache.namespace}"`)
      expect(Number.isNaN(Number(match![3])) && !['+Inf', '-Inf', 'NaN'].includes(match![3]!), line).toBe(false)
    }
    // exactly one HELP and one TYPE per family
    for (const family of families) {
      expect(text.split('\n').filter((l) => l.startsWith(`# TYPE ${family.name} `))).toHaveLength(1)
      expect(text.split('\n').filter((l) => l.startsWith(`# HELP ${family.name} `))).toHaveLength(1)
    }
    const family = (name: string) => families.find((f) => f.name === name)!
    expect(family('tiercache_requests_total')).toMatchObject({ type: 'COUNTER', metrics: [{ value: String(s.requests) }] })
    expect(family('tiercache_hit_ratio').type).toBe('GAUGE')
    expect(family('tiercache_tier_hits_total').metrics).toEqual(expect.arrayContaining([{ labels: { namespace: cache.namespace, tier: 'l1', store: 'lru' }, value: '5' }]))
    expect(family('tiercache_circuit_state').metrics.filter((m) => m.value === '1')).toEqual([{ labels: { namespace: cache.namespace, tier: 'l2', store: 'memory', state: 'closed' }, value: '1' }])
    expect(family('tiercache_invalidation_cursor_lag_seconds').type).toBe('GAUGE')

    expect(family('tiercache_operation_duration_seconds').type).toBe('HISTOGRAM')
    const series = `namespace="${cache.namespace}",operation="get",tier="l1",result="hit"`
    const buckets = text.split('\n').filter((l) => l.startsWith(`tiercache_operation_duration_seconds_bucket{${series},le=`))
    expect(buckets.length).toBe(20) // 19 bounds and +Inf
    const counts = buckets.map((l) => Number(l.split(' ').at(-1)))
    for (let i = 1; i < counts.length; i++) expect(counts[i]).toBeGreaterThanOrEqual(counts[i - 1]!)
    expect(buckets.at(-1)).toBe(`tiercache_operation_duration_seconds_bucket{${series},le="+Inf"} 5`)
    expect(text).toContain(`tiercache_operation_duration_seconds_count{${series}} 5`)
    expect(text).toMatch(new RegExp(`tiercache_operation_duration_seconds_sum\\{${series}\\} [0-9.e-]+\n`))
  })

  it('renders many caches with one HELP/TYPE per family, and escapes label values', async () => {
    const a = track(createCache({ namespace: uniqueName('prom-a'), l1: lru(), l2: false }))
    const b = track(createCache({ namespace: uniqueName('prom-b'), l1: lru(), l2: false }))
    await a.get('x')
    const odd: CacheStats = { ...b.stats(), namespace: 'odd "name"\\ with\nnewline' }
    const text = prometheusText([{ stats: a.stats() }, { stats: odd }])
    const families = parsePrometheus(text)
    const requests = families.find((f) => f.name === 'tiercache_requests_total')!
    expect(requests.metrics.map((m) => m.labels?.namespace)).toEqual([a.namespace, 'odd "name"\\ with\nnewline'])
    expect(text.match(/^# TYPE tiercache_requests_total counter$/gm)).toHaveLength(1)
  })
})
