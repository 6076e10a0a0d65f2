/**
 * OpenTelemetry for a cache, given the `@opentelemetry/api` module: spans around operations
 * and loader calls, a latency histogram, and the counters of `stats()` as observable
 * instruments. The core never imports the package (it is an optional peer dependency): the
 * caller passes it, or `tiercache/otel` loads it with a dynamic import. A cache that is not
 * instrumented runs none of this code.
 * @module
 */
import { LATENCY_BUCKETS, METRICS, type MetricPoint, type Observer, type Operation, type OperationRecord } from './observability.js'

type Attributes = Record<string, string | number | boolean>

/** The span methods used (a subset of the API's `Span`). */
export interface OtelSpan {
  setAttributes(attributes: Attributes): unknown
  setStatus(status: { code: number; message?: string }): unknown
  recordException(exception: { name: string; message: string }): void
  end(): void
}

/** The subset of `@opentelemetry/api` the integration uses: pass the module itself (`import * as api from '@opentelemetry/api'`). */
export interface OtelApi {
  trace: {
    getTracer(name: string, version?: string): { startSpan(name: string, options?: { kind?: number; attributes?: Attributes }, context?: unknown): OtelSpan }
    setSpan(context: unknown, span: OtelSpan): unknown
  }
  context: {
    active(): unknown
    with<T>(context: unknown, fn: () => T): T
  }
  metrics: {
    getMeter(name: string, version?: string): OtelMeter
  }
  SpanStatusCode: { ERROR: number }
  SpanKind: { INTERNAL: number }
}

type Observable = object

/** The meter methods used (a subset of the API's `Meter`). */
export interface OtelMeter {
  createHistogram(name: string, options?: { description?: string; unit?: string; advice?: { explicitBucketBoundaries?: number[] } }): { record(value: number, attributes?: Attributes): void }
  createObservableCounter(name: string, options?: { description?: string; unit?: string }): Observable
  createObservableGauge(name: string, options?: { description?: string; unit?: string }): Observable
  addBatchObservableCallback(callback: (result: { observe(observable: Observable, value: number, attributes?: Attributes): void }) => void, observables: Observable[]): void
  removeBatchObservableCallback(callback: (result: { observe(observable: Observable, value: number, attributes?: Attributes): void }) => void, observables: Observable[]): void
}

/** Options of {@link instrumentOtel}. */
export interface OtelOptions {
  /** The `@opentelemetry/api` module. */
  api: OtelApi
  /** Spans `tiercache.<operation>` around get, getOrLoad, mget, mgetOrLoad, set, mset, delete, mdelete and `tiercache.load` around each loader call. @default true */
  traces?: boolean
  /** The counters of `stats()` as observable instruments, and the `tiercache.operation.duration` histogram. @default true */
  metrics?: boolean
  /** Put the key of single-key operations on spans as `key` (keys may be personal data). @default false */
  keys?: boolean
  /** Instrumentation scope (tracer and meter) name. @default 'tiercache' */
  scope?: string
}

/** What {@link instrumentOtel} needs of a cache. */
export interface OtelTarget {
  readonly namespace: string
  instrument(observer: Observer): () => void
  otelMetricPoints(): MetricPoint[]
}

interface MeterInstruments {
  readonly histogram: { record(value: number, attributes?: Attributes): void }
  readonly observables: Map<string, Observable>
}

/** Instruments are created once per meter and shared by every cache that reports to it. */
const perMeter = new WeakMap<OtelMeter, MeterInstruments>()

function instrumentsOf(meter: OtelMeter): MeterInstruments {
  let found = perMeter.get(meter)
  if (found !== undefined) return found
  const observables = new Map<string, Observable>()
  for (const def of METRICS) {
    const name = `tiercache.${def.otel}`
    const options = { description: def.help, unit: def.unit }
    observables.set(name, def.kind === 'counter' ? meter.createObservableCounter(name, options) : meter.createObservableGauge(name, options))
  }
  const histogram = meter.createHistogram('tiercache.operation.duration', {
    description: 'Duration of cache operations and loader calls, by the tier that answered and the result.',
    unit: 's',
    advice: { explicitBucketBoundaries: [...LATENCY_BUCKETS] },
  })
  perMeter.set(meter, (found = { histogram, observables }))
  return found
}

