/**
 * Observability without dependencies: one table of metrics turned into OpenTelemetry-shaped
 * points and the Prometheus text format, latency histograms, redaction, and the opt-in
 * instrumentation of a cache's operations (the OpenTelemetry integration and the dashboard
 * attach observers to it; until one is attached, none of this code runs on a request).
 * @module
 */
import type { CacheStats } from './events.js'

// ---------------------------------------------------------------- metric points

/** One metric value in the shape of the OpenTelemetry data model (a point of a sum or a gauge). */
export interface MetricPoint {
  /** Instrument name, e.g. `tiercache.requests`. */
  readonly name: string
  readonly description: string
  /** UCUM unit, e.g. `{request}`, `1`, `s`. */
  readonly unit: string
  /** `sum`: a cumulative counter (monotonic), `gauge`: a current value. */
  readonly type: 'sum' | 'gauge'
  readonly monotonic: boolean
  /** Always holds `namespace`; per-tier metrics add `tier` (and `store`), circuit states `state`. */
  readonly attributes: Readonly<Record<string, string>>
  readonly value: number
}

type Labels = Record<string, string>

interface MetricDef {
  /** OpenTelemetry name (`tiercache.` + this). */
  readonly otel: string
  /** Prometheus name (`tiercache_` + this, `_total` added for counters). */
  readonly prom: string
  readonly kind: 'counter' | 'gauge'
  readonly unit: string
  readonly help: string
  readonly samples: (s: CacheStats) => readonly (readonly [Labels, number])[]
}

const one = (value: number): readonly (readonly [Labels, number])[] => [[{}, value]]
const perTier = (s: CacheStats, pick: (tier: CacheStats['tiers'][string]) => number | undefined): (readonly [Labels, number])[] =>
  Object.entries(s.tiers).flatMap(([tier, t]) => {
    const value = pick(t)
    return value === undefined ? [] : [[{ tier, store: t.name }, value] as const]
  })
/** Shared tiers only: `l1` is always the in-process tier, which has no circuit. */
const shared = (s: CacheStats): [string, CacheStats['tiers'][string]][] => Object.entries(s.tiers).filter(([tier]) => tier !== 'l1')
const CIRCUIT_STATES = ['closed', 'open', 'half-open'] as const

const counter = (otel: string, prom: string, unit: string, help: string, samples: MetricDef['samples']): MetricDef => ({ otel, prom, kind: 'counter', unit, help, samples })
const gauge = (otel: string, prom: string, unit: string, help: string, samples: MetricDef['samples']): MetricDef => ({ otel, prom, kind: 'gauge', unit, help, samples })

/**
 * Every metric a cache exports, in one place: `otelMetricPoints()`, `prometheus()`, the
 * OpenTelemetry meter and the dashboard all read this table. See docs/ops-runbook.md.
 */
