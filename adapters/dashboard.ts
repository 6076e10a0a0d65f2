/**
 * A live dashboard for one or more caches, as a Hono sub-app: an HTML page that updates
 * itself (hit rates per tier, loads, latency, L2 health, invalidation, a small chart), the
 * JSON it polls, and the Prometheus metrics. No external assets: it works on a closed network.
 * @module
 */
import { Hono } from 'hono'
import type { CacheStats } from '../src/events.js'
import { LATENCY_BUCKETS, PROMETHEUS_CONTENT_TYPE, prometheusText, type Diagnostics, type LatencySeries, type Observer } from '../src/observability.js'
import { InvalidOptionError } from '../src/errors.js'
import { dashboardPage } from './dashboard-page.js'

/** What the dashboard needs of a cache (a `TierCache`). */
export interface DashboardCache {
  readonly namespace: string
  stats(): CacheStats
  diagnostics(): Diagnostics
  latency(): LatencySeries[]
  instrument(observer?: Observer): () => void
}

/** Options of {@link cacheDashboard}. */
export interface DashboardOptions {
  /** The page's title. @default 'tiercache' */
  title?: string
  /** How often the page polls, in ms. @default 1000 */
  interval?: number
  /**
   * Time the caches' operations, for the latency figures on the page and the
   * `tiercache_operation_duration_seconds` histogram in `/metrics` (costs two clock reads per
   * operation from the moment the dashboard is created). @default true
   */
  latency?: boolean
  /** Points kept by the page's chart. @default 120 */
  history?: number
}

/** A latency histogram of one group of operations, e.g. reads answered by L1. */
export interface LatencyGroup {
  /** `read l1`, `read l2`, `read loader`, `read miss`, `batch read`, `write`, `delete`, `loader call`, or `… error`. */
  readonly group: string
  /** Per-bucket counts over `buckets`, then the overflow bucket (cumulative since the start). */
  readonly counts: readonly number[]
  readonly count: number
  readonly sum: number
}

/** What `GET <mount>/data` returns. */
export interface DashboardData {
  /** Epoch ms of the snapshot. */
  readonly time: number
  /** Upper bounds (seconds) of the latency buckets. */
  readonly buckets: readonly number[]
  readonly caches: readonly {
    readonly name: string
    readonly stats: CacheStats
    readonly diagnostics: Diagnostics
    readonly latency: readonly LatencyGroup[]
  }[]
}

/**
 * Creates the dashboard as a Hono app; mount it where you like (and protect it like any
 * admin page: it shows configuration, never values or secrets).
 *
 * - `GET /`: the HTML page, updating itself every `interval` ms.
 * - `GET /data`: the JSON it polls (`DashboardData`).
 * - `GET /metrics`: every cache in the Prometheus text format.
 *
 * @param caches a cache, an array of caches, or an object of name → cache
 * @example
 * ```ts
 * import { Hono } from 'hono'
 * import { cacheDashboard } from 'tiercache/dashboard'
 * const app = new Hono()
 * app.route('/__cache', cacheDashboard([users, products]))
 * ```
 */
export function cacheDashboard(caches: DashboardCache | readonly DashboardCache[] | Readonly<Record<string, DashboardCache>>, options: DashboardOptions = {}): Hono {
  const entries = normalize(caches)
  const interval = options.interval ?? 1000
  if (typeof interval !== 'number' || !Number.isFinite(interval) || interval < 100) {
    throw new InvalidOptionError(`cacheDashboard: interval must be a number of ms ≥ 100; got ${String(interval)}`, { option: 'interval' })
  }
  const history = options.history ?? 120
  if (!Number.isInteger(history) || history < 2) throw new InvalidOptionError('cacheDashboard: history must be an integer ≥ 2', { option: 'history' })
  if (options.latency !== false) for (const [, cache] of entries) cache.instrument()
  const title = options.title ?? 'tiercache'

  const app = new Hono()
  app.get('/', (c) => {
    const nonce = randomNonce()
    c.header('Cache-Control', 'no-store')
    c.header('Content-Security-Policy', `default-src 'none'; script-src 'nonce-${nonce}'; style-src 'nonce-${nonce}'; connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`)
    c.header('X-Content-Type-Options', 'nosniff')
    return c.html(dashboardPage({ title, interval, history, nonce }))
  })
  app.get('/data', (c) => {
    c.header('Cache-Control', 'no-store')
    return c.json(snapshot(entries))
  })
  app.get('/metrics', (c) => {
    c.header('Cache-Control', 'no-store')
    c.header('Content-Type', PROMETHEUS_CONTENT_TYPE)
    return c.body(prometheusText(entries.map(([, cache]) => ({ stats: cache.stats(), latency: cache.latency() }))))
  })
  return app
}

/** The data the page polls (exported for custom pages and tests). */
export function snapshot(entries: readonly (readonly [string, DashboardCache])[]): DashboardData {
  return {
    time: Date.now(),
    buckets: LATENCY_BUCKETS,
    caches: entries.map(([name, cache]) => ({ name, stats: cache.stats(), diagnostics: cache.diagnostics(), latency: groupLatency(cache.latency()) })),
  }
}

const GROUPS: Record<string, string> = {
  get: 'read', getOrLoad: 'read', mget: 'batch read', mgetOrLoad: 'batch read', set: 'write', mset: 'write', delete: 'delete', mdelete: 'delete', load: 'loader call',
}

/** Sums the series of a cache into the groups the page shows. */
export function groupLatency(series: readonly LatencySeries[]): LatencyGroup[] {
  const groups = new Map<string, { group: string; counts: number[]; count: number; sum: number }>()
  for (const s of series) {
    const kind = GROUPS[s.operation] ?? s.operation
    const group = s.result === 'error' ? `${kind} error` : kind === 'read' ? `read ${s.tier === 'none' ? 'miss' : s.tier}` : kind
    let g = groups.get(group)
    if (g === undefined) groups.set(group, (g = { group, counts: new Array<number>(LATENCY_BUCKETS.length + 1).fill(0), count: 0, sum: 0 }))
    s.counts.forEach((n, i) => (g.counts[i] = (g.counts[i] ?? 0) + n))
    g.count += s.count
    g.sum += s.sum
  }
  return [...groups.values()].sort((a, b) => a.group.localeCompare(b.group))
}

function normalize(caches: unknown): [string, DashboardCache][] {
  const isCache = (value: unknown): value is DashboardCache =>
    value !== null && typeof value === 'object' && typeof (value as DashboardCache).stats === 'function' && typeof (value as DashboardCache).diagnostics === 'function'
  let list: [string, DashboardCache][]
  if (isCache(caches)) list = [[caches.namespace, caches]]
  else if (Array.isArray(caches)) {
    if (!caches.every(isCache)) throw new InvalidOptionError('cacheDashboard: every array element must be a cache', { option: 'caches' })
    list = caches.map((cache) => [cache.namespace, cache])
  } else if (caches !== null && typeof caches === 'object') {
    list = Object.entries(caches as Record<string, unknown>).map(([name, cache]) => {
      if (!isCache(cache)) throw new InvalidOptionError(`cacheDashboard: '${name}' is not a cache`, { option: 'caches' })
      return [name, cache]
    })
  } else throw new InvalidOptionError('cacheDashboard needs a cache, an array of caches, or an object of name → cache', { option: 'caches' })
  if (list.length === 0) throw new InvalidOptionError('cacheDashboard needs at least one cache', { option: 'caches' })
  return list
}

function randomNonce(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16))
  return btoa(String.fromCharCode(...bytes))
}