/**
 * Reports a cache to OpenTelemetry through the given `@opentelemetry/api` module (and whatever
 * SDK the application registered with it).
 *
 * - Spans `tiercache.get`, `tiercache.getOrLoad`, `tiercache.mget`, `tiercache.mgetOrLoad`,
 *   `tiercache.set`, `tiercache.mset`, `tiercache.delete`, `tiercache.mdelete`, and
 *   `tiercache.load` for each loader call (a child of the operation that started it), with the
 *   attributes `namespace`, `operation`, `keys`, `tier` (`l1`, `l2`, …, `loader`, `none`,
 *   `all`), `result` (`hit`, `stale`, `miss`, `partial`, `ok`, `error`), and for batches `hits`
 *   and `misses`. Spans hold no values; keys only with `keys: true`.
 * - The histogram `tiercache.operation.duration` (seconds) with `namespace`, `operation`,
 *   `tier`, `result`.
 * - Every counter of `stats()` as an observable instrument (`tiercache.requests`,
 *   `tiercache.tier.hits`, …; see docs/ops-runbook.md), read from `otelMetricPoints()` at each
 *   collection: no cost per request.
 *
 * @returns a function that stops reporting
 * @example
 * ```ts
 * import * as api from '@opentelemetry/api'
 * import { instrumentOtel } from 'tiercache'
 * instrumentOtel(cache, { api })
 * ```
 */
export function instrumentOtel(cache: OtelTarget, options: OtelOptions): () => void {
  const { api } = options
  if (api === null || typeof api !== 'object' || typeof api.trace?.getTracer !== 'function' || typeof api.metrics?.getMeter !== 'function') {
    throw new TypeError('[tiercache] instrumentOtel: options.api must be the @opentelemetry/api module')
  }
  const scope = options.scope ?? 'tiercache'
  const traces = options.traces !== false
  const metrics = options.metrics !== false
  const withKeys = options.keys === true
  const namespace = cache.namespace
  const tracer = traces ? api.trace.getTracer(scope) : undefined
  const instruments = metrics ? instrumentsOf(api.metrics.getMeter(scope)) : undefined

  const observer: Observer = {
    ...(tracer !== undefined
      ? {
          begin(operation: Operation, ns: string, keys: readonly string[]): unknown {
            const attributes: Attributes = { namespace: ns, operation, keys: keys.length }
            if (withKeys && keys.length === 1 && (operation === 'get' || operation === 'getOrLoad' || operation === 'set' || operation === 'delete')) attributes.key = keys[0]!
            return tracer.startSpan(`tiercache.${operation}`, { kind: api.SpanKind.INTERNAL, attributes })
          },
          within<T>(token: unknown, run: () => T): T {
            return api.context.with(api.trace.setSpan(api.context.active(), token as OtelSpan), run)
          },
        }
      : {}),
    end(token: unknown, record: OperationRecord): void {
      instruments?.histogram.record(record.seconds, { namespace, operation: record.operation, tier: record.tier, result: record.result })
      if (token === undefined) return
      const span = token as OtelSpan
      span.setAttributes({
        tier: record.tier,
        result: record.result,
        ...(record.hits !== undefined ? { hits: record.hits } : {}),
        ...(record.misses !== undefined ? { misses: record.misses } : {}),
      })
      if (record.result === 'error') {
        const { name, summary } = describeError(record.error, withKeys)
        span.recordException({ name, message: summary })
        span.setStatus({ code: api.SpanStatusCode.ERROR, message: summary })
      }
      span.end()
    },
  }
  const detach = cache.instrument(observer)

  let collect: ((result: { observe(observable: Observable, value: number, attributes?: Attributes): void }) => void) | undefined
  let observables: Observable[] = []
  if (instruments !== undefined) {
    const meter = api.metrics.getMeter(scope)
    observables = [...instruments.observables.values()]
    collect = (result) => {
      for (const point of cache.otelMetricPoints()) {
        const observable = instruments.observables.get(point.name)
        if (observable !== undefined) result.observe(observable, point.value, { ...point.attributes })
      }
    }
    meter.addBatchObservableCallback(collect, observables)
    const stop = detach
    return () => {
      stop()
      meter.removeBatchObservableCallback(collect!, observables)
    }
  }
  return detach
}

/**
 * An error's name and a summary safe for telemetry: the `code` of tiercache's own errors, or
 * the error's class name; the message (which may carry keys or values) only when `keys` is on.
 */
function describeError(error: unknown, withMessage: boolean): { name: string; summary: string } {
  const name = error instanceof Error ? error.name : typeof error
  const code = (error as { code?: unknown } | null)?.code
  const base = typeof code === 'string' ? code : name
  if (!withMessage || !(error instanceof Error)) return { name, summary: base }
  return { name, summary: `${base}: ${error.message}` }
}