export const METRICS: readonly MetricDef[] = [
  counter('requests', 'requests', '{request}', 'Requests (each get, each distinct key of a batch), each counted exactly once.', (s) => one(s.requests)),
  counter('hits', 'hits', '{request}', 'Requests answered by some tier, fresh or stale.', (s) => one(s.hits)),
  counter('misses', 'misses', '{request}', 'Requests no tier answered (whether or not a loader then filled them).', (s) => one(s.misses)),
  gauge('hit_ratio', 'hit_ratio', '1', 'hits / requests since the cache was created (0 without requests).', (s) => one(s.hitRate)),
  counter('tier.hits', 'tier_hits', '{request}', 'Requests this tier answered.', (s) => perTier(s, (t) => t.hits)),
  counter('tier.misses', 'tier_misses', '{lookup}', 'Lookups at this tier that found nothing.', (s) => perTier(s, (t) => t.misses)),
  gauge('tier.hit_ratio', 'tier_hit_ratio', '1', 'Share of the requests reaching this tier (not answered above it) that it answered.', (s) => perTier(s, (t) => t.hitRate)),
  gauge('tier.entries', 'tier_entries', '{entry}', 'Entries held by an in-process tier (expired ones may count until evicted).', (s) => perTier(s, (t) => t.entries)),
  gauge('circuit.state', 'circuit_state', '1', 'Circuit breaker state of a shared tier: 1 for the current state, 0 for the others.', (s) =>
    shared(s).flatMap(([tier, t]) => CIRCUIT_STATES.map((state) => [{ tier, store: t.name, state }, t.circuit === state ? 1 : 0] as const))),
  counter('circuit.opened', 'circuit_opened', '{event}', 'Times the circuit breaker of a shared tier opened.', (s) => shared(s).map(([tier, t]) => [{ tier, store: t.name }, t.circuitOpened] as const)),
  counter('promotions', 'promotions', '{entry}', 'Entries copied from a deeper tier into the tiers above it.', (s) => one(s.promotions)),
  counter('loads', 'loads', '{call}', 'Loader calls (a batch loader call counts once).', (s) => one(s.loads)),
  counter('load.errors', 'load_errors', '{call}', 'Loader calls that threw or returned undefined.', (s) => one(s.loadErrors)),
  counter('load.timeouts', 'load_timeouts', '{call}', 'Loads that passed loaderTimeout.hard.', (s) => one(s.loadTimeouts)),
  gauge('loads.inflight', 'inflight_loads', '{call}', 'Loader calls running now.', (s) => one(s.inflightLoads)),
  counter('stale_served', 'stale_served', '{request}', 'Requests answered with a stale value (expired, within grace).', (s) => one(s.staleServed)),
  counter('refresh.attempts', 'refresh_attempts', '{call}', 'Background refreshes started (stale-while-revalidate, refresh-ahead).', (s) => one(s.refreshes.attempts)),
  counter('refresh.successes', 'refresh_successes', '{call}', 'Background refreshes that stored a new value.', (s) => one(s.refreshes.successes)),
  counter('refresh.failures', 'refresh_failures', '{call}', 'Background refreshes that failed (the callers were not affected).', (s) => one(s.refreshes.failures)),
  counter('coalesced', 'coalesced', '{request}', 'Requests that joined a lookup or load already in flight for the same key.', (s) => one(s.coalesced)),
  counter('coalesced_reads', 'coalesced_reads', '{read}', 'Single L2 reads sent in one MGET with others of the same tick (beyond the first).', (s) => one(s.coalescedReads)),
  counter('locks.acquired', 'locks_acquired', '{lock}', 'Cross-instance load locks taken.', (s) => one(s.locks.acquired)),
  counter('locks.waits', 'lock_waits', '{wait}', 'Waits for a load lock another instance held.', (s) => one(s.locks.waits)),
  counter('locks.peer_hits', 'lock_peer_hits', '{request}', 'Values another instance loaded while this one waited for the lock.', (s) => one(s.locks.peerHits)),
  counter('corrupt', 'corrupt_entries', '{entry}', 'Entries read from a tier that could not be decoded (counted as misses).', (s) => one(s.corrupt)),
  counter('l2.errors', 'l2_errors', '{operation}', 'Failed shared-tier operations, reads and writes (timeouts and skipped calls included).', (s) => one(s.l2Errors)),
  counter('l2.timeouts', 'l2_timeouts', '{operation}', 'Shared-tier operations that passed l2Timeout.', (s) => one(s.l2Timeouts)),
  counter('l2.skipped', 'l2_skipped', '{operation}', 'Shared-tier calls not made because the circuit was open.', (s) => one(s.l2Skipped)),
  counter('l2.write_errors', 'l2_write_errors', '{operation}', 'Writes (set, mset, delete, clear, promotion) that failed on some tier.', (s) => one(s.l2WriteErrors)),
  counter('sets', 'sets', '{entry}', 'Entries written (set, mset, loader results).', (s) => one(s.sets)),
  counter('deletes', 'deletes', '{entry}', 'Keys deleted.', (s) => one(s.deletes)),
  counter('invalidation.published', 'invalidations_published', '{message}', 'Invalidation messages this instance published.', (s) => one(s.invalidation.published)),
  counter('invalidation.publish_failures', 'invalidation_publish_failures', '{message}', 'Invalidation messages that could not be published (kept and retried).', (s) => one(s.invalidation.publishFailures)),
  counter('invalidation.received', 'invalidations_received', '{message}', 'Invalidation messages received from other instances.', (s) => one(s.invalidation.received)),
  counter('invalidation.applied', 'invalidations_applied', '{message}', 'Received invalidation messages applied to this L1.', (s) => one(s.invalidation.applied)),
  counter('invalidation.receive_failures', 'invalidation_receive_failures', '{message}', 'Invalidation messages that could not be parsed.', (s) => one(s.invalidation.receiveFailures)),
  counter('invalidation.flushes', 'invalidation_flushes', '{flush}', 'Whole-L1 flushes because the stream cursor fell off the trimmed stream.', (s) => one(s.invalidation.flushes)),
  counter('invalidation.polls', 'invalidation_polls', '{poll}', 'Invalidation stream polls.', (s) => one(s.invalidation.polls)),
  counter('invalidation.poll_failures', 'invalidation_poll_failures', '{poll}', 'Invalidation stream polls that failed.', (s) => one(s.invalidation.pollFailures)),
  counter('invalidation.subscriptions', 'invalidation_subscriptions', '{subscription}', 'Pub/Sub (re)subscriptions of the invalidation listener.', (s) => one(s.invalidation.subscriptions)),
  gauge('invalidation.listening', 'invalidation_listening', '1', '1 while the Pub/Sub invalidation listener runs.', (s) => one(s.invalidation.listening ? 1 : 0)),
  gauge('invalidation.cursor_lag', 'invalidation_cursor_lag_seconds', 's', 'Seconds since this instance last knew it had every invalidation (0 while subscribed and caught up).', (s) => one(s.invalidation.cursorLagMs / 1000)),
]

/**
 * The counters and gauges of a stats snapshot as OpenTelemetry-shaped points, each with a
 * `namespace` attribute.
 * @example metricPoints(cache.stats()).find((p) => p.name === 'tiercache.requests')?.value
 */
export function metricPoints(stats: CacheStats): MetricPoint[] {
  const points: MetricPoint[] = []
  for (const def of METRICS) {
    for (const [labels, value] of def.samples(stats)) {
      points.push({
        name: `tiercache.${def.otel}`,
        description: def.help,
        unit: def.unit,
        type: def.kind === 'counter' ? 'sum' : 'gauge',
        monotonic: def.kind === 'counter',
        attributes: { namespace: stats.namespace, ...labels },
        value,
      })
    }
  }
  return points
}

// ---------------------------------------------------------------- latency

/** Upper bounds (seconds) of the latency buckets: 10 µs to 10 s, so both an L1 hit and a slow loader land in a bucket of their own. */
export const LATENCY_BUCKETS: readonly number[] = [
  0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
]

/** A fixed-bucket latency histogram (seconds), Prometheus style: `counts[i]` holds values ≤ `LATENCY_BUCKETS[i]`, the last one the rest. */
export class LatencyHistogram {
  readonly counts: number[] = new Array<number>(LATENCY_BUCKETS.length + 1).fill(0)
  count = 0
  sum = 0

  record(seconds: number): void {
    let i = 0
    while (i < LATENCY_BUCKETS.length && seconds > LATENCY_BUCKETS[i]!) i++
    this.counts[i]!++
    this.count++
    this.sum += seconds
  }

  /** The q-quantile (0–1), interpolated within its bucket; 0 without values. */
  quantile(q: number): number {
    return quantile(this.counts, q)
  }
}

/** The q-quantile of per-bucket counts (not cumulative) over `LATENCY_BUCKETS`, interpolated linearly within the bucket. */
export function quantile(counts: readonly number[], q: number): number {
  const total = counts.reduce((a, b) => a + b, 0)
  if (total === 0) return 0
  const rank = q * total
  let seen = 0
  for (let i = 0; i < counts.length; i++) {
    const n = counts[i]!
    if (seen + n >= rank && n > 0) {
      const lower = i === 0 ? 0 : LATENCY_BUCKETS[i - 1]!
      const upper = LATENCY_BUCKETS[i] ?? lower * 2
      return lower + (upper - lower) * Math.min(1, Math.max(0, (rank - seen) / n))
    }
    seen += n
  }
  return LATENCY_BUCKETS[LATENCY_BUCKETS.length - 1]!
}

/** One latency series of one cache: an operation, the tier that answered (reads) and the result. */
export interface LatencySeries {
  readonly operation: Operation
  /** `l1`, `l2`, … the tier that answered a single read; `loader` when loaded; `none` for a miss without loader; `all` for batches and writes. */
  readonly tier: string
  readonly result: OperationResult
  /** Per-bucket counts (not cumulative) over `LATENCY_BUCKETS`, then the overflow bucket. */
  readonly counts: readonly number[]
  readonly count: number
  /** Seconds. */
  readonly sum: number
}

// ---------------------------------------------------------------- prometheus

/** What `prometheusText` renders for one cache. */
export interface PrometheusSource {
  readonly stats: CacheStats
  readonly latency?: readonly LatencySeries[]
}

/** The content type of the Prometheus text exposition format. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8'

/**
 * Renders caches in the Prometheus text exposition format (0.0.4): one `# HELP` and `# TYPE`
 * per family, counters named `tiercache_<name>_total`, every sample labelled with `namespace`;
 * operation latency (when a cache is instrumented) as the histogram
 * `tiercache_operation_duration_seconds`.
 * @example prometheusText([{ stats: users.stats() }, { stats: orders.stats() }])
 */
export function prometheusText(sources: readonly PrometheusSource[]): string {
  const lines: string[] = []
  for (const def of METRICS) {
    const name = def.kind === 'counter' ? `tiercache_${def.prom}_total` : `tiercache_${def.prom}`
    const samples = sources.flatMap(({ stats }) => def.samples(stats).map(([labels, value]) => `${name}${labelText({ namespace: stats.namespace, ...labels })} ${num(value)}`))
    if (samples.length === 0) continue
    lines.push(`# HELP ${name} ${escapeHelp(def.help)}`, `# TYPE ${name} ${def.kind}`, ...samples)
  }
  const series = sources.flatMap(({ stats, latency }) => (latency ?? []).map((s) => [stats.namespace, s] as const))
  if (series.length > 0) {
    const name = 'tiercache_operation_duration_seconds'
    lines.push(`# HELP ${name} Duration of cache operations (get, getOrLoad, mget, mgetOrLoad, set, mset, delete, mdelete, load) by the tier that answered and the result.`)
    lines.push(`# TYPE ${name} histogram`)
    for (const [namespace, s] of series) {
      const labels = { namespace, operation: s.operation, tier: s.tier, result: s.result }
      let cumulative = 0
      LATENCY_BUCKETS.forEach((le, i) => {
        cumulative += s.counts[i] ?? 0
        lines.push(`${name}_bucket${labelText({ ...labels, le: num(le) })} ${cumulative}`)
      })
      lines.push(`${name}_bucket${labelText({ ...labels, le: '+Inf' })} ${s.count}`)
      lines.push(`${name}_sum${labelText(labels)} ${num(s.sum)}`)
      lines.push(`${name}_count${labelText(labels)} ${s.count}`)
    }
  }
  return `${lines.join('\n')}\n`
}

function labelText(labels: Labels): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')}"`)
  return parts.length === 0 ? '' : `{${parts.join(',')}}`
}

function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')
}

function num(value: number): string {
  if (Number.isNaN(value)) return 'NaN'
  if (value === Number.POSITIVE_INFINITY) return '+Inf'
  if (value === Number.NEGATIVE_INFINITY) return '-Inf'
  return String(value)
}

// ---------------------------------------------------------------- redaction

/** Replaces the credentials of a URL (`user:password@`) and secret-looking query parameters with `***`. */
export function redactUrl(url: string): string {
  return redactSecrets(url)
}

const SECRET_PARAMS = /([?&;](?:token|access_token|password|passwd|pwd|secret|key|api_key|apikey|auth|signature|sig)=)[^&;#\s"']*/gi

/** Removes what looks like a secret from free text: URL credentials, secret query parameters, `Bearer` tokens. */
export function redactSecrets(text: string): string {
  return text
    .replace(/([a-z][a-z0-9+.-]*:\/\/)[^/@\s"']*@/gi, '$1***@')
    .replace(SECRET_PARAMS, '$1***')
    .replace(/(Bearer\s+)[A-Za-z0-9._~+/=-]+/gi, '$1***')
}

// ---------------------------------------------------------------- diagnostics

/** What a shared store tells about itself for diagnostics (`L2Store.describe`); never credentials. */
export interface StoreDescription {
  /** Where it points, credentials removed, e.g. `redis://***@db:6379` or `http://127.0.0.1:8080`. */
  readonly endpoint?: string
  /** Whether a connection is open now, where the store holds one. */
  readonly connected?: boolean
}

/** One tier in `diagnostics()`. */
export interface TierDiagnostics {
  /** `l1`, `l2`, … */
  readonly label: string
  readonly kind: 'l1' | 'l2'
  /** The store's name, e.g. `lru`, `redis`. */
  readonly store: string
  /**
   * In-process tiers are always ready; a shared tier is ready unless its circuit is open or
   * its last call failed, or its store reports no connection.
   */
  readonly ready: boolean
  readonly circuit: 'closed' | 'open' | 'half-open'
  readonly ttlScale: number
  readonly promote: boolean
  /** L1: entries held. */
  readonly entries?: number
  /** L1: the store's TTL cap in ms (0: none). */
  readonly maxTtl?: number
  readonly endpoint?: string
  readonly connected?: boolean
}

/** A snapshot of how a cache is configured and whether its parts work; see `TierCache.diagnostics()`. Holds no values, keys or secrets. */
export interface Diagnostics {
  readonly namespace: string
  readonly prefix: string
  readonly closed: boolean
  /** The resolved options (durations in ms). */
  readonly config: {
    readonly ttl: number
    readonly nullTtl: number
    readonly grace: number
    readonly jitter: number
    readonly staleWhileRevalidate: boolean
    readonly refreshAhead: number | false
    readonly staleOnError: boolean
    readonly loaderTimeout: { readonly soft: number | false; readonly hard: number | false }
    readonly l2Timeout: number | false
    readonly circuitBreaker: { readonly failures: number; readonly cooldown: number } | false
    readonly lock: { readonly lease: number } | false
    readonly maxKeyLength: number
    readonly serializer: 'default' | 'custom'
    readonly clock: 'system' | 'coarse' | 'custom'
    readonly onEvent: boolean
    readonly waitUntil: boolean
  }
  /** Whether `get` has a configured loader. */
  readonly loader: boolean
  readonly tiers: readonly TierDiagnostics[]
  readonly invalidation: {
    /** The transport asked for (`auto`, `pubsub`, `stream`, `off`). */
    readonly configured: string
    /** The transport in use (`pubsub`, `stream`, or `off`). */
    readonly transport: string
    /** Whether this instance applies messages (it has an L1). */
    readonly listens: boolean
    /** Whether the Pub/Sub listener runs now. */
    readonly listening: boolean
    readonly stream?: string
    readonly channel?: string
    readonly pollInterval: number
    readonly streamMaxLen: number
    /** The id of the last stream entry this instance has seen. */
    readonly cursor?: string
    /** ms since this instance last knew it had every message (0 while subscribed and caught up). */
    readonly cursorLagMs: number
    /** Messages that failed to publish and wait for the next publish. */
    readonly unsent: number
  }
  /** Work in progress: lookups/loads in flight, background tasks, tag index entries. */
  readonly inflight: { readonly flights: number; readonly loads: number; readonly background: number; readonly tagIndex: number }
  /** Whether operations are timed (an observer is attached: OpenTelemetry, the dashboard). */
  readonly instrumented: boolean
}

// ---------------------------------------------------------------- instrumentation

/** An operation the instrumentation times; `load` is one loader call. */
export type Operation = 'get' | 'getOrLoad' | 'mget' | 'mgetOrLoad' | 'set' | 'mset' | 'delete' | 'mdelete' | 'load'

/** `hit`: a tier answered fresh; `stale`: with a stale value; `miss`: no tier answered (loaded or not); `partial`: a batch with hits and misses; `ok`/`error`: writes and loads. */
export type OperationResult = 'hit' | 'stale' | 'miss' | 'partial' | 'ok' | 'error'

/** What an observer learns about one finished operation. Never holds values; `key` only for single-key operations. */
export interface OperationRecord {
  readonly operation: Operation
  readonly namespace: string
  /** Distinct keys the operation touched. */
  readonly keys: number
  /** The key of a single-key operation. */
  readonly key?: string
  /** See `LatencySeries.tier`. */
  readonly tier: string
  readonly result: OperationResult
  /** Batch reads: keys answered by some tier, and keys that were not. */
  readonly hits?: number
  readonly misses?: number
  readonly seconds: number
  readonly error?: unknown
}

/**
 * Receives every operation of an instrumented cache (`cache.instrument(observer)`).
 * `begin` runs when an operation starts and may return a token (a span); `within` runs the
 * operation in the token's context (makes the span current, so a loader's own spans nest
 * under it); `end` gets the token back with the record.
 */
export interface Observer {
  begin?(operation: Operation, namespace: string, keys: readonly string[]): unknown
  within?<T>(token: unknown, run: () => T): T
  end?(token: unknown, record: OperationRecord): void
}

/** Filled in by the engine for one single-key read of an instrumented cache. */
export interface RequestStatus {
  /** The tier that answered (`l1`, `l2`, …), `loader`, or `none`. Unset after an inline L1 hit. */
  tier?: string
  stale?: string
}

/** Marks an options object carrying a `RequestStatus` (instrumented reads only). */
export const STATUS: unique symbol = Symbol('tiercache.status')

/** The status an instrumented read carries in its options; `undefined` otherwise. */
export function statusOf(options: object | undefined): RequestStatus | undefined {
  return (options as { [STATUS]?: RequestStatus } | undefined)?.[STATUS]
}

type Method = (this: unknown, ...args: never[]) => Promise<unknown>

const now = (): number => performance.now()

/**
 * The instrumentation of one cache: wraps its public operations (as own properties, so an
 * uninstrumented cache runs the class's methods untouched), times them, keeps latency
 * histograms and hands each operation to the observers. Created by `TierCache.instrument()`.
 */
export class Instruments {
  readonly #namespace: string
  readonly #observers: Observer[] = []
  readonly #latency = new Map<string, { operation: Operation; tier: string; result: OperationResult; histogram: LatencyHistogram }>()

  constructor(target: object, namespace: string) {
    this.#namespace = namespace
    this.#install(target)
  }

  /** Adds an observer; resolves to a function that removes it. */
  add(observer: Observer): () => void {
    this.#observers.push(observer)
    return () => {
      const at = this.#observers.indexOf(observer)
      if (at >= 0) this.#observers.splice(at, 1)
    }
  }

  /** The latency histograms so far. */
  latency(): LatencySeries[] {
    return [...this.#latency.values()].map(({ operation, tier, result, histogram }) => ({ operation, tier, result, counts: [...histogram.counts], count: histogram.count, sum: histogram.sum }))
  }

  /** Runs one loader call (the engine calls this from its loader path). */
  load<T>(keys: readonly string[], run: () => T | Promise<T>): Promise<T> {
    return this.#run('load', keys, () => Promise.resolve(run()), () => ({ tier: 'loader', result: 'ok' }))
  }

  #run<T>(operation: Operation, keys: readonly string[], call: () => Promise<T>, outcome: (value: T) => { tier: string; result: OperationResult; hits?: number; misses?: number }): Promise<T> {
    const observers = this.#observers
    const tokens = observers.length === 0 ? undefined : observers.map((o) => o.begin?.(operation, this.#namespace, keys))
    let exec = call
    if (tokens !== undefined) {
      observers.forEach((o, i) => {
        if (o.within === undefined) return
        const inner = exec
        exec = () => o.within!(tokens[i], inner)
      })
    }
    const started = now()
    let promise: Promise<T>
    try {
      promise = exec()
    } catch (error) {
      promise = Promise.reject(error)
    }
    const finish = (record: OperationRecord): void => {
      this.#histogram(record.operation, record.tier, record.result).record(record.seconds)
      if (tokens === undefined) return
      observers.forEach((o, i) => {
        try {
          o.end?.(tokens[i], record)
        } catch {
          // an observer's failure must not become the cache's failure
        }
      })
    }
    const single = keys.length === 1 && operation !== 'mget' && operation !== 'mgetOrLoad' && operation !== 'mset' && operation !== 'mdelete' ? { key: keys[0]! } : {}
    return promise.then(
      (value) => {
        const o = outcome(value)
        finish({ operation, namespace: this.#namespace, keys: keys.length, ...single, ...o, seconds: (now() - started) / 1000 })
        return value
      },
      (error: unknown) => {
        finish({ operation, namespace: this.#namespace, keys: keys.length, ...single, tier: operation === 'load' ? 'loader' : single.key !== undefined && READS.has(operation) ? 'none' : 'all', result: 'error', seconds: (now() - started) / 1000, error })
        throw error
      },
    )
  }

  #histogram(operation: Operation, tier: string, result: OperationResult): LatencyHistogram {
    const id = `${operation}|${tier}|${result}`
    let series = this.#latency.get(id)
    if (series === undefined) this.#latency.set(id, (series = { operation, tier, result, histogram: new LatencyHistogram() }))
    return series.histogram
  }

  #install(target: object): void {
    const t = target as Record<string, Method>
    const self = this
    const original = (name: string): Method => {
      const method = t[name]
      if (typeof method !== 'function') throw new TypeError(`[tiercache] cannot instrument: no method ${name}`)
      return method
    }
    const keyList = (keys: unknown): string[] => (iterable(keys) ? [...new Set([...keys].filter((k): k is string => typeof k === 'string'))] : [])

    for (const name of ['get', 'getOrLoad'] as const) {
      const method = original(name)
      const at = name === 'get' ? 1 : 2 // the options argument
      t[name] = function (this: unknown, ...args: unknown[]) {
        const options = args[at] as object | undefined
        // a read that re-enters with the status it already carries (after a due poll) is timed once
        if (statusOf(options) !== undefined) return method.apply(this, args as never[])
        const status: RequestStatus = {}
        const withStatus = { ...(options ?? {}), [STATUS]: status }
        const next = [...args]
        next[at] = withStatus
        const key = typeof args[0] === 'string' ? [args[0]] : []
        return self.#run(name, key, () => method.apply(this, next as never[]), () => {
          const tier = status.tier ?? 'l1' // unset: answered inline from L1
          return { tier, result: status.stale !== undefined ? 'stale' : tier === 'loader' || tier === 'none' ? 'miss' : 'hit' }
        })
      } as Method
    }
    for (const name of ['mget', 'mgetOrLoad'] as const) {
      const method = original(name)
      t[name] = function (this: unknown, ...args: unknown[]) {
        const next = materialize(args)
        const keys = keyList(next[0])
        let loaded = 0
        if (name === 'mgetOrLoad' && typeof args[1] === 'function') {
          const batchLoader = args[1] as (keys: string[]) => unknown
          next[1] = (missing: string[]) => {
            loaded += missing.length
            return batchLoader(missing)
          }
        }
        return self.#run(name, keys, () => method.apply(this, next as never[]), (value) => {
          let misses = loaded
          if (name === 'mget' && value instanceof Map) for (const v of value.values()) if (v === undefined) misses++
          const hits = keys.length - misses
          return { tier: 'all', result: misses === 0 ? 'hit' : hits === 0 ? 'miss' : 'partial', hits, misses }
        })
      } as Method
    }
    for (const name of ['set', 'delete', 'mset', 'mdelete'] as const) {
      const method = original(name)
      t[name] = function (this: unknown, ...args: unknown[]) {
        const next = name === 'set' || name === 'delete' ? args : materialize(args)
        const first = next[0]
        const keys = name === 'set' || name === 'delete' ? (typeof first === 'string' ? [first] : [])
          : name === 'mdelete' ? keyList(first)
          : keyList(Array.isArray(first) ? first.map((pair) => (Array.isArray(pair) ? pair[0] : undefined)) : [])
        return self.#run(name, keys, () => method.apply(this, next as never[]), () => ({ tier: 'all', result: 'ok' }))
      } as Method
    }
  }
}

const READS: ReadonlySet<Operation> = new Set(['get', 'getOrLoad'])

/** Copies a one-shot iterable (a generator) in the first argument into an array, so both the instrumentation and the engine can read it. */
function materialize(args: unknown[]): unknown[] {
  const first = args[0]
  if (Array.isArray(first) || typeof first === 'string' || !iterable(first)) return args
  return [[...first], ...args.slice(1)]
}

function iterable(value: unknown): value is Iterable<unknown> {
  return value !== null && typeof value === 'object' && typeof (value as Iterable<unknown>)[Symbol.iterator] === 'function'
}
